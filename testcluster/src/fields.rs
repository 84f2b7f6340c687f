//! Field sets and server-side apply. Objects are JSON; a field is the path of keys to a leaf
//! (lists are atomic, as for most built-in list fields). `metadata.managedFields` records, per
//! manager and operation, the fields it owns (in the real `fieldsV1` encoding), and apply uses it
//! to detect conflicts, transfer ownership on force, and remove fields a manager stopped applying.

use serde_json::{json, Map, Value as Json};
use std::collections::BTreeSet;

/// A field path.
pub type Path = Vec<String>;

/// Paths the server owns or that identify the object; never part of a manager's set.
fn is_server_field(path: &[String]) -> bool {
    match path {
        [first, ..] if first == "apiVersion" || first == "kind" || first == "status" => true,
        [meta, second, ..] if meta == "metadata" => {
            !matches!(second.as_str(), "labels" | "annotations")
        }
        _ => false,
    }
}

/// Every leaf path of `value`, without server fields.
pub fn leaf_paths(value: &Json) -> BTreeSet<Path> {
    fn walk(value: &Json, prefix: &mut Path, out: &mut BTreeSet<Path>) {
        match value {
            Json::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    prefix.push(k.clone());
                    walk(v, prefix, out);
                    prefix.pop();
                }
            }
            _ if !prefix.is_empty() => {
                out.insert(prefix.clone());
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(value, &mut Vec::new(), &mut out);
    out.retain(|p| !is_server_field(p));
    out
}

/// The value at a path.
pub fn get<'a>(value: &'a Json, path: &[String]) -> Option<&'a Json> {
    path.iter().try_fold(value, |v, k| v.get(k))
}

/// Removes the leaf at a path, and parents left empty by it.
pub fn remove(value: &mut Json, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if let Some(Json::Object(map)) = parents.iter().try_fold(&mut *value, |v, k| v.get_mut(k)) {
        map.remove(last);
    }
    if !parents.is_empty() {
        if let Some(Json::Object(map)) = get(value, parents) {
            if map.is_empty() {
                remove(value, parents);
            }
        }
    }
}

