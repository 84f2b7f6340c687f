//! What an update does to the running job before the new objects roll out (pure): VVP's state
//! machine in Terraform terms. A running job that keeps running but gets new pods is upgraded per
//! `upgrade_strategy` (STATEFUL stops it with a savepoint, STATELESS cancels it); RUNNING to
//! SUSPENDED stops it with a savepoint, to CANCELLED cancels it; a job that starts (created,
//! resumed) restores per `restore_strategy` in the rendering, with nothing to do before. Plan shows
//! a savepoint to come as unknown `savepoints`, or an error when it has no directory.

use super::computed;
use super::layout::{self, Names};
use super::model::Model;
use super::pending;
use super::rendering::Rendered;
pub use super::states::Reason;
use super::states::{self, RestoreStrategy, State, UpgradeStrategy};
use crate::kubernetes::DesiredObject;
use crate::schema::{AttributePath, Diagnostics};
use crate::value::Attr;

/// What happens to the running job before the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// Nothing: it keeps running, or there is none.
    Nothing,
    /// Stop it with a savepoint.
    Savepoint(Reason),
    /// Cancel it without one.
    Cancel,
    /// Nothing, and nothing rolls out either: `upgrade_strategy = "NONE"` keeps the running job
    /// as it is and the change waits in `pending_changes` until the job next starts.
    Defer,
}

/// The rollout hashes of the JobManager and TaskManager pods.
fn rollouts(model: &Model, objects: &[DesiredObject]) -> Option<(String, String)> {
    let names = Names::of(model.name.known()?);
    Some((
        layout::rollout_of(objects, &names.jobmanager)?,
        layout::rollout_of(objects, &names.taskmanager)?,
    ))
}

/// Whether the last refresh saw the pod template of the JobManager or TaskManager Deployment
/// differ from what `prior` renders: edited with kubectl, or rendered by an earlier release of
/// the provider (before the JobManager and TaskManagers had ServiceAccounts of their own under
/// Kubernetes HA, say). Converging it rolls the pods, so the running job is upgraded as for a
/// change of its own, instead of losing its pods without a savepoint.
fn pods_differ_from_rendering(prior: &Model) -> bool {
    let (Some(name), Some(objects)) = (prior.name.known(), prior.kubernetes_objects.known()) else {
        return false;
    };
    let names = Names::of(name);
    [names.jobmanager, names.taskmanager]
        .iter()
        .any(|deployment| {
            objects
                .get(&format!(
                    "{}/{deployment}",
                    crate::kubernetes::Kind::Deployment.name()
                ))
                .is_some_and(|status| {
                    crate::resources::cluster_objects::changed_fields(status)
                        .iter()
                        .any(|field| field.starts_with("spec.template"))
                })
        })
}

/// The step before the rollout from `prior` (with its objects) to `planned` (with its objects).
pub fn before(
    prior: &Model,
    prior_objects: &[DesiredObject],
    planned: &Model,
    planned_objects: &[DesiredObject],
) -> Before {
    if !prior.runs() {
        return Before::Nothing;
    }
    match planned.desired_state() {
        State::Suspended => Before::Savepoint(Reason::Suspend),
        State::Cancelled => Before::Cancel,
        _ => {
            let rolls = rollouts(prior, prior_objects) != rollouts(planned, planned_objects)
                || pods_differ_from_rendering(prior);
            match planned.upgrade() {
                _ if !rolls => Before::Nothing,
                Some(UpgradeStrategy::Stateless) => Before::Cancel,
                Some(UpgradeStrategy::Deferred) => Before::Defer,
                _ => Before::Savepoint(Reason::Upgrade),
            }
        }
    }
}

/// The state a refresh records when a job meant to run has ended outside Terraform (cancelled,
/// failed or finished in Flink), so the plan shows it as drift back to RUNNING.
pub fn drifted_state(model: &Model, status: &str) -> Option<State> {
    model.runs().then(|| State::ended_as(status)).flatten()
}

/// Whether `planned` starts a new run of the job: it is to run, and the prior job stops before
/// the rollout or was not running (created, resumed, or ended outside Terraform). A new run gets
/// a new job id, which also gives both Deployments new pods.
pub fn starts_run(prior: &Model, planned: &Model, step: Before) -> bool {
    let stops = matches!(step, Before::Savepoint(_) | Before::Cancel);
    planned.runs() && (stops || !prior.runs())
}

