//! The apply side of an in-place rescale (IO, with Flink), as [`super::lifecycle::Transition`] decides
//! it: before the objects apply, the running job's new parallelism goes to Flink's adaptive
//! scheduler as resource requirements, so a refusal changes nothing; after them (the TaskManager
//! Deployment scaled), the wait lasts until Flink runs the job at it. The JobManager keeps
//! running, no savepoint is taken and the job id stays.

use super::lifecycle::Rescale;
use super::model::Model;
use super::reach;
use crate::kubernetes::Cluster;
use crate::resources::timeouts::Deadline;
use crate::schema::{AttributePath, Diagnostics};
use serde_json::Value as Json;
use std::time::{Duration, Instant};

/// Resource requirements Flink accepted for the running job, to wait for after the rollout.
pub struct Requested {
    rescale: Rescale,
    requirements: Json,
    since: Instant,
}

/// Sends the new parallelism of `prior`'s running job to Flink; the requirements it accepted,
/// `None` when no vertex ran at the old default (nothing to wait for). A refusal is an error in
/// `diags` before anything changed.
pub async fn request(
    cluster: &Cluster,
    prior: &Model,
    rescale: Rescale,
    diags: &mut Diagnostics,
) -> Option<Requested> {
    let Rescale { from, to } = rescale;
    let since = Instant::now();
    let answer = match reach::of(cluster, prior).await {
        Ok(jm) => jm.rescale(from, to).await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(Some(requirements)) => {
            tracing::info!(from, to, "asked Flink to rescale the running job in place");
            Some(Requested {
                rescale,
                requirements,
                since,
            })
        }
        Ok(None) => {
            tracing::info!(
                from,
                to,
                "no vertex of the running job runs at the old default parallelism: nothing to rescale"
            );
            None
        }
        Err(e) => {
            diags.attribute_error(
                AttributePath::root("parallelism"),
                "The job could not be rescaled in place",
                format!(
                    "Flink did not take the new parallelism {to} of the running job: {e}. Nothing \
                     was changed and the job keeps running at {from}. Apply again once the job \
                     runs, or set in_place_rescaling = false to roll the change out per \
                     upgrade_strategy."
                ),
            );
            None
        }
    }
}

/// Waits, within `wait_timeout` and the operation's deadline, until Flink runs the job of
/// `model` as `requested`; an error in `diags` when it does not.
pub async fn wait(
    cluster: &Cluster,
    model: &Model,
    requested: &Requested,
    deadline: &Deadline,
    diags: &mut Diagnostics,
) {
    let own = super::attributes::duration_of(&model.wait_timeout, Duration::from_secs(600));
    let limit = deadline.limit(own, "wait_timeout");
    let answer = match reach::of(cluster, model).await {
        Ok(jm) => {
            jm.wait_for_requirements(&requested.requirements, &limit)
                .await
        }
        Err(e) => Err(e),
    };
    let Rescale { from, to } = requested.rescale;
    match answer {
        Ok(()) => tracing::info!(
            from,
            to,
            took_ms = requested.since.elapsed().as_millis() as u64,
            "rescaled in place: the job runs at its new parallelism"
        ),
        Err(e) => diags.attribute_error(
            AttributePath::root("parallelism"),
            "The job was not rescaled in place",
            format!(
                "Flink accepted the new parallelism {to} (from {from}) but {e}. The adaptive \
                 scheduler runs the job with the slots it has: check that number_of_task_managers \
                 times task_slots covers {to}, and Flink's cooldown \
                 (jobmanager.adaptive-scheduler.executing.cooldown-after-rescaling)."
            ),
        ),
    }
}
