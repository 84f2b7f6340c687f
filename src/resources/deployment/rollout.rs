//! The apply side of the lifecycle: before new objects roll out, stop the running job with a
//! savepoint or cancel it, as [`lifecycle::before`] decides. A savepoint that fails stops the
//! apply with Flink's reason while the job keeps running; a job that is not running gets no
//! savepoint, and the apply says so and goes on. After the rollout: a cancelled job loses Flink's HA data. Before
//! destroy: the final savepoint.

use super::lifecycle::{self, Before};
use super::model::{Model, Savepoint, SAVEPOINTS_KEPT};
use super::reach::{self, JobManager};
use crate::jobmanager::{self, Error, Retained};
use crate::kubernetes::Cluster;
use crate::resources::timeouts::{Deadline, Limit};
use crate::schema::{AttributePath, Diagnostics};
use crate::value::Attr;
use std::time::Duration;

/// How long Flink may take to end the application of a stopped or cancelled job.
const APPLICATION_END: Duration = Duration::from_secs(60);

/// How long a savepoint (or cancel) may take: `savepoint_timeout`, within the operation's deadline.
fn savepoint_limit(model: &Model, deadline: &Deadline) -> Limit {
    let own = super::model::duration_of(&model.savepoint_timeout, Duration::from_secs(600));
    deadline.limit(own, "savepoint_timeout")
}

/// How long to wait for Flink to end the stopped job's application, within the deadline.
fn application_end(deadline: &Deadline) -> Duration {
    deadline.cap(APPLICATION_END)
}

/// A savepoint the provider just took, or a retained checkpoint it found.
pub struct Taken {
    pub location: String,
    pub reason: lifecycle::Reason,
    /// When it completed, if not just now (RFC 3339).
    pub time: Option<String>,
}

/// Records `taken` after the prior savepoints (the newest [`SAVEPOINTS_KEPT`]).
pub fn record_savepoint(model: &mut Model, prior: &Model, taken: Option<Taken>) {
    let mut list = prior.savepoints.known().cloned().unwrap_or_default();
    if let Some(taken) = taken {
        let time = taken
            .time
            .unwrap_or_else(|| crate::value::rfc3339(time::OffsetDateTime::now_utc()));
        list.push(Savepoint {
            location: Attr::Known(taken.location),
            time: Attr::Known(time),
            reason: Attr::Known(taken.reason.as_str().into()),
        });
    }
    let excess = list.len().saturating_sub(SAVEPOINTS_KEPT);
    list.drain(..excess);
    model.last_savepoint = list
        .last()
        .and_then(|s| s.location.known().cloned())
        .map_or(Attr::Null, Attr::Known);
    model.savepoints = Attr::Known(list);
}

/// Adopts the savepoints (and the job id of the run they started) a deployment's ConfigMap
/// records (`recorded`, from its inputs) when they are newer than state's: a provider stopped
/// after applying the objects of an upgrade but before Terraform saved the state leaves the
/// savepoint it took only there, and the next plan must restore from it rather than roll back to
/// an older one.
pub fn adopt_recorded(model: &mut Model, recorded: &Model) {
    let locations = |m: &Model| -> Vec<String> {
        m.savepoints
            .known()
            .into_iter()
            .flatten()
            .filter_map(|s| s.location.known().cloned())
            .collect()
    };
    let (ours, theirs) = (locations(model), locations(recorded));
    let Some(newest) = theirs.last() else {
        return;
    };
    let continues_ours = model
        .last_savepoint
        .known()
        .is_none_or(|last| theirs.contains(last));
    if !ours.contains(newest) && continues_ours {
        tracing::info!(location = %newest, "adopting a savepoint the deployment's ConfigMap records");
        model.savepoints = recorded.savepoints.clone();
        model.last_savepoint = recorded.last_savepoint.clone();
        // The run that started from it, too: going back to the old run's id would start a job
        // Flink may already know as ended.
        if let Attr::Known(job_id) = &recorded.job_id {
            model.job_id = Attr::Known(job_id.clone());
        }
    }
}

