//! cty types and their JSON encoding, which the protocol uses for attribute types in schemas and for
//! values of `dynamic` type on the wire (`"string"`, `["list","string"]`, `["object",{...}]`, ...).

use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

/// A Terraform (cty) type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `bool`
    Bool,
    /// `number`
    Number,
    /// `string`
    String,
    /// `dynamic`: any type, sent with its type on the wire.
    Dynamic,
    /// `list(T)`
    List(Box<Type>),
    /// `set(T)`
    Set(Box<Type>),
    /// `map(T)`
    Map(Box<Type>),
    /// `object({...})`
    Object(BTreeMap<String, Type>),
    /// `tuple([...])`
    Tuple(Vec<Type>),
}

/// A type description that is not valid cty type JSON.
#[derive(Debug, thiserror::Error)]
#[error("invalid type description {0}")]
pub struct TypeError(String);

impl Type {
    /// The object type with the given attribute types.
    pub fn object<I, K>(attrs: I) -> Type
    where
        I: IntoIterator<Item = (K, Type)>,
        K: Into<String>,
    {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// The JSON form used in schemas.
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => json!("bool"),
            Type::Number => json!("number"),
            Type::String => json!("string"),
            Type::Dynamic => json!("dynamic"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Object(attrs) => {
                let attrs: serde_json::Map<String, Json> = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                json!(["object", attrs])
            }
            Type::Tuple(items) => {
                json!(["tuple", items.iter().map(Type::to_json).collect::<Vec<_>>()])
            }
        }
    }

    /// Parses the JSON form.
    pub fn from_json(json: &Json) -> Result<Type, TypeError> {
        let bad = || TypeError(json.to_string());
        match json {
            Json::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            Json::Array(parts) if parts.len() >= 2 => {
                let kind = parts[0].as_str().ok_or_else(bad)?;
                match (kind, &parts[1]) {
                    ("list", t) => Ok(Type::List(Box::new(Type::from_json(t)?))),
                    ("set", t) => Ok(Type::Set(Box::new(Type::from_json(t)?))),
                    ("map", t) => Ok(Type::Map(Box::new(Type::from_json(t)?))),
                    ("object", Json::Object(attrs)) => Ok(Type::Object(
                        attrs
                            .iter()
                            .map(|(k, t)| Ok((k.clone(), Type::from_json(t)?)))
                            .collect::<Result<_, TypeError>>()?,
                    )),
                    ("tuple", Json::Array(items)) => Ok(Type::Tuple(
                        items
                            .iter()
                            .map(Type::from_json)
                            .collect::<Result<_, _>>()?,
                    )),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }

    /// The JSON form as bytes, as the protocol carries it.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_nested_types() {
        let ty = Type::object([
            ("name", Type::String),
            ("tags", Type::Map(Box::new(Type::String))),
            ("ports", Type::List(Box::new(Type::Number))),
            ("pair", Type::Tuple(vec![Type::Bool, Type::Dynamic])),
        ]);
        let json = ty.to_json();
        assert_eq!(json[0], "object");
        assert_eq!(json[1]["tags"], json!(["map", "string"]));
        assert_eq!(Type::from_json(&json).unwrap(), ty);
    }

    #[test]
    fn rejects_unknown_type_names() {
        assert!(Type::from_json(&json!("text")).is_err());
        assert!(Type::from_json(&json!(["list"])).is_err());
    }
}
