//! `upgrade_strategy = "NONE"` (pure): a change that would give the running job new pods is
//! stored in state but not rolled out until the job next starts. `pending_changes` keeps, for each
//! changed spec attribute, the value the running job has (as JSON), so the objects go on being
//! rendered from what runs ([`running_spec`]) and refresh judges drift against that, not against
//! the stored change.

use super::model::Model;
use crate::value::Attr;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Attributes that never wait: identity, lifecycle, apply settings, the Ingress (no pod reads it)
/// and computed values. Every other attribute is part of the spec the pods are rendered from.
const NOT_SPEC: &[&str] = &[
    "id",
    "name",
    "namespace",
    "state",
    "upgrade_strategy",
    "savepoint_timeout",
    "final_savepoint_on_destroy",
    "wait_for_job",
    "wait_timeout",
    "rest_url",
    "ingress",
    "web_ui_url",
    "timeouts",
    "job_id",
    "effective_flink_configuration",
    "rest_endpoint",
    "status",
    "kubernetes_objects",
    "instance_id",
    "savepoints",
    "last_savepoint",
    "tls_certificates",
    "pending_changes",
];

fn spec_fields(model: &Model) -> serde_json::Map<String, Json> {
    match serde_json::to_value(model) {
        Ok(Json::Object(fields)) => fields
            .into_iter()
            .filter(|(name, _)| !NOT_SPEC.contains(&name.as_str()))
            .collect(),
        _ => serde_json::Map::new(),
    }
}

/// Whether changes wait for the next start of the job.
pub fn waits(model: &Model) -> bool {
    model.pending_changes.known().is_some_and(|p| !p.is_empty())
}

/// The spec the running job has: `model` with its pending attributes back at their running
/// values. `model` itself (not a copy: every render asks) when nothing waits.
pub fn running_spec(model: &Model) -> Cow<'_, Model> {
    let Some(pending) = model.pending_changes.known().filter(|p| !p.is_empty()) else {
        return Cow::Borrowed(model);
    };
    let Ok(Json::Object(mut fields)) = serde_json::to_value(model) else {
        return Cow::Borrowed(model);
    };
    for (name, running) in pending {
        if let Ok(value) = serde_json::from_str::<Json>(running) {
            fields.insert(name.clone(), value);
        }
    }
    match serde_json::from_value(Json::Object(fields)) {
        Ok(running) => Cow::Owned(running),
        Err(e) => {
            tracing::warn!(error = %e, "pending_changes do not fit the model; rendering the stored spec");
            Cow::Borrowed(model)
        }
    }
}

/// The spec attributes in which `planned` differs from `running`, each with its running value
/// as JSON; `None` when they are the same.
pub fn changes(running: &Model, planned: &Model) -> Option<BTreeMap<String, String>> {
    let (running, planned) = (spec_fields(running), spec_fields(planned));
    let changed: BTreeMap<String, String> = planned
        .iter()
        .filter(|(name, value)| running.get(*name).unwrap_or(&Json::Null) != *value)
        .map(|(name, _)| {
            let value = running.get(name).unwrap_or(&Json::Null);
            (name.clone(), value.to_string())
        })
        .collect();
    (!changed.is_empty()).then_some(changed)
}

/// What `pending_changes` records after `prior` becomes `planned`: the changes of a deferred
/// upgrade against what runs, or null (nothing waits, or the job starts anew with the stored spec).
pub fn after(prior: &Model, planned: &Model, deferred: bool) -> Attr<BTreeMap<String, String>> {
    if !deferred {
        return Attr::Null;
    }
    let mut desired = planned.clone();
    desired.pending_changes = Attr::Null;
    changes(&running_spec(prior), &desired).map_or(Attr::Null, Attr::Known)
}

/// The attribute names that wait, for messages.
pub fn names(model: &Model) -> String {
    model
        .pending_changes
        .known()
        .map(|p| p.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(parallelism: i64, version: &str) -> Model {
        Model {
            name: Attr::Known("orders".into()),
            state: Attr::Known("RUNNING".into()),
            flink_version: Attr::Known(version.into()),
            parallelism: Attr::Known(parallelism),
            job_id: Attr::Known("0123".into()),
            ..Model::default()
        }
    }

    #[test]
    fn a_deferred_change_keeps_the_running_values_and_renders_from_them() {
        let prior = model(1, "2.3");
        let planned = model(2, "2.3");
        let pending = after(&prior, &planned, true);
        let expected: BTreeMap<String, String> =
            [("parallelism".to_string(), "1".to_string())].into();
        assert_eq!(pending, Attr::Known(expected));
        let stored = Model {
            pending_changes: pending,
            ..planned
        };
        assert!(waits(&stored));
        let running = running_spec(&stored);
        assert_eq!(running.parallelism, Attr::Known(1));
        assert_eq!(
            running.job_id, stored.job_id,
            "identity stays the stored one"
        );
        assert_eq!(names(&stored), "parallelism");
    }

    #[test]
    fn further_changes_are_judged_against_what_runs() {
        let mut stored = model(2, "2.3");
        stored.pending_changes = Attr::Known([("parallelism".into(), "1".into())].into());
        // Back to what runs: nothing waits any more.
        assert_eq!(after(&stored, &model(1, "2.3"), true), Attr::Null);
        // Another attribute too: both wait, parallelism still with the running value.
        let both = after(&stored, &model(2, "2.2"), true);
        let expected: BTreeMap<String, String> = [
            ("flink_version".to_string(), "\"2.3\"".to_string()),
            ("parallelism".to_string(), "1".to_string()),
        ]
        .into();
        assert_eq!(both, Attr::Known(expected));
    }

    #[test]
    fn settings_and_lifecycle_never_wait_and_a_start_clears_everything() {
        let prior = model(1, "2.3");
        let mut planned = prior.clone();
        planned.wait_timeout = Attr::Known("5 min".into());
        planned.state = Attr::Known("SUSPENDED".into());
        assert_eq!(after(&prior, &planned, true), Attr::Null);
        assert_eq!(after(&prior, &model(2, "2.3"), false), Attr::Null);
        assert_eq!(running_spec(&prior).parallelism, Attr::Known(1));
    }

    #[test]
    fn an_ingress_change_never_waits() {
        let prior = model(1, "2.3");
        let mut planned = prior.clone();
        planned.ingress = Attr::Known(crate::resources::deployment::model::Ingress {
            host: Attr::Known("flink.example.com".into()),
            ..Default::default()
        });
        assert_eq!(changes(&prior, &planned), None);
        planned.parallelism = Attr::Known(2);
        let waiting = after(&prior, &planned, true);
        let expected: BTreeMap<String, String> =
            [("parallelism".to_string(), "1".to_string())].into();
        assert_eq!(
            waiting,
            Attr::Known(expected),
            "only what the pods read waits"
        );
    }
}
