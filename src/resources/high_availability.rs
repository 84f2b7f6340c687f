//! `flink_high_availability`: the high-availability settings that deployments share, either
//! Flink's native Kubernetes HA or ZooKeeper. It exports a `spec` object that deployments take as
//! their `high_availability` attribute; the spec is derived at plan time, so deployments plan
//! against known values. The HA cluster id is never part of it: that is always the deployment id.

use super::{Context, Resource};
use crate::schema::{plan::Plan, Attribute, AttributePath, Diagnostics, Schema, Validator};
use crate::value::{self, Attr, Value};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The HA types, as the `type` attribute accepts them.
pub const HA_TYPES: &[&str] = &["kubernetes", "zookeeper"];

/// Blob storage URI schemes Flink can keep HA metadata in.
pub const STORAGE_SCHEMES: &[&str] = &["s3", "s3a", "s3p", "gs", "wasbs", "abfss", "hdfs", "file"];

/// The `flink_high_availability` resource type.
pub struct HighAvailability;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Model {
    #[serde(default)]
    id: Attr<String>,
    #[serde(default)]
    name: Attr<String>,
    #[serde(default)]
    namespace: Attr<String>,
    #[serde(default, rename = "type")]
    ha_type: Attr<String>,
    #[serde(default)]
    storage_dir: Attr<String>,
    #[serde(default)]
    zookeeper: Attr<ZooKeeper>,
    #[serde(default)]
    spec: Attr<Spec>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ZooKeeper {
    #[serde(default)]
    quorum: Attr<Vec<String>>,
    #[serde(default)]
    path_root: Attr<String>,
}

/// What deployments receive: everything needed to render HA keys, nothing deployment-specific.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Spec {
    #[serde(rename = "type")]
    ha_type: String,
    name: String,
    namespace: String,
    storage_dir: Option<String>,
    zookeeper_quorum: Option<String>,
    zookeeper_path_root: Option<String>,
}

