//! The `flink_high_availability` schema, its typed model and its input checks. No IO.

use crate::resources::blob_storage::SCHEMES as STORAGE_SCHEMES;
use crate::resources::cluster_objects;
use crate::schema::{Attribute, AttributePath, Diagnostics, Schema, Validator};
use crate::value::{Attr, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The HA types, as the `type` attribute accepts them.
pub const HA_TYPES: &[&str] = &["kubernetes", "zookeeper"];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {
    #[serde(default)]
    pub id: Attr<String>,
    #[serde(default)]
    pub name: Attr<String>,
    #[serde(default)]
    pub namespace: Attr<String>,
    #[serde(default, rename = "type")]
    pub ha_type: Attr<String>,
    #[serde(default)]
    pub storage_dir: Attr<String>,
    #[serde(default)]
    pub zookeeper: Attr<ZooKeeper>,
    #[serde(default)]
    pub spec: Attr<Spec>,
    #[serde(default)]
    pub instance_id: Attr<String>,
    #[serde(default)]
    pub kubernetes_objects: Attr<BTreeMap<String, String>>,
}

crate::resources::typed::named_by_namespace_and_name!(Model);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ZooKeeper {
    #[serde(default)]
    pub quorum: Attr<Vec<String>>,
    #[serde(default)]
    pub path_root: Attr<String>,
}

/// What deployments receive: everything needed to render HA keys, nothing deployment-specific.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    #[serde(rename = "type")]
    pub ha_type: String,
    pub name: String,
    pub namespace: String,
    pub storage_dir: Option<String>,
    pub zookeeper_quorum: Option<String>,
    pub zookeeper_path_root: Option<String>,
}

pub fn check_storage_dir(value: &Value) -> Result<(), (String, String)> {
    let Some(uri) = value.as_str() else {
        return Ok(());
    };
    let scheme = uri.split_once("://").map(|(s, _)| s);
    match scheme {
        Some(s) if STORAGE_SCHEMES.contains(&s) && uri.len() > s.len() + 3 => Ok(()),
        _ => Err((
            format!("Invalid storage directory {uri:?}"),
            format!(
                "Use a URI with one of the schemes {}, e.g. s3://bucket/flink/ha, or leave it \
                 unset to derive it from the deployment's blob storage.",
                STORAGE_SCHEMES.join(", ")
            ),
        )),
    }
}

fn check_path_root(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(p) if !p.starts_with('/') || (p.len() > 1 && p.ends_with('/')) => Err((
            format!("Invalid ZooKeeper path {p:?}"),
            "Use an absolute znode path without a trailing slash, e.g. /flink.".into(),
        )),
        _ => Ok(()),
    }
}

