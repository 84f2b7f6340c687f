//! What an update does to the running job before the new objects roll out (pure): VVP's state
//! machine in Terraform terms. A running job that keeps running but gets new pods is upgraded per
//! `upgrade_strategy` (STATEFUL stops it with a savepoint, STATELESS cancels it); RUNNING to
//! SUSPENDED stops it with a savepoint, to CANCELLED cancels it; a job that starts (created,
//! resumed) restores per `restore_strategy` in the rendering, with nothing to do before. Plan shows
//! a savepoint to come as unknown `savepoints`, or an error when it has no directory.

use super::derive;
use super::model::Model;
use super::objects::{self, Names};
use crate::kubernetes::DesiredObject;
use crate::schema::{AttributePath, Diagnostics};
use crate::value::Attr;

/// Why the provider takes a savepoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A stateful upgrade.
    Upgrade,
    /// RUNNING to SUSPENDED.
    Suspend,
}

impl Reason {
    /// As state records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Upgrade => "UPGRADE",
            Reason::Suspend => "SUSPEND",
        }
    }
}

/// What happens to the running job before the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// Nothing: it keeps running, or there is none.
    Nothing,
    /// Stop it with a savepoint.
    Savepoint(Reason),
    /// Cancel it without one.
    Cancel,
}

fn state(model: &Model) -> &str {
    model.state.known().map_or("RUNNING", String::as_str)
}

/// The rollout hashes of the JobManager and TaskManager pods.
fn rollouts(model: &Model, objects: &[DesiredObject]) -> Option<(String, String)> {
    let names = Names::of(model.name.known()?);
    Some((
        objects::rollout_of(objects, &names.jobmanager)?,
        objects::rollout_of(objects, &names.taskmanager)?,
    ))
}

/// The step before the rollout from `prior` (with its objects) to `planned` (with its objects).
pub fn before(
    prior: &Model,
    prior_objects: &[DesiredObject],
    planned: &Model,
    planned_objects: &[DesiredObject],
) -> Before {
    if state(prior) != "RUNNING" {
        return Before::Nothing;
    }
    match state(planned) {
        "SUSPENDED" => Before::Savepoint(Reason::Suspend),
        "CANCELLED" => Before::Cancel,
        _ => {
            let rolls = rollouts(prior, prior_objects) != rollouts(planned, planned_objects);
            match planned.upgrade_strategy.known().map(String::as_str) {
                _ if !rolls => Before::Nothing,
                Some("STATELESS") => Before::Cancel,
                Some("NONE") => Before::Nothing,
                _ => Before::Savepoint(Reason::Upgrade),
            }
        }
    }
}

/// The state a refresh records when a job meant to run has ended outside Terraform (cancelled,
/// failed or finished in Flink), so the plan shows it as drift back to RUNNING.
pub fn drifted_state(model: &Model, status: &str) -> Option<&'static str> {
    if state(model) != "RUNNING" {
        return None;
    }
    match status {
        "CANCELED" => Some("CANCELLED"),
        "FAILED" => Some("FAILED"),
        "FINISHED" => Some("FINISHED"),
        _ => None,
    }
}

/// Whether `prior` recorded a job that ended outside Terraform (its JobManager still there) and
/// `planned` wants it running: the JobManager must start again for the job to run.
pub fn ended_outside(prior: &Model, planned: &Model) -> bool {
    let ended = matches!(
        prior.status.known().map(String::as_str),
        Some("CANCELED" | "FAILED" | "FINISHED")
    );
    ended && state(prior) != "RUNNING" && state(planned) == "RUNNING"
}

/// The savepoint directory the rendered configuration gives Flink, if any.
pub fn savepoint_directory(
    configuration: &std::collections::BTreeMap<String, String>,
) -> Option<&str> {
    [
        "execution.checkpointing.savepoint-dir",
        "state.savepoints.dir",
    ]
    .iter()
    .find_map(|k| configuration.get(*k))
    .map(String::as_str)
}

/// What happens to the running job of `prior` before `planned` rolls out, and the savepoint
/// directory a savepoint goes to (the planned configuration's, else the running job's).
pub fn transition(prior: &Model, planned: &Model) -> (Before, Option<String>) {
    let mut prior_probe = prior.clone();
    // The planned model with the prior savepoints, so both render the same restore path and only
    // real changes count as a rollout.
    let mut planned_probe = planned.clone();
    planned_probe.savepoints = prior.savepoints.clone();
    planned_probe.last_savepoint = prior.last_savepoint.clone();
    match (
        derive(&mut prior_probe, None),
        derive(&mut planned_probe, None),
    ) {
        (Some(old), Some(new)) => {
            let step = before(prior, &old.objects, planned, &new.objects);
            let directory = savepoint_directory(&new.configuration.configuration)
                .or(savepoint_directory(&old.configuration.configuration))
                .map(String::from);
            (step, directory)
        }
        _ => (Before::Nothing, None),
    }
}

