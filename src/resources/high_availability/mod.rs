//! `flink_high_availability`: the high-availability settings deployments share, either Flink's
//! native Kubernetes HA or ZooKeeper, kept in a ConfigMap. It exports a `spec` object that
//! deployments take as their `high_availability` attribute; the spec is derived at plan time, so
//! deployments plan against known values. The HA cluster id is never part of it: that is always
//! the deployment id.

mod model;
mod objects;

use super::typed::OwnsObjects;
use super::{cluster_objects, owned, Context};
use crate::kubernetes::Kind;
use crate::schema::{Diagnostics, Schema};
use crate::value::{self, Attr, Value};
use async_trait::async_trait;
use model::Model;

/// The `flink_high_availability` resource type.
pub struct HighAvailability;

const TYPE: &str = "flink_high_availability";

/// Fills id, spec and the objects expected in sync from the inputs.
fn fill_computed(model: &mut Model) {
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

#[async_trait]
impl OwnsObjects for HighAvailability {
    type Model = Model;
    const TYPE: &'static str = TYPE;
    const KINDS: &'static [Kind] = objects::KINDS;
    const OWNER_KIND: &'static str = objects::OWNER_KIND;
    const NOUN: &'static str = "High-availability settings";

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
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Model> {
        let mut as_applied = None;
        if let Some(spec) = model.spec.known() {
            let owner = objects::owner(&spec.namespace, &spec.name)
                .instance(model.instance_id.known().map(String::as_str));
            let desired = objects::desired(spec);
            let applied = owned::apply(ctx, &owner, objects::KINDS, &desired, TYPE, diags).await;
            if diags.has_errors() {
                as_applied = Some(cluster_objects::as_applied(&desired, applied));
            }
        }
        // A failed apply records what it applied, not what was planned.
        if let Some(objects) = as_applied {
            model.kubernetes_objects = Attr::Known(objects);
        }
        Some(model)
    }

    /// Drift is judged against what Terraform applied (the prior state), attributes read back
    /// from what the cluster has; an import has no prior state and judges against what it reads.
    fn observed(
        &self,
        mut model: Model,
        observed: &[(Kind, kube::api::DynamicObject)],
    ) -> Option<Model> {
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
            let status = cluster_objects::observe(&objects::desired(spec), observed, &[]);
            model.kubernetes_objects =
                value::from_value(&status).map_or(Attr::Unknown, Attr::Known);
        }
        Some(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{typed::Typed, Resource};
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
        let ha = Typed(HighAvailability);
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
        let ha = Typed(HighAvailability);
        let cfg = config("zookeeper", zk(&["zk-0:2181", "zk-1:2181"]));
        let mut planned = plan::plan(&ha.schema(), &Value::Null, &cfg, &cfg);
        let ctx = Context::default();
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