pub fn schema() -> Schema {
    Schema::new(
        "High-availability settings shared by Flink deployments: Flink's native Kubernetes HA \
         (leader election and job metadata in ConfigMaps) or ZooKeeper. Deployments take the \
         exported `spec` as their `high_availability` attribute. The HA cluster id is always \
         the deployment id and cannot be overridden, so two deployments never share HA data.\n\n\
         Under Kubernetes HA each deployment's JobManager and TaskManagers run as ServiceAccounts \
         of their own, `flink-<name>-jobmanager` and `flink-<name>-taskmanager`, each bound by a \
         RoleBinding to a Role of the same name that grants only ConfigMap rights, narrowed by \
         `resourceNames` to the two ConfigMaps Flink uses (`<deployment id>-cluster-config-map` \
         and `<deployment id>-<job id>-config-map`) wherever Kubernetes allows it. The \
         JobManager elects itself leader and writes the HA data: `get`, `list`, `watch`, \
         `update`, `patch` and `delete` of those two, and `create`, which Kubernetes cannot \
         narrow by name. The TaskManagers only follow the leader: `get`, `list` and `watch` of \
         the cluster ConfigMap, and no write. The Role of the JobManager follows the job id of \
         each run. A deployment's own `pod.service_account` replaces both accounts.\n\n\
         Kubernetes HA adds load to the Kubernetes API server (every JobManager and \
         TaskManager watches ConfigMaps): past a few tens of deployments, or with parallelism \
         above 100, prefer ZooKeeper.\n\n\
         Destroy deletes its ConfigMap if it is left. Flink's own HA data belongs to the \
         deployments: a deployment's destroy deletes Flink's Kubernetes HA ConfigMaps; the \
         provider never touches `storage_dir` or ZooKeeper.",
        vec![
            Attribute::string("id")
                .computed()
                .use_state_for_unknown()
                .description("`<namespace>/<name>`."),
            Attribute::string("name")
                .required()
                .requires_replace()
                .validate(Validator::KubernetesName)
                .description("Name of these settings; they are stored in the ConfigMap `flink-ha-<name>`."),
            Attribute::string("namespace")
                .default_value(Value::string("default"))
                .requires_replace()
                .validate(Validator::KubernetesName)
                .description("Kubernetes namespace. Defaults to `default`."),
            Attribute::string("type")
                .required()
                .validate(Validator::OneOf(HA_TYPES))
                .description("HA service: `kubernetes` (Flink's native Kubernetes HA) or `zookeeper`."),
            Attribute::string("storage_dir")
                .optional()
                .validate(Validator::Custom {
                    doc: "A URI such as `s3://bucket/flink/ha` (schemes: s3, s3a, s3p, gs, wasb, wasbs, abfs, abfss, hdfs, oss, file).",
                    check: check_storage_dir,
                })
                .description("Where Flink keeps HA metadata (`high-availability.storageDir`). Defaults to `<blob storage base>/flink-jobs/namespaces/<ns>/deployments/<deployment id>/ha` of each deployment's blob storage."),
            Attribute::single_nested(
                "zookeeper",
                vec![
                    Attribute::string_list("quorum")
                        .required()
                        .validate(Validator::NotEmpty)
                        .validate(Validator::Each(Box::new(Validator::HostPort)))
                        .description("ZooKeeper servers as `host:port`."),
                    Attribute::string("path_root")
                        .default_value(Value::string("/flink"))
                        .validate(Validator::Custom {
                            doc: "An absolute znode path such as `/flink`.",
                            check: check_path_root,
                        })
                        .description("Root znode (`high-availability.zookeeper.path.root`); each deployment lives under `<path_root>/<deployment id>`. Defaults to `/flink`."),
                ],
            )
            .optional()
            .description("ZooKeeper settings; required when `type` is `zookeeper`."),
            Attribute::single_nested(
                "spec",
                vec![
                    Attribute::string("type").computed().description("HA type."),
                    Attribute::string("name").computed().description("Name of these settings."),
                    Attribute::string("namespace").computed().description("Namespace of these settings."),
                    Attribute::string("storage_dir").computed().description("HA storage directory, null to derive it from blob storage."),
                    Attribute::string("zookeeper_quorum").computed().description("Comma-separated ZooKeeper quorum."),
                    Attribute::string("zookeeper_path_root").computed().description("ZooKeeper root znode."),
                ],
            )
            .computed()
            .description("The settings as deployments take them: `high_availability = flink_high_availability.x.spec`."),
            cluster_objects::instance_attribute(),
            cluster_objects::attribute(),
        ],
    )
}

pub fn validate(config: &Value, diags: &mut Diagnostics) {
    let Some(ha_type) = config.get("type").and_then(Value::as_str) else {
        return;
    };
    let zookeeper = config.get("zookeeper").unwrap_or(&Value::Null);
    match (ha_type, zookeeper.is_null()) {
        ("zookeeper", true) => diags.attribute_error(
            AttributePath::root("zookeeper"),
            "Missing ZooKeeper settings",
            "type = \"zookeeper\" needs a zookeeper block with the quorum, e.g. \
             zookeeper = { quorum = [\"zk-0.zk:2181\"] }.",
        ),
        ("kubernetes", false) if !zookeeper.is_unknown() => diags.attribute_error(
            AttributePath::root("zookeeper"),
            "ZooKeeper settings with Kubernetes HA",
            "type = \"kubernetes\" does not use ZooKeeper: remove the zookeeper block, or set \
             type = \"zookeeper\".",
        ),
        _ => {}
    }
}
