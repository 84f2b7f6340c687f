//! kubectl's generators send protobuf (`Content-Type: application/vnd.kubernetes.protobuf`):
//! `kubectl create configmap|secret|namespace|serviceaccount` work as against a real cluster;
//! a kind without a protobuf schema here is refused with 415, saying so.

use std::path::Path;

fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    super::kubectl_run(kubeconfig, args)
}

#[tokio::test]
async fn kubectl_create_generators_send_protobuf() {
    let server = kube_test_server::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, &server.kubeconfig).unwrap();
    tokio::task::spawn_blocking(move || {
        let k = |args: &[&str]| kubectl(&kc, args);
        let (ok, out) = k(&[
            "create",
            "configmap",
            "conf",
            "--from-literal=a=1",
            "-o",
            "jsonpath={.data.a} {.metadata.managedFields[0].manager}",
        ]);
        assert!(ok && out == "1 kubectl-create", "{out}");
        let (ok, out) = k(&[
            "create",
            "secret",
            "generic",
            "creds",
            "--from-literal=password=s3cret",
            "-o",
            "jsonpath={.data.password} {.type}",
        ]);
        assert!(ok && out == "czNjcmV0 Opaque", "{out}");
        let (ok, out) = k(&[
            "create",
            "namespace",
            "team",
            "-o",
            "jsonpath={.status.phase}",
        ]);
        assert!(ok && out == "Active", "{out}");
        let (ok, out) = k(&["create", "serviceaccount", "flink", "-n", "team"]);
        assert!(ok && out.trim() == "serviceaccount/flink created", "{out}");
        // Validation applies to what protobuf carried, as to JSON.
        let (ok, out) = k(&["create", "configmap", "Bad", "--from-literal=a=1"]);
        assert!(
            !ok && out
                .contains(r#"ConfigMap "Bad" is invalid: metadata.name: Invalid value: "Bad""#),
            "{out}"
        );
        let (ok, out) = k(&["create", "deployment", "web", "--image=nginx"]);
        assert!(
            !ok && out.contains(
                r#"protobuf kind apps/v1/"Deployment" is not read by this server; send JSON"#
            ),
            "{out}"
        );
    })
    .await
    .unwrap();
}
