//! The plan of a deployment (pure: nothing asks the cluster). A create renders once. An update
//! renders three times: the prior spec as it runs and the planned spec as written, to decide
//! what happens to the running job (a savepoint, a cancel, a change kept back); then, with the
//! job id, pending changes and certificates decided, the spec that will run, once, for the
//! computed attributes.

use super::computed;
use super::lifecycle;
use super::model::Model;
use super::pending;
use super::predecessor;
use super::resolve;
use super::savepoint_history::{self, Taken};
use super::states::Reason;
use super::tls;
use crate::resources::cluster_objects;
use crate::schema::{AttributePath, Diagnostics};
use crate::value::Attr;

/// The plan of a new deployment.
pub fn create(model: &mut Model, diags: &mut Diagnostics) {
    if let (Some(ns), Some(name)) = (model.namespace.known(), model.name.known()) {
        model.id = Attr::Known(super::deployment_id(ns, name));
    }
    let nothing = Model::default();
    model.tls_certificates = tls::planned_certificates(&nothing, model);
    savepoint_history::record_savepoint(model, &nothing, None);
    model.pending_changes = Attr::Null;
    cluster_objects::plan_instance(None, &mut model.instance_id);
    computed::fill(model, None, Some(diags));
    lifecycle::warn_stateful_without_directory(model, diags);
}

/// A new deployment's start from what `lookup` found of a predecessor's state (see
/// [`predecessor`]): the snapshot is recorded as the deployment's first savepoint, so the job
/// restores from it and plan shows it as `last_savepoint`; the run gets an id of its own, since
/// Flink may remember the predecessor's as ended. Directories the provider cannot read (an
/// endpoint reachable only in the cluster, say) earn a warning, never an error: the plan of a
/// new deployment must not depend on the provider's network.
pub fn start_from_predecessor(
    model: &mut Model,
    lookup: predecessor::Lookup,
    diags: &mut Diagnostics,
) {
    match lookup {
        predecessor::Lookup::Nothing => {}
        predecessor::Lookup::Found(snapshot) => {
            let what = if snapshot.is_checkpoint() {
                "retained checkpoint"
            } else {
                "savepoint"
            };
            let completed = crate::value::rfc3339(snapshot.completed);
            diags.attribute_warning(
                AttributePath::root("last_savepoint"),
                "Starts from the state of an earlier deployment",
                format!(
                    "The job starts from the {what} {} (completed {completed}), left by an \
                     earlier deployment of the same namespace and name (destroyed, or replaced) \
                     in the directories this one shares, or by the deployment this one replaces. \
                     To start without state, set restore_strategy = \"NONE\"; to start from \
                     another savepoint, set initial_savepoint_path. Terraform plans again at \
                     apply, and should the snapshots there have changed by then (a saved plan \
                     applied later), it stops the apply before anything changes, calling the plan \
                     inconsistent: plan again.",
                    snapshot.location
                ),
            );
            if let Some(id) = model.id.known() {
                model.job_id = Attr::Known(resolve::next_job_id(&format!(
                    "{}:{}",
                    resolve::job_id_of(id),
                    snapshot.location
                )));
            }
            let reason = match snapshot.is_checkpoint() {
                true => Reason::RetainedCheckpoint,
                false => Reason::FoundSavepoint,
            };
            let found = Taken {
                location: snapshot.location,
                reason,
                time: Some(completed),
            };
            savepoint_history::record_savepoint(model, &Model::default(), Some(found));
            computed::fill(model, None, None);
        }
        predecessor::Lookup::Failed(why) => diags.attribute_warning(
            AttributePath::root("last_savepoint"),
            "Cannot look for the state of an earlier deployment",
            format!(
                "A deployment of this namespace and name created before would have left its \
                 savepoints where this one's go, and the job would start from the newest; the \
                 provider could not look ({why}), so the job starts without state. To start \
                 from a savepoint, set initial_savepoint_path; to say that no state is wanted, \
                 restore_strategy = \"NONE\"."
            ),
        ),
    }
}

/// A replacement's start from the final savepoint its predecessor takes when destroyed, before
/// the create: where that is, and what depends on it (the run's id, the rendering), is known at
/// apply.
pub fn start_after_final_savepoint(model: &mut Model) {
    model.savepoints = Attr::Unknown;
    model.last_savepoint = Attr::Unknown;
    model.job_id = Attr::Unknown;
    model.effective_flink_configuration = Attr::Unknown;
    model.kubernetes_objects = Attr::Unknown;
}

