//! Destroy of a deployment (IO): the final savepoint of a RUNNING job (or a cancel when it gets
//! none), then every owned object, then Flink's Kubernetes HA ConfigMaps, which carry no owner
//! reference. Nothing that depends on the cluster's state (no JobManager, a job not running,
//! objects another resource instance marked as its own) blocks a destroy; only a final savepoint
//! that fails does, with the way out in its message.

use super::computed;
use super::layout;
use super::lifecycle;
use super::model::Model;
use super::reach;
use super::rollout::{self, application_end, deployment_name, savepoint_limit, Taken};
use super::states;
use super::TYPE;
use crate::jobmanager::Error;
use crate::kubernetes::Cluster;
use crate::resources::timeouts::{self, Deadline};
use crate::resources::{owned, Context};
use crate::schema::Diagnostics;

/// Destroys the deployment state records as `model`. When every object left with its labels
/// carries another resource instance's marker, the deployment is not this resource's any more:
/// its job gets no final savepoint, its objects and HA data stay, and a warning says so.
pub async fn destroy(ctx: &Context, model: &Model, diags: &mut Diagnostics) {
    let Some(owner) = layout::owner_of(model) else {
        return;
    };
    // The operation's timeout bounds all of it: the final savepoint, and the retries of every
    // request.
    let deadline = Deadline::start(&model.timeouts, timeouts::Operation::Delete);
    let ctx = &ctx.within(&deadline);
    if let Some(cluster) = ctx.cluster(diags).await {
        if let Some(instance) = taken_over(&cluster, &owner).await {
            diags.warning(
                format!("{} left in place", deployment_name(model)),
                format!(
                    "Its objects carry another Terraform resource's owner marker (instance \
                     {instance}), so this destroy removed it from state only: no final \
                     savepoint, and no object or HA data of it was deleted."
                ),
            );
            return;
        }
        let mut probe = model.clone();
        let directory = computed::fill(&mut probe, None, None).and_then(|r| {
            lifecycle::savepoint_directory(&r.configuration.configuration).map(String::from)
        });
        final_savepoint(&cluster, model, directory.as_deref(), &deadline, diags).await;
        if diags.has_errors() {
            return;
        }
    }
    owned::delete(ctx, &owner, layout::KINDS, TYPE, diags).await;
    // Flink's own HA ConfigMaps carry no owner reference; they go by their labels.
    if let Some(cluster) = ctx.cluster(diags).await {
        delete_ha_data(&cluster, model, diags).await;
    }
}

/// The other instance that marked every object left with `owner`'s labels, if that is so. A
/// list that fails says nothing: the delete after it reports the cluster's answer.
async fn taken_over(cluster: &Cluster, owner: &crate::kubernetes::Owner) -> Option<String> {
    let observed = cluster.observe(owner, layout::KINDS).await.ok()?;
    owner.taken_by(observed.iter().map(|(_, o)| o))
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
pub(super) async fn final_savepoint(
    cluster: &Cluster,
    model: &Model,
    directory: Option<&str>,
    deadline: &Deadline,
    diags: &mut Diagnostics,
) {
    let wanted = model.final_savepoint_on_destroy.known() != Some(&false);
    if !model.runs() {
        // A job that ended in Flink (a refresh recorded it) has nothing to stop; one suspended or
        // cancelled on purpose needs no word.
        let ended = model.desired_state();
        if wanted && matches!(ended, states::State::Failed | states::State::Finished) {
            let found = match (ended, reach::of(cluster, model).await) {
                (states::State::Finished, Ok(jm)) => kept_by_an_earlier_stop(&jm, model).await,
                _ => None,
            };
            match found {
                Some(found) => {
                    let how = format!("Flink reports it {}", ended.as_str());
                    ended_with_state(model, &how, &found, diags)
                }
                None => diags.warning(
                    "No final savepoint",
                    format!(
                        "The job of {} ended as {}, so no final savepoint was taken; {}.",
                        deployment_name(model),
                        ended.as_str(),
                        newest_kept(model)
                    ),
                ),
            }
        }
        return;
    }
    let skipped = wanted && skip_final_savepoint();
    let running = async {
        let jm = reach::of(cluster, model).await?;
        let state = jm.job_state().await?;
        Ok::<_, Error>((jm, state))
    }
    .await;
    let jm = match running {
        Ok((jm, state)) if state == states::JOB_RUNNING => jm,
        Ok((jm, state)) => {
            if !wanted {
                return;
            }
            let found = match state.as_str() {
                states::JOB_FINISHED => kept_by_an_earlier_stop(&jm, model).await,
                _ => None,
            };
            if let Some(found) = found {
                ended_with_state(model, &format!("Flink reports it {state}"), &found, diags);
            } else {
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
        Err(Error::NoJobManager(why)) => {
            if wanted {
                diags.warning(
                    "No final savepoint",
                    format!(
                        "The job of {} is not running ({why}), so no final savepoint was taken.",
                        deployment_name(model)
                    ),
                );
            }
            return;
        }
        // A REST API that does not answer may front a running job: its pods go all the same
        // (destroy never depends on the cluster's state), and the warning says what that costs.
        Err(e) => {
            if wanted {
                diags.warning(
                    "No final savepoint",
                    format!(
                        "The JobManager of {} did not answer ({e}), so no final savepoint was \
                         taken. If its job was running, its current state is not kept; {}.",
                        deployment_name(model),
                        newest_kept(model)
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
        // Another stop ended the job meanwhile (a destroy killed while Flink took its final
        // savepoint, refreshed before Flink finished it): what it left is the final state.
        Err(e) => match rollout::ended_meanwhile(&jm, model, model).await {
            Some(found) => {
                let how = "it ended while this destroy asked for a final savepoint";
                ended_with_state(model, how, &found, diags)
            }
            None => diags.error(
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
        },
    }
}

/// The newest state Flink kept of the deployment's job, which ended FINISHED before this destroy
/// could stop it, when it is newer than what state records: the savepoint of a stop no state
/// records (a destroy or apply killed while Flink took it finished on its own, or `flink stop` by
/// hand). Only a stop with a savepoint finishes a streaming job; a job that failed or was
/// cancelled left no such stop, and the savepoints Flink still lists of it may be ones a
/// `flink_savepoint` took and this destroy has just disposed of.
async fn kept_by_an_earlier_stop(jm: &reach::JobManager<'_>, model: &Model) -> Option<Taken> {
    rollout::read_newer_state(jm, model, model).await.ok()?
}

/// Says where the state of a job that ended before the destroy went: the destroy's own final
/// savepoint is not needed, and `found` is what a new deployment starts from.
fn ended_with_state(model: &Model, how: &str, found: &Taken, diags: &mut Diagnostics) {
    let what = match found.reason {
        states::Reason::RetainedCheckpoint => "a retained checkpoint",
        _ => "a savepoint",
    };
    diags.warning(
        "Final savepoint taken",
        format!(
            "The job of {} had already stopped ({how}), with a savepoint that no state \
             recorded (an apply or destroy stopped while Flink took it, or a stop by hand). Its \
             newest state is {what} at\n\n{}\n\nA new deployment can start from it with \
             initial_savepoint_path.",
            deployment_name(model),
            found.location
        ),
    );
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

/// The newest state of the job that outlives a destroy without a final savepoint.
fn newest_kept(model: &Model) -> String {
    match model.last_savepoint.known() {
        Some(l) => format!("the newest state kept is {l}"),
        None => "no savepoint of it is kept".to_string(),
    }
}
