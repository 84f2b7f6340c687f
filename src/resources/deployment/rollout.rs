//! The apply side of the lifecycle (IO, with Flink): before new objects roll out, stop the
//! running job with a savepoint or cancel it, as [`lifecycle::before`] decides, or read the
//! newest state Flink kept of a job that ended outside Terraform. A savepoint that fails stops
//! the apply with Flink's reason while the job keeps running; a job that is not running gets no
//! savepoint, and the apply says so and goes on.

use super::lifecycle::{self, Before};
use super::model::Model;
use super::phases::{Phase, Phases};
use super::reach::{self, JobManager};
pub use super::savepoint_history::Taken;
use super::states::{self, RestoreStrategy};
use crate::jobmanager::{self, Error, Retained};
use crate::kubernetes::Cluster;
use crate::resources::timeouts::{Deadline, Limit};
use crate::schema::{AttributePath, Diagnostics};
use std::time::Duration;

/// How long a failed savepoint waits for the job to end by another stop in flight.
const ENDED_MEANWHILE: Duration = Duration::from_secs(30);

/// How long Flink may take to end the application of a stopped or cancelled job.
const APPLICATION_END: Duration = Duration::from_secs(60);

/// How long a savepoint (or cancel) may take: `savepoint_timeout`, within the operation's deadline.
pub(super) fn savepoint_limit(model: &Model, deadline: &Deadline) -> Limit {
    let own = super::attributes::duration_of(&model.savepoint_timeout, Duration::from_secs(600));
    deadline.limit(own, "savepoint_timeout")
}

/// How long to wait for Flink to end the stopped job's application, within the deadline.
pub(super) fn application_end(deadline: &Deadline) -> Duration {
    deadline.cap(APPLICATION_END)
}

/// What to do to the running job before the rollout, and within what.
pub struct Stop<'a> {
    /// The step [`lifecycle::before`] decided.
    pub step: Before,
    /// Where a savepoint goes.
    pub savepoint_directory: Option<&'a str>,
    /// The operation's deadline.
    pub deadline: &'a Deadline,
}

/// Whether the deployment's JobManagers share state through high availability (its job results
/// among it), so the next one must find the stopped job's application cleaned up.
fn has_ha(model: &Model) -> bool {
    !model.high_availability.is_null()
}

/// Acts on the running job of `prior` before `planned` rolls out; the savepoint taken, if any.
/// Errors in `diags` mean nothing may roll out. The stop and the end of the old application are
/// marked in `phases`.
pub async fn before_rollout(
    cluster: &Cluster,
    stop: Stop<'_>,
    prior: &Model,
    planned: &Model,
    phases: &mut Phases,
    diags: &mut Diagnostics,
) -> Option<Taken> {
    let Stop {
        step,
        savepoint_directory,
        deadline,
    } = stop;
    if matches!(step, Before::Nothing | Before::Defer) {
        return None;
    }
    let limit = savepoint_limit(planned, deadline);
    let running = async {
        let jm = reach::of(cluster, prior).await?;
        let state = jm.job_state().await?;
        Ok::<_, Error>((jm, state))
    }
    .await;
    let restores = prior
        .last_savepoint
        .known()
        .map_or("no savepoint: it starts without state".to_string(), |l| {
            format!("its last savepoint {l}")
        });
    let (jm, state) = match running {
        Ok((jm, state)) if !jobmanager::is_terminal(&state) => (jm, state),
        Ok((jm, state)) => {
            if let Some(found) = ended_since_plan(&jm, step, prior, planned).await {
                phases.reached(Phase::Savepoint);
                jm.wait_for_application_end_of(has_ha(prior), application_end(deadline))
                    .await;
                phases.reached(Phase::ApplicationEnded);
                return Some(found);
            }
            not_running(step, &state, &restores, diags);
            return None;
        }
        Err(e) => {
            not_running(step, &e.to_string(), &restores, diags);
            return None;
        }
    };
    match step {
        Before::Savepoint(reason) => {
            if !lifecycle::require_savepoint_directory(reason, savepoint_directory, diags) {
                return None;
            }
            if state != states::JOB_RUNNING {
                diags.error(
                    "The job cannot take a savepoint now",
                    format!(
                        "Flink reports the job {state}; a savepoint needs it RUNNING. Apply again \
                         once it runs, or use upgrade_strategy = \"STATELESS\" to go on without \
                         one. Nothing was changed."
                    ),
                );
                return None;
            }
            match jm.stop_with_savepoint(savepoint_directory, &limit).await {
                Ok(location) => {
                    phases.reached(Phase::Savepoint);
                    jm.wait_for_application_end_of(has_ha(prior), application_end(deadline))
                        .await;
                    phases.reached(Phase::ApplicationEnded);
                    Some(Taken {
                        location,
                        reason,
                        time: None,
                    })
                }
                Err(e) => {
                    // Another stop ended the job meanwhile (an apply killed while Flink took its
                    // savepoint, or `flink stop` by hand): what it left is the state to keep.
                    if let Some(found) = ended_meanwhile(&jm, prior, planned).await {
                        phases.reached(Phase::Savepoint);
                        jm.wait_for_application_end_of(has_ha(prior), application_end(deadline))
                            .await;
                        phases.reached(Phase::ApplicationEnded);
                        return Some(found);
                    }
                    diags.attribute_error(
                        AttributePath::root(match reason {
                            states::Reason::Suspend
                            | states::Reason::RetainedCheckpoint
                            | states::Reason::FoundSavepoint => "state",
                            states::Reason::Upgrade => "upgrade_strategy",
                        }),
                        "The savepoint failed",
                        format!(
                            "{e}\n\nThe job keeps running and nothing was changed; fix the cause \
                             and apply again."
                        ),
                    );
                    None
                }
            }
        }
        Before::Cancel => {
            match jm.cancel(&limit).await {
                Ok(()) => {
                    phases.reached(Phase::Cancelled);
                    jm.wait_for_application_end_of(has_ha(prior), application_end(deadline))
                        .await;
                    phases.reached(Phase::ApplicationEnded);
                    if lifecycle::reads_checkpoint(prior, planned, step) {
                        return newer_state(&jm, prior, planned, diags).await;
                    }
                }
                Err(e) => diags.error(
                    "Cancelling the job failed",
                    format!("{e}\n\nNothing was changed; apply again."),
                ),
            }
            None
        }
        Before::Nothing | Before::Defer => None,
    }
}

