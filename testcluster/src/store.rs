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
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
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

/// A write's answer: the object as stored (or as it would be, for a dry run) and the warnings
/// admission gave, for the response's `Warning` headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The object.
    pub object: Json,
    /// Admission's warnings, e.g. `would violate PodSecurity "restricted:latest": ...`.
    pub warnings: Vec<String>,
}

struct Inner {
    objects: BTreeMap<Key, Json>,
    revision: u64,
    /// The latest changes, oldest first, for watches that resume from a resourceVersion (the
    /// API server's watch cache).
    history: VecDeque<(u64, Event)>,
}

/// How many changes a watch can resume across, as the watch cache keeps its latest ones.
const HISTORY: usize = 4096;

/// A watch's resourceVersion older than the history kept: the real server's `410 Gone`
/// ("too old resource version"), after which a client lists again.
#[derive(Debug)]
pub struct TooOld {
    /// The resourceVersion the watch asked to start after.
    pub asked: u64,
    /// The oldest change still kept.
    pub oldest: u64,
}

/// A watch's start: the changes after its resourceVersion that already happened, then the
/// receiver of those to come.
pub struct Subscription {
    /// The changes since the resourceVersion asked for, oldest first, with their revisions.
    pub missed: Vec<(u64, Event)>,
    /// The changes from now on.
    pub events: broadcast::Receiver<(u64, Event)>,
}

/// All objects of the server.
pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<(u64, Event)>,
}

