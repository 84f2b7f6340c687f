//! The object store and the semantics of every write: identity and server fields
//! (uid, resourceVersion from one global counter, creationTimestamp, generation), validation,
//! optimistic concurrency, field ownership (`managedFields`) for apply and for plain writes,
//! no-op writes that change nothing, and the events that watches receive.

use crate::fields::{self, Managed};
use crate::kinds::ResourceKind;
use crate::patch;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use base64::Engine;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::sync::broadcast;

type Key = (&'static str, String, String);

/// A change, as watches report it.
#[derive(Debug, Clone)]
pub struct Event {
    /// ADDED, MODIFIED or DELETED.
    pub kind: &'static str,
    /// Plural of the object's kind.
    pub plural: &'static str,
    /// The object after the change (before it, for DELETED).
    pub object: Json,
}

/// How a patch body is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// application/merge-patch+json
    Merge,
    /// application/json-patch+json
    Json,
    /// application/strategic-merge-patch+json
    Strategic,
    /// application/apply-patch+yaml (server-side apply)
    Apply {
        /// Take conflicting fields from other managers.
        force: bool,
    },
}

/// Who writes, and how.
#[derive(Debug, Clone)]
pub struct Write<'a> {
    /// Field manager.
    pub manager: &'a str,
    /// `dryRun=All`: validate and answer, store nothing.
    pub dry_run: bool,
    /// `scale` or `status`, for subresource writes.
    pub subresource: Option<&'a str>,
}

struct Inner {
    objects: BTreeMap<Key, Json>,
    revision: u64,
}

/// All objects of the server.
pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<(u64, Event)>,
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn random_uid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
}

/// Kubernetes' subdomain rule: at most 253 characters in all; parts between dots follow the label
/// character rules with no length limit of their own.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && part.as_bytes()[0].is_ascii_alphanumeric()
                && part.as_bytes()[part.len() - 1].is_ascii_alphanumeric()
        })
}

fn name_of(object: &Json) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or_default()
}

