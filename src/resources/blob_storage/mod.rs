//! `flink_blob_storage`: one base URI for all deployment state, with S3 credentials converged into a
//! Kubernetes Secret (the secret key sensitive, or write-only so it never reaches state) and the
//! settings into a ConfigMap. Read reflects edits of the ConfigMap in the attributes and reports
//! every drifted object in `kubernetes_objects`.

mod model;
pub(crate) mod objects;

use super::typed::OwnsObjects;
use super::{cluster_objects, owned, Context};
use crate::kubernetes::Kind;
use crate::schema::{AttributePath, Diagnostics, Schema};
use crate::value::{self, Attr, Value};
use async_trait::async_trait;
use model::Model;
pub(crate) use model::SCHEMES;

/// The `flink_blob_storage` resource type.
pub struct BlobStorage;

const TYPE: &str = "flink_blob_storage";

/// Fills the values derived from the inputs: id, spec and the objects expected in sync.
fn fill_computed(model: &mut Model) {
    model.id = match (model.namespace.known(), model.name.known()) {
        (Some(ns), Some(name)) => Attr::Known(format!("{ns}/{name}")),
        _ => Attr::Unknown,
    };
    model.spec = objects::spec(model);
    model.kubernetes_objects = match model.spec.known() {
        Some(spec) => {
            let desired =
                objects::desired(spec, model.access_key.known().map(String::as_str), None);
            let in_sync = cluster_objects::in_sync(&desired);
            value::from_value(&in_sync).map_or(Attr::Unknown, Attr::Known)
        }
        None => Attr::Unknown,
    };
}

/// The S3 access check of `verify = true`.
async fn verify(
    model: &Model,
    secret_key: Option<&str>,
) -> Result<(), crate::storage::StorageError> {
    let access = crate::storage::S3Access {
        base_uri: model.base_uri.known().map_or("", String::as_str),
        endpoint: model.endpoint.known().map(String::as_str),
        region: model.region.known().map(String::as_str),
        path_style: model.path_style_access.known() == Some(&true),
        access_key: model.access_key.known().map_or("", String::as_str),
        secret_key: secret_key.unwrap_or_default(),
    };
    crate::storage::verify_s3(&access).await
}

/// The secret key from configuration: write-only values are only ever there.
fn configured_secret_key(config: &Value) -> Option<String> {
    ["secret_key", "secret_key_wo"]
        .iter()
        .find_map(|k| config.get(k).and_then(Value::as_str).map(String::from))
}

#[async_trait]
impl OwnsObjects for BlobStorage {
    type Model = Model;
    const TYPE: &'static str = TYPE;
    const KINDS: &'static [Kind] = objects::KINDS;
    const OWNER_KIND: &'static str = objects::OWNER_KIND;
    const NOUN: &'static str = "Blob storage";

    fn schema(&self) -> Schema {
        model::schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        model::validate(config, diags);
    }

    fn fill_computed(&self, model: &mut Model) {
        fill_computed(model);
    }

    fn recorded_in(name: &str) -> String {
        format!("ConfigMap {}", objects::object_name(name))
    }

    async fn apply(
        &self,
        ctx: &Context,
        _prior: Option<&Model>,
        mut model: Model,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Model> {
        let secret_key = configured_secret_key(config);
        if model.verify.known() == Some(&true) {
            if let Err(e) = verify(&model, secret_key.as_deref()).await {
                diags.attribute_error(
                    AttributePath::root("verify"),
                    "S3 access check failed",
                    format!(
                        "{e}. Check access_key and the secret key, the endpoint and the bucket, \
                         or set verify = false. Nothing was written."
                    ),
                );
                // Nothing was written: the state stays as it was.
                return None;
            }
        }
        let mut as_applied = None;
        if let Some(spec) = model.spec.known() {
            let desired = objects::desired(
                spec,
                model.access_key.known().map(String::as_str),
                secret_key.as_deref(),
            );
            let owner = objects::owner(&spec.namespace, &spec.name)
                .instance(model.instance_id.known().map(String::as_str));
            let applied = owned::apply(ctx, &owner, objects::KINDS, &desired, TYPE, diags).await;
            if diags.has_errors() {
                as_applied = Some(cluster_objects::as_applied(&desired, applied));
            }
        }
        // Returned even on failure, so whatever was created is recorded in state, and
        // `kubernetes_objects` says what was applied, not what was planned.
        if let Some(objects) = as_applied {
            model.kubernetes_objects = Attr::Known(objects);
        }
        Some(model)
    }

    /// A Secret left without its ConfigMap is still its own (to recreate the rest or to
    /// delete); an import needs the ConfigMap, which records what it was given. Drift is judged
    /// against what Terraform applied (the prior state), attributes read back from what the
    /// cluster has; an import has no prior state and judges against what it reads.
    fn observed(
        &self,
        mut model: Model,
        observed: &[(Kind, kube::api::DynamicObject)],
    ) -> Option<Model> {
        let imported = model.spec.known().is_none();
        if imported && !owned::has(observed, Kind::ConfigMap) {
            return None;
        }
        let mut applied = model.clone();
        objects::read_back(&mut model, observed);
        fill_computed(&mut model);
        fill_computed(&mut applied);
        let judged = if applied.spec.known().is_some() {
            &applied
        } else {
            &model
        };
        if let Some(spec) = judged.spec.known() {
            let access_key = judged.access_key.known().map(String::as_str);
            let desired = objects::desired(spec, access_key, None);
            let status = cluster_objects::observe(&desired, observed, &[Kind::Secret]);
            model.kubernetes_objects =
                value::from_value(&status).map_or(Attr::Unknown, Attr::Known);
        }
        Some(model)
    }
}
