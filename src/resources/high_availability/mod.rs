//! `flink_high_availability`: the high-availability settings deployments share, either Flink's
//! native Kubernetes HA or ZooKeeper, kept in a ConfigMap. It exports a `spec` object that
//! deployments take as their `high_availability` attribute; the spec is derived at plan time, so
//! deployments plan against known values. The HA cluster id is never part of it: that is always
//! the deployment id.

mod model;
mod objects;

use super::{cluster_objects, owned, Context, Resource};
use crate::kubernetes::Kind;
use crate::schema::{plan::Plan, Diagnostics, Schema};
use crate::value::{self, Attr, Value};
use async_trait::async_trait;
use model::Model;

/// The `flink_high_availability` resource type.
pub struct HighAvailability;

const TYPE: &str = "flink_high_availability";

fn read_model(value: &Value, diags: &mut Diagnostics) -> Option<Model> {
    super::read_model(TYPE, value, diags)
}

fn write_model(model: &Model, diags: &mut Diagnostics) -> Value {
    super::write_model(TYPE, &model::schema(), model, diags)
}

/// Fills id, spec and the objects expected in sync from the inputs.
fn derive(model: &mut Model) {
    model.id = match (model.namespace.known(), model.name.known()) {
        (Some(ns), Some(name)) => Attr::Known(format!("{ns}/{name}")),
        _ => Attr::Unknown,
    };
    model.spec = objects::spec(model);
    model.kubernetes_objects = match model.spec.known() {
        Some(spec) => value::from_value(&cluster_objects::in_sync(&objects::desired(spec)))
            .map_or(Attr::Unknown, Attr::Known),
        None => Attr::Unknown,
    };
}

impl HighAvailability {
    async fn converge(&self, ctx: &Context, planned: &Value, diags: &mut Diagnostics) -> Value {
        let Some(mut model) = read_model(planned, diags) else {
            return planned.clone();
        };
        derive(&mut model);
        if let Some(spec) = model.spec.known() {
            let owner = objects::owner(&spec.namespace, &spec.name);
            let desired = objects::desired(spec);
            owned::apply(ctx, &owner, objects::KINDS, &desired, TYPE, diags).await;
        }
        write_model(&model, diags)
    }
}

#[async_trait]
impl Resource for HighAvailability {
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
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        self.converge(ctx, planned, diags).await
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
        _prior: &Value,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        self.converge(ctx, planned, diags).await
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
                    "High-availability settings not found",
                    format!(
                        "No ConfigMap {} managed by this provider in namespace {namespace}. \
                         Check the id, or create the settings with terraform apply.",
                        objects::object_name(name)
                    ),
                );
                Value::Null
            }
            None => Value::Null,
        }
    }
}

/// The model as the cluster has it: `Some(None)` when its ConfigMap is gone, `None` on errors.
async fn observe(
    ctx: &Context,
    namespace: &str,
    name: &str,
    mut model: Model,
    diags: &mut Diagnostics,
) -> Option<Option<Model>> {
    let owner = objects::owner(namespace, name);
    let observed = owned::observe(ctx, &owner, objects::KINDS, TYPE, diags).await?;
    if !owned::has(&observed, Kind::ConfigMap) {
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
        let status = cluster_objects::observe(&objects::desired(spec), &observed, &[]);
        model.kubernetes_objects = value::from_value(&status).map_or(Attr::Unknown, Attr::Known);
    }
    Some(Some(model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{plan, validate::validate_attributes, AttributePath};

    fn config(ha_type: &str, zookeeper: Value) -> Value {
        Value::object([
            ("id", Value::Null),
            ("name", Value::string("shared")),
            ("namespace", Value::Null),
            ("type", Value::string(ha_type)),
            ("storage_dir", Value::Null),
            ("zookeeper", zookeeper),
            ("spec", Value::Null),
            ("kubernetes_objects", Value::Null),
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
    async fn plan_derives_a_known_spec_and_objects() {
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
        assert!(model::check_storage_dir(&Value::string("s3://bucket/ha")).is_ok());
        assert!(model::check_storage_dir(&Value::string("bucket/ha")).is_err());
        assert!(model::check_storage_dir(&Value::string("ftp://x")).is_err());
    }
}