fn check_storage_dir(value: &Value) -> Result<(), (String, String)> {
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

impl HighAvailability {
    fn derive_spec(model: &Model) -> Attr<Spec> {
        let (Some(ha_type), Some(name), Some(namespace)) = (
            model.ha_type.known(),
            model.name.known(),
            model.namespace.known(),
        ) else {
            return Attr::Unknown;
        };
        if model.storage_dir.is_unknown() || model.zookeeper.is_unknown() {
            return Attr::Unknown;
        }
        let zookeeper = model.zookeeper.known();
        if zookeeper.is_some_and(|z| z.quorum.is_unknown() || z.path_root.is_unknown()) {
            return Attr::Unknown;
        }
        let zookeeper = zookeeper.filter(|_| ha_type == "zookeeper");
        Attr::Known(Spec {
            ha_type: ha_type.clone(),
            name: name.clone(),
            namespace: namespace.clone(),
            storage_dir: model.storage_dir.known().cloned(),
            zookeeper_quorum: zookeeper
                .and_then(|z| z.quorum.known())
                .map(|q| q.join(",")),
            zookeeper_path_root: zookeeper.and_then(|z| z.path_root.known()).cloned(),
        })
    }

    fn derive_id(model: &Model) -> Attr<String> {
        match (model.namespace.known(), model.name.known()) {
            (Some(ns), Some(name)) => Attr::Known(format!("{ns}/{name}")),
            _ => Attr::Unknown,
        }
    }

    fn read_model(value: &Value, diags: &mut Diagnostics) -> Option<Model> {
        value::from_value(value)
            .map_err(|e| diags.error("Invalid flink_high_availability value", e.to_string()))
            .ok()
    }

    fn write_model(&self, model: &Model, diags: &mut Diagnostics) -> Value {
        value::to_value(model, &self.schema().value_type()).unwrap_or_else(|e| {
            diags.error(
                "Internal error writing flink_high_availability state",
                e.to_string(),
            );
            Value::Null
        })
    }

    fn with_derived(&self, planned: &Value, diags: &mut Diagnostics) -> Value {
        let Some(mut model) = Self::read_model(planned, diags) else {
            return planned.clone();
        };
        model.id = Self::derive_id(&model);
        model.spec = Self::derive_spec(&model);
        self.write_model(&model, diags)
    }
}

#[async_trait]
impl Resource for HighAvailability {
    fn type_name(&self) -> &'static str {
        "flink_high_availability"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "High-availability settings shared by Flink deployments: Flink's native Kubernetes HA \
             (leader election and job metadata in ConfigMaps; each deployment gets its own \
             ServiceAccount, Role and RoleBinding) or ZooKeeper. Deployments take the exported \
             `spec` as their `high_availability` attribute. The HA cluster id is always the \
             deployment id and cannot be overridden, so two deployments never share HA data.\n\n\
             Kubernetes HA adds load to the Kubernetes API server (every JobManager and \
             TaskManager watches ConfigMaps): past a few tens of deployments, or with parallelism \
             above 100, prefer ZooKeeper.",
            vec![
                Attribute::string("id")
                    .computed()
                    .use_state_for_unknown()
                    .description("`<namespace>/<name>`."),
                Attribute::string("name")
                    .required()
                    .requires_replace()
                    .validate(Validator::KubernetesName)
                    .description("Name of these settings (later also the name of the ConfigMap that stores them)."),
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
                        doc: "A URI such as `s3://bucket/flink/ha` (schemes: s3, s3a, s3p, gs, wasbs, abfss, hdfs, file).",
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
            ],
        )
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
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

    async fn modify_plan(
        &self,
        _ctx: &Context,
        _prior: &Value,
        _config: &Value,
        plan: &mut Plan,
        diags: &mut Diagnostics,
    ) {
        plan.planned = self.with_derived(&plan.planned, diags);
    }

    async fn create(
        &self,
        _ctx: &Context,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        self.with_derived(planned, diags)
    }

    async fn read(&self, _ctx: &Context, current: &Value, _diags: &mut Diagnostics) -> Value {
        current.clone()
    }

    async fn update(
        &self,
        _ctx: &Context,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        self.with_derived(planned, diags)
    }

    async fn delete(&self, _ctx: &Context, _prior: &Value, _diags: &mut Diagnostics) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{plan, validate::validate_attributes};

    fn config(ha_type: &str, zookeeper: Value) -> Value {
        Value::object([
            ("id", Value::Null),
            ("name", Value::string("shared")),
            ("namespace", Value::Null),
            ("type", Value::string(ha_type)),
            ("storage_dir", Value::Null),
            ("zookeeper", zookeeper),
            ("spec", Value::Null),
        ])
    }

    fn zk(quorum: &[&str]) -> Value {
        Value::object([
            (
                "quorum",
                Value::List(quorum.iter().map(|q| Value::string(*q)).collect()),
            ),
            ("path_root", Value::Null),
        ])
    }

    fn diagnostics(config: &Value) -> Diagnostics {
        let ha = HighAvailability;
        let mut diags = Diagnostics::default();
        validate_attributes(
            &ha.schema().attributes,
            config,
            &AttributePath::default(),
            &mut diags,
        );
        ha.validate(config, &mut diags);
        diags
    }

    #[tokio::test]
    async fn plan_derives_a_known_spec() {
        let ha = HighAvailability;
        let cfg = config("zookeeper", zk(&["zk-0:2181", "zk-1:2181"]));
        let mut planned = plan::plan(&ha.schema(), &Value::Null, &cfg, &cfg);
        let ctx = Context { provider: None };
        let mut diags = Diagnostics::default();
        ha.modify_plan(&ctx, &Value::Null, &cfg, &mut planned, &mut diags)
            .await;
        let spec = planned.planned.get("spec").unwrap();
        assert_eq!(
            spec.get("zookeeper_quorum"),
            Some(&Value::string("zk-0:2181,zk-1:2181"))
        );
        assert_eq!(
            spec.get("zookeeper_path_root"),
            Some(&Value::string("/flink"))
        );
        assert_eq!(spec.get("namespace"), Some(&Value::string("default")));
        assert_eq!(
            planned.planned.get("id"),
            Some(&Value::string("default/shared"))
        );
    }

    #[test]
    fn zookeeper_type_needs_quorum_block() {
        let diags = diagnostics(&config("zookeeper", Value::Null));
        assert_eq!(diags.0[0].path.as_ref().unwrap().to_string(), "zookeeper");
    }

    #[test]
    fn bad_values_point_at_their_attribute() {
        let diags = diagnostics(&config("etcd", Value::Null));
        assert_eq!(diags.0[0].path.as_ref().unwrap().to_string(), "type");
        let diags = diagnostics(&config("zookeeper", zk(&[])));
        assert_eq!(
            diags.0[0].path.as_ref().unwrap().to_string(),
            "zookeeper.quorum"
        );
        let diags = diagnostics(&config("zookeeper", zk(&["zk:2181", "zk"])));
        assert_eq!(
            diags.0[0].path.as_ref().unwrap().to_string(),
            "zookeeper.quorum[1]"
        );
    }

    #[test]
    fn storage_dir_needs_a_known_scheme() {
        assert!(check_storage_dir(&Value::string("s3://bucket/ha")).is_ok());
        assert!(check_storage_dir(&Value::string("bucket/ha")).is_err());
        assert!(check_storage_dir(&Value::string("ftp://x")).is_err());
    }
}
