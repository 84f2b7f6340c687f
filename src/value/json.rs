//! The JSON encoding Terraform uses for stored state (`RawState.json` in UpgradeResourceState and
//! MoveResourceState). Decoding is guided by the current schema type and keeps every number's exact
//! text, so state written by any Terraform version reads back without loss.

use super::{Number, Type, Value};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Stored state that does not fit the current schema.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Not JSON, or not of the expected shape at `path`.
    #[error("state at {path}: {message}")]
    Shape {
        /// Where.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Decodes JSON state of type `ty`. Attributes the schema no longer has are dropped, attributes it
/// gained are null: that is the upgrade a schema change without a version bump allows.
pub fn from_state_json(bytes: &[u8], ty: &Type) -> Result<Value, JsonError> {
    let text = std::str::from_utf8(bytes).map_err(|e| shape("value", e))?;
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| shape("value", e))?;
    decode(raw, ty, "value")
}

fn shape(path: &str, message: impl ToString) -> JsonError {
    JsonError::Shape {
        path: path.to_string(),
        message: message.to_string(),
    }
}

fn decode(raw: &RawValue, ty: &Type, path: &str) -> Result<Value, JsonError> {
    let text = raw.get().trim();
    if text == "null" {
        return Ok(Value::Null);
    }
    let parse_err = |e: serde_json::Error| shape(path, e);
    match ty {
        Type::Bool => serde_json::from_str(text)
            .map(Value::Bool)
            .map_err(parse_err),
        Type::String => serde_json::from_str(text)
            .map(Value::String)
            .map_err(parse_err),
        Type::Number => {
            // Numbers keep their literal text; cty also accepts numbers written as strings.
            let literal = if text.starts_with('"') {
                serde_json::from_str::<String>(text).map_err(parse_err)?
            } else {
                text.to_string()
            };
            Number::parse(&literal)
                .map(Value::Number)
                .ok_or_else(|| shape(path, format!("{literal} is not a number")))
        }
        Type::List(elem) | Type::Set(elem) => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(parse_err)?;
            let values = items
                .iter()
                .enumerate()
                .map(|(i, item)| decode(item, elem, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(match ty {
                Type::Set(_) => Value::Set(values),
                _ => Value::List(values),
            })
        }
        Type::Tuple(types) => {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(parse_err)?;
            if items.len() != types.len() {
                return Err(shape(path, "tuple length does not match its type"));
            }
            Ok(Value::List(
                items
                    .iter()
                    .zip(types)
                    .enumerate()
                    .map(|(i, (item, t))| decode(item, t, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ))
        }
        Type::Map(elem) => {
            let entries: BTreeMap<String, &RawValue> =
                serde_json::from_str(text).map_err(parse_err)?;
            Ok(Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let value = decode(v, elem, &format!("{path}[\"{k}\"]"))?;
                        Ok((k, value))
                    })
                    .collect::<Result<_, JsonError>>()?,
            ))
        }
        Type::Object(attrs) => {
            let entries: BTreeMap<String, &RawValue> =
                serde_json::from_str(text).map_err(parse_err)?;
            Ok(Value::Object(
                attrs
                    .iter()
                    .map(|(k, t)| {
                        let value = match entries.get(k) {
                            Some(raw) => decode(raw, t, &format!("{path}.{k}"))?,
                            None => Value::Null,
                        };
                        Ok((k.clone(), value))
                    })
                    .collect::<Result<_, JsonError>>()?,
            ))
        }
        Type::Dynamic => {
            #[derive(serde::Deserialize)]
            struct Typed<'a> {
                #[serde(borrow)]
                value: &'a RawValue,
                #[serde(rename = "type")]
                ty: serde_json::Value,
            }
            let typed: Typed = serde_json::from_str(text).map_err(parse_err)?;
            let inner = Type::from_json(&typed.ty).map_err(|e| shape(path, e))?;
            decode(typed.value, &inner, path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_state_with_exact_numbers() {
        let ty = Type::object([
            ("id", Type::String),
            ("big", Type::Number),
            ("tags", Type::Map(Box::new(Type::String))),
            ("set", Type::Set(Box::new(Type::String))),
        ]);
        let json = br#"{"id":"x","big":123456789012345678901234567890,"tags":{"a":"b"},"set":["p"],"gone":1}"#;
        let value = from_state_json(json, &ty).unwrap();
        assert_eq!(value.get("id"), Some(&Value::string("x")));
        assert_eq!(
            value.get("big"),
            Some(&Value::Number(
                Number::parse("123456789012345678901234567890").unwrap()
            ))
        );
        assert_eq!(
            value.get("set"),
            Some(&Value::Set(vec![Value::string("p")]))
        );
        assert!(value.get("gone").is_none());
    }

    #[test]
    fn missing_attributes_are_null() {
        let ty = Type::object([("new_attr", Type::Bool)]);
        let value = from_state_json(b"{}", &ty).unwrap();
        assert_eq!(value.get("new_attr"), Some(&Value::Null));
    }

    #[test]
    fn wrong_shapes_name_the_path() {
        let ty = Type::object([("n", Type::Number)]);
        let err = from_state_json(br#"{"n":true}"#, &ty)
            .unwrap_err()
            .to_string();
        assert!(err.contains("value.n"), "{err}");
    }
}
