//! `pod.tolerations` and the tolerations of pod templates as the API server's
//! `ValidateTolerations` checks them (pure): what it refuses in one toleration's fields together,
//! each finding on the field the user wrote it in.

use super::model::Model;
use crate::schema::{AttributePath, Diagnostics};
use crate::value::Attr;

/// `pod.tolerations` as the API server's `ValidateTolerations` checks them, each error on the
/// field it names.
pub(super) fn tolerations(model: &Model, diags: &mut Diagnostics) {
    use kube_rules::tolerations::Toleration;
    let Some(list) = model.pod.known().and_then(|p| p.tolerations.known()) else {
        return;
    };
    // Unset is empty, as the API server has it; unknown is checked at apply.
    fn text(a: &Attr<String>) -> Option<&str> {
        match a {
            Attr::Known(s) => Some(s),
            Attr::Null => Some(""),
            Attr::Unknown => None,
        }
    }
    for (i, t) in list.iter().enumerate() {
        let (Some(key), Some(operator), Some(value), Some(effect)) = (
            text(&t.key),
            text(&t.operator),
            text(&t.value),
            text(&t.effect),
        ) else {
            continue;
        };
        let fields = Toleration {
            key,
            operator,
            value,
            effect,
            has_seconds: false,
        };
        let at = AttributePath::root("pod").attr("tolerations").index(i);
        for (attr, summary, detail) in toleration_findings(&fields) {
            diags.attribute_error(at.attr(attr), summary, detail);
        }
    }
}

/// What the API server refuses in one toleration: the field it concerns (where the user wrote
/// the value), a summary and what Kubernetes takes. Shared by `pod.tolerations` and the
/// tolerations of pod templates.
pub fn toleration_findings(
    fields: &kube_rules::tolerations::Toleration,
) -> Vec<(&'static str, String, String)> {
    use kube_rules::tolerations::{validate, Field, Problem, Quoted};
    let name = |field| match field {
        Field::Key => "key",
        Field::Operator => "operator",
        Field::Effect => "effect",
    };
    validate(fields)
        .into_iter()
        .map(|problem| match problem {
            // A bad taint value: the API server reports it under `operator`; it was written in
            // `value`.
            Problem::Invalid {
                quoted: Quoted::Value,
                message,
                ..
            } => (
                "value",
                format!("Invalid toleration value {:?}", fields.value),
                format!("A taint value is a label value: {message}."),
            ),
            Problem::Invalid {
                field,
                quoted,
                message,
            } => {
                let bad = match (quoted, field) {
                    (Quoted::Field, Field::Key) => fields.key,
                    (Quoted::Field, Field::Effect) => fields.effect,
                    _ => fields.operator,
                };
                (
                    name(field),
                    format!("Invalid toleration {} {bad:?}", name(field)),
                    format!("Kubernetes would refuse it: {message}."),
                )
            }
            Problem::NotSupported {
                field,
                value,
                supported,
            } => (
                name(field),
                format!("Unsupported toleration {} {value:?}", name(field)),
                format!(
                    "Kubernetes takes {}{}.",
                    supported
                        .iter()
                        .map(|v| format!("{v:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if field == Field::Effect {
                        ", or empty for every effect"
                    } else {
                        " (empty means \"Equal\")"
                    }
                ),
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The paths and summaries the Kubernetes checks report for `tolerations`.
    fn reported(tolerations: serde_json::Value) -> Vec<(String, String)> {
        let model = super::super::golden_tests::model(json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "https://repo.example.com/job.jar"},
            "pod": {"tolerations": tolerations},
        }));
        let mut diags = Diagnostics::default();
        super::tolerations(&model, &mut diags);
        diags
            .0
            .into_iter()
            .map(|d| (d.path.map(|p| p.to_string()).unwrap_or_default(), d.summary))
            .collect()
    }

    #[test]
    fn tolerations_on_the_field_at_fault() {
        let ok = json!([
            {"key": "dedicated", "operator": "Equal", "value": "flink", "effect": "NoSchedule"},
            {"key": null, "operator": "Exists", "value": null, "effect": null},
            {"key": "spot", "operator": null, "value": "", "effect": "NoExecute"},
        ]);
        assert_eq!(reported(ok), []);
        let bad = json!([
            {"key": "k", "operator": "Maybe", "value": null, "effect": null},
            {"key": "k", "operator": "Exists", "value": "v", "effect": null},
            {"key": "k", "operator": "Equal", "value": "bad value!", "effect": "Never"},
            {"key": "bad key!", "operator": "Exists", "value": null, "effect": null},
            {"key": null, "operator": "Equal", "value": null, "effect": null},
        ]);
        assert_eq!(
            reported(bad),
            [
                (
                    "pod.tolerations[0].operator".into(),
                    "Unsupported toleration operator \"Maybe\"".into()
                ),
                (
                    "pod.tolerations[1].operator".into(),
                    "Invalid toleration operator \"Exists\"".into()
                ),
                (
                    "pod.tolerations[2].value".into(),
                    "Invalid toleration value \"bad value!\"".into()
                ),
                (
                    "pod.tolerations[2].effect".into(),
                    "Unsupported toleration effect \"Never\"".into()
                ),
                (
                    "pod.tolerations[3].key".into(),
                    "Invalid toleration key \"bad key!\"".into()
                ),
                (
                    "pod.tolerations[4].operator".into(),
                    "Invalid toleration operator \"Equal\"".into()
                ),
            ]
        );
    }
}
