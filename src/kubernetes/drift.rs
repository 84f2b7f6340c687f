//! Drift, computed without IO: which fields of a desired object differ in the observed one (the
//! server adds defaults and status, so only what we asked for is compared), and which other field
//! managers changed an object's content since we applied it (how drift in a Secret whose values
//! Terraform never stored is still seen).

use serde_json::Value as Json;

/// Paths (e.g. `data.base_uri`, `spec.replicas`) where `observed` lacks or differs from `desired`.
pub fn differences(desired: &Json, observed: &Json) -> Vec<String> {
    let mut out = Vec::new();
    compare(desired, observed, String::new(), &mut out);
    out
}

fn compare(desired: &Json, observed: &Json, path: String, out: &mut Vec<String>) {
    let child = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (desired, observed) {
        (Json::Object(want), Json::Object(have)) => {
            for (key, value) in want {
                // Identity and server-owned metadata are not ours to compare.
                if path == "metadata" && !matches!(key.as_str(), "labels" | "annotations") {
                    continue;
                }
                match have.get(key) {
                    Some(v) => compare(value, v, child(key), out),
                    None if value.is_null() => {}
                    // The API server stores an empty list as absent (the Go types' `omitempty`):
                    // a rendered `env: []` comes back without `env`.
                    None if value.as_array().is_some_and(Vec::is_empty) => {}
                    None => out.push(child(key)),
                }
            }
        }
        (Json::Array(want), Json::Array(have)) => {
            if want.len() != have.len() {
                out.push(path);
                return;
            }
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                compare(w, h, format!("{path}[{i}]"), out);
            }
        }
        (Json::Number(a), Json::String(b)) | (Json::String(b), Json::Number(a))
            if a.to_string() == *b => {}
        (w, h) if w != h => out.push(path),
        _ => {}
    }
}

/// Managers other than `ours` that own content fields of `observed` (anything but metadata and
/// status), per `metadata.managedFields`. Each one changed the object after our last apply, since
/// our forced apply takes every field we declare back.
pub fn foreign_managers(observed: &Json, ours: &str) -> Vec<String> {
    let Some(entries) = observed
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
    else {
        return Vec::new();
    };
    let mut managers: Vec<String> = entries
        .iter()
        .filter(|e| e.get("manager").and_then(Json::as_str) != Some(ours))
        .filter(|e| e.get("subresource").and_then(Json::as_str) != Some("status"))
        .filter(|e| {
            e.pointer("/fieldsV1")
                .and_then(Json::as_object)
                .is_some_and(|fields| {
                    fields
                        .keys()
                        .any(|k| k.starts_with("f:") && k != "f:metadata" && k != "f:status")
                })
        })
        .filter_map(|e| e.get("manager").and_then(Json::as_str).map(String::from))
        .collect();
    managers.sort();
    managers.dedup();
    managers
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_list_the_server_left_out_is_no_drift() {
        let desired =
            json!({"spec": {"containers": [{"name": "c", "env": [], "ports": [{"port": 1}]}]}});
        let stored = json!({"spec": {"containers": [{"name": "c", "ports": [{"port": 1}]}]}});
        assert!(differences(&desired, &stored).is_empty());
        let emptied = json!({"spec": {"containers": [{"name": "c"}]}});
        assert_eq!(
            differences(&desired, &emptied),
            ["spec.containers[0].ports"]
        );
    }

    #[test]
    fn only_desired_fields_are_compared() {
        let desired = json!({
            "metadata": {"name": "x", "labels": {"a": "1"}},
            "data": {"base_uri": "s3://a", "region": "eu"},
            "spec": {"ports": [{"port": 8081}]}
        });
        let observed = json!({
            "metadata": {"name": "x", "uid": "u", "labels": {"a": "1", "extra": "y"}},
            "data": {"base_uri": "s3://b", "region": "eu"},
            "spec": {"ports": [{"port": 8081, "protocol": "TCP"}]},
            "status": {}
        });
        assert_eq!(differences(&desired, &observed), vec!["data.base_uri"]);
    }

    #[test]
    fn missing_fields_and_resized_lists_are_drift() {
        let desired = json!({"data": {"k": "v"}, "spec": {"items": [1, 2]}});
        let observed = json!({"data": {}, "spec": {"items": [1]}});
        assert_eq!(
            differences(&desired, &observed),
            vec!["data.k", "spec.items"]
        );
    }

    #[test]
    fn other_managers_of_content_are_reported() {
        let observed = json!({"metadata": {"managedFields": [
            {"manager": "terraform-provider-flink", "operation": "Apply", "fieldsV1": {"f:data": {}}},
            {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:data": {"f:k": {}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
             "fieldsV1": {"f:status": {}}},
            {"manager": "kubectl-label", "operation": "Update", "fieldsV1": {"f:metadata": {}}}
        ]}});
        assert_eq!(
            foreign_managers(&observed, "terraform-provider-flink"),
            vec!["kubectl-edit"]
        );
    }
}
