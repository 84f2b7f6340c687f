//! flink_high_availability with the real terraform CLI: the whole lifecycle, and each input error
//! read from `terraform plan` output with its attribute.

use crate::cluster::Cluster;
use crate::harness::Workspace;

fn zookeeper_ha(cluster: &Cluster, name: &str, storage_dir: &str) -> String {
    format!(
        r#"{provider}
resource "flink_high_availability" "zk" {{
  name        = "{name}"
  namespace   = "{ns}"
  type        = "zookeeper"
  storage_dir = "{storage_dir}"
  zookeeper = {{
    quorum = ["zk-0.zk:2181", "zk-1.zk:2181"]
  }}
}}

output "spec" {{
  value = flink_high_availability.zk.spec
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

#[test]
fn lifecycle_create_update_replace_destroy() {
    let cluster = Cluster::start("ha");
    let ns = cluster.namespace.clone();
    let ws = Workspace::new();
    ws.config(&zookeeper_ha(&cluster, "shared-ha", "s3://ha/one"));

    let (changes, plan) = ws.plan();
    assert!(changes);
    // The spec is derived at plan time, so deployments can plan against known values.
    assert!(
        plan.contains("zookeeper_quorum    = \"zk-0.zk:2181,zk-1.zk:2181\""),
        "{plan}"
    );
    ws.apply();
    let values = ws.resource_values("flink_high_availability.zk");
    assert_eq!(values["id"], format!("{ns}/shared-ha"));
    let data = cluster.kubectl(&[
        "get",
        "configmap",
        "flink-ha-shared-ha",
        "-o",
        "jsonpath={.data}",
    ]);
    assert!(data.contains("zk-0.zk:2181,zk-1.zk:2181"), "{data}");
    assert_eq!(values["spec"]["zookeeper_path_root"], "/flink");
    assert_eq!(values["spec"]["storage_dir"], "s3://ha/one");

    ws.config(&zookeeper_ha(&cluster, "shared-ha", "s3://ha/two"));
    let (changes, plan) = ws.plan();
    assert!(changes);
    assert!(plan.contains("1 to change, 0 to destroy"), "{plan}");
    ws.apply();
    assert_eq!(
        ws.resource_values("flink_high_availability.zk")["spec"]["storage_dir"],
        "s3://ha/two"
    );

    // Drift: the ConfigMap edited by hand shows in the plan and apply restores it.
    cluster.kubectl(&[
        "patch",
        "configmap",
        "flink-ha-shared-ha",
        "-p",
        r#"{"data":{"zookeeper_path_root":"/elsewhere"}}"#,
    ]);
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(
        plan.contains("changed outside Terraform: data.zookeeper_path_root"),
        "{plan}"
    );
    ws.apply();

    // Import into a second workspace reconstructs a state whose plan is empty.
    let importer = Workspace::new();
    importer.config(&zookeeper_ha(&cluster, "shared-ha", "s3://ha/two"));
    importer.import("flink_high_availability.zk", &format!("{ns}/shared-ha"));
    importer.assert_no_changes();

    ws.config(&zookeeper_ha(&cluster, "renamed-ha", "s3://ha/two"));
    let (_, plan) = ws.plan();
    assert!(plan.contains("must be replaced"), "{plan}");
    assert!(plan.contains("# forces replacement"), "{plan}");
    ws.apply();
    assert_eq!(
        ws.resource_values("flink_high_availability.zk")["id"],
        format!("{ns}/renamed-ha")
    );
    let (deleted, _) = cluster.kubectl_try(&["-n", &ns, "get", "configmap", "flink-ha-shared-ha"]);
    assert!(!deleted, "the replaced resource's ConfigMap is gone");

    ws.destroy();
    assert!(
        cluster.managed_objects().is_empty(),
        "{:?}",
        cluster.managed_objects()
    );
}

fn plan_error_for(body: &str) -> String {
    let ws = Workspace::new();
    ws.config(body);
    ws.plan_error()
}

#[test]
fn bad_type_is_an_error_on_type() {
    let out = plan_error_for(
        r#"resource "flink_high_availability" "x" {
  name = "x"
  type = "etcd"
}"#,
    );
    assert!(out.contains("Invalid value \"etcd\""), "{out}");
    assert!(
        out.contains("type = \"etcd\""),
        "the error must point at the attribute:\n{out}"
    );
    assert!(out.contains("`kubernetes`, `zookeeper`"), "{out}");
}

#[test]
fn empty_quorum_is_an_error_on_the_quorum() {
    let out = plan_error_for(
        r#"resource "flink_high_availability" "x" {
  name      = "x"
  type      = "zookeeper"
  zookeeper = { quorum = [] }
}"#,
    );
    assert!(out.contains("Empty list"), "{out}");
    assert!(
        out.contains("zookeeper.quorum: Give at least one element."),
        "{out}"
    );
}

#[test]
fn malformed_host_port_is_an_error_on_the_element() {
    let out = plan_error_for(
        r#"resource "flink_high_availability" "x" {
  name      = "x"
  type      = "zookeeper"
  zookeeper = { quorum = ["zk-0:2181", "zk-1"] }
}"#,
    );
    assert!(out.contains("Malformed host:port \"zk-1\""), "{out}");
    assert!(out.contains("zookeeper.quorum[1]:"), "{out}");
}

#[test]
fn zookeeper_type_without_settings_is_an_error() {
    let out = plan_error_for(
        r#"resource "flink_high_availability" "x" {
  name = "x"
  type = "zookeeper"
}"#,
    );
    assert!(out.contains("Missing ZooKeeper settings"), "{out}");
}

#[test]
fn invalid_name_is_an_error_on_name() {
    let out = plan_error_for(
        r#"resource "flink_high_availability" "x" {
  name = "Shared_HA"
  type = "kubernetes"
}"#,
    );
    assert!(
        out.contains("Invalid Kubernetes name \"Shared_HA\""),
        "{out}"
    );
    assert!(out.contains("name = \"Shared_HA\""), "{out}");
}
