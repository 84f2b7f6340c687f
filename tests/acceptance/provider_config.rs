//! The provider configuration: a cluster that does not exist yet at plan time (unknown settings)
//! must not fail the plan, and bad settings are errors on their attribute.

use crate::cluster::Cluster;
use crate::harness::Workspace;

#[test]
fn unknown_provider_configuration_does_not_fail_the_plan() {
    // The kubeconfig path comes out of another resource: unknown until apply, as for a cluster
    // created in the same run.
    let cluster = Cluster::start("unknown-config");
    let ws = Workspace::new();
    ws.config(&format!(
        r#"
resource "terraform_data" "cluster" {{
  input = {kubeconfig:?}
}}

provider "flink" {{
  kubernetes = {{
    config_path = terraform_data.cluster.output
  }}
}}

resource "flink_high_availability" "k8s" {{
  name      = "k8s-ha"
  namespace = "{ns}"
  type      = "kubernetes"
}}
"#,
        kubeconfig = cluster.kubeconfig.display().to_string(),
        ns = cluster.namespace,
    ));
    let (changes, plan) = ws.plan();
    assert!(changes);
    assert!(plan.contains("2 to add"), "{plan}");
    ws.apply();
    ws.destroy();
}

#[test]
fn malformed_host_is_an_error_on_the_host() {
    let ws = Workspace::new();
    ws.config(
        r#"
provider "flink" {
  kubernetes = {
    host = "10.0.0.1:6443"
  }
}

resource "flink_high_availability" "k8s" {
  name = "k8s-ha"
  type = "kubernetes"
}
"#,
    );
    let out = ws.plan_error();
    assert!(out.contains("Invalid host"), "{out}");
    assert!(out.contains("kubernetes.host:"), "{out}");
}

/// Applies one HA configuration against the API server at `host`; the failed apply's output,
/// unwrapped.
fn apply_against(host: &str) -> String {
    let ws = Workspace::new();
    ws.config(&format!(
        r#"
provider "flink" {{
  kubernetes = {{
    host     = "{host}"
    token    = "t"
    insecure = true
  }}
}}

resource "flink_high_availability" "k8s" {{
  name      = "k8s-ha"
  namespace = "default"
  type      = "kubernetes"
}}
"#
    ));
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    crate::harness::unwrapped(&run.text)
}

#[test]
fn an_unreachable_api_server_is_named_with_the_cause() {
    // A port nothing listens on: the cause, not only "client error (Connect)".
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let said = apply_against(&format!("https://127.0.0.1:{closed}"));
    assert!(said.contains("Connection refused"), "{said}");
    assert!(
        said.contains(&format!("API server: https://127.0.0.1:{closed}/")),
        "{said}"
    );
}

#[test]
fn an_api_server_that_never_answers_fails_the_apply_instead_of_holding_it() {
    // Accepts connections and never says a word (the TLS handshake never completes). Before the
    // provider bounded its waits, apply held here until the user gave up.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let mut accepted = Vec::new();
        for stream in listener.incoming().flatten().take(20) {
            accepted.push(stream);
        }
    });
    let said = apply_against(&format!("https://{address}"));
    assert!(said.contains("timed out"), "{said}");
    assert!(
        said.contains(&format!("API server: https://{address}/")),
        "{said}"
    );
    drop(held);
}
