//! Create and update of a deployment (IO), as a short sequence of named steps: what the running
//! job needs before the rollout (a savepoint, a cancel, the newest state Flink kept of a job that
//! ended outside Terraform, or an in-place rescale sent to Flink), the savepoint it gives
//! recorded, the TLS material, one rendering, the objects applied, then the wait for the job. State is written even when a later step
//! fails, so whatever was created is recorded. A stop from Terraform (Ctrl-C) ends the step in
//! flight like a timeout that comes early: before the rollout nothing changes, after it the state
//! records the objects applied, and either way the next apply converges from there.

use super::computed;
use super::destroy;
use super::layout::{self, Names};
use super::lifecycle::{self, Before};
use super::model::Model;
use super::phases::{Phase, Phases};
use super::rendering::TlsData;
use super::rescale;
use super::rollout;
use super::savepoint_history::{self, Taken};
use super::states::{self, State};
use super::status;
use super::tls_material::{self, Material};
use super::TYPE;
use crate::interrupt::{self, Interrupted};
use crate::resources::timeouts::{self, Deadline};
use crate::resources::{cluster_objects, owned, Context};
use crate::schema::Diagnostics;
use crate::value::Attr;

/// Reports a step of the apply that a stop from Terraform cut short: `while_doing` names it,
/// `after` says what state holds.
fn interrupted(diags: &mut Diagnostics, while_doing: &str, after: &str) {
    diags.error(interrupt::SUMMARY, interrupt::detail(while_doing, after));
}

/// What state holds when a stop comes before anything rolled out.
const NOTHING_ROLLED_OUT: &str = "Nothing was rolled out and the state stays as it was; the \
                                  next apply converges from here.";

/// Applies `planned` over `prior` (none at create); the new state, or none when nothing changed
/// (state stays as it was).
pub async fn apply(
    ctx: &Context,
    prior: Option<&Model>,
    mut model: Model,
    diags: &mut Diagnostics,
) -> Option<Model> {
    let prior_model = prior;
    let operation = match prior_model {
        Some(_) => timeouts::Operation::Update,
        None => timeouts::Operation::Create,
    };
    // The operation's timeout bounds all of it: its waits, and the retries of every request.
    let deadline = Deadline::start(&model.timeouts, operation);
    let ctx = &ctx.within(&deadline);
    // Before anything changes (a savepoint of the running job included): the objects it would
    // write must be this instance's. A refused create leaves no state.
    model.instance_id = Attr::Known(cluster_objects::instance_for(
        prior_model.map(|p| &p.instance_id),
    ));
    let owner = layout::owner_of(&model)?;
    if !owned::claim(
        ctx,
        &owner,
        layout::KINDS,
        prior_model.is_some(),
        TYPE,
        diags,
    )
    .await
    {
        return None;
    }
    let mut phases = Phases::start(model.name.known().map_or("", String::as_str));
    let Ready { taken, rescaled } = match prior_model {
        Some(prior_model) => {
            match before_rollout(ctx, prior_model, &mut model, &deadline, &mut phases, diags).await
            {
                Ok(ready) => ready,
                // Nothing rolled out: the job and the state stay as they were.
                Err(Unchanged) => return None,
            }
        }
        None => {
            start_from_replaced(ctx, &mut model, diags).await;
            Ready::default()
        }
    };
    let unchecked = restores_unchecked(prior_model, taken.as_ref());
    // A create starts from the history its plan found (a predecessor's snapshot, or none).
    let history = prior_model.cloned().unwrap_or_else(|| model.clone());
    savepoint_history::record_savepoint(&mut model, &history, taken);
    if unchecked && !restorable(ctx, &model, diags).await {
        // Nothing was applied: state stays as it was.
        return None;
    }
    if prior_model.is_none() {
        model.pending_changes = Attr::Null;
    }
    model.status = Attr::Known(states::PENDING.into());
    let tls_data = match tls_material::for_apply(ctx, &mut model, diags).await {
        Material::Off => None,
        Material::Ready(data) => Some(data),
        // Nothing was applied: keep the state as planned but without certificates, and
        // claiming no object applied.
        Material::Missing => {
            if let Some(rendered) = computed::fill(&mut model, None, None) {
                model.kubernetes_objects =
                    Attr::Known(cluster_objects::none_applied(&rendered.objects));
            }
            return Some(model);
        }
    };
    let rollout = Rollout {
        tls_data,
        rescaled,
        deadline: &deadline,
        creating: prior_model.is_none(),
    };
    Some(roll_out(ctx, model, rollout, &mut phases, diags).await)
}