/// Whether the apply reads the newest state Flink kept of the prior job: when the provider
/// cancels it (STATELESS upgrade, CANCELLED) under `LATEST_STATE`, or when it ended outside
/// Terraform and is to run again under any restore strategy but NONE. What is found and newer
/// than the last savepoint joins `savepoints`.
pub fn reads_checkpoint(prior: &Model, planned: &Model, step: Before) -> bool {
    (counts_checkpoints(planned) && step == Before::Cancel) || restarts_ended_job(prior, planned)
}

/// Whether `planned` runs again, with state, a job that ended outside Terraform (stopped with a
/// savepoint by hand, by an apply that was killed, cancelled or failed in Flink), or suspends it
/// for a later resume: either way apply asks Flink what it kept of it while its JobManager still
/// answers, so the run after restores from it.
fn restarts_ended_job(prior: &Model, planned: &Model) -> bool {
    let restores = planned.restore() != Some(RestoreStrategy::Nothing);
    let ended_outside = prior
        .status
        .known()
        .is_some_and(|s| states::ended_in_flink(s))
        && matches!(
            prior.desired_state(),
            State::Cancelled | State::Failed | State::Finished
        );
    let keeps_state = planned.runs() || planned.desired_state() == State::Suspended;
    restores && ended_outside && keeps_state
}

/// Whether retained checkpoints count as state to restore from (`LATEST_STATE`), not only
/// savepoints.
pub fn counts_checkpoints(planned: &Model) -> bool {
    planned
        .restore()
        .is_none_or(|s| s == RestoreStrategy::LatestState)
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

/// What happens to the running job before the rollout, and what was rendered to decide it.
pub struct Transition {
    /// The step before the rollout.
    pub step: Before,
    /// Where its savepoint goes: the planned configuration's directory, else the running job's.
    pub directory: Option<String>,
    /// The planned spec as written (nothing kept back, the prior job's id and savepoints, so
    /// only real changes count as a rollout): what plan reports the configuration's issues of.
    /// None while some of it is unknown.
    pub planned: Option<Rendered>,
    /// The running job's parallelism changes in place (`in_place_rescaling`) and nothing else
    /// rolls out.
    pub rescale: Option<Rescale>,
}

/// A parallelism change the adaptive scheduler takes while the job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rescale {
    /// The default parallelism the job runs at.
    pub from: u32,
    /// The one it is to run at.
    pub to: u32,
}

/// The default parallelism of a rendering.
fn parallelism_of(rendered: &Rendered) -> Option<u32> {
    rendered
        .configuration
        .configuration
        .get("parallelism.default")?
        .parse()
        .ok()
}

/// The in-place rescale from `old` to `new`: the job runs and keeps running with no new pods
/// (the parallelism stays out of the rollout hash under `in_place_rescaling`), and its default
/// parallelism changes.
fn rescale_of(
    prior: &Model,
    planned: &Model,
    step: Before,
    old: &Rendered,
    new: &Rendered,
) -> Option<Rescale> {
    let in_place = old.resolved.in_place_rescaling && new.resolved.in_place_rescaling;
    if !in_place || step != Before::Nothing || !prior.runs() || !planned.runs() {
        return None;
    }
    let (from, to) = (parallelism_of(old)?, parallelism_of(new)?);
    (from != to).then_some(Rescale { from, to })
}

/// What happens to the running job of `prior` (rendered as it runs, pending changes included)
/// before the whole of `planned` rolls out. Two renderings: the prior's and the planned spec's.
pub fn transition(prior: &Model, planned: &Model) -> Transition {
    let mut planned_probe = planned.clone();
    planned_probe.pending_changes = Attr::Null;
    planned_probe.job_id = prior.job_id.clone();
    planned_probe.savepoints = prior.savepoints.clone();
    planned_probe.last_savepoint = prior.last_savepoint.clone();
    let new = computed::fill(&mut planned_probe, None, None);
    let old = match new {
        Some(_) => computed::fill(&mut prior.clone(), None, None),
        None => None,
    };
    let (step, directory, rescale) = match (&old, &new) {
        (Some(old), Some(new)) => {
            let step = before(prior, &old.objects, planned, &new.objects);
            (
                step,
                savepoint_directory(&new.configuration.configuration)
                    .or(savepoint_directory(&old.configuration.configuration))
                    .map(String::from),
                rescale_of(prior, planned, step, old, new),
            )
        }
        _ => (Before::Nothing, None, None),
    };
    Transition {
        step,
        directory,
        planned: new,
        rescale,
    }
}

