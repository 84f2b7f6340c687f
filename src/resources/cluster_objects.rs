//! The `kubernetes_objects` attribute every cluster-backed resource exports: one entry per object
//! it owns (`<Kind>/<name>`), `in sync` when the object matches what Terraform applied, otherwise
//! what happened to it. Read fills it from the cluster; plan always wants `in sync`, so drift shows
//! as an update naming the object and the field, and apply restores it.
//!
//! Also the `instance_id` attribute beside it: the id of the resource instance, written as the
//! owner marker on every object it owns (see `kubernetes::owner`), and how a plan and an apply
//! carry it from state.

use crate::kubernetes::INSTANCE_KEY;
use crate::kubernetes::{drift, new_instance_id, Claim, DesiredObject, Kind, Owner, FIELD_MANAGER};
use crate::schema::Attribute;
use crate::value::{Attr, Type, Value};
use kube::api::DynamicObject;
use std::collections::BTreeMap;

/// The value of an object that matches what Terraform applied.
pub const IN_SYNC: &str = "in sync";

/// How the value of an object with edited fields begins; the fields follow, `, `-separated.
const CHANGED: &str = "changed outside Terraform: ";

/// The fields a value says were edited (none for an object in sync, deleted, or changed only by
/// another field manager).
pub fn changed_fields(status: &str) -> Vec<&str> {
    status
        .strip_prefix(CHANGED)
        .map(|fields| fields.split(", ").collect())
        .unwrap_or_default()
}

/// The attribute's schema.
pub fn attribute() -> Attribute {
    Attribute::typed("kubernetes_objects", Type::Map(Box::new(Type::String)))
        .computed()
        .description(
            "The Kubernetes objects this resource owns, as `<Kind>/<name>`, each `in sync` or a \
             description of how it was changed outside Terraform (deleted, a field edited, \
             modified by another field manager). A drifted object shows in `terraform plan` and \
             the next apply restores it.",
        )
}

/// The `instance_id` attribute's schema.
pub fn instance_attribute() -> Attribute {
    Attribute::string("instance_id")
        .computed()
        .use_state_for_unknown()
        .description(
            "A random id made when the resource is created and kept for its life, written as the \
             annotation `flink.flinkops.io/owner-instance` on every Kubernetes object it owns. \
             A plan that creates the resource, and any apply, refuses objects of the same names \
             that carry another instance's id (a resource of the same type, namespace and name \
             in another configuration or workspace), or no id while the resource is not in state \
             yet; destroy never deletes them. `terraform import` is the way to take existing \
             objects over: the imported state keeps the id they carry. Objects that a provider \
             version without instance ids created, under a resource already in state, get one at \
             the first apply after the upgrade. A `flink_deployment` create also marks its objects \
             `flink.flinkops.io/owner-create-pending` until it returns its state: objects still \
             so marked were left by a create that never returned (the provider or Terraform \
             killed mid-apply, so no state holds their id), and the next create of the same \
             deployment adopts them, with a warning, instead of refusing them.",
        )
}

/// The planned instance id: the prior one, unknown at create, and unknown for a state that has
/// none (written before markers, or imported from unmarked objects) so that the apply writes one.
pub fn plan_instance(prior: Option<&Attr<String>>, planned: &mut Attr<String>) {
    *planned = match prior.and_then(Attr::known) {
        Some(id) => Attr::Known(id.clone()),
        None => Attr::Unknown,
    };
}

/// The instance id an apply writes: the prior one, or a new one.
pub fn instance_for(prior: Option<&Attr<String>>) -> String {
    prior
        .and_then(Attr::known)
        .cloned()
        .unwrap_or_else(new_instance_id)
}

/// How `kubernetes_objects` records an object another instance marked.
pub fn taken_by(instance: &str) -> String {
    format!("managed by another Terraform resource (instance {instance})")
}

