//! Conversions between the provider's types and protocol messages: schemas, diagnostics, attribute
//! paths and `DynamicValue`s (decoded with the schema's type, encoded as msgpack).

use super::proto::tfplugin6 as wire;
use crate::schema::{
    Attribute, AttributeKind, AttributePath, Diagnostic, Diagnostics, Mode, Nesting, PathStep,
    Schema, Severity,
};
use crate::value::{self, Type, Value};

/// A schema as the protocol carries it.
pub fn schema(schema: &Schema) -> wire::Schema {
    wire::Schema {
        version: schema.version,
        block: Some(wire::schema::Block {
            version: schema.version,
            attributes: schema.attributes.iter().map(attribute).collect(),
            block_types: Vec::new(),
            description: schema.description.clone(),
            description_kind: wire::StringKind::Markdown as i32,
            deprecated: false,
        }),
    }
}

fn attribute(attr: &Attribute) -> wire::schema::Attribute {
    let (ty, nested_type) = match &attr.kind {
        AttributeKind::Plain(ty) => (ty.to_json_bytes(), None),
        AttributeKind::Nested(nesting, attrs) => (
            Vec::new(),
            Some(wire::schema::Object {
                attributes: attrs.iter().map(attribute).collect(),
                nesting: match nesting {
                    Nesting::Single => wire::schema::object::NestingMode::Single,
                    Nesting::List => wire::schema::object::NestingMode::List,
                    Nesting::Set => wire::schema::object::NestingMode::Set,
                    Nesting::Map => wire::schema::object::NestingMode::Map,
                } as i32,
                ..Default::default()
            }),
        ),
    };
    let mut description = attr.description.clone();
    for validator in &attr.validators {
        description.push(' ');
        description.push_str(&validator.doc());
    }
    wire::schema::Attribute {
        name: attr.name.to_string(),
        r#type: ty,
        nested_type,
        description,
        required: attr.mode == Mode::Required,
        optional: matches!(attr.mode, Mode::Optional | Mode::OptionalComputed),
        computed: matches!(attr.mode, Mode::Computed | Mode::OptionalComputed),
        sensitive: attr.sensitive,
        description_kind: wire::StringKind::Markdown as i32,
        deprecated: attr.deprecated,
        write_only: attr.write_only,
    }
}

/// Diagnostics as the protocol carries them, each kind bounded ([`Diagnostics::summarised`]).
pub fn diagnostics(diags: Diagnostics) -> Vec<wire::Diagnostic> {
    diags.summarised().0.into_iter().map(diagnostic).collect()
}

fn diagnostic(d: Diagnostic) -> wire::Diagnostic {
    // Terraform highlights top-level attributes in the source, but for a path into a nested
    // object or list it can only show the resource block, so the detail names the path itself.
    let detail = match &d.path {
        Some(path) if path.0.len() > 1 => format!("{path}: {}", d.detail),
        _ => d.detail,
    };
    wire::Diagnostic {
        severity: match d.severity {
            Severity::Error => wire::diagnostic::Severity::Error,
            Severity::Warning => wire::diagnostic::Severity::Warning,
        } as i32,
        summary: d.summary,
        detail,
        attribute: d.path.map(|p| attribute_path(&p)),
    }
}

/// An attribute path as the protocol carries it.
pub fn attribute_path(path: &AttributePath) -> wire::AttributePath {
    use wire::attribute_path::step::Selector;
    wire::AttributePath {
        steps: path
            .0
            .iter()
            .map(|step| wire::attribute_path::Step {
                selector: Some(match step {
                    PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                    PathStep::Key(key) => Selector::ElementKeyString(key.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

/// One error diagnostic, for failures before any handler ran.
pub fn error(summary: &str, detail: impl Into<String>) -> Vec<wire::Diagnostic> {
    let mut diags = Diagnostics::default();
    diags.error(summary, detail);
    diagnostics(diags)
}

/// Decodes a `DynamicValue` of type `ty`; an absent value is null.
pub fn decode(dv: Option<&wire::DynamicValue>, ty: &Type) -> Result<Value, String> {
    let Some(dv) = dv else {
        return Ok(Value::Null);
    };
    if !dv.msgpack.is_empty() {
        value::from_msgpack(&dv.msgpack, ty).map_err(|e| e.to_string())
    } else if !dv.json.is_empty() {
        value::from_state_json(&dv.json, ty).map_err(|e| e.to_string())
    } else {
        Ok(Value::Null)
    }
}

/// Encodes a value of type `ty` as msgpack.
pub fn encode(value: &Value, ty: &Type) -> wire::DynamicValue {
    wire::DynamicValue {
        msgpack: value::to_msgpack(value, ty),
        json: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Validator;

    #[test]
    fn schema_flags_and_nested_types() {
        let s = Schema::new(
            "d",
            vec![
                Attribute::string("secret")
                    .optional()
                    .sensitive()
                    .write_only(),
                Attribute::string("kind")
                    .required()
                    .validate(Validator::OneOf(&["a", "b"])),
                Attribute::single_nested("inner", vec![Attribute::number("n").computed()])
                    .optional_computed(),
            ],
        );
        let wire = schema(&s);
        let attrs = wire.block.unwrap().attributes;
        assert!(attrs[0].sensitive && attrs[0].write_only && attrs[0].optional);
        assert!(attrs[1].required && attrs[1].description.contains("`a`, `b`"));
        assert!(attrs[2].optional && attrs[2].computed && attrs[2].r#type.is_empty());
        assert_eq!(
            attrs[2].nested_type.as_ref().unwrap().attributes[0].name,
            "n"
        );
    }

    #[test]
    fn paths_become_steps() {
        use wire::attribute_path::step::Selector;
        let p = attribute_path(&AttributePath::root("a").key("k").index(2));
        let sel: Vec<_> = p.steps.into_iter().map(|s| s.selector.unwrap()).collect();
        assert_eq!(
            sel,
            vec![
                Selector::AttributeName("a".into()),
                Selector::ElementKeyString("k".into()),
                Selector::ElementKeyInt(2)
            ]
        );
    }
}
