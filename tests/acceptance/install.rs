//! Installing the provider the way Terraform users do, with the real terraform CLI and the
//! packages `scripts/release.sh` writes (see `release`): `terraform init` from a filesystem mirror
//! in the packed and the unpacked layout, from a network mirror over HTTPS with a test CA, and
//! from a registry (the Provider Registry Protocol, through a CLI `host` block) whose signed
//! SHA256SUMS put `zh:` hashes into `.terraform.lock.hcl`, which `terraform providers lock` agrees
//! with; a tampered package refused, by the mirror's hashes and by a committed lock file; a version
//! constraint choosing between two releases, and an upgrade with existing state that plans no
//! changes; and a deployment's whole life through the installed provider, not `dev_overrides`.

use crate::cluster::Cluster;
use crate::harness::{unwrapped, Workspace};
use crate::https_server::HttpsServer;
use crate::release::{self, NEWER, OLDER, PROVIDER_PATH};
use std::path::Path;

/// A CLI configuration installing `flinkops/flink` only from the filesystem mirror at `dir`.
fn filesystem_mirror(dir: &Path) -> String {
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [\"{PROVIDER_PATH}\"]\n  }}\n}}\n",
        dir.display().to_string()
    )
}

/// A CLI configuration installing `flinkops/flink` only from the network mirror at `url`.
fn network_mirror(url: &str) -> String {
    format!(
        "provider_installation {{\n  network_mirror {{\n    url     = \"{url}\"\n    include = [\"{PROVIDER_PATH}\"]\n  }}\n}}\n"
    )
}

/// A configuration that needs the provider but no cluster: the `flink_configuration` data source
/// renders Flink's configuration in the provider itself, so its output proves the installed
/// binary runs and answers.
const RENDER_ONLY: &str = r#"data "flink_configuration" "review" {
  name                  = "orders"
  namespace             = "streaming"
  flink_version         = "2.3"
  parallelism           = 2
  blob_storage_base_uri = "s3://flink-state/install"
}

output "config_yaml" {
  value = data.flink_configuration.review.config_yaml
}"#;

/// The hashes a lock file records for `flinkops/flink`, sorted, and its locked version.
fn locked(lock: &str) -> (String, Vec<String>) {
    let block = lock
        .split(&format!("provider \"{PROVIDER_PATH}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no lock entry for {PROVIDER_PATH}:\n{lock}"));
    let block = &block[..block.find("\n}").unwrap_or(block.len())];
    let version = block
        .lines()
        .find_map(|l| l.trim().strip_prefix("version"))
        .map(|v| {
            v.trim_start_matches([' ', '='])
                .trim_matches('"')
                .to_string()
        })
        .unwrap_or_else(|| panic!("no version in {block}"));
    let mut hashes: Vec<String> = block
        .lines()
        .map(|l| l.trim().trim_end_matches(',').trim_matches('"'))
        .filter(|l| l.starts_with("h1:") || l.starts_with("zh:"))
        .map(String::from)
        .collect();
    hashes.sort();
    (version, hashes)
}

/// Asserts the installed provider renders a configuration (a plan with the data source).
fn assert_provider_answers(ws: &Workspace) {
    let (_, plan) = ws.plan();
    assert!(plan.contains("config_yaml"), "{plan}");
    assert!(
        plan.contains("s3://flink-state/install/flink-jobs/namespaces/streaming"),
        "the provider did not render the configuration:\n{plan}"
    );
    assert!(
        !plan.contains("development overrides") && !plan.contains("dev_overrides"),
        "{plan}"
    );
}

#[test]
fn filesystem_mirror_installs_in_packed_and_unpacked_layouts() {
    let mirrors = tempfile::tempdir().unwrap();
    let packed = mirrors.path().join("packed");
    let unpacked = mirrors.path().join("unpacked");
    release::packed_mirror(&packed, &[OLDER]);
    release::unpacked_mirror(&unpacked, OLDER);

    let mut locks = Vec::new();
    for mirror in [&packed, &unpacked] {
        let ws = Workspace::with_cli_config(&filesystem_mirror(mirror));
        ws.config(RENDER_ONLY);
        let init = ws.init(&[]);
        assert!(
            init.contains(&format!("Installing flinkops/flink v{OLDER}"))
                && init.contains(&format!(
                    "Installed flinkops/flink v{OLDER} (unauthenticated)"
                )),
            "{init}"
        );
        assert!(!init.contains("development overrides"), "{init}");
        let installed = ws
            .path()
            .join(".terraform/providers")
            .join(PROVIDER_PATH)
            .join(OLDER)
            .join(release::PLATFORM)
            .join(format!("terraform-provider-flink_v{OLDER}"));
        assert!(installed.is_file(), "{} not installed", installed.display());
        assert_provider_answers(&ws);
        let (version, hashes) = locked(&ws.lock_file());
        assert_eq!(version, OLDER);
        // A mirror is not signed, so Terraform records only the hash it computed itself (h1:,
        // over the package's contents).
        assert!(
            hashes.len() == 1 && hashes[0].starts_with("h1:"),
            "{hashes:?}"
        );
        locks.push(hashes);
    }
    // The h1: hash covers the files in the package, not the zip: both layouts give the same one.
    assert_eq!(locks[0], locks[1]);
}

