//! The generic part of planning, driven by what attributes declare: defaults for unset
//! optional+computed attributes, unknown for computed values that may change, prior state kept for
//! `UseStateForUnknown`, write-only values never planned into state, and the list of changed
//! `RequiresReplace` attributes. Resources refine the result in their own `modify_plan`.

use super::{Attribute, AttributeKind, AttributePath, Nesting, PlanModifier, Schema};
use crate::value::Value;

/// The generic plan of one resource change.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The planned new state.
    pub planned: Value,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<AttributePath>,
}

/// Plans a create (`prior` null) or update. A destroy (`proposed` null) plans null.
pub fn plan(schema: &Schema, prior: &Value, proposed: &Value, config: &Value) -> Plan {
    if proposed.is_null() {
        return Plan {
            planned: Value::Null,
            requires_replace: Vec::new(),
        };
    }
    let creating = prior.is_null();
    let mut planned = proposed.clone();
    apply_defaults_and_write_only(&schema.attributes, &mut planned, config);
    let changed = !creating && configured_values_differ(&schema.attributes, &planned, prior);
    mark_computed(
        &schema.attributes,
        &mut planned,
        prior,
        config,
        creating || changed,
    );
    let mut requires_replace = Vec::new();
    if !creating {
        collect_replacements(
            &schema.attributes,
            &planned,
            prior,
            &AttributePath::default(),
            &mut requires_replace,
        );
    }
    Plan {
        planned,
        requires_replace,
    }
}

/// Sets the declared default of every attribute that is null in `value` (also inside single
/// nested objects): what an imported state holds for inputs the remote object does not record.
pub fn fill_defaults(attributes: &[Attribute], value: &mut Value) {
    for attribute in attributes {
        let Some(slot) = value.get_mut(attribute.name) else {
            continue;
        };
        if slot.is_null() {
            if let Some(default) = attribute.default() {
                *slot = default.clone();
            }
        }
        if let (AttributeKind::Nested(Nesting::Single, nested), Value::Object(_)) =
            (&attribute.kind, &*slot)
        {
            fill_defaults(nested, slot);
        }
    }
}

fn apply_defaults_and_write_only(attributes: &[Attribute], planned: &mut Value, config: &Value) {
    for attribute in attributes {
        let configured = config.get(attribute.name).cloned().unwrap_or(Value::Null);
        let Some(slot) = planned.get_mut(attribute.name) else {
            continue;
        };
        if attribute.write_only {
            *slot = Value::Null;
            continue;
        }
        if configured.is_null() {
            if let Some(default) = attribute.default() {
                *slot = default.clone();
            }
        }
        if let (AttributeKind::Nested(Nesting::Single, nested), Value::Object(_)) =
            (&attribute.kind, &*slot)
        {
            apply_defaults_and_write_only(nested, slot, &configured);
        }
    }
}

/// Whether any value the configuration controls differs from the prior state.
fn configured_values_differ(attributes: &[Attribute], planned: &Value, prior: &Value) -> bool {
    attributes.iter().any(|attribute| {
        if attribute.is_computed_only() || attribute.write_only {
            return false;
        }
        let new = planned.get(attribute.name).unwrap_or(&Value::Null);
        let old = prior.get(attribute.name).unwrap_or(&Value::Null);
        match &attribute.kind {
            AttributeKind::Nested(Nesting::Single, nested) if !new.is_null() && !old.is_null() => {
                configured_values_differ(nested, new, old)
            }
            _ => !new.equals(old),
        }
    })
}

fn mark_computed(
    attributes: &[Attribute],
    planned: &mut Value,
    prior: &Value,
    config: &Value,
    may_change: bool,
) {
    for attribute in attributes {
        let configured = config.get(attribute.name).cloned().unwrap_or(Value::Null);
        let prior_value = prior.get(attribute.name).cloned().unwrap_or(Value::Null);
        let Some(slot) = planned.get_mut(attribute.name) else {
            continue;
        };
        if attribute.is_computed() && configured.is_null() && attribute.default().is_none() {
            if attribute.has_modifier(&PlanModifier::UseStateForUnknown) && !prior_value.is_null() {
                *slot = prior_value;
            } else if may_change {
                *slot = Value::Unknown;
            }
            continue;
        }
        if let (AttributeKind::Nested(Nesting::Single, nested), Value::Object(_)) =
            (&attribute.kind, &*slot)
        {
            mark_computed(nested, slot, &prior_value, &configured, may_change);
        }
    }
}

