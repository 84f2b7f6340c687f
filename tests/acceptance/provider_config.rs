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
