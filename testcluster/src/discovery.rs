//! Discovery documents, built from the kind table, so that real kubectl finds every kind.

use crate::kinds::KINDS;
use serde_json::{json, Value as Json};

/// `/version`.
pub fn version() -> Json {
    json!({"major": "1", "minor": "32", "gitVersion": "v1.32.0-kube-test-server", "platform": "linux/amd64",
           "gitCommit": "", "gitTreeState": "clean", "buildDate": "", "goVersion": "", "compiler": "rust"})
}

/// `/api`.
pub fn core_versions(address: &str) -> Json {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]})
}

fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = KINDS
        .iter()
        .filter(|k| !k.group.is_empty())
        .map(|k| (k.group, k.version))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `/apis`.
pub fn group_list() -> Json {
    let groups: Vec<Json> = groups()
        .into_iter()
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/api/v1` or `/apis/<group>/<version>`; `None` for an unknown group version.
pub fn resource_list(group: &str, version: &str) -> Option<Json> {
    let mut resources = Vec::new();
    for k in KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
    {
        let mut resource = json!({
            "name": k.plural, "singularName": k.kind.to_lowercase(), "namespaced": k.namespaced,
            "kind": k.kind, "shortNames": k.short_names,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        });
        // The `all` category of the real resources (`kubectl get all`).
        if matches!(k.kind, "Pod" | "Service" | "Deployment" | "ReplicaSet") {
            resource["categories"] = json!(["all"]);
        }
        resources.push(resource);
        if k.kind == "Deployment" {
            resources.push(json!({"name": "deployments/scale", "namespaced": true, "group": "autoscaling", "version": "v1",
                                  "kind": "Scale", "verbs": ["get", "patch", "update"]}));
            resources.push(
                json!({"name": "deployments/status", "namespaced": true, "kind": "Deployment",
                                  "verbs": ["get", "patch", "update"]}),
            );
        }
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// `/openapi/v3`: where each group version's document is.
pub fn openapi_index() -> Json {
    let mut paths = serde_json::Map::new();
    paths.insert(
        "api/v1".into(),
        json!({"serverRelativeURL": "/openapi/v3/api/v1"}),
    );
    for (g, v) in groups() {
        paths.insert(
            format!("apis/{g}/{v}"),
            json!({"serverRelativeURL": format!("/openapi/v3/apis/{g}/{v}")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>`: no schemas, only each kind's
/// write operations with their group-version-kind and the `fieldValidation` parameter. That is
/// what kubectl looks for to leave field validation to the server instead of validating against
/// schemas it would have to download.
pub fn openapi_group_version(group: &str, version: &str) -> Option<Json> {
    let mut paths = serde_json::Map::new();
    for k in KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
    {
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let scope = if k.namespaced {
            "/namespaces/{namespace}"
        } else {
            ""
        };
        let operation = json!({
            "x-kubernetes-group-version-kind": {"group": k.group, "version": k.version, "kind": k.kind},
            "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}}],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(
            format!("{prefix}{scope}/{}", k.plural),
            json!({"post": operation}),
        );
        paths.insert(
            format!("{prefix}{scope}/{}/{{name}}", k.plural),
            json!({"put": operation, "patch": operation}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
                "paths": paths, "components": {"schemas": {}}}),
    )
}