/// Now in RFC 3339, seconds precision, as Kubernetes writes times.
pub fn now() -> String {
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
                history: VecDeque::new(),
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

    /// Subscribes to changes after `after` (the store's current revision when `None`). Changes
    /// already made since `after` come back as `missed`: a client that listed and then watches
    /// from the list's resourceVersion misses nothing in between, as with the real watch cache.
    pub fn subscribe(&self, after: Option<u64>) -> Result<Subscription, TooOld> {
        let inner = self.lock();
        let after = after.unwrap_or(inner.revision);
        // Changes are published under the lock, so none falls between `missed` and `events`.
        let oldest = inner
            .history
            .front()
            .map_or(inner.revision, |(rev, _)| *rev);
        if after + 1 < oldest && after < inner.revision {
            return Err(TooOld {
                asked: after,
                oldest,
            });
        }
        Ok(Subscription {
            missed: inner
                .history
                .iter()
                .filter(|(rev, _)| *rev > after)
                .cloned()
                .collect(),
            events: self.events.subscribe(),
        })
    }

    /// Records a change for watches, those under way and those that resume later.
    fn publish(&self, inner: &mut Inner, revision: u64, event: Event) {
        if inner.history.len() == HISTORY {
            inner.history.pop_front();
        }
        inner.history.push_back((revision, event.clone()));
        let _ = self.events.send((revision, event));
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

    /// The object as it will be stored, validated (`validation`, all errors in one 422), then
    /// admitted as kube-apiserver's validating plugins do (Pod Security for pods, Deployments and
    /// namespaces). Every write path goes through it with the final object (for an apply, the
    /// merged one), the local kubelet's pod creations included.
    fn admit(
        inner: &Inner,
        (kind, namespace): (&ResourceKind, &str),
        old: Option<&Json>,
        object: &Json,
        subresource: Option<&str>,
    ) -> Result<Vec<String>, ApiError> {
        crate::quantities::check(kind.kind, object).map_err(ApiError::bad_request)?;
        let mut errors = crate::validation::validate(kind.kind, object);
        // The status subresource writes status alone: its spec is the stored one.
        if let Some(old) = old.filter(|_| subresource.is_none()) {
            errors.extend(crate::validation::validate_update(kind.kind, old, object));
        }
        if !errors.is_empty() {
            return Err(ApiError::invalid_fields(
                kind.kind,
                kind.group,
                name_of(object),
                &errors,
            ));
        }
        let namespace_object = if kind.kind == "Namespace" {
            None
        } else {
            inner
                .objects
                .get(&("namespaces", String::new(), namespace.to_string()))
        };
        let pods_in = |ns: &str| -> Vec<Json> {
            inner
                .objects
                .iter()
                .filter(|((plural, n, _), _)| *plural == "pods" && n == ns)
                .map(|(_, o)| o.clone())
                .collect()
        };
        let request = crate::podsecurity::admission::Request {
            kind: kind.kind,
            namespace: namespace_object,
            old,
            object,
            subresource,
        };
        crate::podsecurity::admission::admit(&request, &pods_in)
    }

    /// The v1 defaults of `object`, written over `old`, and a new Service's cluster IP (one no
    /// other Service holds). Every write runs them before its ownership is recorded, and before
    /// admission, as a real server defaults a request while decoding it.
    fn default(
        inner: &Inner,
        (kind, namespace): (&ResourceKind, &str),
        old: Option<&Json>,
        object: &mut Json,
    ) {
        crate::defaults::on_write(kind.kind, object, old);
        if kind.kind == "Service" {
            let own = Self::key(kind, namespace, name_of(object));
            let taken: BTreeSet<Ipv4Addr> = inner
                .objects
                .iter()
                .filter(|(key, _)| key.0 == kind.plural && **key != own)
                .flat_map(|(_, o)| crate::defaults::service::cluster_ips(o))
                .collect();
            crate::defaults::service::allocate_cluster_ip(object, &taken);
        }
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
        if old.is_none() {
            crate::defaults::on_create(kind.kind, &mut object);
        }
        crate::quantities::canonicalize(kind.kind, &mut object);
        crate::empty_fields::as_stored(kind.kind, &mut object);
        if matches!(kind.kind, "Deployment" | "ReplicaSet") {
            let old_spec = old.and_then(|o| o.get("spec")).cloned();
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
        let revision = inner.revision;
        self.publish(
            inner,
            revision,
            Event {
                kind: if old.is_some() { "MODIFIED" } else { "ADDED" },
                plural: kind.plural,
                object: object.clone(),
            },
        );
        object
    }

    /// POST.
    pub fn create_admitted(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        mut object: Json,
        write: &Write,
    ) -> Result<Written, ApiError> {
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
        Self::default(&inner, (kind, namespace), None, &mut object);
        let warnings = Self::admit(&inner, (kind, namespace), None, &object, None)?;
        let entries = fields::record_update(&Json::Null, &object, write.manager, None);
        let object = self.commit(
            &mut inner,
            (kind, namespace),
            None,
            object,
            entries,
            write.dry_run,
        );
        Ok(Written { object, warnings })
    }

    /// POST, answering the object only (the local kubelet's and tests' way to write).
    pub fn create(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        object: Json,
        write: &Write,
    ) -> Result<Json, ApiError> {
        self.create_admitted(kind, namespace, object, write)
            .map(|w| w.object)
    }

    /// PUT, answering the object only.
    pub fn update(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
        object: Json,
        write: &Write,
    ) -> Result<Json, ApiError> {
        self.update_admitted(kind, namespace, name, object, write)
            .map(|w| w.object)
    }

    /// PATCH, answering the object only.
    pub fn patch(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
        patch_type: PatchType,
        body: &Json,
        write: &Write,
    ) -> Result<Json, ApiError> {
        self.patch_admitted(kind, namespace, name, patch_type, body, write)
            .map(|w| w.object)
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
    pub fn update_admitted(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
        mut object: Json,
        write: &Write,
    ) -> Result<Written, ApiError> {
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
        Self::default(&inner, (kind, namespace), Some(&old), &mut object);
        let warnings = Self::admit(
            &inner,
            (kind, namespace),
            Some(&old),
            &object,
            write.subresource,
        )?;
        let entries = fields::record_update(&old, &object, write.manager, write.subresource);
        let object = self.commit(
            &mut inner,
            (kind, namespace),
            Some(&old),
            object,
            entries,
            write.dry_run,
        );
        Ok(Written { object, warnings })
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
    pub fn patch_admitted(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        name: &str,
        patch_type: PatchType,
        body: &Json,
        write: &Write,
    ) -> Result<Written, ApiError> {
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
            let (mut object, entries) = fields::apply(&current, &config, write.manager, force)
                .map_err(|conflicts| {
                    ApiError::apply_conflict(kind.plural, kind.group, name, &conflicts)
                })?;
            Self::default(&inner, (kind, namespace), old.as_ref(), &mut object);
            let warnings = Self::admit(
                &inner,
                (kind, namespace),
                old.as_ref(),
                &object,
                write.subresource,
            )?;
            let object = self.commit(
                &mut inner,
                (kind, namespace),
                old.as_ref(),
                object,
                entries,
                write.dry_run,
            );
            return Ok(Written { object, warnings });
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
        Self::default(&inner, (kind, namespace), Some(&old), &mut object);
        let warnings = Self::admit(
            &inner,
            (kind, namespace),
            Some(&old),
            &object,
            write.subresource,
        )?;
        let entries = fields::record_update(&old, &object, write.manager, write.subresource);
        let object = self.commit(
            &mut inner,
            (kind, namespace),
            Some(&old),
            object,
            entries,
            write.dry_run,
        );
        Ok(Written { object, warnings })
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
        // Each deletion is a change of its own; the object a watch gets carries its revision, so a
        // client resuming from it starts after the deletion.
        for (plural, mut object) in gone {
            inner.revision += 1;
            let revision = inner.revision;
            object["metadata"]["resourceVersion"] = revision.to_string().into();
            self.publish(
                &mut inner,
                revision,
                Event {
                    kind: "DELETED",
                    plural,
                    object,
                },
            );
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

    fn write() -> Write<'static> {
        Write {
            manager: "test",
            dry_run: false,
            subresource: None,
        }
    }

    #[test]
    fn a_watch_resumes_after_its_resource_version_and_too_old_ones_expire() {
        let store = Store::new();
        let kind = crate::kinds::find("", "v1", "configmaps").unwrap();
        let cm = |v: &str| json!({"metadata": {"name": "c"}, "data": {"v": v}});
        let created = store.create(kind, "default", cm("1"), &write()).unwrap();
        let listed_at: u64 = created["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        store
            .update(kind, "default", "c", cm("2"), &write())
            .unwrap();
        store.delete(kind, "default", "c").unwrap();

        let resumed = store.subscribe(Some(listed_at)).unwrap();
        let kinds: Vec<_> = resumed.missed.iter().map(|(_, e)| e.kind).collect();
        assert_eq!(kinds, ["MODIFIED", "DELETED"]);
        let (deleted_at, deleted) = resumed.missed.last().unwrap();
        assert_eq!(
            deleted.object["metadata"]["resourceVersion"],
            deleted_at.to_string(),
            "a DELETED object carries the deletion's revision"
        );
        assert!(store.subscribe(None).unwrap().missed.is_empty());

        for n in 0..HISTORY {
            store
                .create(
                    kind,
                    "default",
                    json!({"metadata": {"name": format!("m{n}")}}),
                    &write(),
                )
                .unwrap();
        }
        let Err(expired) = store.subscribe(Some(listed_at)) else {
            panic!("a watch from before the history kept must expire");
        };
        assert_eq!(expired.asked, listed_at);
        assert!(expired.oldest > listed_at + 1);
    }

    #[test]
    fn validation_answers_before_admission_and_both_guard_every_create() {
        let store = Store::new();
        let (ns_kind, pod_kind) = (
            crate::kinds::find("", "v1", "namespaces").unwrap(),
            crate::kinds::find("", "v1", "pods").unwrap(),
        );
        let ns = json!({"metadata": {"name": "team", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}});
        store.create(ns_kind, "", ns, &write()).unwrap();
        let bad_name = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "Main", "image": "nginx"}]}});
        let refused = store
            .create(pod_kind, "team", bad_name, &write())
            .unwrap_err();
        assert_eq!((refused.code, refused.reason), (422, "Invalid"));
        let root = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "main", "image": "nginx"}]}});
        let refused = store.create(pod_kind, "team", root, &write()).unwrap_err();
        assert_eq!((refused.code, refused.reason), (403, "Forbidden"));
        assert!(store.get(pod_kind, "team", "p").is_err(), "nothing stored");
    }

    #[test]
    fn an_apply_is_validated_as_merged_not_as_sent() {
        let store = Store::new();
        let kind = crate::kinds::find("apps", "v1", "deployments").unwrap();
        let full = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                     "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
        let apply = |body: &Json, manager: &str| {
            let w = Write {
                manager,
                dry_run: false,
                subresource: None,
            };
            store.patch(
                kind,
                "default",
                "web",
                PatchType::Apply { force: false },
                body,
                &w,
            )
        };
        apply(&full, "one").unwrap();
        // Another manager applies a label only: no selector or containers in what it sent.
        let partial = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "x"}}});
        let merged = apply(&partial, "two").unwrap();
        assert_eq!(merged["metadata"]["labels"]["team"], "x");
        let bad = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "not valid"}}});
        assert_eq!(apply(&bad, "two").unwrap_err().code, 422);
    }

    #[test]
    fn defaults_are_an_updates_own_and_never_an_applys() {
        let store = Store::new();
        let kind = crate::kinds::find("", "v1", "services").unwrap();
        let service = |name: &str| {
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                   "spec": {"selector": {"app": "x"}, "ports": [{"port": 8081}]}})
        };
        let owned = |object: &Json, manager: &str| {
            fields::managed(object)
                .into_iter()
                .find(|e| e.manager == manager)
                .map(|e| e.fields.iter().map(|p| p.join(".")).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let w = |manager| Write {
            manager,
            dry_run: false,
            subresource: None,
        };
        let created = store
            .create(kind, "default", service("a"), &w("kubectl-create"))
            .unwrap();
        assert_eq!(created["spec"]["clusterIP"], "10.96.0.2");
        assert!(owned(&created, "kubectl-create").contains(&"spec.sessionAffinity".to_string()));

        let apply_b = || {
            store
                .patch(
                    kind,
                    "default",
                    "b",
                    PatchType::Apply { force: false },
                    &service("b"),
                    &w("tf"),
                )
                .unwrap()
        };
        let applied = apply_b();
        assert_eq!(applied["spec"]["clusterIP"], "10.96.0.3", "a free address");
        assert_eq!(applied["spec"]["type"], "ClusterIP");
        let fields = owned(&applied, "tf");
        assert!(
            !fields
                .iter()
                .any(|f| f.contains("sessionAffinity") || f.contains("clusterIP")),
            "{fields:?}"
        );

        // A PUT without the address keeps it; a re-apply changes nothing.
        let mut replaced = service("a");
        replaced["spec"]["selector"] = json!({"app": "y"});
        let replaced = store
            .update(kind, "default", "a", replaced, &w("kubectl-replace"))
            .unwrap();
        assert_eq!(replaced["spec"]["clusterIPs"], json!(["10.96.0.2"]));
        let again = apply_b();
        assert_eq!(
            again["metadata"]["resourceVersion"],
            applied["metadata"]["resourceVersion"]
        );
    }
}