/// Whether the job of `prior` may be running, as far as the last refresh saw: a savepoint can
/// only be taken of a running job, so one that is not (pending, starting, failed, unreachable)
/// rolls out without one.
fn job_may_run(prior: &Model) -> bool {
    prior
        .status
        .known()
        .is_none_or(|s| s == states::JOB_RUNNING)
}

/// The attribute that asks for a savepoint for `reason`, and the setting that needs none.
fn savepoint_setting(reason: Reason) -> (&'static str, &'static str) {
    match reason {
        Reason::Suspend | Reason::RetainedCheckpoint | Reason::FoundSavepoint => {
            ("state", "state = \"CANCELLED\" to stop without a savepoint")
        }
        Reason::Upgrade => (
            "upgrade_strategy",
            "upgrade_strategy = \"STATELESS\" to restart without state",
        ),
    }
}

/// How to give a deployment a savepoint directory.
const SET_A_SAVEPOINT_DIRECTORY: &str =
    "Set blob_storage, or execution.checkpointing.savepoint-dir \
     (state.savepoints.dir before Flink 2.0) in flink_configuration";

/// A step that needs a savepoint and a deployment without a savepoint directory. Whether the
/// savepoint is needed depends on what runs, not on the configuration alone, and an error here
/// would also block the refresh `terraform destroy` starts with: so the plan warns, and the apply
/// (which knows whether the job runs) fails before it changes anything.
fn no_savepoint_directory(prior: &Model, reason: Reason, diags: &mut Diagnostics) {
    let (attribute, instead) = savepoint_setting(reason);
    let detail = if job_may_run(prior) {
        format!(
            "This change stops the running job with a savepoint ({}), and the deployment has no \
             savepoint directory: apply will fail and change nothing while the job runs. \
             {SET_A_SAVEPOINT_DIRECTORY}, or use {instead}.",
            reason.as_str()
        )
    } else {
        format!(
            "The job is not running ({}), so this change rolls out without a savepoint ({} \
             needs one only of a running job); when the job starts it restores from {}. \
             {SET_A_SAVEPOINT_DIRECTORY} so that later changes keep the job's state.",
            prior.status.known().map_or("unknown", String::as_str),
            reason.as_str(),
            super::resolve::restore_from(prior).unwrap_or_else(|| "nothing".into()),
        )
    };
    diags.attribute_warning(
        AttributePath::root(attribute),
        "No savepoint directory",
        detail,
    );
}

/// At create: a deployment whose upgrades take savepoints (`STATEFUL`, the default) and that has
/// no savepoint directory is told now, not when its first upgrade or suspend needs one. Read from
/// the configuration as written, so the plan says it even while other values are unknown.
pub fn warn_stateful_without_directory(model: &Model, diags: &mut Diagnostics) {
    let stateful = model
        .upgrade_strategy
        .known()
        .is_none_or(|s| UpgradeStrategy::parse(s) == Some(UpgradeStrategy::Stateful));
    // Blob storage always derives one, known or not yet.
    let has_directory = !model.blob_storage.is_null()
        || match &model.flink_configuration {
            Attr::Known(configuration) => savepoint_directory(configuration).is_some(),
            Attr::Null => false,
            Attr::Unknown => true,
        };
    if stateful && !has_directory {
        diags.attribute_warning(
            AttributePath::root("upgrade_strategy"),
            "No savepoint directory",
            format!(
                "upgrade_strategy STATEFUL stops the job with a savepoint at each upgrade, and \
                 SUSPENDED takes one too, but the deployment has no savepoint directory: its \
                 first upgrade or suspend while the job runs will fail. \
                 {SET_A_SAVEPOINT_DIRECTORY}, or set upgrade_strategy = \"STATELESS\"."
            ),
        );
    }
}

