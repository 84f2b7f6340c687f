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
        resources.push(json!({
            "name": k.plural, "singularName": k.kind.to_lowercase(), "namespaced": k.namespaced,
            "kind": k.kind, "shortNames": k.short_names,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        }));
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