/// What the plan of a deployment replaced under a new namespace or name says about the state
/// the new one starts from.
pub fn warn_replacement(replaced: &predecessor::Replaced, diags: &mut Diagnostics) {
    let from = match replaced.final_savepoint {
        true => format!(
            "the final savepoint {} takes when it is destroyed, before the new one is created",
            replaced.deployment
        ),
        false => format!(
            "the newest savepoint{} found in the directories of {}",
            if replaced.directories.len() > 1 {
                " or retained checkpoint"
            } else {
                ""
            },
            replaced.deployment
        ),
    };
    diags.attribute_warning(
        AttributePath::root("name"),
        "The replacement starts from the state of the deployment it replaces",
        format!(
            "A new namespace or name replaces the deployment, and the new one gets new \
             directories. Its job starts from {from} ({}). With lifecycle \
             create_before_destroy it would start before that savepoint exists: do not combine \
             the two. To start without state, set restore_strategy = \"NONE\".",
            replaced.directories.join(", ")
        ),
    );
}

/// The plan of `prior` becoming `model`.
pub fn update(prior: &Model, model: &mut Model, diags: &mut Diagnostics) {
    cluster_objects::plan_instance(Some(&prior.instance_id), &mut model.instance_id);
    model.tls_certificates = tls::planned_certificates(prior, model);
    savepoint_history::record_savepoint(model, prior, None);
    // Pending changes compare the defaults too: an image the version implies is part of the spec.
    computed::fill_defaults(model);
    let transition = lifecycle::transition(prior, model);
    if let Some(planned) = &transition.planned {
        computed::report(planned, model, diags);
    }
    lifecycle::plan_transition(prior, model, &transition, diags);
    if pending::waits(model) {
        model.tls_certificates = tls::planned_certificates(prior, &pending::running_spec(model));
    }
    computed::fill(model, None, None);
    if applies_something(prior, model) {
        model.status = Attr::Unknown;
    }
}

/// Whether Terraform will call apply for this plan: it does when the planned state differs from
/// the prior in anything. Apply always reads the job's status afresh, so a status kept from the
/// prior (the generic plan keeps computed values when no input changed, as when only drift is
/// put back) would be an inconsistent result the moment the job's status moves, say from
/// `RESTARTING` to `RUNNING` after the rollout.
fn applies_something(prior: &Model, planned: &Model) -> bool {
    let without_status = |model: &Model| {
        let mut fields = serde_json::to_value(model).unwrap_or_default();
        if let Some(fields) = fields.as_object_mut() {
            fields.remove("status");
        }
        fields
    };
    without_status(prior) != without_status(planned)
}

#[cfg(test)]
mod tests {
    use super::super::golden_tests;
    use super::super::rendering::RENDERS;
    use super::*;
    use serde_json::json;

    fn renders_of(plan: impl FnOnce()) -> usize {
        let before = RENDERS.with(|n| n.get());
        plan();
        RENDERS.with(|n| n.get()) - before
    }