#[test]
fn network_mirror_over_https_checks_the_zh_hashes_of_sha256sums() {
    let served = tempfile::tempdir().unwrap();
    release::network_mirror(served.path(), &[OLDER, NEWER]);
    let server = HttpsServer::serve(served.path());
    let url = format!("{}/providers/", server.base_url);

    // Without the test CA, Go's TLS refuses the mirror: the connection really is verified HTTPS.
    let untrusting = Workspace::with_cli_config(&network_mirror(&url));
    untrusting.config(RENDER_ONLY);
    let refused = untrusting.terraform(&["init", "-no-color"]);
    assert_ne!(refused.code, 0, "{}", refused.text);
    assert!(
        unwrapped(&refused.text).contains("certificate signed by unknown authority"),
        "{}",
        refused.text
    );

    let mut ws = Workspace::with_cli_config(&network_mirror(&url));
    ws.set_env("SSL_CERT_FILE", &server.ca_file.display().to_string());
    ws.config(RENDER_ONLY);
    let init = ws.init(&[]);
    assert!(
        init.contains(&format!("Installed flinkops/flink v{NEWER}")),
        "the newest version is chosen without a constraint:\n{init}"
    );
    let base = format!("/providers/{PROVIDER_PATH}");
    let requests = server.requests();
    for path in [
        format!("{base}/index.json"),
        format!("{base}/{NEWER}.json"),
        format!("{base}/terraform-provider-flink_{NEWER}_linux_amd64.zip"),
    ] {
        assert!(
            requests.contains(&path),
            "{path} not asked for: {requests:?}"
        );
    }
    assert_provider_answers(&ws);

    // The same package from a filesystem mirror gets the same h1: hash.
    let (version, hashes) = locked(&ws.lock_file());
    assert_eq!(version, NEWER);
    let packed = tempfile::tempdir().unwrap();
    release::packed_mirror(packed.path(), &[NEWER]);
    let from_disk = Workspace::with_cli_config(&filesystem_mirror(packed.path()));
    from_disk.config(RENDER_ONLY);
    from_disk.init(&[]);
    assert_eq!(locked(&from_disk.lock_file()).1, hashes);

    // A zip that is not what SHA256SUMS says (its digest is the mirror's zh: hash) is refused.
    release::tampered_zip(NEWER, &served.path().join("providers").join(PROVIDER_PATH));
    let mut tricked = Workspace::with_cli_config(&network_mirror(&url));
    tricked.set_env("SSL_CERT_FILE", &server.ca_file.display().to_string());
    tricked.config(RENDER_ONLY);
    let refused = tricked.terraform(&["init", "-no-color"]);
    assert_ne!(
        refused.code, 0,
        "a tampered package was installed:\n{}",
        refused.text
    );
    let text = unwrapped(&refused.text);
    assert!(
        text.contains("checksum") && text.contains(&format!("v{NEWER}")),
        "{}",
        refused.text
    );
    assert!(
        !tricked
            .path()
            .join(".terraform/providers")
            .join(PROVIDER_PATH)
            .join(NEWER)
            .exists(),
        "the tampered package was left installed"
    );
}