/// Merges `overlay` into `base`: objects recursively, everything else replaced.
pub fn merge(base: &mut Json, overlay: &Json) {
    match (base, overlay) {
        (Json::Object(b), Json::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Managed {
    /// The field manager.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// `status` or `scale` for subresource writes.
    pub subresource: Option<String>,
    /// The fields it owns.
    pub fields: BTreeSet<Path>,
}

fn encode(fields: &BTreeSet<Path>) -> Json {
    let mut root = Map::new();
    for path in fields {
        let mut node = &mut root;
        for key in path {
            let entry = node
                .entry(format!("f:{key}"))
                .or_insert_with(|| Json::Object(Map::new()));
            let Json::Object(next) = entry else { break };
            node = next;
        }
    }
    Json::Object(root)
}

fn decode(fields: &Json) -> BTreeSet<Path> {
    fn walk(value: &Json, prefix: &mut Path, out: &mut BTreeSet<Path>) {
        let children: Vec<(&String, &Json)> = value
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| k.starts_with("f:")).collect())
            .unwrap_or_default();
        if children.is_empty() {
            if !prefix.is_empty() {
                out.insert(prefix.clone());
            }
            return;
        }
        for (k, v) in children {
            prefix.push(k[2..].to_string());
            walk(v, prefix, out);
            prefix.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(fields, &mut Vec::new(), &mut out);
    out
}

/// The entries of an object's `metadata.managedFields`.
pub fn managed(object: &Json) -> Vec<Managed> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|e| Managed {
                    manager: e["manager"].as_str().unwrap_or_default().to_string(),
                    operation: e["operation"].as_str().unwrap_or("Update").to_string(),
                    subresource: e["subresource"].as_str().map(String::from),
                    fields: decode(&e["fieldsV1"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes the entries back (empty ones are dropped, as the real server does).
pub fn set_managed(object: &mut Json, entries: &[Managed], now: &str) {
    let list: Vec<Json> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut entry = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": object.get("apiVersion").cloned().unwrap_or(Json::Null),
                "time": now,
                "fieldsType": "FieldsV1",
                "fieldsV1": encode(&e.fields),
            });
            if let Some(sub) = &e.subresource {
                entry["subresource"] = sub.clone().into();
            }
            entry
        })
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Json::as_object_mut) {
        meta.insert("managedFields".into(), Json::Array(list));
    }
}

fn dotted(path: &[String]) -> String {
    format!(".{}", path.join("."))
}

/// The object after an apply, with its new managedFields entries.
pub type Applied = (Json, Vec<Managed>);
/// Conflicting (manager, field) pairs.
pub type Conflicts = Vec<(String, String)>;

/// Server-side apply of `config` by `manager` onto `current` (`Json::Null` when absent). Returns
/// the new object, or the conflicts (manager, field) when `force` is false.
pub fn apply(
    current: &Json,
    config: &Json,
    manager: &str,
    force: bool,
) -> Result<Applied, Conflicts> {
    let applied = leaf_paths(config);
    let mut entries = managed(current);
    let mut conflicts = Vec::new();
    for entry in entries.iter().filter(|e| e.manager != manager) {
        for path in entry.fields.intersection(&applied) {
            if get(current, path) != get(config, path) {
                conflicts.push((entry.manager.clone(), dotted(path)));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    let mut object = if current.is_null() {
        json!({})
    } else {
        current.clone()
    };
    for entry in entries.iter_mut().filter(|e| e.manager != manager) {
        entry
            .fields
            .retain(|p| !applied.contains(p) || get(current, p) == get(config, p));
    }
    let previous = entries
        .iter()
        .find(|e| e.manager == manager && e.operation == "Apply")
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for path in previous.difference(&applied) {
        let owned_by_other = entries
            .iter()
            .any(|e| e.manager != manager && e.fields.contains(path));
        if !owned_by_other {
            remove(&mut object, path);
        }
    }
    merge(&mut object, config);
    entries.retain(|e| !(e.manager == manager && e.operation == "Apply"));
    entries.push(Managed {
        manager: manager.to_string(),
        operation: "Apply".into(),
        subresource: None,
        fields: applied,
    });
    Ok((object, entries))
}

/// Ownership after a non-apply write by `manager`: the fields whose values changed become its own.
pub fn record_update(
    old: &Json,
    new: &Json,
    manager: &str,
    subresource: Option<&str>,
) -> Vec<Managed> {
    let mut entries = managed(old);
    let changed: BTreeSet<Path> = leaf_paths(old)
        .union(&leaf_paths(new))
        .filter(|p| get(old, p) != get(new, p))
        .cloned()
        .collect();
    for entry in entries.iter_mut() {
        entry.fields.retain(|p| !changed.contains(p));
    }
    let mine: BTreeSet<Path> = changed
        .into_iter()
        .filter(|p| get(new, p).is_some())
        .collect();
    match entries.iter_mut().find(|e| {
        e.manager == manager && e.operation == "Update" && e.subresource.as_deref() == subresource
    }) {
        Some(entry) => entry.fields.extend(mine),
        None => entries.push(Managed {
            manager: manager.to_string(),
            operation: "Update".into(),
            subresource: subresource.map(String::from),
            fields: mine,
        }),
    }
    entries.retain(|e| !e.fields.is_empty());
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_entries(mut object: Json, entries: &[Managed]) -> Json {
        object["metadata"]["name"] = "x".into();
        set_managed(&mut object, entries, "t");
        object
    }

    #[test]
    fn fields_v1_round_trip() {
        let object =
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "v", "l": "w"}});
        let paths = leaf_paths(&object);
        assert_eq!(paths.len(), 3, "{paths:?}");
        assert_eq!(decode(&encode(&paths)), paths);
    }

    #[test]
    fn apply_removes_fields_no_longer_applied() {
        let (obj, entries) = apply(
            &Json::Null,
            &json!({"data": {"a": "1", "b": "2"}}),
            "tf",
            false,
        )
        .unwrap();
        let current = with_entries(obj, &entries);
        let (obj, _) = apply(&current, &json!({"data": {"a": "1"}}), "tf", false).unwrap();
        assert_eq!(obj["data"], json!({"a": "1"}));
    }

    #[test]
    fn conflicts_unless_forced_and_force_transfers_ownership() {
        let (obj, entries) = apply(&Json::Null, &json!({"data": {"a": "1"}}), "tf", false).unwrap();
        let current = with_entries(obj, &entries);
        let err = apply(&current, &json!({"data": {"a": "2"}}), "other", false).unwrap_err();
        assert_eq!(err, vec![("tf".to_string(), ".data.a".to_string())]);
        // Same value: shared ownership, no conflict.
        assert!(apply(&current, &json!({"data": {"a": "1"}}), "other", false).is_ok());
        let (obj, entries) = apply(&current, &json!({"data": {"a": "2"}}), "other", true).unwrap();
        assert_eq!(obj["data"]["a"], "2");
        let tf = entries.iter().find(|e| e.manager == "tf").unwrap();
        assert!(tf.fields.is_empty());
    }

    #[test]
    fn updates_take_ownership_of_changed_fields() {
        let (obj, entries) = apply(
            &Json::Null,
            &json!({"data": {"a": "1", "b": "2"}}),
            "tf",
            false,
        )
        .unwrap();
        let old = with_entries(obj, &entries);
        let mut new = old.clone();
        new["data"]["a"] = "9".into();
        let entries = record_update(&old, &new, "kubectl-edit", None);
        let edit = entries
            .iter()
            .find(|e| e.manager == "kubectl-edit")
            .unwrap();
        assert_eq!(
            edit.fields,
            BTreeSet::from([vec!["data".to_string(), "a".to_string()]])
        );
        let tf = entries.iter().find(|e| e.manager == "tf").unwrap();
        assert_eq!(tf.fields.len(), 1);
    }

    #[test]
    fn remove_prunes_empty_parents() {
        let mut v = json!({"data": {"a": "1"}, "x": 1});
        remove(&mut v, &["data".to_string(), "a".to_string()]);
        assert_eq!(v, json!({"x": 1}));
    }
}
