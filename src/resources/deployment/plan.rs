//! The plan of a deployment (pure: nothing asks the cluster). A create renders once. An update
//! renders three times: the prior spec as it runs and the planned spec as written, to decide
//! what happens to the running job (a savepoint, a cancel, a change kept back); then, with the
//! job id, pending changes and certificates decided, the spec that will run, once, for the
//! computed attributes.

use super::computed;
use super::lifecycle;
use super::model::Model;
use super::pending;
use super::savepoint_history;
use super::tls;
use crate::resources::cluster_objects;
use crate::schema::Diagnostics;
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
