//! The msgpack encoding of values (`DynamicValue.msgpack`), following cty: unknown is any msgpack
//! extension (cty sends refinements in extension 12, plain unknowns in extension 0), numbers are
//! integers or decimal strings, and `dynamic` values travel as `[type JSON, value]`.

use super::{Number, Type, Value};
use rmpv::Value as Mp;
use std::collections::BTreeMap;

/// A msgpack payload that does not match the schema's type.
#[derive(Debug, thiserror::Error)]
pub enum MsgpackError {
    /// The bytes are not msgpack.
    #[error("malformed msgpack: {0}")]
    Malformed(String),
    /// The value does not fit the type.
    #[error("expected {expected} at {path}, found {found}")]
    Mismatch {
        /// The expected type, in words.
        expected: String,
        /// Where, as a dotted path.
        path: String,
        /// What came instead.
        found: String,
    },
}

/// Decodes `bytes` as a value of type `ty`.
pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, MsgpackError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut cursor = bytes;
    let mp = rmpv::decode::read_value(&mut cursor)
        .map_err(|e| MsgpackError::Malformed(e.to_string()))?;
    decode(&mp, ty, "value")
}

/// Encodes `value` as type `ty`.
pub fn to_msgpack(value: &Value, ty: &Type) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, &encode(value, ty));
    out
}

fn mismatch(ty: &Type, path: &str, found: &Mp) -> MsgpackError {
    MsgpackError::Mismatch {
        expected: ty.to_json().to_string(),
        path: path.to_string(),
        found: format!("{found}"),
    }
}

fn decode(mp: &Mp, ty: &Type, path: &str) -> Result<Value, MsgpackError> {
    match (mp, ty) {
        (Mp::Ext(_, _), _) => Ok(Value::Unknown),
        (Mp::Nil, _) => Ok(Value::Null),
        (Mp::Boolean(b), Type::Bool) => Ok(Value::Bool(*b)),
        (Mp::Integer(i), Type::Number) => Ok(Value::Number(match (i.as_i64(), i.as_u64()) {
            (Some(n), _) => Number::from(n),
            (_, Some(n)) => Number::from(n),
            _ => return Err(mismatch(ty, path, mp)),
        })),
        (Mp::F64(f), Type::Number) => number_from_text(&format!("{f:?}"), ty, path, mp),
        (Mp::F32(f), Type::Number) => number_from_text(&format!("{f:?}"), ty, path, mp),
        (Mp::String(s), Type::Number) => {
            number_from_text(s.as_str().unwrap_or_default(), ty, path, mp)
        }
        (Mp::String(s), Type::String) => s
            .as_str()
            .map(Value::string)
            .ok_or_else(|| mismatch(ty, path, mp)),
        (Mp::Array(items), Type::List(elem)) => Ok(Value::List(decode_items(items, elem, path)?)),
        (Mp::Array(items), Type::Set(elem)) => Ok(Value::Set(decode_items(items, elem, path)?)),
        (Mp::Array(items), Type::Tuple(types)) if items.len() == types.len() => Ok(Value::List(
            items
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (item, t))| decode(item, t, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        )),
        (Mp::Map(entries), Type::Map(elem)) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let key = k.as_str().ok_or_else(|| mismatch(ty, path, mp))?;
                out.insert(
                    key.to_string(),
                    decode(v, elem, &format!("{path}[\"{key}\"]"))?,
                );
            }
            Ok(Value::Map(out))
        }
        (Mp::Map(entries), Type::Object(attrs)) => {
            let mut out: BTreeMap<String, Value> =
                attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
            for (k, v) in entries {
                let key = k.as_str().ok_or_else(|| mismatch(ty, path, mp))?;
                let attr_ty = attrs.get(key).ok_or_else(|| mismatch(ty, path, mp))?;
                out.insert(
                    key.to_string(),
                    decode(v, attr_ty, &format!("{path}.{key}"))?,
                );
            }
            Ok(Value::Object(out))
        }
        (Mp::Array(pair), Type::Dynamic) if pair.len() == 2 => {
            let type_json: serde_json::Value = match &pair[0] {
                Mp::Binary(b) => serde_json::from_slice(b),
                Mp::String(s) => serde_json::from_str(s.as_str().unwrap_or_default()),
                _ => return Err(mismatch(ty, path, mp)),
            }
            .map_err(|e| MsgpackError::Malformed(e.to_string()))?;
            let inner =
                Type::from_json(&type_json).map_err(|e| MsgpackError::Malformed(e.to_string()))?;
            decode(&pair[1], &inner, path)
        }
        _ => Err(mismatch(ty, path, mp)),
    }
}

fn decode_items(items: &[Mp], elem: &Type, path: &str) -> Result<Vec<Value>, MsgpackError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| decode(item, elem, &format!("{path}[{i}]")))
        .collect()
}

fn number_from_text(text: &str, ty: &Type, path: &str, mp: &Mp) -> Result<Value, MsgpackError> {
    Number::parse(text)
        .map(Value::Number)
        .ok_or_else(|| mismatch(ty, path, mp))
}

