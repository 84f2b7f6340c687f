//! Pods as the kubelet and the endpoints controller see them, against the store: binding, the
//! final delete, pod status writes, and Endpoints for each Service from the ready pods it selects.
//! The Deployment and ReplicaSet controllers are [`super::replica_sets`].

use crate::kinds;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Store, Write};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;

const MANAGER: &str = "kube-test-server-kubelet";

fn write(subresource: Option<&'static str>) -> Write<'static> {
    Write {
        manager: MANAGER,
        dry_run: false,
        subresource,
    }
}

/// Every object of the kind with `plural`, across namespaces.
pub fn all(store: &Store, plural: &str) -> Vec<Json> {
    let Some(kind) = kinds::KINDS.iter().find(|k| k.plural == plural) else {
        return Vec::new();
    };
    let (Ok(labels), Ok(fields)) = (LabelSelector::parse(""), FieldSelector::parse("")) else {
        return Vec::new();
    };
    store.list(kind, None, &labels, &fields).0
}

fn kind(plural: &str) -> Option<&'static crate::kinds::ResourceKind> {
    kinds::KINDS.iter().find(|k| k.plural == plural)
}

/// Namespace and name of an object.
pub fn key(object: &Json) -> (String, String) {
    (
        object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// The node name the local kubelet binds pods to (`spec.nodeName`).
pub const NODE_NAME: &str = "local-kubelet";

/// Whether the pod is being deleted gracefully (it has a `deletionTimestamp`).
pub fn terminating(pod: &Json) -> bool {
    pod["metadata"]["deletionTimestamp"].is_string()
}

/// Binds the pod to this kubelet's node, as the scheduler would: a bound pod is deleted
/// gracefully (`crate::pod_deletion`).
pub fn bind(store: &Store, pod: &Json) {
    let Some(pod_kind) = kind("pods") else {
        return;
    };
    if pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty())
    {
        return;
    }
    let (ns, name) = key(pod);
    let mut bound = pod.clone();
    bound["spec"]["nodeName"] = NODE_NAME.into();
    if let Some(meta) = bound["metadata"].as_object_mut() {
        meta.remove("resourceVersion");
    }
    if store
        .update(pod_kind, &ns, &name, bound, &write(None))
        .is_ok()
    {
        super::pod_events::scheduled(store, pod, NODE_NAME);
    }
}

/// Deletes the pod for good, once its processes are gone (the kubelet's final delete).
pub fn remove(store: &Store, pod: &Json) {
    if let Some(pod_kind) = kind("pods") {
        let (ns, name) = key(pod);
        let _ = store.delete(pod_kind, &ns, &name);
    }
}

/// Every pod in the store.
pub fn pods(store: &Store) -> Vec<Json> {
    all(store, "pods")
}

fn matches_selector(selector: &Map<String, Json>, labels: &Json) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Writes a pod's status when it changed.
pub fn write_pod_status(store: &Store, pod: &Json, status: Json) {
    let Some(pod_kind) = kind("pods") else {
        return;
    };
    if pod["status"] == status {
        return;
    }
    super::pod_events::changed(store, pod, &pod["status"], &status);
    let (ns, name) = key(pod);
    let mut updated = pod.clone();
    updated["status"] = status;
    if let Some(meta) = updated["metadata"].as_object_mut() {
        meta.remove("resourceVersion");
    }
    let _ = store.update(pod_kind, &ns, &name, updated, &write(Some("status")));
}

/// Endpoints for every Service with a selector, from its pods' addresses (the unready ones under
/// `notReadyAddresses` unless it publishes them); returns each Service's name forms mapped to
/// the first address it routes to, for hosts files.
pub fn reconcile_endpoints(store: &Store) -> BTreeMap<String, std::net::Ipv4Addr> {
    let mut names = BTreeMap::new();
    let Some(endpoints_kind) = kind("endpoints") else {
        return names;
    };
    let pods = pods(store);
    for service in all(store, "services") {
        let (ns, name) = key(&service);
        let Some(selector) = service["spec"]["selector"].as_object() else {
            continue;
        };
        // A terminating pod leaves the endpoints at once. An unready one is listed under
        // `notReadyAddresses`, unless the Service publishes not-ready addresses
        // (`publishNotReadyAddresses`, for peers that must find each other before they are ready),
        // as the endpoints controller's `tolerateUnreadyEndpoints` (`endpoints_controller.go`).
        let publish_unready = service["spec"]["publishNotReadyAddresses"] == true;
        let selected: Vec<&Json> = pods
            .iter()
            .filter(|p| !terminating(p))
            .filter(|p| key(p).0 == ns && matches_selector(selector, &p["metadata"]["labels"]))
            .filter(|p| p["status"]["podIP"].is_string())
            .collect();
        let is_ready = |p: &Json| {
            p["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        };
        let (ready, unready): (Vec<&Json>, Vec<&Json>) = selected
            .into_iter()
            .partition(|p| publish_unready || is_ready(p));
        let addresses: Vec<Json> = ready
            .iter()
            .filter_map(|p| p["status"]["podIP"].as_str())
            .map(|ip| json!({"ip": ip}))
            .collect();
        let not_ready: Vec<Json> = unready
            .iter()
            .filter_map(|p| p["status"]["podIP"].as_str())
            .map(|ip| json!({"ip": ip}))
            .collect();
        let ports: Vec<Json> = service["spec"]["ports"]
            .as_array()
            .map(|ports| {
                ports
                    .iter()
                    .map(|p| {
                        json!({"name": p["name"].clone(), "port": p.get("targetPort").unwrap_or(&p["port"]).clone(), "protocol": "TCP"})
                    })
                    .collect()
            })
            .unwrap_or_default();
        let subsets = match (addresses.is_empty(), not_ready.is_empty()) {
            (true, true) => json!([]),
            (false, true) => json!([{"addresses": addresses, "ports": ports}]),
            (true, false) => json!([{"notReadyAddresses": not_ready, "ports": ports}]),
            (false, false) => {
                json!([{"addresses": addresses, "notReadyAddresses": not_ready, "ports": ports}])
            }
        };
        if let Some(ip) = ready
            .first()
            .and_then(|p| p["status"]["podIP"].as_str())
            .and_then(|ip| ip.parse().ok())
        {
            for form in [
                name.clone(),
                format!("{name}.{ns}"),
                format!("{name}.{ns}.svc"),
                format!("{name}.{ns}.svc.cluster.local"),
            ] {
                names.insert(form, ip);
            }
        }
        let desired = json!({
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns, "labels": service["metadata"]["labels"].clone()},
            "subsets": subsets,
        });
        match store.get(endpoints_kind, &ns, &name) {
            Ok(existing) if existing["subsets"] == desired["subsets"] => {}
            Ok(_) => {
                let _ = store.update(endpoints_kind, &ns, &name, desired, &write(None));
            }
            Err(_) => {
                let _ = store.create(endpoints_kind, &ns, desired, &write(None));
            }
        }
    }
    names
}