/// Overrides the status of each observed object whose marker is not `owner`'s: another
/// instance's (never in sync for this resource, and never written over), or none while the state
/// has an id (the marker was removed; the next apply writes it again).
pub fn mark_claims(
    statuses: &mut BTreeMap<String, String>,
    owner: &Owner,
    observed: &[(Kind, DynamicObject)],
) {
    for (kind, object) in observed {
        let key = key(*kind, object.metadata.name.as_deref().unwrap_or_default());
        let Some(status) = statuses.get_mut(&key) else {
            continue;
        };
        match owner.claim(object) {
            Claim::Other(instance) | Claim::Abandoned(instance) => *status = taken_by(&instance),
            Claim::Unmarked if owner.instance.is_some() => {
                *status =
                    format!("changed outside Terraform: its annotation {INSTANCE_KEY} was removed")
            }
            Claim::Ours | Claim::Unmarked => {}
        }
    }
}

/// The planned value: every desired object in sync.
pub fn in_sync(desired: &[DesiredObject]) -> Value {
    Value::Map(
        desired
            .iter()
            .map(|d| (key(d.kind, &d.name), Value::string(IN_SYNC)))
            .collect(),
    )
}

/// How a failed apply records an object it did not get to.
pub const NOT_APPLIED: &str = "not applied: the apply failed before it";
/// How a failed apply records the object it failed on.
pub const APPLY_FAILED: &str = "not applied: its apply failed";

/// The value after an apply that failed before it applied any object.
pub fn none_applied(desired: &[DesiredObject]) -> BTreeMap<String, String> {
    desired
        .iter()
        .map(|d| (key(d.kind, &d.name), NOT_APPLIED.to_string()))
        .collect()
}

/// The value after an apply that stopped at `desired[applied]`: the objects before it in sync,
/// that one and the rest not applied. A tainted resource must not claim objects that may not
/// exist.
pub fn as_applied(desired: &[DesiredObject], applied: usize) -> BTreeMap<String, String> {
    desired
        .iter()
        .enumerate()
        .map(|(index, d)| {
            let status = match index.cmp(&applied) {
                std::cmp::Ordering::Less => IN_SYNC,
                std::cmp::Ordering::Equal => APPLY_FAILED,
                std::cmp::Ordering::Greater => NOT_APPLIED,
            };
            (key(d.kind, &d.name), status.to_string())
        })
        .collect()
}

fn key(kind: Kind, name: &str) -> String {
    format!("{}/{name}", kind.name())
}