/// What the plan shows of the step before the rollout: a savepoint to be taken (its location is
/// known after apply), or an error when it has nowhere to go; a job starting again without any
/// savepoint to restore from is a warning.
pub fn plan_transition(prior: &Model, model: &mut Model, diags: &mut Diagnostics) {
    let (step, directory) = transition(prior, model);
    if let Before::Savepoint(reason) = step {
        if directory.is_none() {
            let (attribute, instead) = match reason {
                Reason::Suspend => ("state", "state = \"CANCELLED\" to stop without a savepoint"),
                Reason::Upgrade => (
                    "upgrade_strategy",
                    "upgrade_strategy = \"STATELESS\" to restart without state",
                ),
            };
            diags.attribute_error(
                AttributePath::root(attribute),
                "No savepoint directory",
                format!(
                    "This change stops the running job with a savepoint ({}), and the deployment \
                     has no savepoint directory. Set blob_storage, or \
                     execution.checkpointing.savepoint-dir (state.savepoints.dir before Flink 2.0) \
                     in flink_configuration, or use {instead}.",
                    reason.as_str()
                ),
            );
        } else {
            model.savepoints = Attr::Unknown;
            model.last_savepoint = Attr::Unknown;
        }
    }
    let was_running = prior.state.known().is_none_or(|s| s == "RUNNING");
    let runs = model.state.known().is_none_or(|s| s == "RUNNING");
    let restores = model.restore_strategy.known().is_none_or(|s| s != "NONE");
    if !was_running && runs && restores && super::resolve::restore_from(model).is_none() {
        diags.attribute_warning(
            AttributePath::root("state"),
            "Starting without state",
            "The job starts again, and there is no savepoint to restore from (none taken, no \
             initial_savepoint_path): it starts without state.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Attr;
    use serde_json::json;

    fn model(state: &str, strategy: &str) -> Model {
        Model {
            name: Attr::Known("orders".into()),
            state: Attr::Known(state.into()),
            upgrade_strategy: Attr::Known(strategy.into()),
            ..Model::default()
        }
    }

    fn objects(hash: &str) -> Vec<DesiredObject> {
        ["flink-orders-jobmanager", "flink-orders-taskmanager"]
            .iter()
            .map(|name| {
                DesiredObject::new(
                    crate::kubernetes::Kind::Deployment,
                    "ns",
                    name,
                    json!({"spec": {"template": {"metadata": {"annotations": {
                        objects::ROLLOUT_ANNOTATION: hash
                    }}}}}),
                )
            })
            .collect()
    }

    #[test]
    fn a_running_job_with_new_pods_is_upgraded_per_strategy() {
        let prior = model("RUNNING", "STATEFUL");
        let (old, new) = (objects("a"), objects("b"));
        assert_eq!(
            before(&prior, &old, &model("RUNNING", "STATEFUL"), &new),
            Before::Savepoint(Reason::Upgrade)
        );
        assert_eq!(
            before(&prior, &old, &model("RUNNING", "STATELESS"), &new),
            Before::Cancel
        );
        assert_eq!(
            before(&prior, &old, &model("RUNNING", "STATEFUL"), &old),
            Before::Nothing,
            "no new pods, nothing to do"
        );
    }

    #[test]
    fn state_changes_stop_or_cancel_a_running_job_and_starts_need_nothing() {
        let (a, b) = (objects("a"), objects("b"));
        let running = model("RUNNING", "STATEFUL");
        assert_eq!(
            before(&running, &a, &model("SUSPENDED", "STATEFUL"), &b),
            Before::Savepoint(Reason::Suspend)
        );
        assert_eq!(
            before(&running, &a, &model("CANCELLED", "STATELESS"), &b),
            Before::Cancel
        );
        assert_eq!(
            before(&model("SUSPENDED", "STATEFUL"), &a, &running, &b),
            Before::Nothing
        );
    }

    #[test]
    fn a_job_ended_in_flink_is_drift_and_brought_back() {
        let running = model("RUNNING", "STATEFUL");
        assert_eq!(drifted_state(&running, "CANCELED"), Some("CANCELLED"));
        assert_eq!(drifted_state(&running, "FAILED"), Some("FAILED"));
        assert_eq!(drifted_state(&running, "RESTARTING"), None);
        assert_eq!(drifted_state(&running, "CrashLoopBackOff"), None);
        let suspended = model("SUSPENDED", "STATEFUL");
        assert_eq!(drifted_state(&suspended, "CANCELED"), None);

        let mut failed = model("FAILED", "STATEFUL");
        failed.status = Attr::Known("FAILED".into());
        assert!(ended_outside(&failed, &running));
        let mut cancelled_by_us = model("CANCELLED", "STATEFUL");
        cancelled_by_us.status = Attr::Known("CANCELLED".into());
        assert!(
            !ended_outside(&cancelled_by_us, &running),
            "no JobManager to restart"
        );
    }

    #[test]
    fn the_savepoint_directory_is_either_name() {
        let mut c = std::collections::BTreeMap::new();
        assert_eq!(savepoint_directory(&c), None);
        c.insert("state.savepoints.dir".into(), "file:///sp".into());
        assert_eq!(savepoint_directory(&c), Some("file:///sp"));
    }
}
