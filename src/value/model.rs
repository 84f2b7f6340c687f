//! Typed resource models through serde. A model field of type [`Attr<T>`] tells known, null and
//! unknown apart; values travel through `serde_json::Value`, with unknowns as a private marker
//! object that only [`Attr`] understands, so plain fields fail loudly when they meet an unknown.

use super::{Number, Type, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;
use std::collections::BTreeMap;

const UNKNOWN_MARKER: &str = "$flinkops.unknown";

/// A model value that does not fit its type.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ModelError(String);

/// An attribute that may be null or not yet known. A partially known collection counts as unknown.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Attr<T> {
    /// A wholly known value.
    Known(T),
    /// Null (not set).
    #[default]
    Null,
    /// Known only after apply.
    Unknown,
}

impl<T> Attr<T> {
    /// The known value, if any.
    pub fn known(&self) -> Option<&T> {
        match self {
            Attr::Known(v) => Some(v),
            _ => None,
        }
    }

    /// Whether the value is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Attr::Unknown)
    }

    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Attr::Null)
    }
}

impl<T> From<Option<T>> for Attr<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Attr::Null, Attr::Known)
    }
}

impl<T: Serialize> Serialize for Attr<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Attr::Known(v) => v.serialize(s),
            Attr::Null => s.serialize_none(),
            Attr::Unknown => unknown_marker().serialize(s),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Attr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Json::deserialize(d)?;
        if json.is_null() {
            return Ok(Attr::Null);
        }
        if is_unknown_marker(&json) {
            return Ok(Attr::Unknown);
        }
        match T::deserialize(&json) {
            Ok(v) => Ok(Attr::Known(v)),
            Err(_) if contains_unknown(&json) => Ok(Attr::Unknown),
            Err(e) => Err(serde::de::Error::custom(e)),
        }
    }
}

fn unknown_marker() -> Json {
    serde_json::json!({ UNKNOWN_MARKER: true })
}

fn is_unknown_marker(json: &Json) -> bool {
    json.as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key(UNKNOWN_MARKER))
}

/// Whether `json` (a model field holding a value of `dynamic` type as JSON) has a value not yet
/// known anywhere inside it.
pub fn json_contains_unknown(json: &Json) -> bool {
    contains_unknown(json)
}

fn contains_unknown(json: &Json) -> bool {
    is_unknown_marker(json)
        || match json {
            Json::Array(items) => items.iter().any(contains_unknown),
            Json::Object(entries) => entries.values().any(contains_unknown),
            _ => false,
        }
}

/// Reads a typed model from a value.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ModelError> {
    serde_json::from_value(to_json(value)).map_err(|e| ModelError(e.to_string()))
}

/// Writes a typed model as a value of type `ty`.
pub fn to_value<T: Serialize>(model: &T, ty: &Type) -> Result<Value, ModelError> {
    let json = serde_json::to_value(model).map_err(|e| ModelError(e.to_string()))?;
    from_json(&json, ty, "value")
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Unknown => unknown_marker(),
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => number_to_json(n),
        Value::String(s) => Json::String(s.clone()),
        Value::List(items) | Value::Set(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) | Value::Object(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
    }
}

fn number_to_json(n: &Number) -> Json {
    if let Some(i) = n.as_i64() {
        Json::from(i)
    } else if let Some(u) = n.as_u64() {
        Json::from(u)
    } else if let Some(f) = n.as_exact_f64() {
        Json::from(f)
    } else {
        // Beyond what a model's numeric field can hold: a model may still read it as a string.
        Json::String(n.to_string())
    }
}

fn from_json(json: &Json, ty: &Type, path: &str) -> Result<Value, ModelError> {
    if json.is_null() {
        return Ok(Value::Null);
    }
    if is_unknown_marker(json) {
        return Ok(Value::Unknown);
    }
    let mismatch = || ModelError(format!("{path}: {json} does not fit {}", ty.to_json()));
    Ok(match (ty, json) {
        (Type::Bool, Json::Bool(b)) => Value::Bool(*b),
        (Type::Number, Json::Number(n)) => {
            Value::Number(Number::parse(&n.to_string()).ok_or_else(mismatch)?)
        }
        (Type::Number, Json::String(s)) => Value::Number(Number::parse(s).ok_or_else(mismatch)?),
        (Type::String, Json::String(s)) => Value::String(s.clone()),
        (Type::List(elem), Json::Array(items)) => Value::List(items_from_json(items, elem, path)?),
        (Type::Set(elem), Json::Array(items)) => Value::Set(items_from_json(items, elem, path)?),
        (Type::Tuple(types), Json::Array(items)) if items.len() == types.len() => Value::List(
            items
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (item, t))| from_json(item, t, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        (Type::Map(elem), Json::Object(entries)) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), from_json(v, elem, &format!("{path}[\"{k}\"]"))?)))
                .collect::<Result<BTreeMap<_, _>, ModelError>>()?,
        ),
        (Type::Object(attrs), Json::Object(entries)) => Value::Object(
            attrs
                .iter()
                .map(|(k, t)| {
                    let v = match entries.get(k) {
                        Some(j) => from_json(j, t, &format!("{path}.{k}"))?,
                        None => Value::Null,
                    };
                    Ok((k.clone(), v))
                })
                .collect::<Result<BTreeMap<_, _>, ModelError>>()?,
        ),
        (Type::Dynamic, _) => dynamic_from_json(json),
        _ => return Err(mismatch()),
    })
}

fn items_from_json(items: &[Json], elem: &Type, path: &str) -> Result<Vec<Value>, ModelError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| from_json(item, elem, &format!("{path}[{i}]")))
        .collect()
}

fn dynamic_from_json(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Number::parse(&n.to_string()).map_or(Value::Null, Value::Number),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(dynamic_from_json).collect()),
        Json::Object(_) if is_unknown_marker(json) => Value::Unknown,
        Json::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), dynamic_from_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Model {
        name: Attr<String>,
        count: Attr<i64>,
        labels: Attr<BTreeMap<String, String>>,
    }

    fn ty() -> Type {
        Type::object([
            ("name", Type::String),
            ("count", Type::Number),
            ("labels", Type::Map(Box::new(Type::String))),
        ])
    }

    #[test]
    fn known_null_and_unknown_round_trip() {
        let value = Value::object([
            ("name", Value::string("a")),
            ("count", Value::Unknown),
            ("labels", Value::Null),
        ]);
        let model: Model = from_value(&value).unwrap();
        assert_eq!(model.name, Attr::Known("a".into()));
        assert_eq!(model.count, Attr::Unknown);
        assert_eq!(model.labels, Attr::Null);
        assert_eq!(to_value(&model, &ty()).unwrap(), value);
    }

    #[test]
    fn partially_unknown_collections_are_unknown() {
        let value = Value::object([
            ("name", Value::Null),
            ("count", Value::Number(3i64.into())),
            (
                "labels",
                Value::Map([("k".to_string(), Value::Unknown)].into_iter().collect()),
            ),
        ]);
        let model: Model = from_value(&value).unwrap();
        assert_eq!(model.labels, Attr::Unknown);
        assert_eq!(model.count, Attr::Known(3));
    }

    #[test]
    fn numbers_out_of_range_are_errors_not_truncation() {
        let value = Value::object([
            ("name", Value::Null),
            ("count", Value::Number(Number::parse("1e30").unwrap())),
            ("labels", Value::Null),
        ]);
        assert!(from_value::<Model>(&value).is_err());
    }
}
