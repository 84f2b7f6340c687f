//! Runs the validators declared in a schema over a configuration value and reports each failure on
//! the attribute path that caused it. Unknown values are skipped: they are checked again at apply.

use super::{Attribute, AttributeKind, AttributePath, Diagnostics, Nesting};
use crate::value::Value;

/// Checks `config` (an object of `attributes`) and adds a diagnostic per failure.
pub fn validate_attributes(
    attributes: &[Attribute],
    config: &Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
) {
    for attribute in attributes {
        let Some(value) = config.get(attribute.name) else {
            continue;
        };
        let attr_path = path.attr(attribute.name);
        if value.is_null() || value.is_unknown() {
            continue;
        }
        for validator in &attribute.validators {
            for failure in validator.check(value) {
                let at = match failure.step {
                    Some(step) => {
                        AttributePath(attr_path.0.iter().cloned().chain(Some(step)).collect())
                    }
                    None => attr_path.clone(),
                };
                diags.attribute_error(at, failure.summary, failure.detail);
            }
        }
        if let AttributeKind::Nested(nesting, nested) = &attribute.kind {
            match (nesting, value) {
                (Nesting::Single, object) => validate_attributes(nested, object, &attr_path, diags),
                (Nesting::List | Nesting::Set, Value::List(items) | Value::Set(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        validate_attributes(nested, item, &attr_path.index(i), diags);
                    }
                }
                (Nesting::Map, Value::Map(entries)) => {
                    for (key, item) in entries {
                        validate_attributes(nested, item, &attr_path.key(key), diags);
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Validator;

    #[test]
    fn reports_nested_paths_and_skips_unknowns() {
        let attrs = vec![
            Attribute::string("type").validate(Validator::OneOf(&["a", "b"])),
            Attribute::single_nested(
                "zookeeper",
                vec![Attribute::string_list("quorum")
                    .validate(Validator::NotEmpty)
                    .validate(Validator::Each(Box::new(Validator::HostPort)))],
            ),
        ];
        let config = Value::object([
            ("type", Value::Unknown),
            (
                "zookeeper",
                Value::object([(
                    "quorum",
                    Value::List(vec![Value::string("zk:2181"), Value::string("bad")]),
                )]),
            ),
        ]);
        let mut diags = Diagnostics::default();
        validate_attributes(&attrs, &config, &AttributePath::default(), &mut diags);
        assert_eq!(diags.0.len(), 1);
        assert_eq!(
            diags.0[0].path.as_ref().unwrap().to_string(),
            "zookeeper.quorum[1]"
        );
    }
}