#[test]
fn signed_sums_from_a_registry_put_zh_hashes_in_the_lock_file_and_providers_lock_agrees() {
    let served = tempfile::tempdir().unwrap();
    // The registry's documents hold absolute URLs, so the server's address comes first.
    let server = HttpsServer::serve(served.path());
    release::registry(served.path(), &server.base_url, &[OLDER, NEWER]);
    // A `host` block points registry.terraform.io's provider service at the test's server, so
    // `direct` installation runs the public registry's protocol, signature check included.
    let cli_config = format!(
        "host \"registry.terraform.io\" {{\n  services = {{\n    \"providers.v1\" = \"{}/v1/providers/\"\n  }}\n}}\n\nprovider_installation {{\n  direct {{}}\n}}\n",
        server.base_url
    );
    let mut ws = Workspace::with_cli_config(&cli_config);
    ws.set_env("SSL_CERT_FILE", &server.ca_file.display().to_string());
    ws.config_with_version(&format!("= {OLDER}"), RENDER_ONLY);
    let init = ws.init(&[]);
    let key_id = &release::release().key_id;
    assert!(
        init.contains(&format!(
            "Installed flinkops/flink v{OLDER} (self-signed, key ID {key_id})"
        )),
        "Terraform did not verify the signature with the release key:\n{init}"
    );
    assert_provider_answers(&ws);

    let (version, hashes) = locked(&ws.lock_file());
    assert_eq!(version, OLDER);
    let mut expected: Vec<String> = release::sums(OLDER)
        .into_iter()
        .map(|(digest, _)| format!("zh:{digest}"))
        .collect();
    let h1: Vec<&String> = hashes.iter().filter(|h| h.starts_with("h1:")).collect();
    assert_eq!(h1.len(), 1, "{hashes:?}");
    expected.push(h1[0].clone());
    expected.sort();
    // Every line of the signed SHA256SUMS (the zip and the manifest), plus the local h1: hash.
    assert_eq!(hashes, expected);

    // `terraform providers lock` in a clean directory writes the same hashes.
    let mut fresh = Workspace::with_cli_config(&cli_config);
    fresh.set_env("SSL_CERT_FILE", &server.ca_file.display().to_string());
    fresh.config_with_version(&format!("= {OLDER}"), RENDER_ONLY);
    let lock = fresh.terraform(&[
        "providers",
        "lock",
        "-no-color",
        &format!("-platform={}", release::PLATFORM),
    ]);
    assert_eq!(lock.code, 0, "{}", lock.text);
    assert_eq!(locked(&fresh.lock_file()), (OLDER.to_string(), hashes));
}

#[test]
fn a_committed_lock_file_refuses_a_tampered_package() {
    let mirror = tempfile::tempdir().unwrap();
    release::packed_mirror(mirror.path(), &[OLDER]);
    let ws = Workspace::with_cli_config(&filesystem_mirror(mirror.path()));
    ws.config(RENDER_ONLY);
    ws.init(&[]);
    let lock = ws.lock_file();

    // CI's checkout: the lock file is committed, the provider cache is not.
    std::fs::remove_dir_all(ws.path().join(".terraform")).unwrap();
    release::tampered_zip(OLDER, &mirror.path().join(PROVIDER_PATH));
    let refused = ws.terraform(&["init", "-no-color"]);
    assert_ne!(
        refused.code, 0,
        "a tampered package was installed:\n{}",
        refused.text
    );
    assert!(
        unwrapped(&refused.text).contains(
            "doesn't match any of the checksums previously recorded in the dependency lock file"
        ),
        "{}",
        refused.text
    );
    assert_eq!(
        ws.lock_file(),
        lock,
        "a refused init must leave the lock file alone"
    );
}

#[test]
fn a_version_constraint_selects_a_release_and_the_upgrade_keeps_state() {
    let cluster = Cluster::start("install");
    let mirror = tempfile::tempdir().unwrap();
    release::packed_mirror(mirror.path(), &[OLDER, NEWER]);
    let ws = Workspace::with_cli_config(&filesystem_mirror(mirror.path()));
    let body = format!(
        "{}\nresource \"flink_blob_storage\" \"state\" {{\n  name      = \"state\"\n  namespace = \"{}\"\n  base_uri  = \"s3://flink-state/install\"\n}}\n",
        cluster.provider_block(),
        cluster.namespace
    );
    ws.config_with_version("~> 0.1.0", &body);
    let init = ws.init(&[]);
    assert!(
        init.contains(&format!("Installed flinkops/flink v{OLDER}")),
        "~> 0.1.0 must select {OLDER} over {NEWER}:\n{init}"
    );
    assert_eq!(locked(&ws.lock_file()).0, OLDER);
    ws.apply();

    // A new constraint is not enough while the lock file holds the old version.
    ws.config_with_version("~> 0.2.0", &body);
    let held = ws.terraform(&["init", "-no-color"]);
    assert_ne!(held.code, 0, "{}", held.text);
    assert!(
        unwrapped(&held.text).contains("locked provider registry.terraform.io/flinkops/flink"),
        "{}",
        held.text
    );
    let init = ws.init(&["-upgrade"]);
    assert!(
        init.contains(&format!("Installed flinkops/flink v{NEWER}")),
        "{init}"
    );
    assert_eq!(locked(&ws.lock_file()).0, NEWER);
    let version = ws.terraform(&["version", "-json"]);
    let version: serde_json::Value = serde_json::from_str(&version.text).unwrap();
    assert_eq!(
        version["provider_selections"][PROVIDER_PATH], NEWER,
        "{version}"
    );
    // The state written by the older release reads back through the newer one without changes.
    ws.assert_no_changes();
    ws.destroy();
    assert!(cluster.managed_objects().is_empty());
}