/// Whether the job starting in this apply restores from state this apply did not just see Flink
/// complete: a create (from `initial_savepoint_path` or a predecessor's snapshot), a resume, or
/// a checkpoint Flink's statistics name, whose files may be gone already.
fn restores_unchecked(prior: Option<&Model>, taken: Option<&Taken>) -> bool {
    let fresh = taken
        .is_some_and(|t| matches!(t.reason, states::Reason::Upgrade | states::Reason::Suspend));
    !fresh && prior.is_none_or(|p| !p.runs() || taken.is_some())
}

/// Whether the snapshot `model` restores from, if any, is complete (its `_metadata` is there),
/// or the provider cannot tell; an error on the attribute that names it when it is not.
async fn restorable(ctx: &Context, model: &Model, diags: &mut Diagnostics) -> bool {
    let Some(location) = super::resolve::restore_from(model).filter(|_| model.runs()) else {
        return true;
    };
    if super::predecessor::is_complete(ctx, model, &location).await != Some(false) {
        return true;
    }
    let attribute = match model.initial_savepoint_path.known() == Some(&location) {
        true => "initial_savepoint_path",
        false => "last_savepoint",
    };
    diags.attribute_error(
        crate::schema::AttributePath::root(attribute),
        "The state to restore from is gone",
        format!(
            "{location} has no _metadata: it was deleted, or never completed, and a job told to \
             restore from it would fail. Nothing was changed. Set initial_savepoint_path to \
             another savepoint, restore_strategy = \"LATEST_SAVEPOINT\" to skip retained \
             checkpoints, or restore_strategy = \"NONE\" to start without state."
        ),
    );
    false
}

/// A replacement whose plan left its start to apply (its predecessor's final savepoint, taken by
/// the destroy just before): the newest state in its own directories and the predecessor's.
async fn start_from_replaced(ctx: &Context, model: &mut Model, diags: &mut Diagnostics) {
    let Some(replaced) = super::predecessor::Replaced::from_private(&ctx.private.given) else {
        return;
    };
    // Handed on no further: the state's private data must not name it at the next replacement.
    ctx.private.hand_on(Vec::new());
    if !model.last_savepoint.is_unknown() {
        return;
    }
    model.savepoints = Attr::Known(Vec::new());
    model.last_savepoint = Attr::Null;
    model.job_id = Attr::Unknown;
    // Rendered once without state, for the directories to look in.
    computed::fill(model, None, None);
    let lookup = super::predecessor::find(ctx, model, &replaced.directories).await;
    super::plan::start_from_predecessor(model, lookup, diags);
}

/// The apply stopped before anything changed.
struct Unchanged;

/// What the running job gave before the rollout: the savepoint or retained checkpoint taken, or
/// the resource requirements of an in-place rescale Flink accepted.
#[derive(Default)]
struct Ready {
    taken: Option<Taken>,
    rescaled: Option<rescale::Requested>,
}

/// What the rollout goes with besides the model.
struct Rollout<'a> {
    tls_data: Option<TlsData>,
    rescaled: Option<rescale::Requested>,
    deadline: &'a Deadline,
    /// A create: its objects are marked pending until it returns its state.
    creating: bool,
}

