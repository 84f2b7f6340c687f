//! Module composition with the real terraform CLI: `examples/modules/flink-platform` (blob storage,
//! HA and a certificate authority handed to a `for_each` of deployments) used by the root module
//! `examples/platform`, exactly as committed: both validate, the root applies against the cluster,
//! a second plan is empty, and destroy leaves nothing.

use crate::cluster::Cluster;
use crate::harness::Workspace;
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