/// Acts on the running job of `prior` before `planned` rolls out; the savepoint taken, if any.
/// Errors in `diags` mean nothing may roll out.
pub async fn before_rollout(
    cluster: &Cluster,
    step: Before,
    prior: &Model,
    planned: &Model,
    savepoint_directory: Option<&str>,
    deadline: &Deadline,
    diags: &mut Diagnostics,
) -> Option<Taken> {
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
        Ok((_, state)) => {
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
            if state != "RUNNING" {
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
                    jm.wait_for_application_end(application_end(deadline)).await;
                    Some(Taken {
                        location,
                        reason,
                        time: None,
                    })
                }
                Err(e) => {
                    diags.attribute_error(
                        AttributePath::root(match reason {
                            lifecycle::Reason::Suspend
                            | lifecycle::Reason::RetainedCheckpoint
                            | lifecycle::Reason::FoundSavepoint => "state",
                            lifecycle::Reason::Upgrade => "upgrade_strategy",
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
                    jm.wait_for_application_end(application_end(deadline)).await;
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
async fn read_newer_state(
    jm: &JobManager<'_>,
    prior: &Model,
    planned: &Model,
) -> Result<Option<Taken>, Error> {
    let configuration = prior.effective_flink_configuration.known();
    let retention = configuration
        .and_then(|c| c.get(super::resolve::RETENTION_KEY))
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
        lifecycle::Reason::FoundSavepoint
    } else {
        lifecycle::Reason::RetainedCheckpoint
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

/// The newest state of the job that outlives a destroy without a final savepoint.
fn newest_kept(model: &Model) -> String {
    match model.last_savepoint.known() {
        Some(l) => format!("the newest state kept is {l}"),
        None => "no savepoint of it is kept".to_string(),
    }
}

fn no_checkpoint(reason: &str, prior: &Model, planned: &Model, diags: &mut Diagnostics) {
    let from = restores_otherwise(prior);
    let strategy = planned
        .restore_strategy
        .known()
        .map_or("LATEST_STATE", String::as_str);
    diags.warning(
        "No retained checkpoint read",
        format!(
            "restore_strategy {strategy} looks for the newest state Flink kept of the job, and \
             Flink could not be asked ({reason}): the job restores from {from}."
        ),
    );
}

/// The environment variable that lets one `terraform destroy` go on without final savepoints:
/// the way out when a final savepoint fails (destroy sees only what state records, so setting
/// `final_savepoint_on_destroy = false` would need an apply first).
pub const SKIP_FINAL_SAVEPOINT: &str = "FLINK_SKIP_FINAL_SAVEPOINT";

/// Whether [`SKIP_FINAL_SAVEPOINT`] is set to a true value.
fn skip_final_savepoint() -> bool {
    std::env::var(SKIP_FINAL_SAVEPOINT)
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// Before destroy: stops a RUNNING job with a final savepoint in `directory` and says where it
/// went. A running job without a savepoint directory is cancelled, and the destroy says its state
/// is not kept. An error in `diags` means the destroy must not go on (the job keeps running);
/// nothing that depends on the cluster (no JobManager, a job not running) is an error.
pub async fn final_savepoint(
    cluster: &Cluster,
    model: &Model,
    directory: Option<&str>,
    deadline: &Deadline,
    diags: &mut Diagnostics,
) {
    let runs = model.state.known().is_none_or(|s| s == "RUNNING");
    if !runs {
        return;
    }
    let wanted = model.final_savepoint_on_destroy.known() != Some(&false);
    let skipped = wanted && skip_final_savepoint();
    let running = async {
        let jm = reach::of(cluster, model).await?;
        let state = jm.job_state().await?;
        Ok::<_, Error>((jm, state))
    }
    .await;
    let jm = match running {
        Ok((jm, state)) if state == "RUNNING" => jm,
        Ok((_, state)) => {
            if wanted {
                diags.warning(
                    "No final savepoint",
                    format!(
                        "The job of {} is {state}, so no final savepoint was taken.",
                        deployment_name(model)
                    ),
                );
            }
            return;
        }
        Err(e) => {
            if wanted {
                diags.warning(
                    "No final savepoint",
                    format!(
                        "The job of {} is not running ({e}), so no final savepoint was taken.",
                        deployment_name(model)
                    ),
                );
            }
            return;
        }
    };
    let limit = savepoint_limit(model, deadline);
    let Some(directory) = directory.filter(|_| wanted && !skipped) else {
        let why = if skipped {
            format!("{SKIP_FINAL_SAVEPOINT} is set")
        } else if !wanted {
            "final_savepoint_on_destroy = false".to_string()
        } else {
            "the deployment has no savepoint directory".to_string()
        };
        match jm.cancel(&limit).await {
            Ok(()) => {
                jm.wait_for_application_end(application_end(deadline)).await;
                if wanted {
                    diags.warning(
                        "No final savepoint",
                        format!(
                            "The job of {} was cancelled without a savepoint ({why}), so its \
                             current state is not kept; {}.",
                            deployment_name(model),
                            newest_kept(model)
                        ),
                    );
                }
            }
            // The pods go with the deployment all the same.
            Err(e) => tracing::warn!(error = %e, "cancelling the job before destroy failed"),
        }
        return;
    };
    match jm.stop_with_savepoint(Some(directory), &limit).await {
        Ok(location) => {
            // A deployment created again under this name has the same HA cluster id.
            jm.wait_for_application_end(application_end(deadline)).await;
            diags.warning(
                "Final savepoint taken",
                format!(
                    "The job of {} stopped with a savepoint at\n\n{location}\n\nA new deployment \
                 can start from it with initial_savepoint_path.",
                    deployment_name(model)
                ),
            );
        }
        Err(e) => diags.error(
            "The final savepoint failed",
            format!(
                "{e}\n\n{} was not destroyed and its job keeps running. Fix the cause and destroy \
                 again, or destroy without the savepoint in one step: \
                 {SKIP_FINAL_SAVEPOINT}=true terraform destroy (the job is then cancelled and \
                 its current state is not kept; {}).",
                deployment_name(model),
                newest_kept(model)
            ),
        ),
    }
}

/// Deletes Flink's Kubernetes HA ConfigMaps of the deployment (they go by their labels).
pub async fn delete_ha_data(cluster: &Cluster, model: &Model, diags: &mut Diagnostics) {
    let (Some(ns), Some(id)) = (model.namespace.known(), model.id.known()) else {
        return;
    };
    let selector = super::rbac::ha_config_map_selector(id);
    if let Err(e) = cluster
        .delete_labelled(ns, crate::kubernetes::Kind::ConfigMap, &selector)
        .await
    {
        diags.error("Deleting Flink's HA ConfigMaps failed", e.to_string());
    }
}

fn deployment_name(model: &Model) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn savepoints_keep_the_newest_and_the_last_one_is_exposed() {
        let mut model = Model::default();
        let mut prior = Model::default();
        for i in 0..12 {
            record_savepoint(
                &mut model,
                &prior,
                Some(Taken {
                    location: format!("file:///sp/{i}"),
                    reason: lifecycle::Reason::Upgrade,
                    time: None,
                }),
            );
            prior = model.clone();
        }
        let list = model.savepoints.known().unwrap();
        assert_eq!(list.len(), SAVEPOINTS_KEPT);
        assert_eq!(list[0].location.known().unwrap(), "file:///sp/2");
        assert_eq!(model.last_savepoint.known().unwrap(), "file:///sp/11");
        assert_eq!(list[9].reason.known().unwrap(), "UPGRADE");

        record_savepoint(&mut model, &prior, None);
        assert_eq!(model.last_savepoint.known().unwrap(), "file:///sp/11");

        // A retained checkpoint keeps the time it completed.
        record_savepoint(
            &mut model,
            &prior,
            Some(Taken {
                location: "file:///ck/job/chk-4".into(),
                reason: lifecycle::Reason::RetainedCheckpoint,
                time: Some("2026-11-25T06:00:00Z".into()),
            }),
        );
        let newest = model.savepoints.known().unwrap().last().unwrap().clone();
        assert_eq!(newest.time.known().unwrap(), "2026-11-25T06:00:00Z");
        assert_eq!(newest.reason.known().unwrap(), "RETAINED_CHECKPOINT");
        assert_eq!(
            model.last_savepoint.known().unwrap(),
            "file:///ck/job/chk-4"
        );

        // State one savepoint behind what the ConfigMap records adopts it; never the reverse.
        let mut behind = Model::default();
        let mut older = Model::default();
        for i in 0..3 {
            record_savepoint(
                &mut behind,
                &older,
                Some(Taken {
                    location: format!("file:///sp/{i}"),
                    reason: lifecycle::Reason::Upgrade,
                    time: None,
                }),
            );
            older = behind.clone();
        }
        let mut recorded = Model::default();
        record_savepoint(
            &mut recorded,
            &behind,
            Some(Taken {
                location: "file:///sp/3".into(),
                reason: lifecycle::Reason::Upgrade,
                time: None,
            }),
        );
        recorded.job_id = Attr::Known("0123456789abcdef0123456789abcdef".into());
        let mut stale = recorded.clone();
        adopt_recorded(&mut stale, &behind);
        assert_eq!(stale.last_savepoint.known().unwrap(), "file:///sp/3");
        adopt_recorded(&mut behind, &recorded);
        assert_eq!(behind.last_savepoint.known().unwrap(), "file:///sp/3");
        assert_eq!(
            behind.job_id, recorded.job_id,
            "and the run that started from it"
        );
        let mut unrelated = Model::default();
        record_savepoint(
            &mut unrelated,
            &Model::default(),
            Some(Taken {
                location: "file:///elsewhere/9".into(),
                reason: lifecycle::Reason::Suspend,
                time: None,
            }),
        );
        let before = unrelated.last_savepoint.clone();
        adopt_recorded(&mut unrelated, &recorded);
        assert_eq!(
            unrelated.last_savepoint, before,
            "not a continuation of state's"
        );
        let mut fresh = Model::default();
        record_savepoint(&mut fresh, &Model::default(), None);
        assert_eq!(fresh.savepoints, Attr::Known(vec![]));
        assert_eq!(fresh.last_savepoint, Attr::Null);
    }
}