/// What the running job of `prior` needs before `model` rolls out: the savepoint or retained
/// checkpoint it gives, or the new parallelism of an in-place rescale sent to Flink.
/// `model.pending_changes` is decided here when the plan left it unknown.
async fn before_rollout(
    ctx: &Context,
    prior: &Model,
    model: &mut Model,
    deadline: &Deadline,
    phases: &mut Phases,
    diags: &mut Diagnostics,
) -> Result<Ready, Unchanged> {
    let transition = lifecycle::transition(prior, model);
    let step = transition.step;
    if model.pending_changes.is_unknown() {
        model.pending_changes = super::pending::after(prior, model, step == Before::Defer);
    }
    if let Some(rescale) = transition.rescale {
        let Some(cluster) = ctx.cluster(diags).await else {
            return Err(Unchanged);
        };
        let request = rescale::request(&cluster, prior, rescale, diags);
        let requested = ctx.interrupt.guard(request).await;
        let Ok(rescaled) = requested else {
            let while_doing = "while the running job was asked to rescale";
            interrupted(diags, while_doing, NOTHING_ROLLED_OUT);
            return Err(Unchanged);
        };
        return match diags.has_errors() {
            true => Err(Unchanged),
            false => Ok(Ready {
                taken: None,
                rescaled,
            }),
        };
    }
    let taken = if !matches!(step, Before::Nothing | Before::Defer) {
        let Some(cluster) = ctx.cluster(diags).await else {
            return Err(Unchanged);
        };
        let directory = transition.directory.as_deref();
        let stop = rollout::Stop {
            step,
            savepoint_directory: directory,
            deadline,
        };
        let stopping = rollout::before_rollout(&cluster, stop, prior, model, phases, diags);
        match ctx.interrupt.guard(stopping).await {
            Ok(taken) => taken,
            Err(Interrupted) => {
                // Flink may still finish what it was asked (a stop with savepoint); the next
                // plan then reads the job as it is, and the next apply starts from there.
                let while_doing = "while the running job was being stopped for the rollout";
                interrupted(diags, while_doing, NOTHING_ROLLED_OUT);
                return Err(Unchanged);
            }
        }
    } else if lifecycle::reads_checkpoint(prior, model, step) {
        // The job ended outside Terraform: its JobManager still knows its checkpoints.
        match ctx.cluster(diags).await {
            Some(cluster) => {
                let reading = rollout::retained_checkpoint(&cluster, prior, model, diags);
                match ctx.interrupt.guard(reading).await {
                    Ok(taken) => taken,
                    Err(Interrupted) => {
                        let while_doing = "while reading the checkpoint the ended job kept";
                        interrupted(diags, while_doing, NOTHING_ROLLED_OUT);
                        return Err(Unchanged);
                    }
                }
            }
            None => None,
        }
    } else {
        None
    };
    match diags.has_errors() {
        true => Err(Unchanged),
        false => Ok(Ready {
            taken,
            rescaled: None,
        }),
    }
}

/// Renders `model` once, applies its objects and waits for the job (at its new parallelism
/// after an in-place rescale); the state to record.
async fn roll_out(
    ctx: &Context,
    mut model: Model,
    rollout: Rollout<'_>,
    phases: &mut Phases,
    diags: &mut Diagnostics,
) -> Model {
    let Rollout {
        tls_data,
        rescaled,
        deadline,
        creating,
    } = rollout;
    let rendered = computed::fill(&mut model, tls_data, None);
    // Returned even on failure, so whatever was created is recorded in state; until the objects
    // are applied, it claims none of them applied.
    let mut state = model.clone();
    if let Some(rendered) = &rendered {
        state.kubernetes_objects = Attr::Known(cluster_objects::none_applied(&rendered.objects));
    }
    let Some(rendered) = rendered else {
        diags.error(
            "Unknown values at apply",
            "Some attributes of the deployment are still unknown at apply; this is a provider bug.",
        );
        return state;
    };
    if rendered.configuration.has_errors() {
        diags.error(
            "Invalid Flink configuration",
            "The configuration has errors; run terraform plan to see them.",
        );
        return state;
    }
    let (Some(name), Some(owner)) = (model.name.known(), layout::owner_of(&model)) else {
        return state;
    };
    let objects = rendered.objects;
    let owner = owner.creating(creating);
    let applied = owned::apply(ctx, &owner, layout::KINDS, &objects, TYPE, diags).await;
    if diags.has_errors() {
        state.kubernetes_objects = Attr::Known(cluster_objects::as_applied(&objects, applied));
        if creating {
            owned::settle_create(ctx, &owner, &objects[..applied]).await;
        }
        return state;
    }
    let name = name.clone();
    let waited = wait_for_job(
        ctx, model, &objects, &name, rescaled, deadline, phases, diags,
    )
    .await;
    if creating {
        owned::settle_create(ctx, &owner, &objects).await;
    }
    waited
}

