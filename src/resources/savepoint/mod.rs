//! `flink_savepoint`: a savepoint of a deployment's running job, taken on create and kept in
//! state; the job keeps running. Replacing it takes a new one; destroy forgets it, or deletes its
//! files through Flink with `dispose_on_destroy`.

mod model;

use super::deployment::snapshots;
use super::typed::{Observed, TypedResource};
use super::Context;
use crate::schema::{AttributePath, Diagnostics, Schema};
use crate::value::{Attr, Value};
use async_trait::async_trait;
use model::Model;
use std::time::Duration;

/// The `flink_savepoint` resource type.
pub struct Savepoint;

const TYPE: &str = "flink_savepoint";

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
impl TypedResource for Savepoint {
    type Model = Model;
    const TYPE: &'static str = TYPE;

    fn schema(&self) -> Schema {
        model::schema()
    }

    async fn plan(
        &self,
        ctx: &Context,
        prior: Option<&Model>,
        planned: &mut Model,
        diags: &mut Diagnostics,
    ) {
        // Only a new savepoint needs a running job; a deployment created in the same run is
        // checked at apply.
        if prior.is_some() || ctx.provider.is_none() {
            return;
        }
        let Some((namespace, name)) = target(planned) else {
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

    async fn apply(
        &self,
        ctx: &Context,
        prior: Option<&Model>,
        mut model: Model,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Model> {
        if let Some(prior) = prior {
            // Only dispose_on_destroy and timeout change in place; what was taken stays.
            model.id = prior.id.clone();
            model.location = prior.location.clone();
            model.time = prior.time.clone();
            model.job_id = prior.job_id.clone();
            return Some(model);
        }
        let (namespace, name) = target(&model)?;
        let format = model.format_type.known()?;
        let taking = snapshots::take(ctx, &namespace, &name, format, timeout(&model), diags);
        let taken = match ctx.interrupt.guard(taking).await {
            Ok(taken) => taken?,
            Err(_) => {
                diags.error(
                    crate::interrupt::SUMMARY,
                    crate::interrupt::detail(
                        "while the savepoint was being taken",
                        "Nothing is recorded; Flink may still complete the savepoint, whose files \
                         then stay in the savepoint directory. The next apply takes a new one.",
                    ),
                );
                return None;
            }
        };
        let time = crate::value::rfc3339(time::OffsetDateTime::now_utc());
        model.id = Attr::Known(taken.location.clone());
        model.location = Attr::Known(taken.location);
        model.job_id = Attr::Known(taken.job_id);
        model.time = Attr::Known(time);
        Some(model)
    }

    async fn read(
        &self,
        _ctx: &Context,
        current: Model,
        _diags: &mut Diagnostics,
    ) -> Observed<Model> {
        // A savepoint's files live in the blob storage, which the provider does not read.
        Observed::Found(current)
    }

    async fn delete(&self, ctx: &Context, model: Model, diags: &mut Diagnostics) {
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
