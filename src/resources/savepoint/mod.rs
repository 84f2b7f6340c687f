//! `flink_savepoint`: a savepoint of a deployment's running job, taken on create and kept in
//! state; the job keeps running. Replacing it takes a new one; destroy forgets it, or deletes its
//! files through Flink with `dispose_on_destroy`.

mod model;

use super::deployment::snapshots;
use super::{Context, Resource};
use crate::schema::{plan::Plan, AttributePath, Diagnostics, Schema};
use crate::value::{Attr, Value};
use async_trait::async_trait;
use model::Model;
use std::time::Duration;

/// The `flink_savepoint` resource type.
pub struct Savepoint;

const TYPE: &str = "flink_savepoint";

fn read_model(value: &Value, diags: &mut Diagnostics) -> Option<Model> {
    super::read_model(TYPE, value, diags)
}

fn write_model(model: &Model, diags: &mut Diagnostics) -> Value {
    super::write_model(TYPE, &model::schema(), model, diags)
}

fn timeout(model: &Model) -> Duration {
    super::deployment::duration_of(&model.timeout, Duration::from_secs(600))
}

fn target(model: &Model) -> Option<(String, String)> {
    Some((
        model.namespace.known()?.clone(),
        model.deployment.known()?.clone(),
    ))
}

#[async_trait]
impl Resource for Savepoint {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> Schema {
        model::schema()
    }

    async fn modify_plan(
        &self,
        ctx: &Context,
        prior: &Value,
        _config: &Value,
        plan: &mut Plan,
        diags: &mut Diagnostics,
    ) {
        // Only a new savepoint needs a running job; a deployment created in the same run is
        // checked at apply.
        if !prior.is_null() || plan.planned.is_null() || ctx.provider.is_none() {
            return;
        }
        let Some((namespace, name)) = read_model(&plan.planned, diags).as_ref().and_then(target)
        else {
            return;
        };
        match snapshots::recorded_state(ctx, &namespace, &name).await {
            Some(state) if state != "RUNNING" => diags.attribute_error(
                AttributePath::root("deployment"),
                "The deployment is not running",
                format!(
                    "flink_deployment {namespace}/{name} is {state}; a savepoint needs its job \
                     RUNNING. Set its state = \"RUNNING\" and apply first."
                ),
            ),
            _ => {}
        }
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let Some(mut model) = read_model(planned, diags) else {
            return Value::Null;
        };
        let (Some((namespace, name)), Some(format)) = (target(&model), model.format_type.known())
        else {
            return Value::Null;
        };
        let Some(taken) =
            snapshots::take(ctx, &namespace, &name, format, timeout(&model), diags).await
        else {
            return Value::Null;
        };
        let time = crate::value::rfc3339(time::OffsetDateTime::now_utc());
        model.id = Attr::Known(taken.location.clone());
        model.location = Attr::Known(taken.location);
        model.job_id = Attr::Known(taken.job_id);
        model.time = Attr::Known(time);
        write_model(&model, diags)
    }

    async fn read(&self, _ctx: &Context, current: &Value, _diags: &mut Diagnostics) -> Value {
        // A savepoint's files live in the blob storage, which the provider does not read.
        current.clone()
    }

    async fn update(
        &self,
        _ctx: &Context,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        // Only dispose_on_destroy and timeout change in place; what was taken stays.
        let (Some(prior), Some(mut model)) = (read_model(prior, diags), read_model(planned, diags))
        else {
            return planned.clone();
        };
        model.id = prior.id;
        model.location = prior.location;
        model.time = prior.time;
        model.job_id = prior.job_id;
        write_model(&model, diags)
    }

    async fn delete(&self, ctx: &Context, prior: &Value, diags: &mut Diagnostics) {
        let Some(model) = read_model(prior, diags) else {
            return;
        };
        if model.dispose_on_destroy.known() != Some(&true) {
            return;
        }
        let (Some((namespace, name)), Some(location)) = (target(&model), model.location.known())
        else {
            return;
        };
        snapshots::dispose(ctx, &namespace, &name, location, timeout(&model), diags).await;
    }
}