/// The object without what changes on every write, to tell no-op writes apart.
fn content(object: &Json) -> Json {
    let mut c = object.clone();
    if let Some(meta) = c.get_mut("metadata").and_then(Json::as_object_mut) {
        meta.remove("resourceVersion");
        if let Some(Json::Array(entries)) = meta.get_mut("managedFields") {
            for e in entries {
                if let Some(e) = e.as_object_mut() {
                    e.remove("time");
                }
            }
        }
    }
    c
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// A store with the `default` namespace, as every cluster has.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(4096);
        let store = Store {
            inner: Mutex::new(Inner {
                objects: BTreeMap::new(),
                revision: 1,
            }),
            events,
        };
        for ns in ["default", "kube-system"] {
            let _ = store.create(
                crate::kinds::find("", "v1", "namespaces").unwrap_or(&crate::kinds::KINDS[0]),
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                &Write {
                    manager: "kube-apiserver",
                    dry_run: false,
                    subresource: None,
                },
            );
        }
        store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Subscribes to changes after `revision`.
    pub fn subscribe(&self) -> (u64, broadcast::Receiver<(u64, Event)>) {
        let inner = self.lock();
        (inner.revision, self.events.subscribe())
    }

    fn key(kind: &ResourceKind, namespace: &str, name: &str) -> Key {
        (
            kind.plural,
            if kind.namespaced {
                namespace.to_string()
            } else {
                String::new()
            },
            name.to_string(),
        )
    }

    fn validate(
        kind: &ResourceKind,
        namespace: &str,
        object: &mut Json,
        inner: &Inner,
    ) -> Result<(), ApiError> {
        let name = name_of(object).to_string();
        if object
            .get("apiVersion")
            .and_then(Json::as_str)
            .is_some_and(|v| v != kind.api_version())
            || object
                .get("kind")
                .and_then(Json::as_str)
                .is_some_and(|k| k != kind.kind)
        {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({}) does not match the expected API version ({})",
                object
                    .get("apiVersion")
                    .and_then(Json::as_str)
                    .unwrap_or_default(),
                kind.api_version()
            )));
        }
        if name.is_empty() {
            return Err(ApiError::invalid(
                kind.kind,
                kind.group,
                &name,
                "metadata.name",
                "Required value: name or generateName is required",
            ));
        }
        let label_rule = matches!(kind.kind, "Namespace" | "Service");
        let valid = if label_rule {
            is_dns_label(&name)
        } else {
            is_dns_subdomain(&name)
        };
        if !valid {
            let rule = if label_rule {
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
            } else {
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            };
            return Err(ApiError::invalid(
                kind.kind,
                kind.group,
                &name,
                "metadata.name",
                &format!("Invalid value: {name:?}: {rule}"),
            ));
        }
        if kind.namespaced {
            if let Some(ns) = object.pointer("/metadata/namespace").and_then(Json::as_str) {
                if ns != namespace {
                    return Err(ApiError::bad_request("the namespace of the provided object does not match the namespace sent on the request"));
                }
            }
            if !inner
                .objects
                .contains_key(&("namespaces", String::new(), namespace.to_string()))
            {
                return Err(ApiError::not_found("namespaces", "", namespace));
            }
        }
        if kind.kind == "Secret" {
            if let Some(Json::Object(string_data)) =
                object.as_object_mut().and_then(|o| o.remove("stringData"))
            {
                let data = object
                    .as_object_mut()
                    .map(|o| o.entry("data").or_insert_with(|| json!({})));
                if let Some(Json::Object(data)) = data {
                    for (k, v) in string_data {
                        let text = v.as_str().unwrap_or_default();
                        data.insert(
                            k,
                            base64::engine::general_purpose::STANDARD
                                .encode(text)
                                .into(),
                        );
                    }
                }
            }
            if let Some(Json::Object(data)) = object.get("data") {
                for (k, v) in data {
                    let ok = v.as_str().is_some_and(|s| {
                        base64::engine::general_purpose::STANDARD.decode(s).is_ok()
                    });
                    if !ok {
                        return Err(ApiError::invalid(
                            kind.kind,
                            kind.group,
                            &name,
                            &format!("data[{k}]"),
                            "Invalid value: must be base64-encoded",
                        ));
                    }
                }
            }
        }
        if kind.kind == "ConfigMap" {
            if let Some(Json::Object(data)) = object.get("data") {
                if let Some((k, _)) = data.iter().find(|(_, v)| !v.is_string()) {
                    return Err(ApiError::invalid(
                        kind.kind,
                        kind.group,
                        &name,
                        &format!("data[{k}]"),
                        "Invalid value: must be a string",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Sets the fields the server owns, then stores (unless dry run) and announces.
    fn commit(
        &self,
        inner: &mut Inner,
        (kind, namespace): (&'static ResourceKind, &str),
        old: Option<&Json>,
        mut object: Json,
        entries: Vec<Managed>,
        dry_run: bool,
    ) -> Json {
        let stamp = now();
        let name = name_of(&object).to_string();
        if let Some(o) = object.as_object_mut() {
            o.insert("apiVersion".into(), kind.api_version().into());
            o.insert("kind".into(), kind.kind.into());
        }
        let meta = object
            .as_object_mut()
            .map(|o| o.entry("metadata").or_insert_with(|| json!({})));
        if let Some(Json::Object(meta)) = meta {
            if kind.namespaced {
                meta.insert("namespace".into(), namespace.into());
            }
            let old_meta = old.and_then(|o| o.get("metadata"));
            let keep = |k: &str, fallback: Json| {
                old_meta.and_then(|m| m.get(k)).cloned().unwrap_or(fallback)
            };
            meta.insert("uid".into(), keep("uid", random_uid().into()));
            meta.insert(
                "creationTimestamp".into(),
                keep("creationTimestamp", stamp.clone().into()),
            );
            // Once graceful deletion began, no write takes it back.
            for k in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
                if let Some(v) = old_meta.and_then(|m| m.get(k)) {
                    meta.insert(k.into(), v.clone());
                }
            }
        }
        if kind.kind == "Deployment" {
            let old_spec = old.and_then(|o| o.get("spec")).cloned();
            if object.pointer("/spec/replicas").is_none() {
                if let Some(spec) = object.get_mut("spec").and_then(Json::as_object_mut) {
                    spec.insert("replicas".into(), 1.into());
                }
            }
            let generation = old
                .and_then(|o| o.pointer("/metadata/generation"))
                .and_then(Json::as_i64)
                .unwrap_or(0);
            let bumped = if old_spec.as_ref() != object.get("spec") {
                generation + 1
            } else {
                generation.max(1)
            };
            object["metadata"]["generation"] = bumped.into();
        }
        fields::set_managed(&mut object, &entries, &stamp);
        if let Some(old) = old {
            let mut same = object.clone();
            same["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
            if content(&same) == content(old) {
                return old.clone();
            }
        }
        if dry_run {
            object["metadata"]["resourceVersion"] = inner.revision.to_string().into();
            return object;
        }
        inner.revision += 1;
        object["metadata"]["resourceVersion"] = inner.revision.to_string().into();
        inner
            .objects
            .insert(Self::key(kind, namespace, &name), object.clone());
        let _ = self.events.send((
            inner.revision,
            Event {
                kind: if old.is_some() { "MODIFIED" } else { "ADDED" },
                plural: kind.plural,
                object: object.clone(),
            },
        ));
        object
    }

    /// POST.
    pub fn create(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        mut object: Json,
        write: &Write,
    ) -> Result<Json, ApiError> {
        let mut inner = self.lock();
        Self::validate(kind, namespace, &mut object, &inner)?;
        let name = name_of(&object).to_string();
        if inner
            .objects
            .contains_key(&Self::key(kind, namespace, &name))
        {
            return Err(ApiError::already_exists(kind.plural, kind.group, &name));
        }
        if let Some(meta) = object.get_mut("metadata").and_then(Json::as_object_mut) {
            meta.remove("resourceVersion");
            meta.remove("managedFields");
        }
        let entries = fields::record_update(&Json::Null, &object, write.manager, None);
        Ok(self.commit(
            &mut inner,
            (kind, namespace),
            None,
            object,
            entries,
            write.dry_run,
        ))
    }

    /// GET one.
    pub fn get(&self, kind: &ResourceKind, namespace: &str, name: &str) -> Result<Json, ApiError> {
        self.lock()
            .objects
            .get(&Self::key(kind, namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind.plural, kind.group, name))
    }

    /// GET a list; `namespace` None lists across namespaces. Returns the items and the revision.
    pub fn list(
        &self,
        kind: &ResourceKind,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields_sel: &FieldSelector,
    ) -> (Vec<Json>, u64) {
        let inner = self.lock();
        let items = inner
            .objects
            .iter()
            .filter(|((plural, ns, _), _)| {
                *plural == kind.plural && namespace.is_none_or(|n| !kind.namespaced || n == ns)
            })
            .map(|(_, o)| o)
            .filter(|o| labels.matches(o) && fields_sel.matches(o))
            .cloned()
            .collect();
        (items, inner.revision)
    }

    /// PUT (optionally of a subresource).
    pub fn update(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
        mut object: Json,
        write: &Write,
    ) -> Result<Json, ApiError> {
        let mut inner = self.lock();
        let old = inner
            .objects
            .get(&Self::key(kind, namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind.plural, kind.group, name))?;
        if let Some(rv) = object
            .pointer("/metadata/resourceVersion")
            .and_then(Json::as_str)
        {
            if rv
                != old["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
            {
                return Err(ApiError::stale(kind.plural, kind.group, name));
            }
        }
        if name_of(&object) != name {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
        object = self.subresource_merge(&old, object, write.subresource);
        Self::validate(kind, namespace, &mut object, &inner)?;
        if let Some(meta) = object.get_mut("metadata").and_then(Json::as_object_mut) {
            meta.insert(
                "managedFields".into(),
                old["metadata"]["managedFields"].clone(),
            );
        }
        let entries = fields::record_update(&old, &object, write.manager, write.subresource);
        Ok(self.commit(
            &mut inner,
            (kind, namespace),
            Some(&old),
            object,
            entries,
            write.dry_run,
        ))
    }

    /// A write to `status` changes only status; any other write leaves status alone.
    fn subresource_merge(&self, old: &Json, new: Json, subresource: Option<&str>) -> Json {
        match subresource {
            Some("status") => {
                let mut merged = old.clone();
                merged["status"] = new.get("status").cloned().unwrap_or(Json::Null);
                merged
            }
            _ => {
                let mut merged = new;
                match old.get("status") {
                    Some(status) => merged["status"] = status.clone(),
                    None => {
                        if let Some(o) = merged.as_object_mut() {
                            o.remove("status");
                        }
                    }
                }
                merged
            }
        }
    }

    /// PATCH of any type, creating the object for server-side apply.
    pub fn patch(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
        patch_type: PatchType,
        body: &Json,
        write: &Write,
    ) -> Result<Json, ApiError> {
        let mut inner = self.lock();
        let old = inner
            .objects
            .get(&Self::key(kind, namespace, name))
            .cloned();
        if let PatchType::Apply { force } = patch_type {
            if name_of(body) != name {
                return Err(ApiError::bad_request(
                    "the name of the object does not match the name on the URL",
                ));
            }
            let mut config = body.clone();
            Self::validate(kind, namespace, &mut config, &inner)?;
            let current = old.clone().unwrap_or(Json::Null);
            let (object, entries) = fields::apply(&current, &config, write.manager, force)
                .map_err(|conflicts| {
                    ApiError::apply_conflict(kind.plural, kind.group, name, &conflicts)
                })?;
            return Ok(self.commit(
                &mut inner,
                (kind, namespace),
                old.as_ref(),
                object,
                entries,
                write.dry_run,
            ));
        }
        let old = old.ok_or_else(|| ApiError::not_found(kind.plural, kind.group, name))?;
        let mut object = old.clone();
        match patch_type {
            PatchType::Merge => patch::merge_patch(&mut object, body),
            PatchType::Strategic => patch::strategic_merge_patch(&mut object, body),
            PatchType::Json => {
                patch::json_patch(&mut object, body).map_err(ApiError::bad_request)?
            }
            PatchType::Apply { .. } => {}
        }
        if let Some(rv) = body
            .pointer("/metadata/resourceVersion")
            .and_then(Json::as_str)
        {
            if rv
                != old["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
            {
                return Err(ApiError::stale(kind.plural, kind.group, name));
            }
        }
        object = self.subresource_merge(&old, object, write.subresource);
        Self::validate(kind, namespace, &mut object, &inner)?;
        let entries = fields::record_update(&old, &object, write.manager, write.subresource);
        Ok(self.commit(
            &mut inner,
            (kind, namespace),
            Some(&old),
            object,
            entries,
            write.dry_run,
        ))
    }

    /// DELETE; deleting a namespace deletes what is in it.
    pub fn delete(
        &self,
        kind: &ResourceKind,
        namespace: &str,
        name: &str,
    ) -> Result<Json, ApiError> {
        let mut inner = self.lock();
        let removed = inner
            .objects
            .remove(&Self::key(kind, namespace, name))
            .ok_or_else(|| ApiError::not_found(kind.plural, kind.group, name))?;
        inner.revision += 1;
        let revision = inner.revision;
        let mut gone = vec![(kind.plural, removed.clone())];
        if kind.kind == "Namespace" {
            let keys: Vec<Key> = inner
                .objects
                .keys()
                .filter(|(_, ns, _)| ns == name)
                .cloned()
                .collect();
            for key in keys {
                if let Some(o) = inner.objects.remove(&key) {
                    gone.push((key.0, o));
                }
            }
        }
        for (plural, object) in gone {
            let _ = self.events.send((
                revision,
                Event {
                    kind: "DELETED",
                    plural,
                    object,
                },
            ));
        }
        Ok(removed)
    }

    /// The first step of a graceful deletion: `metadata.deletionTimestamp` (now) and
    /// `deletionGracePeriodSeconds` set, the object kept (a MODIFIED event) until whoever runs it
    /// deletes it for good; a second call changes nothing.
    pub fn mark_for_deletion(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
        grace_seconds: i64,
    ) -> Result<Json, ApiError> {
        let mut inner = self.lock();
        let old = inner
            .objects
            .get(&Self::key(kind, namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind.plural, kind.group, name))?;
        if old["metadata"]["deletionTimestamp"].is_string() {
            return Ok(old);
        }
        let mut object = old.clone();
        object["metadata"]["deletionTimestamp"] = now().into();
        object["metadata"]["deletionGracePeriodSeconds"] = grace_seconds.into();
        let entries = fields::managed(&old);
        Ok(self.commit(
            &mut inner,
            (kind, namespace),
            Some(&old),
            object,
            entries,
            false,
        ))
    }

    /// DELETE of a collection, by selectors.
    pub fn delete_collection(
        &self,
        kind: &ResourceKind,
        namespace: &str,
        labels: &LabelSelector,
        fields_sel: &FieldSelector,
    ) -> Vec<Json> {
        let (items, _) = self.list(kind, Some(namespace), labels, fields_sel);
        items
            .iter()
            .filter_map(|o| self.delete(kind, namespace, name_of(o)).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules_match_kubernetes() {
        // Flink's HA ConfigMaps: a UUID cluster id and a 32-digit job id, longer than a label.
        let long = format!(
            "{}-{}-config-map",
            "4c9a3a42-0484-55fc-96ac-8bf98640cd6a",
            "0".repeat(32)
        );
        assert!(long.len() > 63 && is_dns_subdomain(&long));
        assert!(!is_dns_label(&long));
        assert!(!is_dns_subdomain("a..b"));
        assert!(!is_dns_subdomain("-a"));
        assert!(!is_dns_subdomain(&"a".repeat(254)));
        assert!(is_dns_label("flink-ha"));
    }
}
