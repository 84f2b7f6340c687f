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

fn kubernetes_ha_deployment(cluster: &Cluster, parallelism: u32) -> String {
    format!(
        r#"{provider}
resource "flink_blob_storage" "state" {{
  name      = "state"
  namespace = "{ns}"
  base_uri  = "s3://flink-state/ha"
}}

resource "flink_high_availability" "k8s" {{
  name      = "k8s"
  namespace = "{ns}"
  type      = "kubernetes"
}}

resource "flink_deployment" "job" {{
  name              = "job"
  namespace         = "{ns}"
  flink_version     = "2.3"
  artifact          = {{ jar_uri = "https://example.com/job.jar" }}
  wait_for_job      = false
  parallelism       = {parallelism}
  blob_storage      = flink_blob_storage.state.spec
  high_availability = flink_high_availability.k8s.spec
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

#[test]
fn kubernetes_ha_gets_its_own_rbac_and_its_config_maps_go_on_destroy() {
    let cluster = Cluster::start("k8s-ha");
    let ws = Workspace::new();
    ws.config(&kubernetes_ha_deployment(&cluster, 2));
    ws.apply();
    // Each component runs as its own ServiceAccount, bound to its own Role: the JobManager's may
    // write Flink's ConfigMaps, the TaskManagers' only read the cluster's.
    for (component, verbs) in [
        ("jobmanager", "get list watch update patch delete"),
        ("taskmanager", "get list watch"),
    ] {
        let account = format!("flink-job-{component}");
        let role = cluster.kubectl(&["get", "role", &account, "-o", "json"]);
        let role: serde_json::Value = serde_json::from_str(&role).unwrap();
        let named = role["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resourceNames"].is_array())
            .unwrap_or_else(|| panic!("{account}: no rule narrowed by resourceNames: {role}"));
        assert_eq!(named["resources"][0], "configmaps", "{role}");
        let granted: Vec<&str> = named["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(granted.join(" "), verbs, "{account}: {role}");
        let binding = cluster.kubectl(&[
            "get",
            "rolebinding",
            &account,
            "-o",
            "jsonpath={.subjects[0].name}",
        ]);
        assert_eq!(binding.trim(), account);
        let pod_account = cluster.kubectl(&[
            "get",
            "deployment",
            &account,
            "-o",
            "jsonpath={.spec.template.spec.serviceAccountName}",
        ]);
        assert_eq!(pod_account.trim(), account);
    }

    // ConfigMaps as Flink 2.3's Kubernetes HA creates them (labels as tests/realflink_ha saw them):
    // labelled with the cluster id, no owner.
    let id = ws.resource_values("flink_deployment.job")["id"]
        .as_str()
        .unwrap()
        .to_string();
    for suffix in [
        "cluster-config-map",
        "00000000000000000000000000000000-config-map",
    ] {
        cluster.kubectl_apply(
            &serde_json::json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": format!("{id}-{suffix}"),
                    "labels": {"app": id, "type": "flink-native-kubernetes"},
                },
                "data": {"leader": "address"},
            })
            .to_string(),
        );
    }
    let ha_maps = || {
        cluster
            .kubectl(&[
                "get",
                "configmaps",
                "-l",
                &format!("app={id},type=flink-native-kubernetes"),
                "-o",
                "name",
            ])
            .lines()
            .filter(|l| l.starts_with("configmap/"))
            .count()
    };
    assert_eq!(ha_maps(), 2);

    // An in-place update keeps them: they hold the job's HA state.
    ws.config(&kubernetes_ha_deployment(&cluster, 3));
    ws.apply();
    assert_eq!(ha_maps(), 2);

    ws.destroy();
    assert_eq!(
        ha_maps(),
        0,
        "Flink's HA ConfigMaps must go with the deployment"
    );
    assert!(
        cluster.managed_objects().is_empty(),
        "{:?}",
        cluster.managed_objects()
    );
}

#[test]
fn kubernetes_ha_with_large_parallelism_warns() {
    let cluster = Cluster::start("k8s-ha-warn");
    let ws = Workspace::new();
    ws.config(&kubernetes_ha_deployment(&cluster, 120));
    let (_, plan) = ws.plan();
    assert!(
        plan.contains("Kubernetes HA with parallelism above 100"),
        "{plan}"
    );
}
