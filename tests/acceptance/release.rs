//! Releases of the provider as a publisher makes them, and the places Terraform installs them
//! from. `scripts/release.sh` packages the debug binary cargo built for these tests (no release
//! build) as two versions, `OLDER` and `NEWER`, signed with a throwaway GPG key, once per test
//! process; from that release directory this module lays out the filesystem mirror (packed and
//! unpacked), the network mirror (Provider Network Mirror Protocol) and the registry's answers
//! (Provider Registry Protocol) that the install tests serve to `terraform init`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The two versions the tests publish of the same binary.
pub const OLDER: &str = "0.1.0";
pub const NEWER: &str = "0.2.0";
/// The platform this machine builds and runs.
pub const PLATFORM: &str = "linux_amd64";
/// Where a mirror keeps `flinkops/flink` (the registry host is implied by the source address).
pub const PROVIDER_PATH: &str = "registry.terraform.io/flinkops/flink";

/// The published release: the directory release.sh wrote, and the key that signed it.
pub struct Release {
    /// Holds every version's zip, SHA256SUMS, signature and manifest.
    pub dir: PathBuf,
    /// The signing key's id (16 hex digits), as the registry protocol names it.
    pub key_id: String,
    /// The signing key's public half, ASCII-armoured.
    pub public_key: String,
}

/// The release, made on first use. Its files live under cargo's per-target temporary directory
/// (one folder per test process, older ones removed), since a value in a static is never dropped.
pub fn release() -> &'static Release {
    static RELEASE: OnceLock<Release> = OnceLock::new();
    RELEASE.get_or_init(publish)
}

/// `terraform-provider-flink_<version>_<suffix>` in the release directory.
pub fn artifact(version: &str, suffix: &str) -> PathBuf {
    release()
        .dir
        .join(format!("terraform-provider-flink_{version}_{suffix}"))
}

/// The zip of `version` for this machine's platform.
pub fn zip(version: &str) -> PathBuf {
    artifact(version, &format!("{PLATFORM}.zip"))
}

/// The lines of a version's SHA256SUMS: (hex digest, file name).
pub fn sums(version: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(artifact(version, "SHA256SUMS"))
        .unwrap()
        .lines()
        .map(|line| {
            let (digest, name) = line.split_once("  ").expect("sha256sum line");
            (digest.to_string(), name.to_string())
        })
        .collect()
}

/// The SHA-256 of the zip of `version`, as SHA256SUMS lists it.
pub fn zip_digest(version: &str) -> String {
    let name = zip(version)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    sums(version)
        .into_iter()
        .find(|(_, n)| *n == name)
        .map(|(digest, _)| digest)
        .unwrap_or_else(|| panic!("{name} not in SHA256SUMS"))
}