/// The apply's check before it stops a running job with a savepoint: an error when the savepoint
/// has nowhere to go (nothing has changed yet).
pub fn require_savepoint_directory(
    reason: Reason,
    directory: Option<&str>,
    diags: &mut Diagnostics,
) -> bool {
    if directory.is_some() {
        return true;
    }
    let (attribute, instead) = savepoint_setting(reason);
    diags.attribute_error(
        AttributePath::root(attribute),
        "No savepoint directory",
        format!(
            "This change stops the running job with a savepoint ({}), and the deployment has no \
             savepoint directory. Nothing was changed and the job keeps running. \
             {SET_A_SAVEPOINT_DIRECTORY}, or use {instead}.",
            reason.as_str()
        ),
    );
    false
}

/// What the plan shows of the step before the rollout: a savepoint to be taken (its location is
/// known after apply), or a warning when it has nowhere to go; a job starting again without any
/// savepoint to restore from is a warning.
pub fn plan_transition(
    prior: &Model,
    model: &mut Model,
    transition: &Transition,
    diags: &mut Diagnostics,
) {
    let step = transition.step;
    if let (true, Some(job_id)) = (starts_run(prior, model, step), prior.job_id.known()) {
        model.job_id = Attr::Known(super::resolve::next_job_id(job_id));
    }
    let undecided = transition.planned.is_none()
        && prior.runs()
        && model.runs()
        && model
            .upgrade_strategy
            .known()
            .is_none_or(|s| UpgradeStrategy::parse(s) == Some(UpgradeStrategy::Deferred));
    let waiting = if undecided {
        Attr::Unknown
    } else {
        pending::after(prior, model, step == Before::Defer)
    };
    model.pending_changes = waiting;
    if let Some(Rescale { from, to }) = transition.rescale {
        diags.attribute_warning(
            AttributePath::root("parallelism"),
            "Rescaled in place",
            format!(
                "in_place_rescaling: the running job goes from parallelism {from} to {to} through \
                 Flink's adaptive scheduler. The JobManager keeps running, no savepoint is taken, \
                 job_id stays, and Flink restarts the tasks from their latest checkpoint."
            ),
        );
    }
    if pending::waits(model) {
        diags.attribute_warning(
            AttributePath::root("upgrade_strategy"),
            "Change stored, not rolled out",
            format!(
                "upgrade_strategy = \"NONE\": the running job keeps running as it is, and the \
                 change of {} waits in pending_changes until the job next starts (state \
                 SUSPENDED or CANCELLED, then RUNNING). Use STATEFUL to roll it out now with a \
                 savepoint.",
                pending::names(model)
            ),
        );
    }
    if reads_checkpoint(prior, model, step) {
        model.savepoints = Attr::Unknown;
        model.last_savepoint = Attr::Unknown;
    }
    if restarts_ended_job(prior, model) {
        let kept = if counts_checkpoints(model) {
            "savepoint or retained checkpoint"
        } else {
            "savepoint"
        };
        let otherwise = super::resolve::restore_from(prior)
            .map_or("without state".to_string(), |l| format!("from {l}"));
        let (summary, then) = match model.runs() {
            true => (
                "Restarting a job that ended outside Terraform",
                format!(
                    "restores from it when it is newer than what state records; otherwise the \
                     job starts {otherwise}"
                ),
            ),
            false => (
                "Suspending a job that ended outside Terraform",
                "records it when it is newer than what state records, for the job to restore \
                 from when it runs again"
                    .to_string(),
            ),
        };
        diags.attribute_warning(
            AttributePath::root("state"),
            summary,
            format!(
                "Flink reports the job {}. Apply asks Flink for the newest {kept} it kept of the \
                 job and {then}. If Flink cannot be asked, the apply fails and changes nothing.",
                prior.status.known().map_or("ended", String::as_str)
            ),
        );
    }
    if let Before::Savepoint(reason) = step {
        if transition.directory.is_none() {
            no_savepoint_directory(prior, reason, diags);
        } else {
            // Known after apply, even for a job not running now: it may run by then.
            model.savepoints = Attr::Unknown;
            model.last_savepoint = Attr::Unknown;
        }
    }
    let was_running = prior.runs();
    let runs = model.runs();
    let restores = model.restore() != Some(RestoreStrategy::Nothing);
    // Unknown savepoints are read from Flink at apply (FOUND_SAVEPOINT, RETAINED_CHECKPOINT):
    // there may well be state to restore from.
    let decided = !model.savepoints.is_unknown();
    if !was_running && runs && restores && decided && super::resolve::restore_from(model).is_none()
    {
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
                        layout::ROLLOUT_ANNOTATION: hash
                    }}}}}),
                )
            })
            .collect()
    }

    #[test]
    fn pods_that_differ_from_the_rendering_are_an_upgrade_when_converged() {
        // The refresh after a provider upgrade that gave the pods their own ServiceAccounts:
        // the same rendering on both sides, but the cluster's pods are not it.
        let mut prior = model("RUNNING", "STATEFUL");
        let same = objects("a");
        let observed = |status: &str| {
            Attr::Known(std::collections::BTreeMap::from([
                (
                    "Deployment/flink-orders-jobmanager".to_string(),
                    status.to_string(),
                ),
                (
                    "Deployment/flink-orders-taskmanager".to_string(),
                    "in sync".to_string(),
                ),
            ]))
        };
        prior.kubernetes_objects = observed(
            "changed outside Terraform: spec.template.metadata.annotations.flink.flinkops.io/rollout-hash, \
             spec.template.spec.serviceAccountName",
        );
        assert_eq!(
            before(&prior, &same, &model("RUNNING", "STATEFUL"), &same),
            Before::Savepoint(Reason::Upgrade)
        );
        assert_eq!(
            before(&prior, &same, &model("RUNNING", "STATELESS"), &same),
            Before::Cancel
        );
        // Converging these touches no pod.
        for status in [
            "changed outside Terraform: spec.replicas",
            "changed outside Terraform by kubectl-edit",
            "in sync",
        ] {
            prior.kubernetes_objects = observed(status);
            assert_eq!(
                before(&prior, &same, &model("RUNNING", "STATEFUL"), &same),
                Before::Nothing,
                "{status}"
            );
        }
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
            before(&prior, &old, &model("RUNNING", "NONE"), &new),
            Before::Defer
        );
        assert_eq!(
            before(&prior, &old, &model("RUNNING", "STATEFUL"), &old),
            Before::Nothing,
            "no new pods, nothing to do"
        );
        assert!(
            !starts_run(&prior, &prior, Before::Defer),
            "a deferred change is no new run"
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
        assert_eq!(drifted_state(&running, "CANCELED"), Some(State::Cancelled));
        assert_eq!(drifted_state(&running, "FAILED"), Some(State::Failed));
        assert_eq!(drifted_state(&running, "RESTARTING"), None);
        assert_eq!(drifted_state(&running, "CrashLoopBackOff"), None);
        let suspended = model("SUSPENDED", "STATEFUL");
        assert_eq!(drifted_state(&suspended, "CANCELED"), None);

        let failed = model("FAILED", "STATEFUL");
        assert!(starts_run(&failed, &running, Before::Nothing));
    }

    #[test]
    fn every_start_of_the_job_is_a_new_run_and_nothing_else_is() {
        let running = model("RUNNING", "STATEFUL");
        let suspended = model("SUSPENDED", "STATEFUL");
        assert!(starts_run(
            &running,
            &running,
            Before::Savepoint(Reason::Upgrade)
        ));
        assert!(starts_run(&running, &running, Before::Cancel));
        assert!(starts_run(&suspended, &running, Before::Nothing), "resumed");
        assert!(
            !starts_run(&running, &running, Before::Nothing),
            "keeps running"
        );
        assert!(!starts_run(
            &running,
            &suspended,
            Before::Savepoint(Reason::Suspend)
        ));
        assert!(!starts_run(&suspended, &suspended, Before::Nothing));
    }

    #[test]
    fn latest_state_reads_the_retained_checkpoint_of_a_cancelled_or_ended_job() {
        let running = model("RUNNING", "STATELESS");
        assert!(reads_checkpoint(&running, &running, Before::Cancel));
        let cancelled = model("CANCELLED", "STATELESS");
        assert!(reads_checkpoint(&running, &cancelled, Before::Cancel));
        assert!(!reads_checkpoint(
            &running,
            &running,
            Before::Savepoint(Reason::Upgrade)
        ));
        let mut ended = model("FAILED", "STATEFUL");
        ended.status = Attr::Known("FAILED".into());
        assert!(reads_checkpoint(&ended, &running, Before::Nothing));
        let mut by_us = model("CANCELLED", "STATEFUL");
        by_us.status = Attr::Known("CANCELLED".into());
        assert!(
            !reads_checkpoint(&by_us, &running, Before::Nothing),
            "read when it was cancelled"
        );
        let mut savepoints_only = running.clone();
        savepoints_only.restore_strategy = Attr::Known("LATEST_SAVEPOINT".into());
        assert!(!reads_checkpoint(
            &running,
            &savepoints_only,
            Before::Cancel
        ));
        assert!(
            reads_checkpoint(&ended, &savepoints_only, Before::Nothing),
            "a savepoint of the ended job counts"
        );
        let mut nothing = running.clone();
        nothing.restore_strategy = Attr::Known("NONE".into());
        assert!(!reads_checkpoint(&ended, &nothing, Before::Nothing));
        assert!(
            reads_checkpoint(&ended, &model("SUSPENDED", "STATEFUL"), Before::Nothing),
            "suspended, the resume restores from what Flink kept"
        );
        assert!(!reads_checkpoint(
            &ended,
            &model("CANCELLED", "STATEFUL"),
            Before::Nothing
        ));
    }

    #[test]
    fn a_new_run_gets_the_next_job_id_at_plan() {
        let mut prior = model("SUSPENDED", "STATEFUL");
        prior.job_id = Attr::Known("0123456789abcdef0123456789abcdef".into());
        let mut planned = model("RUNNING", "STATEFUL");
        planned.job_id = prior.job_id.clone();
        let mut diags = Diagnostics::default();
        super::super::plan::update(&prior, &mut planned, &mut diags);
        assert_eq!(
            planned.job_id.known().map(String::as_str),
            Some(super::super::resolve::next_job_id("0123456789abcdef0123456789abcdef").as_str())
        );
        let mut kept = model("RUNNING", "STATEFUL");
        kept.job_id = prior.job_id.clone();
        let running = Model {
            job_id: prior.job_id.clone(),
            ..model("RUNNING", "STATEFUL")
        };
        super::super::plan::update(&running, &mut kept, &mut diags);
        assert_eq!(kept.job_id, prior.job_id, "no change, same run");
    }

    #[test]
    fn under_in_place_rescaling_a_parallelism_change_alone_keeps_the_pods_and_the_run() {
        let inputs =
            |parallelism: i64, in_place: bool, strategy: &str, configuration: serde_json::Value| {
                json!({
                    "name": "orders", "namespace": "ns", "flink_version": "2.3",
                    "upgrade_strategy": strategy, "parallelism": parallelism,
                    "in_place_rescaling": in_place, "flink_configuration": configuration,
                    "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
                })
            };
        let model_of = |inputs: serde_json::Value| {
            let mut model = super::super::golden_tests::model(inputs);
            computed::fill(&mut model, None, None).expect("renders");
            model
        };
        let prior = model_of(inputs(1, true, "STATEFUL", json!({})));
        assert_eq!(
            prior.effective_flink_configuration.known().unwrap()["jobmanager.scheduler"],
            "adaptive"
        );
        let rescaled = model_of(inputs(2, true, "STATEFUL", json!({})));
        let step = transition(&prior, &rescaled);
        assert_eq!(step.step, Before::Nothing, "no savepoint, no new pods");
        assert_eq!(step.rescale, Some(Rescale { from: 1, to: 2 }));
        let mut planned = rescaled.clone();
        let mut diags = Diagnostics::default();
        super::super::plan::update(&prior, &mut planned, &mut diags);
        assert_eq!(planned.job_id, prior.job_id, "the same run goes on");
        assert_eq!(planned.pending_changes, Attr::Null);
        let warning = diags.0.iter().find(|d| d.summary == "Rescaled in place");
        assert!(
            warning.is_some_and(|w| w.detail.contains("from parallelism 1 to 2")),
            "{:?}",
            diags.0
        );
        // Under NONE too: the running job takes it, nothing waits.
        let none = transition(
            &model_of(inputs(1, true, "NONE", json!({}))),
            &model_of(inputs(2, true, "NONE", json!({}))),
        );
        assert_eq!(none.rescale, Some(Rescale { from: 1, to: 2 }));

        // Anything else with it rolls out per upgrade_strategy, the new parallelism with it.
        let more = transition(
            &prior,
            &model_of(inputs(
                2,
                true,
                "STATEFUL",
                json!({"pipeline.object-reuse": "true"}),
            )),
        );
        assert_eq!(more.step, Before::Savepoint(Reason::Upgrade));
        assert_eq!(more.rescale, None);
        // Without in_place_rescaling the parallelism rolls the pods.
        let upgraded = transition(
            &model_of(inputs(1, false, "STATEFUL", json!({}))),
            &model_of(inputs(2, false, "STATEFUL", json!({}))),
        );
        assert_eq!(upgraded.step, Before::Savepoint(Reason::Upgrade));
        assert_eq!(upgraded.rescale, None);
        // Turning it on is a new scheduler: the pods roll.
        let switched = transition(
            &model_of(inputs(1, false, "STATEFUL", json!({}))),
            &rescaled,
        );
        assert_eq!(switched.step, Before::Savepoint(Reason::Upgrade));
        assert_eq!(switched.rescale, None);
    }

    #[test]
    fn upgrade_strategy_none_keeps_what_runs_until_the_job_starts_again() {
        let inputs = |parallelism: i64, state: &str| {
            json!({
                "name": "orders", "namespace": "ns", "flink_version": "2.3",
                "upgrade_strategy": "NONE", "parallelism": parallelism, "state": state,
                "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
            })
        };
        let mut prior = super::super::golden_tests::model(inputs(1, "RUNNING"));
        let prior_objects = computed::fill(&mut prior, None, None)
            .expect("renders")
            .objects;
        let mut planned = super::super::golden_tests::model(inputs(2, "RUNNING"));
        computed::fill(&mut planned, None, None);
        let mut diags = Diagnostics::default();
        super::super::plan::update(&prior, &mut planned, &mut diags);

        // The TaskManagers it derives wait with it.
        let waiting: std::collections::BTreeMap<String, String> = [
            ("number_of_task_managers".to_string(), "1".to_string()),
            ("parallelism".to_string(), "1".to_string()),
        ]
        .into();
        assert_eq!(planned.pending_changes, Attr::Known(waiting));
        assert_eq!(planned.job_id, prior.job_id, "the same run goes on");
        let warning = &diags.0[0];
        assert_eq!(warning.summary, "Change stored, not rolled out");
        assert!(warning.detail.contains("parallelism"), "{}", warning.detail);
        let kept = computed::fill(&mut planned, None, None).expect("renders");
        assert_eq!(
            rollouts(&prior, &prior_objects),
            rollouts(&planned, &kept.objects),
            "the pods stay"
        );
        assert_eq!(
            planned.effective_flink_configuration.known().unwrap()["parallelism.default"],
            "1"
        );

        // Suspending takes a savepoint and the stored spec is what starts next.
        let mut suspended = super::super::golden_tests::model(inputs(2, "SUSPENDED"));
        computed::fill(&mut suspended, None, None);
        super::super::plan::update(&planned, &mut suspended, &mut Diagnostics::default());
        assert_eq!(suspended.pending_changes, Attr::Null);
        assert_eq!(
            suspended.effective_flink_configuration.known().unwrap()["parallelism.default"],
            "2"
        );
        assert_eq!(
            transition(&planned, &suspended).step,
            Before::Savepoint(Reason::Suspend)
        );
    }

    #[test]
    fn a_start_warns_of_no_state_only_when_nothing_can_be_found() {
        let warned = |prior: &Model| {
            let mut diags = Diagnostics::default();
            super::super::plan::update(prior, &mut model("RUNNING", "STATEFUL"), &mut diags);
            diags
                .0
                .iter()
                .any(|d| d.summary == "Starting without state")
        };
        assert!(warned(&model("SUSPENDED", "STATEFUL")), "nothing taken");
        let mut finished = model("FINISHED", "STATEFUL");
        finished.status = Attr::Known("FINISHED".into());
        assert!(
            !warned(&finished),
            "apply reads what Flink kept of the ended job first"
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
