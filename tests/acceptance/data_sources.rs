//! Data sources with the real terraform CLI: reading objects another workspace manages, and
//! rendering a configuration without a cluster.

use crate::cluster::Cluster;
use crate::harness::Workspace;

#[test]
fn lookups_read_what_another_workspace_manages() {
    let cluster = Cluster::start("lookup");
    let ns = cluster.namespace.clone();
    let owner = Workspace::new();
    owner.config(&format!(
        r#"{provider}
resource "flink_blob_storage" "state" {{
  name      = "shared"
  namespace = "{ns}"
  base_uri  = "s3://shared-state/flink"
}}

resource "flink_high_availability" "zk" {{
  name      = "shared-zk"
  namespace = "{ns}"
  type      = "zookeeper"
  zookeeper = {{ quorum = ["zk-0.zk:2181"] }}
}}

resource "flink_deployment" "job" {{
  name          = "job"
  namespace     = "{ns}"
  flink_version = "1.20"
  artifact      = {{ jar_uri = "https://example.com/job.jar" }}
  wait_for_job  = false
  blob_storage      = flink_blob_storage.state.spec
  high_availability = flink_high_availability.zk.spec
}}
"#,
        provider = cluster.provider_block()
    ));
    owner.apply();

    let reader = Workspace::new();
    reader.config(&format!(
        r#"{provider}
data "flink_blob_storage" "state" {{
  name      = "shared"
  namespace = "{ns}"
}}

data "flink_high_availability" "zk" {{
  name      = "shared-zk"
  namespace = "{ns}"
}}

data "flink_deployment" "job" {{
  name      = "job"
  namespace = "{ns}"
}}

output "base_uri" {{
  value = data.flink_blob_storage.state.spec.base_uri
}}

output "quorum" {{
  value = data.flink_high_availability.zk.spec.zookeeper_quorum
}}

output "job_id" {{
  value = data.flink_deployment.job.job_id
}}
"#,
        provider = cluster.provider_block()
    ));
    reader.apply();
    let outputs = reader.terraform(&["output", "-json"]).text;
    let outputs: serde_json::Value = serde_json::from_str(&outputs).unwrap();
    assert_eq!(outputs["base_uri"]["value"], "s3://shared-state/flink");
    assert_eq!(outputs["quorum"]["value"], "zk-0.zk:2181");
    let job_id = owner.resource_values("flink_deployment.job")["job_id"].clone();
    assert_eq!(outputs["job_id"]["value"], job_id);

    let missing = Workspace::new();
    missing.config(&format!(
        "{}\ndata \"flink_deployment\" \"nope\" {{\n  name      = \"nope\"\n  namespace = \"{ns}\"\n}}\n",
        cluster.provider_block()
    ));
    let out = missing.plan_error();
    assert!(out.contains("Deployment not found"), "{out}");
    owner.destroy();
}

#[test]
fn configuration_renders_without_a_cluster() {
    let ws = Workspace::new();
    ws.config(
        r#"data "flink_configuration" "review" {
  name                  = "orders"
  namespace             = "team-a"
  flink_version         = "1.19"
  parallelism           = 3
  blob_storage_base_uri = "s3://state/prod"
  flink_configuration = {
    "execution.checkpointing.interval" = "1 min"
    "s3.secret-key"                    = "do-not-show"
  }
}

output "checkpoints" {
  value = data.flink_configuration.review.effective_flink_configuration["state.checkpoints.dir"]
}

output "yaml" {
  value = data.flink_configuration.review.config_yaml
}
"#,
    );
    let apply = ws.apply();
    assert!(
        apply.contains("s3.secret-key"),
        "the plain-text secret warning: {apply}"
    );
    let outputs: serde_json::Value =
        serde_json::from_str(&ws.terraform(&["output", "-json"]).text).unwrap();
    let checkpoints = outputs["checkpoints"]["value"].as_str().unwrap();
    assert!(
        checkpoints.starts_with("s3://state/prod/flink-jobs/namespaces/team-a/deployments/")
            && checkpoints.ends_with("/checkpoints"),
        "1.19 names the directory state.checkpoints.dir: {checkpoints}"
    );
    let yaml = outputs["yaml"]["value"].as_str().unwrap();
    assert!(yaml.contains("parallelism.default: \"3\""), "{yaml}");
    assert!(
        !yaml.contains("do-not-show"),
        "secrets are redacted: {yaml}"
    );
}
