//! The provider against an API server that fails (the test server's faults on demand): what asking
//! again can fix (409, 429 with Retry-After, 503, a connection lost halfway through the answer)
//! an apply survives, with every object present and a clean second plan; what it cannot fix
//! (403) fails at once, naming the verb and the object, after one request; a fault that outlasts
//! the retries fails with the last answer and how many tries were made. A failed create records
//! what it applied: the tainted resource never lists an object as `in sync` that is not there.

use crate::cluster::Cluster;
use crate::harness::{unwrapped, Workspace};

fn deployment(cluster: &Cluster) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "counter" {{
  name          = "counter"
  namespace     = "{ns}"
  flink_version = "2.2"
  wait_for_job  = false
  artifact = {{
    jar_uri     = "https://artifacts.example.com/counter.jar"
    entry_class = "org.example.Counter"
  }}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

#[test]
fn an_apply_survives_conflicts_throttling_unavailability_and_a_lost_answer() {
    let cluster = Cluster::start_with_faults("faults-ok");
    let ws = Workspace::new();
    ws.config(&deployment(&cluster));
    for fault in [
        r#"{"verb": "patch", "kind": "ConfigMap", "count": 1, "action": {"status": {"code": 409}}}"#,
        r#"{"verb": "patch", "kind": "services", "count": 2,
            "action": {"status": {"code": 429, "retry_after": 1}}}"#,
        r#"{"verb": "patch", "kind": "Deployment", "count": 2, "action": {"status": {"code": 503}}}"#,
        // Served, then the answer lost halfway: the apply took effect and the provider cannot
        // know it; asking again must be harmless.
        r#"{"verb": "patch", "kind": "ServiceAccount", "count": 1, "action": "reset"}"#,
        r#"{"verb": "list", "kind": "configmaps", "count": 1, "action": "reset"}"#,
    ] {
        cluster.arm_fault(fault);
    }
    // `apply` asserts the next plan is empty.
    ws.apply();
    assert_eq!(
        cluster.armed_faults(),
        serde_json::json!([]),
        "every fault met a request"
    );
    let objects = cluster.managed_objects();
    for expected in [
        "configmap/flink-counter-config",
        "deployment.apps/flink-counter-jobmanager",
        "deployment.apps/flink-counter-taskmanager",
        "serviceaccount/flink-counter",
    ] {
        assert!(
            objects.iter().any(|o| o == expected),
            "{expected} missing: {objects:?}"
        );
    }
    let log = cluster.request_log().unwrap();
    let throttled = log
        .iter()
        .filter(|l| l.contains("/services/") && l.contains("-> 429"))
        .count();
    assert_eq!(throttled, 2, "{log:#?}");
    ws.destroy();
}

#[test]
fn a_forbidden_apply_fails_at_once_naming_the_object() {
    let cluster = Cluster::start_with_faults("faults-403");
    let ns = &cluster.namespace;
    let ws = Workspace::new();
    ws.config(&deployment(&cluster));
    cluster.arm_fault(
        r#"{"verb": "patch", "kind": "ConfigMap", "name": "flink-counter-config", "count": 10,
            "action": {"status": {"code": 403}}}"#,
    );
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    let said = unwrapped(&run.text);
    assert!(
        said.contains(&format!(
            "apply ConfigMap {ns}/flink-counter-config: configmaps \"flink-counter-config\" is \
             forbidden: injected fault (403)"
        )),
        "{said}"
    );
    assert!(!said.contains("tries over"), "not retried: {said}");
    // One request met the fault: nine of its ten are left.
    assert_eq!(cluster.armed_faults()[0]["count"], 9);
    cluster.kubectl_try(&["delete", "--raw", "/testserver/faults"]);
    ws.destroy();
}

#[test]
fn an_api_server_unavailable_past_the_retries_fails_with_the_last_answer() {
    let cluster = Cluster::start_with_faults("faults-503");
    let ns = &cluster.namespace;
    let ws = Workspace::new();
    ws.config(&deployment(&cluster));
    cluster.arm_fault(
        r#"{"verb": "patch", "kind": "ConfigMap", "name": "flink-counter-config", "count": 100,
            "action": {"status": {"code": 503}}}"#,
    );
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    let said = unwrapped(&run.text);
    assert!(
        said.contains(&format!(
            "apply ConfigMap {ns}/flink-counter-config: the server is currently unable to handle \
             the request (503); the last of 6 tries over"
        )),
        "{said}"
    );
    // The server is well again: the next apply converges.
    cluster.kubectl_try(&["delete", "--raw", "/testserver/faults"]);
    ws.apply();
    ws.destroy();
}

#[test]
fn a_create_into_a_missing_namespace_claims_no_object_in_sync() {
    let cluster = Cluster::start("no-namespace");
    let ws = Workspace::new();
    ws.config(&deployment(&cluster).replace(
        &format!("namespace     = \"{}\"", cluster.namespace),
        "namespace     = \"nosuchns\"",
    ));
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    assert!(
        unwrapped(&run.text).contains("namespaces \"nosuchns\" not found (404)"),
        "{}",
        run.text
    );
    let values = ws.resource_values("flink_deployment.counter");
    let objects = values["kubernetes_objects"].as_object().unwrap();
    assert!(!objects.is_empty(), "{values}");
    assert!(
        objects
            .values()
            .all(|v| v.as_str().unwrap().starts_with("not applied")),
        "{objects:?}"
    );
    ws.destroy();
}
