//! The `kubernetes_objects` attribute every cluster-backed resource exports: one entry per object
//! it owns (`<Kind>/<name>`), `in sync` when the object matches what Terraform applied, otherwise
//! what happened to it. Read fills it from the cluster; plan always wants `in sync`, so drift shows
//! as an update naming the object and the field, and apply restores it.

use crate::kubernetes::{drift, DesiredObject, Kind, FIELD_MANAGER};
use crate::schema::Attribute;
use crate::value::{Type, Value};
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
    }
    use serde_json::json;

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
