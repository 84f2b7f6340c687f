//! What an object loses on its way into the real API server's storage and back: it is decoded
//! into its Go type, stored as protobuf, and encoded again as JSON. An empty list and an empty
//! map come back as nil, which a field tagged `omitempty` leaves out (`env: []`, `labels: {}`,
//! `ports: []`), and the few list fields without that tag show as `null` (a Role's `rules`, an
//! EndpointSlice's `endpoints` and `ports`). An empty struct stays (`emptyDir: {}`,
//! `securityContext: {}`, `resources: {}`), and so does an empty LabelSelector (`podSelector: {}`
//! selects every pod): JSON cannot tell a struct from a map, so the map-typed fields are named
//! here by their Go types (`map[string]string` and `ResourceList`).
//!
//! A client that compares what it sent with what it reads back must take an empty list or map it
//! sent as the same as one left out; this is where the local cluster makes it.

use serde_json::{Map, Value as Json};

/// Field names whose Go type is a map, wherever they appear in the kinds served (a Service's and a
/// ReplicationController's `spec.selector` apart, being the only maps among the selectors).
const MAP_FIELDS: &[&str] = &[
    "labels",
    "annotations",
    "nodeSelector",
    "matchLabels",
    "limits",
    "requests",
    "capacity",
    "allocatable",
    "overhead",
    "hard",
    "used",
];

/// Top-level map fields (a ConfigMap's and a Secret's data).
const TOP_LEVEL_MAPS: &[&str] = &["data", "binaryData", "stringData"];

/// Top-level list fields without `omitempty`, by kind: an empty one reads back as `null`.
fn keeps_as_null(kind: &str, field: &str) -> bool {
    matches!(
        (kind, field),
        ("Role" | "ClusterRole", "rules") | ("EndpointSlice", "endpoints" | "ports")
    )
}

/// Drops from `object` of `kind` what the storage round trip drops.
pub fn as_stored(kind: &str, object: &mut Json) {
    let Some(fields) = object.as_object_mut() else {
        return;
    };
    for key in TOP_LEVEL_MAPS {
        if fields.get(*key).is_some_and(is_empty_map) {
            fields.remove(*key);
        }
    }
    let service_like = matches!(kind, "Service" | "ReplicationController");
    if let Some(spec) = fields.get_mut("spec").and_then(Json::as_object_mut) {
        if service_like && spec.get("selector").is_some_and(is_empty_map) {
            spec.remove("selector");
        }
    }
    strip(kind, fields, true);
}

fn is_empty_map(value: &Json) -> bool {
    value.as_object().is_some_and(Map::is_empty)
}

/// Removes the empty lists and empty map fields under `fields` (the object itself when `top`).
fn strip(kind: &str, fields: &mut Map<String, Json>, top: bool) {
    let mut gone = Vec::new();
    for (key, value) in fields.iter_mut() {
        match value {
            Json::Array(items) if items.is_empty() => match top && keeps_as_null(kind, key) {
                true => *value = Json::Null,
                false => gone.push(key.clone()),
            },
            Json::Array(items) => {
                for item in items.iter_mut().filter_map(Json::as_object_mut) {
                    strip(kind, item, false);
                }
            }
            Json::Object(map) if map.is_empty() && MAP_FIELDS.contains(&key.as_str()) => {
                gone.push(key.clone());
            }
            // The values of a map are strings or quantities: nothing to strip inside.
            Json::Object(map) if !MAP_FIELDS.contains(&key.as_str()) => {
                strip(kind, map, false);
            }
            _ => {}
        }
    }
    for key in gone {
        fields.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_lists_and_maps_go_and_empty_structs_stay() {
        let mut deployment = json!({
            "metadata": {"name": "d", "labels": {}, "annotations": {"a": "1"}, "finalizers": []},
            "spec": {
                "selector": {"matchLabels": {"app": "d"}},
                "template": {
                    "metadata": {"labels": {"app": "d"}},
                    "spec": {
                        "containers": [{
                            "name": "main",
                            "env": [],
                            "ports": [],
                            "resources": {"limits": {}, "requests": {"cpu": "1"}},
                            "securityContext": {},
                        }],
                        "volumes": [{"name": "tmp", "emptyDir": {}}],
                        "nodeSelector": {},
                        "tolerations": [],
                    },
                },
            },
        });
        as_stored("Deployment", &mut deployment);
        assert_eq!(
            deployment,
            json!({
                "metadata": {"name": "d", "annotations": {"a": "1"}},
                "spec": {
                    "selector": {"matchLabels": {"app": "d"}},
                    "template": {
                        "metadata": {"labels": {"app": "d"}},
                        "spec": {
                            "containers": [{
                                "name": "main",
                                "resources": {"requests": {"cpu": "1"}},
                                "securityContext": {},
                            }],
                            "volumes": [{"name": "tmp", "emptyDir": {}}],
                        },
                    },
                },
            })
        );
    }

    #[test]
    fn an_empty_selector_goes_only_where_it_is_a_map() {
        let mut service = json!({"spec": {"selector": {}, "ports": [{"port": 80}]}});
        as_stored("Service", &mut service);
        assert_eq!(service, json!({"spec": {"ports": [{"port": 80}]}}));
        // A LabelSelector is a struct: `{}` selects every pod and is kept.
        let mut policy = json!({"spec": {"podSelector": {}, "ingress": [{"from": []}]}});
        as_stored("NetworkPolicy", &mut policy);
        assert_eq!(
            policy,
            json!({"spec": {"podSelector": {}, "ingress": [{}]}})
        );
        let mut budget = json!({"spec": {"selector": {}}});
        as_stored("PodDisruptionBudget", &mut budget);
        assert_eq!(budget, json!({"spec": {"selector": {}}}));
    }

    #[test]
    fn lists_without_omitempty_read_back_as_null_and_data_maps_go() {
        let mut role = json!({"metadata": {"name": "r"}, "rules": []});
        as_stored("Role", &mut role);
        assert_eq!(role, json!({"metadata": {"name": "r"}, "rules": null}));
        let mut config_map = json!({"metadata": {"name": "c"}, "data": {}, "binaryData": {}});
        as_stored("ConfigMap", &mut config_map);
        assert_eq!(config_map, json!({"metadata": {"name": "c"}}));
        let mut kept = json!({"metadata": {"name": "c"}, "data": {"k": ""}});
        as_stored("ConfigMap", &mut kept);
        assert_eq!(kept, json!({"metadata": {"name": "c"}, "data": {"k": ""}}));
    }
}