fn publish() -> Release {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    remove_stale_releases(root);
    let dir = root.join(format!("release-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let gnupg = tempfile::tempdir().unwrap();
    let gpg = |args: &[&str]| {
        let out = Command::new("gpg")
            .env("GNUPGHOME", gnupg.path())
            .args(["--batch", "--quiet"])
            .args(args)
            .output()
            .expect("gpg (Debian: gnupg) on PATH");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let user = "flinkops acceptance tests <acceptance@flinkops.invalid>";
    gpg(&[
        "--passphrase",
        "",
        "--quick-gen-key",
        user,
        "rsa2048",
        "sign",
        "never",
    ]);
    let public_key = gpg(&["--armor", "--export", user]);
    let fingerprint = gpg(&["--with-colons", "--list-keys", user])
        .lines()
        .find_map(|l| l.strip_prefix("fpr:"))
        .map(|rest| rest.trim_matches(':').to_string())
        .expect("fingerprint");
    let key_id = fingerprint[fingerprint.len() - 16..].to_string();
    // Both versions at once: each is a minute of zip compression on a busy 2-core machine.
    let packaging: Vec<_> = [OLDER, NEWER]
        .iter()
        .map(|version| {
            Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/release.sh"))
                .env("GNUPGHOME", gnupg.path())
                .args(["--gpg-key", &fingerprint, "--version", version, "--binary"])
                .arg(crate::harness::provider_binary())
                .arg("--out")
                .arg(&dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run scripts/release.sh")
        })
        .collect();
    for (version, child) in [OLDER, NEWER].iter().zip(packaging) {
        let out = child
            .wait_with_output()
            .expect("wait for scripts/release.sh");
        assert!(
            out.status.success(),
            "release.sh --version {version}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The agent gpg started for signing would outlive the test otherwise.
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", gnupg.path())
        .args(["--kill", "gpg-agent"])
        .status();
    Release {
        dir,
        key_id,
        public_key,
    }
}

fn remove_stale_releases(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(pid) = name.strip_prefix("release-") {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Links (or copies) `from` to `to`, creating the parent directory.
fn place(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

/// A filesystem mirror in the packed layout:
/// `<dir>/registry.terraform.io/flinkops/flink/terraform-provider-flink_<version>_<os>_<arch>.zip`.
pub fn packed_mirror(dir: &Path, versions: &[&str]) {
    for version in versions {
        let zip = zip(version);
        place(
            &zip,
            &dir.join(PROVIDER_PATH).join(zip.file_name().unwrap()),
        );
    }
}

/// A filesystem mirror in the unpacked layout:
/// `<dir>/registry.terraform.io/flinkops/flink/<version>/<os>_<arch>/terraform-provider-flink_v<version>`.
pub fn unpacked_mirror(dir: &Path, version: &str) {
    let into = dir.join(PROVIDER_PATH).join(version).join(PLATFORM);
    std::fs::create_dir_all(&into).unwrap();
    let out = Command::new("unzip")
        .arg("-q")
        .arg(zip(version))
        .arg("-d")
        .arg(&into)
        .output()
        .expect("unzip on PATH");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network mirror's files (Provider Network Mirror Protocol) for `versions`, to be served with
/// its root at `<base>/providers/`: `index.json` lists the versions and `<version>.json` each
/// version's archives with the `zh:` hash of its zip (the digest SHA256SUMS lists), with URLs
/// relative to that document, as `terraform providers mirror` writes them.
pub fn network_mirror(root: &Path, versions: &[&str]) {
    let dir = root.join("providers").join(PROVIDER_PATH);
    let index = serde_json::json!({
        "versions": versions.iter().map(|v| (v.to_string(), serde_json::json!({}))).collect::<serde_json::Map<_, _>>()
    });
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    for version in versions {
        let zip = zip(version);
        let name = zip.file_name().unwrap().to_string_lossy().to_string();
        let archives = serde_json::json!({
            "archives": { PLATFORM: { "url": name, "hashes": [format!("zh:{}", zip_digest(version))] } }
        });
        std::fs::write(dir.join(format!("{version}.json")), archives.to_string()).unwrap();
        place(&zip, &dir.join(&name));
    }
}

/// The Provider Registry Protocol's answers for `flinkops/flink`, to be served with the
/// `providers.v1` service at `<base>/v1/providers/`: the versions list and, per version, the
/// download document naming the zip, SHA256SUMS, its signature and the key that signed it.
/// `base` is where the files will be served (the download document holds absolute URLs).
pub fn registry(root: &Path, base: &str, versions: &[&str]) {
    let release = release();
    let dir = root.join("v1/providers/flinkops/flink");
    let (os, arch) = PLATFORM.split_once('_').unwrap();
    let listed: Vec<_> = versions
        .iter()
        .map(|v| serde_json::json!({ "version": v, "protocols": ["6.0"], "platforms": [{ "os": os, "arch": arch }] }))
        .collect();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("versions"),
        serde_json::json!({ "versions": listed }).to_string(),
    )
    .unwrap();
    for version in versions {
        let file = |suffix: &str| {
            let path = artifact(version, suffix);
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            place(&path, &root.join("files").join(&name));
            format!("{base}/files/{name}")
        };
        let zip_name = zip(version)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let download = serde_json::json!({
            "protocols": ["6.0"],
            "os": os,
            "arch": arch,
            "filename": zip_name,
            "download_url": file(&format!("{PLATFORM}.zip")),
            "shasums_url": file("SHA256SUMS"),
            "shasums_signature_url": file("SHA256SUMS.sig"),
            "shasum": zip_digest(version),
            "signing_keys": { "gpg_public_keys": [{ "key_id": release.key_id, "ascii_armor": release.public_key }] }
        });
        let at = dir.join(version).join("download").join(os);
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(at.join(arch), download.to_string()).unwrap();
    }
}

/// A copy of the zip of `version` whose binary differs by a few bytes: still a valid zip with the
/// same entry, but not what SHA256SUMS (or a lock file) says. Stored uncompressed, so making it
/// costs a copy, not a compression.
pub fn tampered_zip(version: &str, into: &Path) -> PathBuf {
    let work = tempfile::tempdir().unwrap();
    let out = Command::new("unzip")
        .arg("-q")
        .arg(zip(version))
        .arg("-d")
        .arg(work.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let entry = format!("terraform-provider-flink_v{version}");
    let binary = work.path().join(&entry);
    let mut bytes = std::fs::read(&binary).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&binary, bytes).unwrap();
    let target = into.join(zip(version).file_name().unwrap());
    let _ = std::fs::remove_file(&target);
    let out = Command::new("zip")
        .current_dir(work.path())
        .args(["-q", "-0", "-X"])
        .arg(&target)
        .arg(&entry)
        .output()
        .expect("zip on PATH");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target
}