fn unknown() -> Mp {
    Mp::Ext(0, vec![0])
}

fn encode(value: &Value, ty: &Type) -> Mp {
    match (value, ty) {
        (Value::Unknown, _) => unknown(),
        (Value::Null, _) => Mp::Nil,
        (_, Type::Dynamic) => {
            let inner = infer_type(value);
            Mp::Array(vec![
                Mp::Binary(inner.to_json_bytes()),
                encode(value, &inner),
            ])
        }
        (Value::Bool(b), _) => Mp::Boolean(*b),
        (Value::Number(n), _) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Mp::from(i),
            (_, Some(u)) => Mp::from(u),
            // cty reads a decimal string exactly, where a double could round.
            _ => Mp::from(n.to_string()),
        },
        (Value::String(s), _) => Mp::from(s.as_str()),
        (Value::List(items), Type::Tuple(types)) => Mp::Array(
            items
                .iter()
                .zip(types)
                .map(|(item, t)| encode(item, t))
                .collect(),
        ),
        (Value::List(items) | Value::Set(items), Type::List(elem) | Type::Set(elem)) => {
            Mp::Array(items.iter().map(|item| encode(item, elem)).collect())
        }
        (Value::Map(entries) | Value::Object(entries), Type::Map(elem)) => Mp::Map(
            entries
                .iter()
                .map(|(k, v)| (Mp::from(k.as_str()), encode(v, elem)))
                .collect(),
        ),
        (Value::Map(entries) | Value::Object(entries), Type::Object(attrs)) => Mp::Map(
            attrs
                .iter()
                .map(|(k, t)| {
                    let v = entries.get(k).unwrap_or(&Value::Null);
                    (Mp::from(k.as_str()), encode(v, t))
                })
                .collect(),
        ),
        // A value that does not fit its declared type is a provider bug; null keeps the wire valid
        // and Terraform then reports the inconsistency on the attribute.
        _ => Mp::Nil,
    }
}

/// The type a value of `dynamic` type is sent as.
fn infer_type(value: &Value) -> Type {
    match value {
        Value::Unknown | Value::Null => Type::Dynamic,
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::String(_) => Type::String,
        Value::List(items) => Type::Tuple(items.iter().map(infer_type).collect()),
        Value::Set(items) => Type::Set(Box::new(items.first().map_or(Type::Dynamic, infer_type))),
        Value::Map(entries) | Value::Object(entries) => Type::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), infer_type(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: &Value, ty: &Type) -> Value {
        from_msgpack(&to_msgpack(value, ty), ty).unwrap()
    }

    #[test]
    fn unknown_nested_in_objects_lists_and_maps() {
        let ty = Type::object([
            ("a", Type::String),
            ("m", Type::Map(Box::new(Type::String))),
            ("l", Type::List(Box::new(Type::Number))),
        ]);
        let value = Value::object([
            ("a", Value::Unknown),
            (
                "m",
                Value::Map([("k".to_string(), Value::Unknown)].into_iter().collect()),
            ),
            (
                "l",
                Value::List(vec![Value::Number(1i64.into()), Value::Unknown]),
            ),
        ]);
        assert_eq!(round_trip(&value, &ty), value);
        assert!(!value.is_wholly_known());
    }

    #[test]
    fn refined_unknowns_decode_as_unknown() {
        // cty sends an unknown with refinements (e.g. "not null") as extension 12.
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &Mp::Ext(12, vec![0x81, 0x01, 0xc3])).unwrap();
        assert_eq!(from_msgpack(&bytes, &Type::String).unwrap(), Value::Unknown);
    }

    #[test]
    fn numbers_beyond_i64_survive() {
        let big = Value::Number(Number::parse("98765432109876543210987654321").unwrap());
        assert_eq!(round_trip(&big, &Type::Number), big);
        let frac = Value::Number(Number::parse("0.1").unwrap());
        assert_eq!(round_trip(&frac, &Type::Number), frac);
    }

    #[test]
    fn doubles_and_strings_decode_as_numbers() {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &Mp::F64(2.5)).unwrap();
        assert_eq!(
            from_msgpack(&bytes, &Type::Number).unwrap(),
            Value::Number(Number::parse("2.5").unwrap())
        );
    }

    #[test]
    fn dynamic_values_carry_their_type() {
        let value = Value::object([("x", Value::string("y"))]);
        assert_eq!(round_trip(&value, &Type::Dynamic), value);
    }

    #[test]
    fn mismatches_name_the_path() {
        let ty = Type::object([("n", Type::Number)]);
        let bytes = to_msgpack(
            &Value::object([("n", Value::Bool(true))]),
            &Type::object([("n", Type::Bool)]),
        );
        let err = from_msgpack(&bytes, &ty).unwrap_err().to_string();
        assert!(err.contains("value.n"), "{err}");
    }

    #[test]
    fn empty_payload_is_null() {
        assert_eq!(from_msgpack(&[], &Type::String).unwrap(), Value::Null);
    }
}