#[test]
fn a_deployment_lives_its_life_through_the_mirror_installed_provider() {
    let cluster = Cluster::start("install-deploy");
    let mirror = tempfile::tempdir().unwrap();
    release::packed_mirror(mirror.path(), &[NEWER]);
    let ws = Workspace::with_cli_config(&filesystem_mirror(mirror.path()));
    let config = |parallelism: u32| {
        format!(
            r#"{provider}
resource "flink_deployment" "orders" {{
  name          = "orders"
  namespace     = "{ns}"
  flink_version = "2.3"
  wait_for_job  = false
  artifact = {{
    jar_uri     = "https://artifacts.example.com/orders.jar"
    entry_class = "org.example.Orders"
  }}
  parallelism = {parallelism}
}}
"#,
            provider = cluster.provider_block(),
            ns = cluster.namespace,
        )
    };
    ws.config(&config(1));
    ws.init(&[]);
    let apply = ws.apply();
    assert!(
        apply.contains("Apply complete! Resources: 1 added"),
        "{apply}"
    );
    let deployments = cluster.kubectl(&["get", "deployments", "-o", "name"]);
    assert!(
        deployments.contains("flink-orders-jobmanager"),
        "{deployments}"
    );

    ws.config(&config(2));
    let (changes, plan) = ws.plan();
    assert!(changes && plan.contains("parallelism"), "{plan}");
    let apply = ws.apply();
    assert!(apply.contains("1 changed"), "{apply}");
    assert_eq!(
        ws.resource_values("flink_deployment.orders")["parallelism"],
        2
    );

    ws.destroy();
    assert!(
        cluster.managed_objects().is_empty(),
        "{:?}",
        cluster.managed_objects()
    );
}

#[test]
fn the_release_takes_its_version_from_cargo_and_signs_what_it_sums() {
    // The binary answers the version Cargo.toml holds, which the release names its files by.
    let answer = std::process::Command::new(crate::harness::provider_binary())
        .arg("--version")
        .output()
        .unwrap();
    assert!(answer.status.success());
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        String::from_utf8(answer.stdout).unwrap(),
        format!("terraform-provider-flink {version}\n")
    );

    // A small stand-in binary keeps this packaging fast; what is checked is the layout.
    let gnupg = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let gpg = |args: &[&str]| {
        let run = std::process::Command::new("gpg")
            .env("GNUPGHOME", gnupg.path())
            .args(["--batch", "--quiet"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        run.stdout
    };
    let user = "layout test <layout@flinkops.invalid>";
    gpg(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        user,
        "rsa2048",
        "sign",
        "never",
    ]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/release.sh");
    let release = std::process::Command::new(&script)
        .env("GNUPGHOME", gnupg.path())
        .args(["--gpg-key", user, "--binary", "/bin/true", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        release.status.success(),
        "{}",
        String::from_utf8_lossy(&release.stderr)
    );
    let prefix = format!("terraform-provider-flink_{version}");
    let mut files: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            format!("{prefix}_SHA256SUMS"),
            format!("{prefix}_SHA256SUMS.sig"),
            format!("{prefix}_linux_amd64.zip"),
            format!("{prefix}_manifest.json"),
        ]
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join(format!("{prefix}_manifest.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest,
        serde_json::json!({ "version": 1, "metadata": { "protocol_versions": ["6.0"] } })
    );
    let listing = std::process::Command::new("unzip")
        .arg("-Z")
        .arg(out.path().join(format!("{prefix}_linux_amd64.zip")))
        .output()
        .unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    assert!(
        listing.contains("-rwxr-xr-x")
            && listing.contains(&format!("terraform-provider-flink_v{version}")),
        "{listing}"
    );
    assert!(listing.contains("number of entries: 1"), "{listing}");
    // sha256sum checks every line, and the signature covers the sums exactly.
    let check = std::process::Command::new("sha256sum")
        .current_dir(out.path())
        .args(["--check", "--strict", &format!("{prefix}_SHA256SUMS")])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let sums = std::fs::read_to_string(out.path().join(format!("{prefix}_SHA256SUMS"))).unwrap();
    assert_eq!(sums.lines().count(), 2, "{sums}");
    let sums_path = out.path().join(format!("{prefix}_SHA256SUMS"));
    let sig_path = out.path().join(format!("{prefix}_SHA256SUMS.sig"));
    gpg(&[
        "--verify",
        sig_path.to_str().unwrap(),
        sums_path.to_str().unwrap(),
    ]);
    std::fs::write(&sums_path, sums.replace('0', "1")).unwrap();
    let forged = std::process::Command::new("gpg")
        .env("GNUPGHOME", gnupg.path())
        .args(["--batch", "--quiet", "--verify"])
        .arg(&sig_path)
        .arg(&sums_path)
        .output()
        .unwrap();
    assert!(
        !forged.status.success(),
        "a changed SHA256SUMS still verified"
    );
    let _ = std::process::Command::new("gpgconf")
        .env("GNUPGHOME", gnupg.path())
        .args(["--kill", "gpg-agent"])
        .status();
}