/// After the objects are applied: the wait for the job (at its new parallelism after an
/// in-place rescale); the state to record.
#[allow(clippy::too_many_arguments)]
async fn wait_for_job(
    ctx: &Context,
    mut model: Model,
    objects: &[crate::kubernetes::DesiredObject],
    name: &str,
    rescaled: Option<rescale::Requested>,
    deadline: &Deadline,
    phases: &mut Phases,
    diags: &mut Diagnostics,
) -> Model {
    // From here on the objects exist: a failure while waiting for the job records them in sync.
    let state = model.clone();
    phases.reached(Phase::ObjectsApplied);
    let Some(cluster) = ctx.cluster(diags).await else {
        return state;
    };
    // From here the objects are applied: a stop ends the wait and state records them.
    let applied_left = "The objects are applied and recorded in state; the next apply \
                        converges from here.";
    if let Some(requested) = &rescaled {
        let waiting = rescale::wait(&cluster, &model, requested, deadline, diags);
        if ctx.interrupt.guard(waiting).await.is_err() {
            let while_doing = "while waiting for the job to run at its new parallelism";
            interrupted(diags, while_doing, applied_left);
            return model;
        }
        if diags.has_errors() {
            return model;
        }
    }
    let names = Names::of(name);
    let jobmanager_rollout = layout::rollout_of(objects, &names.jobmanager);
    let taskmanager_rollout = layout::rollout_of(objects, &names.taskmanager);
    let rollouts = [&jobmanager_rollout, &taskmanager_rollout]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    phases.expect(rollouts, layout::replicas_of(objects, &names.taskmanager));
    let rollouts = status::Rollouts {
        jobmanager: jobmanager_rollout.as_deref(),
        taskmanager: taskmanager_rollout.as_deref(),
    };
    let settling = status::settle(&cluster, &model, rollouts, deadline, phases, diags);
    let settled = ctx.interrupt.guard(settling).await;
    let Ok(settled) = settled else {
        // The status stays PENDING: the next refresh reads the job as it is by then.
        interrupted(diags, "while waiting for the job to run", applied_left);
        return model;
    };
    phases.log_summary();
    model.status = Attr::Known(settled);
    if model.desired_state() == State::Cancelled {
        // A cancelled job starts afresh: Flink's HA data of it goes.
        destroy::delete_ha_data(&cluster, &model, diags).await;
    }
    model
}

#[cfg(test)]
mod tests {
    use super::super::golden_tests;
    use super::*;
    use crate::schema::AttributePath;
    use serde_json::json;

    const RUNNING_CHECKPOINTS: &str =
        include_str!("../../../tests/recorded/flink-2.3.0/running-checkpoints.json");

    /// Flink's recorded checkpoint statistics, naming `location` as the latest completed
    /// checkpoint.
    fn statistics_naming(location: &str) -> serde_json::Value {
        let mut stats: serde_json::Value = serde_json::from_str(RUNNING_CHECKPOINTS).unwrap();
        stats["latest"]["completed"]["external_path"] = json!(location);
        stats["latest"]["completed"]["id"] = json!(14);
        stats
    }

