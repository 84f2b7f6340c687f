//! Faults on demand, seen by the real kubectl: client-go honours the injected 429's `Retry-After`
//! and retries as against a real API server, shows a 409 and a 500 with their `Status` reasons, and
//! loses an answer cut halfway; the endpoint is served only when faults are enabled.

use std::path::Path;

fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    super::kubectl_run(kubeconfig, args)
}

/// Arms `fault` (its JSON form) through the endpoint, as the acceptance harness does.
fn arm(kubeconfig: &Path, fault: &str) {
    let file = kubeconfig.with_extension("fault.json");
    std::fs::write(&file, fault).unwrap();
    let (ok, out) = kubectl(
        kubeconfig,
        &[
            "create",
            "--raw",
            "/testserver/faults",
            "-f",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
}

#[tokio::test]
async fn kubectl_meets_each_injected_fault_as_from_a_real_server() {
    let options = kube_test_server::Options {
        faults: true,
        ..Default::default()
    };
    let server = kube_test_server::start_with("127.0.0.1:0", options)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, &server.kubeconfig).unwrap();
    tokio::task::spawn_blocking(move || {
        let k = |args: &[&str]| kubectl(&kc, args);
        arm(
            &kc,
            r#"{"verb": "create", "kind": "ConfigMap", "count": 1,
                "action": {"status": {"code": 429, "retry_after": 1}}}"#,
        );
        let (ok, out) = k(&["create", "configmap", "a", "-v=6"]);
        assert!(ok, "{out}");
        assert!(out.contains("Got a Retry-After 1s response"), "{out}");
        assert!(out.contains("configmap/a created"), "{out}");

        arm(
            &kc,
            r#"{"verb": "patch", "kind": "configmaps", "name": "a", "count": 1,
                "action": {"status": {"code": 409}}}"#,
        );
        let (ok, out) = k(&["label", "configmap", "a", "x=1"]);
        assert!(!ok, "{out}");
        assert!(
            out.contains(
                "Error from server (Conflict): Operation cannot be fulfilled on configmaps \"a\": \
                 the object has been modified"
            ),
            "{out}"
        );
        let (ok, out) = k(&["label", "configmap", "a", "x=1"]);
        assert!(ok, "{out}");

        arm(
            &kc,
            r#"{"verb": "get", "kind": "configmaps", "name": "a", "count": 1,
                "action": {"status": {"code": 500}}}"#,
        );
        let (ok, out) = k(&["get", "configmap", "a"]);
        assert!(!ok, "{out}");
        assert!(
            out.contains(
                "Error from server (InternalError): Internal error occurred: injected fault"
            ),
            "{out}"
        );

        arm(
            &kc,
            r#"{"kind": "configmaps", "name": "a", "count": 1, "action": "reset"}"#,
        );
        let (ok, out) = k(&["get", "configmap", "a", "-o", "name"]);
        assert!(!ok, "{out}");
        assert!(out.contains("unexpected EOF"), "{out}");
        // Spent faults are gone: the next request is served.
        let (ok, out) = k(&[
            "get",
            "configmap",
            "a",
            "-o",
            "jsonpath={.metadata.labels.x}",
        ]);
        assert!(ok && out == "1", "{out}");
        let (ok, out) = k(&["get", "--raw", "/testserver/faults"]);
        assert!(ok && out.trim() == "[]", "{out}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_faults_endpoint_is_not_served_unless_enabled() {
    let server = kube_test_server::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, &server.kubeconfig).unwrap();
    tokio::task::spawn_blocking(move || {
        let (ok, out) = kubectl(&kc, &["get", "--raw", "/testserver/faults"]);
        assert!(!ok, "{out}");
        assert!(
            out.contains("NotFound") || out.contains("not found"),
            "{out}"
        );
    })
    .await
    .unwrap();
}
