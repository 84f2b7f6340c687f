//! Terraform values as the provider sees them: cty's type system ([`Type`]) and values that may be
//! null or unknown at any depth ([`Value`]), with numbers of arbitrary precision ([`Number`]).
//! Encoding to and from the wire (msgpack, JSON state) lives in the submodules; typed resource
//! models convert through [`model`].

mod json;
mod model;
mod msgpack;
mod number;
mod types;

pub use json::{from_state_json, JsonError};
pub use model::{from_value, json_contains_unknown, to_value, Attr, ModelError};
pub use msgpack::{from_msgpack, to_msgpack, MsgpackError};
pub use number::Number;
pub use types::{Type, TypeError};

use std::collections::BTreeMap;

/// A Terraform value. Collections keep their kind because object/map and list/set/tuple share
/// wire encodings and only the schema's type tells them apart.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Not known until apply.
    Unknown,
    /// Explicitly absent.
    Null,
    /// `bool`.
    Bool(bool),
    /// `number`, arbitrary precision.
    Number(Number),
    /// `string`.
    String(String),
    /// `list(T)` or `tuple([...])`.
    List(Vec<Value>),
    /// `set(T)`; element order is not significant.
    Set(Vec<Value>),
    /// `map(T)`.
    Map(BTreeMap<String, Value>),
    /// `object({...})`.
    Object(BTreeMap<String, Value>),
}

impl Value {
    /// Whether this value is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this value (not its elements) is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// Whether no unknown appears anywhere inside this value.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(items) | Value::Set(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(entries) | Value::Object(entries) => {
                entries.values().all(Value::is_wholly_known)
            }
            _ => true,
        }
    }

    /// The attribute `name` of an object value; `None` for anything else or a missing attribute.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(attrs) => attrs.get(name),
            _ => None,
        }
    }

    /// A mutable attribute of an object value.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(attrs) => attrs.get_mut(name),
            _ => None,
        }
    }

    /// The string inside a known string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Semantic equality: sets compare regardless of order, numbers by value.
    pub fn equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::Set(a), Value::Set(b)) => {
                a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| x.equals(y)))
            }
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y))
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| x.equals(y)))
            }
            _ => self == other,
        }
    }

    /// An object value from attribute pairs, for tests and handlers.
    pub fn object<I, K>(attrs: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
}

/// 16 bytes as an RFC 9562 UUID of `version` (4: random, 5: name-based), in its text form.
pub fn uuid(mut bytes: [u8; 16], version: u8) -> String {
    bytes[6] = (bytes[6] & 0x0f) | (version << 4);
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A time as state records it: RFC 3339 in UTC.
pub fn rfc3339(time: time::OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
