//! The `flink_configuration` data source: the effective Flink configuration of a deployment for
//! given inputs, rendered and checked without touching a cluster (module tests, reviews).

use super::{Context, DataSource};
use crate::flink::{self, FlinkVersion, RenderInput};
use crate::schema::{Attribute, AttributePath, Diagnostics, Schema, Validator};
use crate::value::{self, Attr, Type, Value};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `flink_configuration` data source type.
pub struct Configuration;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Model {
    #[serde(default)]
    name: Attr<String>,
    #[serde(default)]
    namespace: Attr<String>,
    #[serde(default)]
    flink_version: Attr<String>,
    #[serde(default)]
    parallelism: Attr<i64>,
    #[serde(default)]
    task_slots: Attr<i64>,
    #[serde(default)]
    flink_configuration: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    blob_storage_base_uri: Attr<String>,
    #[serde(default)]
    deployment_id: Attr<String>,
    #[serde(default)]
    job_id: Attr<String>,
    #[serde(default)]
    effective_flink_configuration: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    config_yaml: Attr<String>,
}

#[async_trait]
impl DataSource for Configuration {
    fn type_name(&self) -> &'static str {
        "flink_configuration"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Renders the effective Flink configuration of a deployment for the given inputs, \
             without a cluster, and reports the same errors and warnings a `flink_deployment` \
             plan would. Handy in module tests and reviews.",
            vec![
                Attribute::string("name").required().validate(Validator::KubernetesName).description("Deployment name."),
                Attribute::string("namespace").optional().validate(Validator::KubernetesName).description("Namespace. Defaults to `default`."),
                Attribute::string("flink_version").required().description("Flink version, e.g. `2.3`."),
                Attribute::number("parallelism").optional().validate(Validator::IntAtLeast(1)).description("Default parallelism. Defaults to 1."),
                Attribute::number("task_slots").optional().validate(Validator::IntAtLeast(1)).description("Slots per TaskManager. Defaults to 1."),
                Attribute::string_map("flink_configuration").optional().description("The user's Flink configuration keys."),
                Attribute::string("blob_storage_base_uri").optional().description("A blob storage base URI, for the derived checkpoint and savepoint directories."),
                Attribute::string("deployment_id").computed().description("The id the deployment gets."),
                Attribute::string("job_id").computed().description("The pinned job id."),
                Attribute::typed("effective_flink_configuration", Type::Map(Box::new(Type::String))).computed().description("Every key Flink gets, secrets redacted."),
                Attribute::string("config_yaml").computed().description("The `config.yaml` as rendered, secrets redacted."),
            ],
        )
    }

    async fn read(&self, _ctx: &Context, config: &Value, diags: &mut Diagnostics) -> Value {
        let mut model: Model = match value::from_value(config) {
            Ok(m) => m,
            Err(e) => {
                diags.error("Invalid flink_configuration value", e.to_string());
                return Value::Null;
            }
        };
        let version = match model
            .flink_version
            .known()
            .map(|v| FlinkVersion::release_of(v).and_then(|_| FlinkVersion::parse(v)))
        {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                diags.attribute_error(
                    AttributePath::root("flink_version"),
                    "Unsupported Flink version",
                    e.to_string(),
                );
                return Value::Null;
            }
            None => return Value::Null,
        };
        let name = model.name.known().cloned().unwrap_or_default();
        let namespace = model
            .namespace
            .known()
            .cloned()
            .unwrap_or_else(|| "default".into());
        let id = super::deployment::deployment_id(&namespace, &name);
        let user = model
            .flink_configuration
            .known()
            .cloned()
            .unwrap_or_default();
        let input = RenderInput {
            version,
            namespace,
            deployment_id: id.clone(),
            job_id: Some(super::deployment::job_id_of(&id)),
            user: user.clone(),
            from_secrets: Default::default(),
            parallelism: model
                .parallelism
                .known()
                .and_then(|p| u32::try_from(*p).ok())
                .or(Some(1)),
            task_slots: model
                .task_slots
                .known()
                .and_then(|s| u32::try_from(*s).ok())
                .or(Some(1)),
            jobmanager: Default::default(),
            taskmanager: Default::default(),
            blob_storage: model.blob_storage_base_uri.known().cloned(),
            high_availability: None,
            queryable_state: false,
            owned: BTreeMap::new(),
        };
        let rendered = flink::render(&input);
        for issue in &rendered.issues {
            let path = if user.contains_key(&issue.key) {
                AttributePath::root("flink_configuration").key(&issue.key)
            } else {
                AttributePath::root("blob_storage_base_uri")
            };
            match issue.severity {
                flink::Severity::Error => {
                    diags.attribute_error(path, &issue.summary, &issue.detail)
                }
                flink::Severity::Warning => {
                    diags.attribute_warning(path, &issue.summary, &issue.detail)
                }
            }
        }
        let redacted = flink::redact::redact(&rendered.configuration);
        model.config_yaml = Attr::Known(flink::yaml::to_config_yaml(&redacted));
        model.effective_flink_configuration = Attr::Known(redacted);
        model.job_id = Attr::Known(super::deployment::job_id_of(&id));
        model.deployment_id = Attr::Known(id);
        value::to_value(&model, &self.schema().value_type()).unwrap_or_else(|e| {
            diags.error("Internal error writing flink_configuration", e.to_string());
            Value::Null
        })
    }
}