    #[test]
    fn the_status_is_known_after_apply_whenever_the_plan_applies_something() {
        let mut created = golden_tests::model(json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
        }));
        create(&mut created, &mut Diagnostics::default());
        created.status = Attr::Known("RUNNING".into());
        let mut unchanged = created.clone();
        update(&created, &mut unchanged, &mut Diagnostics::default());
        assert_eq!(
            unchanged.status.known().map(String::as_str),
            Some("RUNNING")
        );

        // A TaskManager Deployment changed by hand restarts the job; the plan puts it back.
        let mut drifted = created.clone();
        drifted.status = Attr::Known("RESTARTING".into());
        let objects = drifted
            .kubernetes_objects
            .known()
            .cloned()
            .unwrap_or_default();
        let (first, _) = objects.iter().next().expect("objects rendered");
        let mut objects = objects.clone();
        objects.insert(
            first.clone(),
            "changed outside Terraform: spec.replicas".into(),
        );
        drifted.kubernetes_objects = Attr::Known(objects);
        let mut planned = drifted.clone();
        update(&drifted, &mut planned, &mut Diagnostics::default());
        assert!(planned.status.is_unknown(), "{:?}", planned.status);
    }

    #[test]
    fn a_create_renders_once_and_an_update_three_times() {
        let inputs = |parallelism: i64, strategy: &str| {
            golden_tests::model(json!({
                "name": "orders", "namespace": "ns", "flink_version": "2.3",
                "upgrade_strategy": strategy, "parallelism": parallelism,
                "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
                "flink_configuration": {
                    "execution.checkpointing.savepoint-dir": "file:///savepoints"
                },
            }))
        };
        let mut prior = inputs(1, "STATEFUL");
        let mut diags = Diagnostics::default();
        assert_eq!(renders_of(|| create(&mut prior, &mut diags)), 1);
        assert!(!diags.has_errors(), "{:?}", diags.0);
        for strategy in ["STATEFUL", "STATELESS", "NONE"] {
            let mut planned = inputs(2, strategy);
            planned.id = prior.id.clone();
            let renders = renders_of(|| update(&prior, &mut planned, &mut diags));
            assert_eq!(renders, 3, "{strategy}");
            assert!(planned.kubernetes_objects.known().is_some(), "{strategy}");
        }
    }

    #[test]
    fn a_new_deployment_starts_from_the_snapshot_its_predecessor_left() {
        let created = || {
            let mut model = golden_tests::model(json!({
                "name": "orders", "namespace": "ns", "flink_version": "2.3",
                "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
                "flink_configuration": {
                    "execution.checkpointing.savepoint-dir": "file:///savepoints"
                },
            }));
            create(&mut model, &mut Diagnostics::default());
            model
        };
        let fresh = created();
        let completed = time::macros::datetime!(2026-12-02 10:00 UTC);
        for (location, reason) in [
            (
                "file:///savepoints/savepoint-0a1b2c-3d4e5f6a7b8c",
                "FOUND_SAVEPOINT",
            ),
            ("file:///checkpoints/0a1b/chk-14", "RETAINED_CHECKPOINT"),
        ] {
            let mut model = created();
            let mut diags = Diagnostics::default();
            let found = crate::storage::snapshots::Snapshot {
                location: location.into(),
                completed,
            };
            start_from_predecessor(&mut model, predecessor::Lookup::Found(found), &mut diags);
            assert_eq!(
                model.last_savepoint.known().map(String::as_str),
                Some(location)
            );
            let recorded = &model.savepoints.known().unwrap()[0];
            assert_eq!(recorded.reason.known().map(String::as_str), Some(reason));
            assert_eq!(
                recorded.time.known().map(String::as_str),
                Some("2026-12-02T10:00:00Z")
            );
            assert_eq!(resolve::restore_from(&model).as_deref(), Some(location));
            let configuration = model.effective_flink_configuration.known().unwrap();
            assert_eq!(
                configuration.get("$internal.pipeline.job-id"),
                model.job_id.known(),
                "rendered again with the run's id"
            );
            assert_ne!(model.job_id, fresh.job_id, "a run of its own");
            assert!(!diags.has_errors());
            let warned = format!("{:?}", diags.0);
            assert!(warned.contains(location), "the warning names it");
            assert!(
                warned.contains("plan again"),
                "and what a changed store at apply means"
            );
        }

        let mut model = created();
        let mut diags = Diagnostics::default();
        let lookup = predecessor::Lookup::Failed("cannot reach https://minio.storage:9000".into());
        start_from_predecessor(&mut model, lookup, &mut diags);
        assert_eq!(
            model.job_id, fresh.job_id,
            "a lookup that failed changes nothing"
        );
        assert_eq!(model.last_savepoint, Attr::Null);
        assert_eq!(
            model.effective_flink_configuration,
            fresh.effective_flink_configuration
        );
        assert!(!diags.has_errors(), "never an error: {:?}", diags.0);
        assert!(format!("{:?}", diags.0).contains("minio.storage"));
    }

    #[test]
    fn a_deferred_change_waits_only_with_what_the_user_changed() {
        let inputs = |parallelism: i64| {
            golden_tests::model(json!({
                "name": "orders", "namespace": "ns", "flink_version": "2.3",
                "upgrade_strategy": "NONE", "parallelism": parallelism,
                "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
            }))
        };
        let mut prior = inputs(1);
        create(&mut prior, &mut Diagnostics::default());
        // Terraform's plan leaves the computed defaults unknown when the configuration changes.
        let mut planned = inputs(2);
        planned.id = prior.id.clone();
        planned.image = Attr::Unknown;
        planned.number_of_task_managers = Attr::Unknown;
        update(&prior, &mut planned, &mut Diagnostics::default());
        let waiting: Vec<&String> = planned.pending_changes.known().unwrap().keys().collect();
        assert_eq!(waiting, ["number_of_task_managers", "parallelism"]);
        assert_eq!(
            planned.image, prior.image,
            "the image the version implies stays"
        );
    }
}
