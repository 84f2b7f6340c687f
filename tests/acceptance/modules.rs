//! Module composition with the real terraform CLI: `examples/modules/flink-platform` (blob storage,
//! HA and a certificate authority handed to a `for_each` of deployments) used by the root module
//! `examples/platform`, exactly as committed: both validate, the root applies against the cluster,
//! a second plan is empty, and destroy leaves nothing. The module's own `terraform test` files
//! run here too, with the provider installed by `terraform init` from a filesystem mirror of the
//! release (as a module's CI would): `tests/plan.tftest.hcl` with a mocked provider and no
//! cluster, `tests/apply.tftest.hcl` against the test server.

use crate::cluster::Cluster;
use crate::harness::Workspace;
use crate::release::{self, NEWER, PROVIDER_PATH};
use std::path::Path;

fn copy_example(from: &str, to: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(from);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "tf") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn the_platform_module_composes_and_applies() {
    let cluster = Cluster::start("modules");
    let ws = Workspace::new();
    copy_example(
        "modules/flink-platform",
        &ws.path().join("modules/flink-platform"),
    );
    copy_example("platform", &ws.path().join("platform"));
    for dir in ["modules/flink-platform", "platform"] {
        let chdir = format!("-chdir={dir}");
        if dir == "platform" {
            let get = ws.terraform(&[&chdir, "get", "-no-color"]);
            assert_eq!(get.code, 0, "{}", get.text);
        }
        let validate = ws.terraform(&[&chdir, "validate", "-no-color"]);
        assert_eq!(validate.code, 0, "{dir}: {}", validate.text);
    }
    let kubeconfig = format!("kubeconfig={}", cluster.kubeconfig.display());
    let namespace = format!("namespace={}", cluster.namespace);
    // The example's jars are placeholders: nothing would run them, so apply does not wait.
    let vars = [
        "-var",
        kubeconfig.as_str(),
        "-var",
        namespace.as_str(),
        "-var",
        "wait_for_jobs=false",
    ];
    let run = |args: &[&str]| {
        let mut all = vec!["-chdir=platform"];
        all.extend_from_slice(args);
        all.extend_from_slice(&vars);
        ws.terraform(&all)
    };
    let apply = run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(apply.code, 0, "{}", apply.text);
    let plan = run(&["plan", "-no-color", "-detailed-exitcode"]);
    assert_eq!(plan.code, 0, "expected an empty plan:\n{}", plan.text);

    let output = ws.terraform(&["-chdir=platform", "output", "-json", "deployments"]);
    let deployments: serde_json::Value = serde_json::from_str(&output.text).unwrap();
    assert!(
        deployments["orders"]["rest_endpoint"]
            .as_str()
            .unwrap()
            .starts_with("https://"),
        "{deployments}"
    );
    assert!(
        deployments["fraud"]["rest_endpoint"]
            .as_str()
            .unwrap()
            .starts_with("http://"),
        "{deployments}"
    );
    assert_ne!(deployments["orders"]["id"], deployments["fraud"]["id"]);
    let secrets = cluster.kubectl(&["get", "secrets", "-o", "name"]);
    assert!(secrets.contains("flink-orders-tls"), "{secrets}");
    assert!(!secrets.contains("flink-fraud-tls"), "{secrets}");

    let destroy = run(&["destroy", "-auto-approve", "-no-color"]);
    assert_eq!(destroy.code, 0, "{}", destroy.text);
    assert!(
        cluster.managed_objects().is_empty(),
        "{:?}",
        cluster.managed_objects()
    );
}

/// Copies `examples/<from>` with its subdirectories (the module's `tests/`) to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A workspace holding the module as committed, its provider installed from a filesystem mirror.
fn module_with_installed_provider() -> (Workspace, tempfile::TempDir) {
    let mirror = tempfile::tempdir().unwrap();
    release::packed_mirror(mirror.path(), &[NEWER]);
    let ws = Workspace::with_cli_config(&format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [\"{PROVIDER_PATH}\"]\n  }}\n}}\n",
        mirror.path().display().to_string()
    ));
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/modules/flink-platform"),
        ws.path(),
    );
    ws.init(&[]);
    (ws, mirror)
}

/// The names of the run blocks `terraform test` reports as passed, in order.
fn passed_runs(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run \""))
        .filter(|l| l.ends_with("... pass"))
        .filter_map(|l| l.split('"').next())
        .map(String::from)
        .collect()
}

#[test]
fn the_platform_module_plan_tests_pass_with_a_mocked_provider() {
    let (ws, _mirror) = module_with_installed_provider();
    let run = ws.terraform(&["test", "-no-color", "-filter=tests/plan.tftest.hcl"]);
    assert_eq!(run.code, 0, "terraform test failed:\n{}", run.text);
    assert_eq!(
        passed_runs(&run.text),
        [
            "one_deployment_per_map_entry",
            "tls_follows_each_entry",
            "deployments_share_the_platform_storage",
            "zookeeper_needs_its_quorum",
            "kubernetes_ha_has_no_zookeeper",
        ],
        "{}",
        run.text
    );
    assert!(run.text.contains("5 passed, 0 failed"), "{}", run.text);
}

#[test]
fn the_platform_module_apply_tests_pass_against_the_cluster() {
    let cluster = Cluster::start("module-test");
    let (ws, _mirror) = module_with_installed_provider();
    let namespace = format!("namespace={}", cluster.namespace);
    // The provider finds the cluster as in a module's CI: through KUBE_CONFIG_PATH.
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let run = ws.terraform_with_env(
        &[
            "test",
            "-no-color",
            "-filter=tests/apply.tftest.hcl",
            "-var",
            &namespace,
        ],
        &[("KUBE_CONFIG_PATH", &kubeconfig)],
    );
    assert_eq!(run.code, 0, "terraform test failed:\n{}", run.text);
    assert_eq!(
        passed_runs(&run.text),
        ["platform", "created_in_the_cluster"],
        "{}",
        run.text
    );
    // terraform test destroys what its runs created, in reverse order.
    assert!(
        cluster.managed_objects().is_empty(),
        "left behind after terraform test: {:?}",
        cluster.managed_objects()
    );
}

/// `examples/production`, exactly as committed, validates and plans against the cluster with
/// every resource to add and no warning: its image and bucket are placeholders, so it is not
/// applied here.
#[test]
fn the_production_example_validates_and_plans() {
    let cluster = Cluster::start("production");
    let ws = Workspace::new();
    copy_example("production", &ws.path().join("production"));
    let validate = ws.terraform(&["-chdir=production", "validate", "-no-color"]);
    assert_eq!(validate.code, 0, "{}", validate.text);
    let kubeconfig = format!("kubeconfig={}", cluster.kubeconfig.display());
    let namespace = format!("namespace={}", cluster.namespace);
    let plan = ws.terraform(&[
        "-chdir=production",
        "plan",
        "-no-color",
        "-var",
        &kubeconfig,
        "-var",
        &namespace,
    ]);
    assert_eq!(plan.code, 0, "{}", plan.text);
    assert!(
        plan.text
            .contains("Plan: 4 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.text
    );
    let warnings: Vec<&str> = plan
        .text
        .lines()
        .filter(|l| l.contains("Warning:") && !l.contains("Provider development overrides"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}\n{}", plan.text);
}
