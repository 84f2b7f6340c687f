//! The non-apply patch types: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and the
//! strategic merge patch kubectl sends for built-in kinds (maps merge; lists of named things merge
//! by their key; `$`-directives that only order elements are ignored; other lists are replaced).

use serde_json::Value as Json;

/// RFC 7386.
pub fn merge_patch(target: &mut Json, patch: &Json) {
    match patch {
        Json::Object(p) => {
            if !target.is_object() {
                *target = Json::Object(Default::default());
            }
            if let Json::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Json::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn merge_key(list_name: &str) -> Option<&'static str> {
    match list_name {
        "containers" | "initContainers" | "volumes" | "volumeMounts" | "env"
        | "imagePullSecrets" => Some("name"),
        "ports" => Some("containerPort"),
        _ => None,
    }
}

/// Kubernetes strategic merge patch, for the list fields of the kinds served here.
pub fn strategic_merge_patch(target: &mut Json, patch: &Json) {
    let (Json::Object(t), Json::Object(p)) = (&mut *target, patch) else {
        *target = patch.clone();
        return;
    };
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match (t.get_mut(k), v, merge_key(k)) {
            (Some(Json::Array(existing)), Json::Array(items), Some(key)) => {
                for item in items {
                    let id = item.get(key);
                    let delete = item.get("$patch").and_then(Json::as_str) == Some("delete");
                    match existing
                        .iter()
                        .position(|e| e.get(key) == id && id.is_some())
                    {
                        Some(i) if delete => {
                            existing.remove(i);
                        }
                        Some(i) => strategic_merge_patch(&mut existing[i], item),
                        None if !delete => existing.push(item.clone()),
                        None => {}
                    }
                }
            }
            (Some(existing @ Json::Object(_)), Json::Object(_), _) => {
                strategic_merge_patch(existing, v)
            }
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split(path: &str) -> Result<(Vec<String>, String), String> {
    let tokens: Vec<String> = path
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}"))?
        .split('/')
        .map(unescape)
        .collect();
    let (last, parents) = tokens.split_last().ok_or("empty path")?;
    Ok((parents.to_vec(), last.clone()))
}

fn parent<'a>(doc: &'a mut Json, parents: &[String]) -> Result<&'a mut Json, String> {
    parents.iter().try_fold(doc, |v, t| match v {
        Json::Object(m) => m.get_mut(t).ok_or_else(|| format!("path /{t} not found")),
        Json::Array(a) => t
            .parse::<usize>()
            .ok()
            .and_then(|i| a.get_mut(i))
            .ok_or_else(|| format!("index {t} out of range")),
        _ => Err(format!("cannot descend into {t}")),
    })
}

/// RFC 6902; the whole patch fails if one operation does.
pub fn json_patch(doc: &mut Json, ops: &Json) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch is an array of operations")?;
    let mut work = doc.clone();
    for op in ops {
        let kind = op["op"].as_str().ok_or("operation without op")?;
        let path = op["path"].as_str().ok_or("operation without path")?;
        let (parents, last) = split(path)?;
        match kind {
            "add" | "replace" => {
                let value = op.get("value").cloned().ok_or("operation without value")?;
                match parent(&mut work, &parents)? {
                    Json::Object(m) => {
                        if kind == "replace" && !m.contains_key(&last) {
                            return Err(format!("path {path} not found"));
                        }
                        m.insert(last, value);
                    }
                    Json::Array(a) if last == "-" => a.push(value),
                    Json::Array(a) => {
                        let i: usize = last.parse().map_err(|_| format!("bad index in {path}"))?;
                        if kind == "replace" && i < a.len() {
                            a[i] = value;
                        } else if kind == "add" && i <= a.len() {
                            a.insert(i, value);
                        } else {
                            return Err(format!("index out of range in {path}"));
                        }
                    }
                    _ => return Err(format!("cannot set {path}")),
                }
            }
            "remove" => match parent(&mut work, &parents)? {
                Json::Object(m) => {
                    m.remove(&last)
                        .ok_or_else(|| format!("path {path} not found"))?;
                }
                Json::Array(a) => {
                    let i: usize = last.parse().map_err(|_| format!("bad index in {path}"))?;
                    if i >= a.len() {
                        return Err(format!("index out of range in {path}"));
                    }
                    a.remove(i);
                }
                _ => return Err(format!("cannot remove {path}")),
            },
            "test" => {
                let pointer = path.to_string();
                if work.pointer(&pointer) != op.get("value") {
                    return Err(format!("test failed at {path}"));
                }
            }
            other => return Err(format!("unsupported JSON patch operation {other:?}")),
        }
    }
    *doc = work;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_sets_and_removes() {
        let mut d = json!({"data": {"a": "1", "b": "2"}});
        merge_patch(&mut d, &json!({"data": {"a": null, "c": "3"}}));
        assert_eq!(d, json!({"data": {"b": "2", "c": "3"}}));
    }

    #[test]
    fn strategic_merges_named_lists() {
        let mut d = json!({"spec": {"containers": [{"name": "jm", "image": "a"}, {"name": "side", "image": "b"}]}});
        strategic_merge_patch(
            &mut d,
            &json!({"spec": {"$setElementOrder/containers": [{"name": "jm"}], "containers": [{"name": "jm", "image": "c"}]}}),
        );
        assert_eq!(d["spec"]["containers"][0]["image"], "c");
        assert_eq!(d["spec"]["containers"][1]["image"], "b");
    }

    #[test]
    fn json_patch_is_atomic() {
        let mut d = json!({"a": [1, 2]});
        json_patch(&mut d, &json!([{"op": "add", "path": "/a/-", "value": 3}, {"op": "replace", "path": "/b", "value": 1}])).unwrap_err();
        assert_eq!(d, json!({"a": [1, 2]}));
        json_patch(&mut d, &json!([{"op": "remove", "path": "/a/0"}, {"op": "add", "path": "/c", "value": {"x": 1}}])).unwrap();
        assert_eq!(d, json!({"a": [2], "c": {"x": 1}}));
    }
}
