//! `flink_blob_storage`: one base URI for all deployment state, with S3 credentials converged into a
//! Kubernetes Secret (the secret key sensitive, or write-only so it never reaches state) and the
//! settings into a ConfigMap. Read reflects edits of the ConfigMap in the attributes and reports
//! every drifted object in `kubernetes_objects`.

mod model;
mod objects;

use super::{cluster_objects, owned, Context, Resource};
use crate::kubernetes::Kind;
use crate::schema::{plan::Plan, AttributePath, Diagnostics, Schema};
use crate::value::{self, Attr, Value};
use async_trait::async_trait;
use model::Model;
pub(crate) use model::SCHEMES;

/// The `flink_blob_storage` resource type.
pub struct BlobStorage;

const TYPE: &str = "flink_blob_storage";

fn read_model(value: &Value, diags: &mut Diagnostics) -> Option<Model> {
    super::read_model(TYPE, value, diags)
}

fn write_model(model: &Model, diags: &mut Diagnostics) -> Value {
    super::write_model(TYPE, &model::schema(), model, diags)
}

/// Fills the values derived from the inputs: id, spec and the objects expected in sync.
fn derive(model: &mut Model) {
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

impl BlobStorage {
    async fn converge(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let Some(mut model) = read_model(planned, diags) else {
            return planned.clone();
        };
        derive(&mut model);
        let state = write_model(&model, diags);
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
                return prior.clone();
            }
        }
        if let Some(spec) = model.spec.known() {
            let desired = objects::desired(
                spec,
                model.access_key.known().map(String::as_str),
                secret_key.as_deref(),
            );
            let owner = objects::owner(&spec.namespace, &spec.name);
            owned::apply(ctx, &owner, objects::KINDS, &desired, TYPE, diags).await;
        }
        // Returned even on failure, so whatever was created is recorded in state.
        state
    }
}

#[async_trait]
impl Resource for BlobStorage {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> Schema {
        model::schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        model::validate(config, diags);
    }

    async fn modify_plan(
        &self,
        _ctx: &Context,
        _prior: &Value,
        _config: &Value,
        plan: &mut Plan,
        diags: &mut Diagnostics,
    ) {
        if let Some(mut model) = read_model(&plan.planned, diags) {
            derive(&mut model);
            plan.planned = write_model(&model, diags);
        }
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        self.converge(ctx, &Value::Null, planned, config, diags)
            .await
    }

    async fn read(&self, ctx: &Context, current: &Value, diags: &mut Diagnostics) -> Value {
        let Some(model) = read_model(current, diags) else {
            return current.clone();
        };
        let (Some(namespace), Some(name)) = (model.namespace.known(), model.name.known()) else {
            return current.clone();
        };
        match observe(ctx, namespace, name, model.clone(), diags).await {
            Some(Some(observed)) => write_model(&observed, diags),
            Some(None) => Value::Null,
            None => current.clone(),
        }
    }

    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        self.converge(ctx, prior, planned, config, diags).await
    }

    async fn delete(&self, ctx: &Context, prior: &Value, diags: &mut Diagnostics) {
        let Some(model) = read_model(prior, diags) else {
            return;
        };
        if let (Some(namespace), Some(name)) = (model.namespace.known(), model.name.known()) {
            let owner = objects::owner(namespace, name);
            owned::delete(ctx, &owner, objects::KINDS, TYPE, diags).await;
        }
    }

    async fn import(&self, ctx: &Context, id: &str, diags: &mut Diagnostics) -> Value {
        let Some((namespace, name)) = owned::import_id(id, TYPE, diags) else {
            return Value::Null;
        };
        let model = Model {
            name: Attr::Known(name.into()),
            namespace: Attr::Known(namespace.into()),
            ..Model::default()
        };
        match observe(ctx, namespace, name, model, diags).await {
            Some(Some(found)) => write_model(&found, diags),
            Some(None) => {
                diags.error(
                    "Blob storage not found",
                    format!(
                        "No ConfigMap {} managed by this provider in namespace {namespace}. \
                         Check the id, or create the blob storage with terraform apply.",
                        objects::object_name(name)
                    ),
                );
                Value::Null
            }
            None => Value::Null,
        }
    }
}

/// The model as the cluster has it: `Some(None)` when none of its objects is left (on import: no
/// ConfigMap), `None` on errors.
async fn observe(
    ctx: &Context,
    namespace: &str,
    name: &str,
    mut model: Model,
    diags: &mut Diagnostics,
) -> Option<Option<Model>> {
    let owner = objects::owner(namespace, name);
    let observed = owned::observe(ctx, &owner, objects::KINDS, TYPE, diags).await?;
    // It exists while any of its objects does (a Secret left behind is still its own, to recreate
    // the rest or to delete); an import needs the ConfigMap, which records what it was given.
    let imported = model.spec.known().is_none();
    if observed.is_empty() || (imported && !owned::has(&observed, Kind::ConfigMap)) {
        return Some(None);
    }
    // Drift is judged against what Terraform applied (the prior state), attributes read back from
    // what the cluster has; an import has no prior state and judges against what it reads.
    let mut applied = model.clone();
    objects::read_back(&mut model, &observed);
    derive(&mut model);
    derive(&mut applied);
    let judged = if applied.spec.known().is_some() {
        &applied
    } else {
        &model
    };
    if let Some(spec) = judged.spec.known() {
        let access_key = judged.access_key.known().map(String::as_str);
        let desired = objects::desired(spec, access_key, None);
        let status = cluster_objects::observe(&desired, &observed, &[Kind::Secret]);
        model.kubernetes_objects = value::from_value(&status).map_or(Attr::Unknown, Attr::Known);
    }
    Some(Some(model))
}
