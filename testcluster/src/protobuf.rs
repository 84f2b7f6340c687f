//! Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), which
//! kubectl's typed clients send for `kubectl create configmap|secret|namespace|serviceaccount`:
//! the `k8s\0` magic, a `runtime.Unknown` envelope (its `typeMeta` and the `raw` object), and the
//! object's message decoded into the JSON the rest of the server reads, for the kinds whose
//! `generated.proto` schema is written here (Namespace, ConfigMap, Secret, ServiceAccount with
//! `ObjectMeta`). A body of another kind, or with a field not written here, is refused with `415`
//! rather than stored with fields missing.

use base64::Engine;
use serde_json::{json, Map, Value as Json};

/// Why a protobuf body was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not the wire format, or not the envelope.
    #[error("the protobuf body is malformed: {0}")]
    Malformed(&'static str),
    /// A kind, or a field of one, this server has no schema for.
    #[error("protobuf {0} is not read by this server; send JSON")]
    Unsupported(String),
}

/// How one field of a message becomes JSON.
#[derive(Clone, Copy)]
enum Field {
    Text(&'static str),
    Flag(&'static str),
    Number(&'static str),
    Texts(&'static str),
    TextMap(&'static str),
    BytesMap(&'static str),
    Message(&'static str, Schema),
    Messages(&'static str, Schema),
    Time(&'static str),
}

type Schema = &'static [(u64, Field)];

const OWNER_REFERENCE: Schema = &[
    (1, Field::Text("kind")),
    (3, Field::Text("name")),
    (4, Field::Text("uid")),
    (5, Field::Text("apiVersion")),
    (6, Field::Flag("controller")),
    (7, Field::Flag("blockOwnerDeletion")),
];

const OBJECT_META: Schema = &[
    (1, Field::Text("name")),
    (2, Field::Text("generateName")),
    (3, Field::Text("namespace")),
    (4, Field::Text("selfLink")),
    (5, Field::Text("uid")),
    (6, Field::Text("resourceVersion")),
    (7, Field::Number("generation")),
    (8, Field::Time("creationTimestamp")),
    (9, Field::Time("deletionTimestamp")),
    (10, Field::Number("deletionGracePeriodSeconds")),
    (11, Field::TextMap("labels")),
    (12, Field::TextMap("annotations")),
    (13, Field::Messages("ownerReferences", OWNER_REFERENCE)),
    (14, Field::Texts("finalizers")),
];

const OBJECT_REFERENCE: Schema = &[
    (1, Field::Text("kind")),
    (2, Field::Text("namespace")),
    (3, Field::Text("name")),
    (4, Field::Text("uid")),
    (5, Field::Text("apiVersion")),
];

const LOCAL_OBJECT_REFERENCE: Schema = &[(1, Field::Text("name"))];

/// The kinds read, with their messages (`k8s.io/api/core/v1/generated.proto`).
const KINDS: &[(&str, Schema)] = &[
    (
        "Namespace",
        &[
            (1, Field::Message("metadata", OBJECT_META)),
            (
                2,
                Field::Message("spec", &[(1, Field::Texts("finalizers"))]),
            ),
            (3, Field::Message("status", &[(1, Field::Text("phase"))])),
        ],
    ),
    (
        "ConfigMap",
        &[
            (1, Field::Message("metadata", OBJECT_META)),
            (2, Field::TextMap("data")),
            (3, Field::BytesMap("binaryData")),
            (4, Field::Flag("immutable")),
        ],
    ),
    (
        "Secret",
        &[
            (1, Field::Message("metadata", OBJECT_META)),
            (2, Field::BytesMap("data")),
            (3, Field::Text("type")),
            (4, Field::TextMap("stringData")),
            (5, Field::Flag("immutable")),
        ],
    ),
    (
        "ServiceAccount",
        &[
            (1, Field::Message("metadata", OBJECT_META)),
            (2, Field::Messages("secrets", OBJECT_REFERENCE)),
            (
                3,
                Field::Messages("imagePullSecrets", LOCAL_OBJECT_REFERENCE),
            ),
            (4, Field::Flag("automountServiceAccountToken")),
        ],
    ),
];

/// The media type.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// One field on the wire: its number and its value.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .0
                .split_first()
                .ok_or(DecodeError::Malformed("truncated varint"))?;
            self.0 = rest;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Malformed("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.0.len() {
            return Err(DecodeError::Malformed("truncated field"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn next(&mut self) -> Result<Option<(u64, Wire<'a>)>, DecodeError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| DecodeError::Malformed("length too large"))?;
                Wire::Bytes(self.take(len)?)
            }
            1 => {
                self.take(8)?;
                Wire::Varint(0)
            }
            5 => {
                self.take(4)?;
                Wire::Varint(0)
            }
            _ => return Err(DecodeError::Malformed("unknown wire type")),
        };
        Ok(Some((key >> 3, wire)))
    }
}

fn text(bytes: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Malformed("a string is not UTF-8"))
}

/// A map entry `{1: key, 2: value}`.
fn entry(bytes: &[u8]) -> Result<(String, &[u8]), DecodeError> {
    let (mut key, mut value) = (String::new(), &[][..]);
    let mut r = Reader(bytes);
    while let Some((n, wire)) = r.next()? {
        match (n, wire) {
            (1, Wire::Bytes(b)) => key = text(b)?,
            (2, Wire::Bytes(b)) => value = b,
            _ => return Err(DecodeError::Malformed("a map entry")),
        }
    }
    Ok((key, value))
}

/// `metav1.Time` `{1: seconds, 2: nanos}` as RFC 3339.
fn time(bytes: &[u8]) -> Result<Json, DecodeError> {
    let mut r = Reader(bytes);
    let mut seconds = 0i64;
    while let Some((n, wire)) = r.next()? {
        if let (1, Wire::Varint(v)) = (n, wire) {
            seconds = v as i64;
        }
    }
    let t = time::OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|_| DecodeError::Malformed("a timestamp"))?;
    let text = t
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|_| DecodeError::Malformed("a timestamp"))?;
    Ok(Json::from(text))
}

fn message(bytes: &[u8], schema: Schema, what: &str) -> Result<Json, DecodeError> {
    let mut out = Map::new();
    let mut r = Reader(bytes);
    while let Some((n, wire)) = r.next()? {
        // Go's generated code writes every non-pointer field, zero values too; those mean unset
        // (as `omitempty` leaves them out of JSON).
        let zero =
            matches!(wire, Wire::Varint(0)) || matches!(wire, Wire::Bytes(b) if b.is_empty());
        let Some((_, field)) = schema.iter().find(|(num, _)| *num == n) else {
            if zero {
                continue;
            }
            return Err(DecodeError::Unsupported(format!("field {n} of {what}")));
        };
        if zero && !matches!(field, Field::Flag(_)) {
            continue;
        }
        match (*field, wire) {
            (Field::Text(name), Wire::Bytes(b)) => {
                out.insert(name.into(), text(b)?.into());
            }
            (Field::Flag(name), Wire::Varint(v)) => {
                out.insert(name.into(), (v != 0).into());
            }
            (Field::Number(name), Wire::Varint(v)) => {
                out.insert(name.into(), (v as i64).into());
            }
            (Field::Texts(name), Wire::Bytes(b)) => {
                push(&mut out, name, text(b)?.into());
            }
            (Field::TextMap(name), Wire::Bytes(b)) => {
                let (k, v) = entry(b)?;
                insert(&mut out, name, k, text(v)?.into());
            }
            (Field::BytesMap(name), Wire::Bytes(b)) => {
                let (k, v) = entry(b)?;
                insert(
                    &mut out,
                    name,
                    k,
                    base64::engine::general_purpose::STANDARD.encode(v).into(),
                );
            }
            (Field::Message(name, inner), Wire::Bytes(b)) => {
                out.insert(name.into(), message(b, inner, name)?);
            }
            (Field::Messages(name, inner), Wire::Bytes(b)) => {
                push(&mut out, name, message(b, inner, name)?);
            }
            (Field::Time(name), Wire::Bytes(b)) => {
                out.insert(name.into(), time(b)?);
            }
            _ => return Err(DecodeError::Malformed("a field of an unexpected wire type")),
        }
    }
    Ok(Json::Object(out))
}

fn push(out: &mut Map<String, Json>, name: &str, value: Json) {
    if let Json::Array(list) = out.entry(name).or_insert_with(|| json!([])) {
        list.push(value);
    }
}

fn insert(out: &mut Map<String, Json>, name: &str, key: String, value: Json) {
    if let Json::Object(map) = out.entry(name).or_insert_with(|| json!({})) {
        map.insert(key, value);
    }
}

/// The object a protobuf request body holds, as JSON with its `apiVersion` and `kind`.
pub fn decode(body: &[u8]) -> Result<Json, DecodeError> {
    let envelope = body
        .strip_prefix(b"k8s\x00")
        .ok_or(DecodeError::Malformed("no k8s magic"))?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    let mut r = Reader(envelope);
    while let Some((n, wire)) = r.next()? {
        match (n, wire) {
            (1, Wire::Bytes(type_meta)) => {
                let mut t = Reader(type_meta);
                while let Some((n, wire)) = t.next()? {
                    match (n, wire) {
                        (1, Wire::Bytes(b)) => api_version = text(b)?,
                        (2, Wire::Bytes(b)) => kind = text(b)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = b,
            (3, Wire::Bytes(encoding)) if !encoding.is_empty() => {
                return Err(DecodeError::Unsupported(format!(
                    "content encoding {:?}",
                    String::from_utf8_lossy(encoding)
                )))
            }
            _ => {}
        }
    }
    let Some((_, schema)) = KINDS.iter().find(|(k, _)| *k == kind) else {
        return Err(DecodeError::Unsupported(format!(
            "kind {api_version}/{kind:?}"
        )));
    };
    let mut object = message(raw, schema, &kind)?;
    object["apiVersion"] = api_version.into();
    object["kind"] = kind.into();
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    fn entry_of(k: &str, v: &[u8]) -> Vec<u8> {
        [field(1, k.as_bytes()), field(2, v)].concat()
    }

    #[test]
    fn decodes_a_config_map_as_kubectl_create_sends_it() {
        let meta = [field(1, b"conf"), field(11, &entry_of("app", b"x"))].concat();
        let raw = [
            field(1, &meta),
            field(2, &entry_of("a", b"1")),
            field(3, &entry_of("bin", &[0, 1])),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [b"k8s\x00".to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        assert_eq!(
            decode(&body).unwrap(),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf", "labels": {"app": "x"}},
                   "data": {"a": "1"}, "binaryData": {"bin": "AAE="}})
        );
    }

    #[test]
    fn other_kinds_and_unknown_fields_are_refused() {
        let type_meta = [field(1, b"apps/v1"), field(2, b"Deployment")].concat();
        let body = [b"k8s\x00".to_vec(), field(1, &type_meta), field(2, b"")].concat();
        assert!(matches!(decode(&body), Err(DecodeError::Unsupported(_))));
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let raw = field(9, b"x");
        let body = [b"k8s\x00".to_vec(), field(1, &type_meta), field(2, &raw)].concat();
        assert_eq!(
            decode(&body),
            Err(DecodeError::Unsupported("field 9 of ConfigMap".into()))
        );
        assert!(matches!(decode(b"{}"), Err(DecodeError::Malformed(_))));
    }
}