/// The state a job that ended after the plan saw it running left, when this apply comes to stop
/// it: a stop-with-savepoint from an apply that was killed while Flink took the savepoint (then
/// applied again from the same saved plan), or `flink stop` by hand, finished meanwhile. Without
/// it the new job would restore from the older savepoint state records, losing what the stop
/// kept. Nothing when the planned job keeps no state (`restore_strategy = "NONE"`, or a cancel
/// that reads no checkpoint).
async fn ended_since_plan(
    jm: &JobManager<'_>,
    step: Before,
    prior: &Model,
    planned: &Model,
) -> Option<Taken> {
    let keeps_state =
        matches!(step, Before::Savepoint(_)) || lifecycle::reads_checkpoint(prior, planned, step);
    if !keeps_state || planned.restore() == Some(RestoreStrategy::Nothing) {
        return None;
    }
    let found = read_newer_state(jm, prior, planned).await.ok()??;
    tracing::info!(location = %found.location, "the job ended since the plan, with a savepoint");
    Some(found)
}

/// The savepoint a stop that was not this apply's left, when the job has ended since this apply
/// saw it running and Flink reports a savepoint newer than state's: a stop-with-savepoint still
/// in flight from an apply that was killed finishes on its own, and this apply's own trigger then
/// finds no running job.
pub(super) async fn ended_meanwhile(
    jm: &JobManager<'_>,
    prior: &Model,
    planned: &Model,
) -> Option<Taken> {
    // Flink answers the failed trigger before its REST API reports the job ended: give the
    // other stop the time a stop-with-savepoint takes to finish.
    let deadline = tokio::time::Instant::now() + ENDED_MEANWHILE;
    let state = loop {
        match jm.job_state().await {
            Ok(state) if jobmanager::is_terminal(&state) => break state,
            _ if tokio::time::Instant::now() >= deadline => return None,
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    let found = read_newer_state(jm, prior, planned).await.ok()??;
    tracing::info!(location = %found.location, %state, "the job ended meanwhile, with a savepoint");
    Some(found)
}

/// The newest state Flink kept of `prior`'s job, which ended outside Terraform (its JobManager
/// outlives it), when it is newer than the last savepoint. When Flink cannot be asked, the apply
/// fails (an error in `diags`): a savepoint taken by hand may be newer than anything state
/// records, and restoring older state without a word would silently lose the job's progress.
pub async fn retained_checkpoint(
    cluster: &Cluster,
    prior: &Model,
    planned: &Model,
    diags: &mut Diagnostics,
) -> Option<Taken> {
    let reached = match reach::of(cluster, prior).await {
        Ok(jm) => read_newer_state(&jm, prior, planned).await,
        Err(e) => Err(e),
    };
    match reached {
        Ok(found) => found,
        Err(e) => {
            let from = restores_otherwise(prior);
            diags.attribute_error(
                AttributePath::root("state"),
                "Cannot read the ended job's newest state",
                format!(
                    "The job ended outside Terraform, and Flink could not be asked for the newest \
                     savepoint or checkpoint it kept of it ({e}). Starting it now would restore \
                     from {from}, and a newer savepoint (one taken by hand with `flink stop`) \
                     would be lost. Nothing was changed: apply again once the JobManager \
                     answers, or set restore_strategy = \"NONE\" to start without state."
                ),
            );
            None
        }
    }
}

/// The newest savepoint (or, under `LATEST_STATE`, retained checkpoint) Flink reports of the
/// prior job, when it is newer than the last one state records; a warning when Flink cannot be
/// asked (the provider just cancelled the job itself).
async fn newer_state(
    jm: &JobManager<'_>,
    prior: &Model,
    planned: &Model,
    diags: &mut Diagnostics,
) -> Option<Taken> {
    match read_newer_state(jm, prior, planned).await {
        Ok(found) => found,
        Err(e) => {
            no_checkpoint(&e.to_string(), prior, planned, diags);
            None
        }
    }
}

/// What [`newer_state`] finds, or why Flink could not be asked.
pub(super) async fn read_newer_state(
    jm: &JobManager<'_>,
    prior: &Model,
    planned: &Model,
) -> Result<Option<Taken>, Error> {
    let configuration = prior.effective_flink_configuration.known();
    let retention = configuration
        .and_then(|c| c.get(super::flink_input::RETENTION_KEY))
        .map(String::as_str);
    let statistics_age = jobmanager::answers::checkpoint_statistics_age(
        configuration.unwrap_or(&std::collections::BTreeMap::new()),
    );
    let Some(found) = jm
        .newest_retained(
            lifecycle::counts_checkpoints(planned),
            retention,
            statistics_age,
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(newer_than_recorded(found, prior))
}

/// `found` as a [`Taken`] when it completed after the newest savepoint `prior` records.
fn newer_than_recorded(found: Retained, prior: &Model) -> Option<Taken> {
    let completed =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(found.completed_ms) * 1_000_000)
            .ok()?;
    let last_savepoint = prior
        .savepoints
        .known()
        .and_then(|list| list.last())
        .and_then(|s| s.time.known())
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
    if last_savepoint.is_some_and(|last| last >= completed) {
        return None;
    }
    let reason = if found.savepoint {
        states::Reason::FoundSavepoint
    } else {
        states::Reason::RetainedCheckpoint
    };
    tracing::info!(location = %found.location, reason = reason.as_str(), "restoring from the newest state Flink kept of the job");
    Some(Taken {
        location: found.location,
        reason,
        time: Some(crate::value::rfc3339(completed)),
    })
}

/// What a run restores from when Flink reports nothing newer: the last savepoint state records.
fn restores_otherwise(prior: &Model) -> String {
    prior
        .last_savepoint
        .known()
        .map_or("nothing".to_string(), |l| format!("the last savepoint {l}"))
}

fn no_checkpoint(reason: &str, prior: &Model, planned: &Model, diags: &mut Diagnostics) {
    let from = restores_otherwise(prior);
    let strategy = planned
        .restore()
        .unwrap_or(RestoreStrategy::LatestState)
        .as_str();
    diags.warning(
        "No retained checkpoint read",
        format!(
            "restore_strategy {strategy} looks for the newest state Flink kept of the job, and \
             Flink could not be asked ({reason}): the job restores from {from}."
        ),
    );
}

pub(super) fn deployment_name(model: &Model) -> String {
    format!(
        "flink_deployment {}/{}",
        model.namespace.known().map_or("?", String::as_str),
        model.name.known().map_or("?", String::as_str)
    )
}

fn not_running(step: Before, why: &str, restores: &str, diags: &mut Diagnostics) {
    if let Before::Savepoint(_) = step {
        diags.warning(
            "No savepoint taken",
            format!(
                "The job is not running ({why}), so the provider took no savepoint; when it \
                 starts again it restores from {restores}."
            ),
        );
    }
}