    /// The deployment as state records it after its job failed outside Terraform.
    fn failed_job(checkpoints: &str) -> Model {
        let mut model = golden_tests::model(json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
            "flink_configuration": {"execution.checkpointing.dir": checkpoints},
        }));
        super::super::plan::create(&mut model, &mut Diagnostics::default());
        model.status = Attr::Known("FAILED".into());
        model
    }

    /// The race seen in CI: Flink's statistics named `chk-14` after its files were gone. The
    /// apply refuses to start the job from it, with the error on `last_savepoint`, and starts it
    /// once the checkpoint is complete.
    #[tokio::test]
    async fn a_retained_checkpoint_without_metadata_is_not_restored_from() {
        let root = std::env::temp_dir().join(format!("gone-checkpoint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let checkpoint = root.join("00000000000000000000000000000abc/chk-14");
        std::fs::create_dir_all(&checkpoint).unwrap();
        std::fs::write(checkpoint.join("operator-state"), b"x").unwrap();
        let checkpoints = format!("file:{}", root.display());
        // Flink spells its paths `file:/...`.
        let location = format!("file:{}", checkpoint.display());

        let stats = statistics_naming(&location);
        let retained = crate::jobmanager::answers::newest_retained(&stats, true).unwrap();
        assert_eq!(retained.location, location);
        let taken = Taken {
            location: retained.location,
            reason: states::Reason::RetainedCheckpoint,
            time: Some("2026-12-02T10:00:00Z".into()),
        };
        let prior = failed_job(&checkpoints);
        assert!(
            restores_unchecked(Some(&prior), Some(&taken)),
            "a checkpoint Flink's statistics name is checked"
        );
        let mut planned = prior.clone();
        savepoint_history::record_savepoint(&mut planned, &prior, Some(taken));
        assert_eq!(planned.last_savepoint.known(), Some(&location));

        let ctx = Context::default();
        let mut diags = Diagnostics::default();
        assert!(!restorable(&ctx, &planned, &mut diags).await);
        let [error] = diags.0.as_slice() else {
            panic!("one error expected: {:?}", diags.0);
        };
        assert_eq!(error.path, Some(AttributePath::root("last_savepoint")));
        assert_eq!(error.summary, "The state to restore from is gone");
        assert!(error.detail.contains(&location), "{}", error.detail);

        std::fs::write(checkpoint.join("_metadata"), b"x").unwrap();
        let mut diags = Diagnostics::default();
        assert!(restorable(&ctx, &planned, &mut diags).await);
        assert!(diags.0.is_empty(), "{:?}", diags.0);

        // Gone altogether, directory and all.
        std::fs::remove_dir_all(&root).unwrap();
        let mut diags = Diagnostics::default();
        assert!(!restorable(&ctx, &planned, &mut diags).await);
        assert!(diags.has_errors());
    }

    #[tokio::test]
    async fn an_initial_savepoint_without_metadata_is_refused_on_its_own_attribute() {
        let root = std::env::temp_dir().join(format!("gone-savepoint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let location = format!("file://{}", root.display());
        let mut created = failed_job("file:///checkpoints");
        created.status = Attr::Null;
        created.initial_savepoint_path = Attr::Known(location.clone());
        assert!(restores_unchecked(None, None), "a create is checked");
        let mut diags = Diagnostics::default();
        assert!(!restorable(&Context::default(), &created, &mut diags).await);
        assert_eq!(
            diags.0.first().and_then(|d| d.path.clone()),
            Some(AttributePath::root("initial_savepoint_path"))
        );

        // A job that is not to run restores from nothing, so there is nothing to check.
        created.state = Attr::Known("SUSPENDED".into());
        let mut diags = Diagnostics::default();
        assert!(restorable(&Context::default(), &created, &mut diags).await);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn only_state_this_apply_saw_flink_complete_goes_unchecked() {
        let running = failed_job("file:///checkpoints");
        let taken = |reason| Taken {
            location: "file:/sp/savepoint-1".into(),
            reason,
            time: None,
        };
        for fresh in [states::Reason::Upgrade, states::Reason::Suspend] {
            assert!(!restores_unchecked(Some(&running), Some(&taken(fresh))));
        }
        for found in [
            states::Reason::RetainedCheckpoint,
            states::Reason::FoundSavepoint,
        ] {
            assert!(restores_unchecked(Some(&running), Some(&taken(found))));
        }
        assert!(
            !restores_unchecked(Some(&running), None),
            "a running job's rollout restores from nothing new"
        );
        let mut suspended = running.clone();
        suspended.state = Attr::Known("SUSPENDED".into());
        assert!(restores_unchecked(Some(&suspended), None), "a resume");
    }
}