fn collect_replacements(
    attributes: &[Attribute],
    planned: &Value,
    prior: &Value,
    path: &AttributePath,
    out: &mut Vec<AttributePath>,
) {
    for attribute in attributes {
        let new = planned.get(attribute.name).unwrap_or(&Value::Null);
        let old = prior.get(attribute.name).unwrap_or(&Value::Null);
        let attr_path = path.attr(attribute.name);
        if attribute.has_modifier(&PlanModifier::RequiresReplace) && !new.equals(old) {
            out.push(attr_path.clone());
        }
        if let AttributeKind::Nested(Nesting::Single, nested) = &attribute.kind {
            collect_replacements(nested, new, old, &attr_path, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;

    fn schema() -> Schema {
        Schema::new(
            "test",
            vec![
                Attribute::string("id").computed().use_state_for_unknown(),
                Attribute::string("name").required().requires_replace(),
                Attribute::string("mode").default_value(Value::string("fast")),
                Attribute::string("derived").computed(),
                Attribute::string("password").optional().write_only(),
                Attribute::number("size").optional(),
            ],
        )
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        let mut v = Value::object([
            ("id", Value::Null),
            ("name", Value::Null),
            ("mode", Value::Null),
            ("derived", Value::Null),
            ("password", Value::Null),
            ("size", Value::Null),
        ]);
        for (k, val) in pairs {
            *v.get_mut(k).unwrap() = val.clone();
        }
        v
    }

    #[test]
    fn create_marks_computed_unknown_and_applies_defaults() {
        let config = obj(&[
            ("name", Value::string("a")),
            ("password", Value::string("s")),
        ]);
        let plan = plan(&schema(), &Value::Null, &config, &config);
        assert_eq!(plan.planned.get("id"), Some(&Value::Unknown));
        assert_eq!(plan.planned.get("derived"), Some(&Value::Unknown));
        assert_eq!(plan.planned.get("mode"), Some(&Value::string("fast")));
        assert_eq!(plan.planned.get("password"), Some(&Value::Null));
        assert!(plan.requires_replace.is_empty());
    }

    #[test]
    fn no_change_keeps_everything_known() {
        let prior = obj(&[
            ("id", Value::string("x")),
            ("name", Value::string("a")),
            ("mode", Value::string("fast")),
            ("derived", Value::string("d")),
        ]);
        let config = obj(&[("name", Value::string("a"))]);
        // Terraform's proposed state keeps prior values of unset computed attributes.
        let plan = plan(&schema(), &prior, &prior, &config);
        assert_eq!(plan.planned, prior);
    }

    #[test]
    fn update_keeps_state_for_unknown_and_flags_replacement() {
        let prior = obj(&[
            ("id", Value::string("x")),
            ("name", Value::string("a")),
            ("mode", Value::string("fast")),
            ("derived", Value::string("d")),
        ]);
        let mut proposed = prior.clone();
        *proposed.get_mut("name").unwrap() = Value::string("b");
        let config = obj(&[("name", Value::string("b"))]);
        let plan = plan(&schema(), &prior, &proposed, &config);
        assert_eq!(plan.planned.get("id"), Some(&Value::string("x")));
        assert_eq!(plan.planned.get("derived"), Some(&Value::Unknown));
        assert_eq!(plan.requires_replace, vec![AttributePath::root("name")]);
    }

    #[test]
    fn fill_defaults_only_touches_nulls() {
        let mut v = obj(&[("name", Value::string("a"))]);
        fill_defaults(&schema().attributes, &mut v);
        assert_eq!(v.get("mode"), Some(&Value::string("fast")));
        let mut set = obj(&[("mode", Value::string("slow"))]);
        fill_defaults(&schema().attributes, &mut set);
        assert_eq!(set.get("mode"), Some(&Value::string("slow")));
    }

    #[test]
    fn destroy_plans_null() {
        let prior = obj(&[("name", Value::string("a"))]);
        assert_eq!(
            plan(&schema(), &prior, &Value::Null, &Value::Null).planned,
            Value::Null
        );
    }
}