/// The observed value. Objects of `opaque` kinds (whose desired content Terraform cannot know at
/// read time, such as a Secret with write-only values) are checked by existence and field managers
/// only; the others field by field.
pub fn observe(
    desired: &[DesiredObject],
    observed: &[(Kind, DynamicObject)],
    opaque: &[Kind],
) -> Value {
    let mut out = BTreeMap::new();
    for d in desired {
        let found = observed
            .iter()
            .find(|(kind, o)| *kind == d.kind && o.metadata.name.as_deref() == Some(&d.name));
        let status = match found {
            None => "deleted outside Terraform".to_string(),
            Some((_, object)) => {
                let json = serde_json::to_value(object).unwrap_or_default();
                let changed = if opaque.contains(&d.kind) {
                    Vec::new()
                } else {
                    drift::differences(&d.manifest, &json)
                };
                let managers = drift::foreign_managers(&json, FIELD_MANAGER);
                if !changed.is_empty() {
                    format!("{CHANGED}{}", changed.join(", "))
                } else if !managers.is_empty() {
                    format!("changed outside Terraform by {}", managers.join(", "))
                } else {
                    IN_SYNC.to_string()
                }
            }
        };
        out.insert(key(d.kind, &d.name), Value::String(status));
    }
    Value::Map(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_apply_claims_only_the_objects_it_applied() {
        let desired: Vec<DesiredObject> = ["a", "b", "c"]
            .iter()
            .map(|name| DesiredObject {
                kind: Kind::ConfigMap,
                name: name.to_string(),
                manifest: serde_json::json!({}),
            })
            .collect();
        let recorded = as_applied(&desired, 1);
        assert_eq!(recorded["ConfigMap/a"], IN_SYNC);
        assert_eq!(recorded["ConfigMap/b"], APPLY_FAILED);
        assert_eq!(recorded["ConfigMap/c"], NOT_APPLIED);
        // A create into a namespace that does not exist applies nothing.
        assert!(as_applied(&desired, 0).values().all(|v| v != IN_SYNC));
        assert!(none_applied(&desired).values().all(|v| v == NOT_APPLIED));
        assert_eq!(none_applied(&desired).len(), 3);
    }
    use serde_json::json;

    #[test]
    fn an_object_not_marked_by_this_instance_is_not_in_sync() {
        let marked = |name: &str, marker: Option<&str>| {
            let mut meta = json!({"name": name});
            if let Some(m) = marker {
                meta["annotations"] = json!({INSTANCE_KEY: m});
            }
            (
                Kind::ConfigMap,
                object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})),
            )
        };
        let observed = vec![
            marked("a", Some("mine")),
            marked("b", Some("theirs")),
            marked("c", None),
        ];
        let all_in_sync = || -> BTreeMap<String, String> {
            ["a", "b", "c"]
                .map(|n| (format!("ConfigMap/{n}"), IN_SYNC.to_string()))
                .into_iter()
                .collect()
        };
        let mut statuses = all_in_sync();
        let owner = Owner::new("deployment", "ns", "x").instance(Some("mine"));
        mark_claims(&mut statuses, &owner, &observed);
        assert_eq!(statuses["ConfigMap/a"], IN_SYNC);
        assert_eq!(
            statuses["ConfigMap/b"],
            "managed by another Terraform resource (instance theirs)"
        );
        assert!(
            statuses["ConfigMap/c"].contains("was removed"),
            "{statuses:?}"
        );
        // A state from before markers: unmarked objects are its own, marked ones are not.
        let mut legacy = all_in_sync();
        mark_claims(&mut legacy, &Owner::new("deployment", "ns", "x"), &observed);
        assert_eq!(legacy["ConfigMap/c"], IN_SYNC);
        assert_ne!(legacy["ConfigMap/a"], IN_SYNC);
    }

    #[test]
    fn the_instance_id_is_kept_and_made_only_when_there_is_none() {
        let mut planned = Attr::Null;
        plan_instance(None, &mut planned);
        assert!(planned.is_unknown());
        plan_instance(Some(&Attr::Null), &mut planned);
        assert!(planned.is_unknown(), "a state from before markers gets one");
        plan_instance(Some(&Attr::Known("id".into())), &mut planned);
        assert_eq!(planned.known().map(String::as_str), Some("id"));
        assert_eq!(instance_for(Some(&Attr::Known("id".into()))), "id");
        assert_ne!(instance_for(None), instance_for(Some(&Attr::Null)));
    }

    fn object(value: serde_json::Value) -> DynamicObject {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn reports_deleted_edited_and_foreign_changes() {
        let desired = vec![
            DesiredObject::new(Kind::ConfigMap, "ns", "cm", json!({"data": {"a": "1"}})),
            DesiredObject::new(Kind::Secret, "ns", "s", json!({"stringData": {"k": "v"}})),
            DesiredObject::new(Kind::Service, "ns", "svc", json!({"spec": {}})),
        ];
        let observed = vec![
            (
                Kind::ConfigMap,
                object(json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "cm"}, "data": {"a": "2"}})),
            ),
            (
                Kind::Secret,
                object(json!({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "s", "managedFields": [
                        {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:data": {}}}
                    ]}, "data": {"k": "eA=="}})),
            ),
        ];
        let Value::Map(status) = observe(&desired, &observed, &[Kind::Secret]) else {
            panic!()
        };
        assert_eq!(
            status["ConfigMap/cm"],
            Value::string("changed outside Terraform: data.a")
        );
        assert_eq!(
            status["Secret/s"],
            Value::string("changed outside Terraform by kubectl-edit")
        );
        assert_eq!(
            status["Service/svc"],
            Value::string("deleted outside Terraform")
        );
        assert_eq!(
            in_sync(&desired),
            Value::Map(
                ["ConfigMap/cm", "Secret/s", "Service/svc"]
                    .map(|k| (k.to_string(), Value::string(IN_SYNC)))
                    .into_iter()
                    .collect()
            )
        );
    }
}
