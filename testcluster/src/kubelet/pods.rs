//! The controllers' part, against the store: Pods for each Deployment (one per replica, owned by
//! it, replaced when the pod template changes), Deployment status, and Endpoints for each Service
//! from the ready pods it selects.

use crate::kinds;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Store, Write};
use serde_json::{json, Map, Value as Json};
use sha2::Digest;
use std::collections::BTreeMap;

const MANAGER: &str = "kube-test-server-kubelet";

fn write(subresource: Option<&'static str>) -> Write<'static> {
    Write {
        manager: MANAGER,
        dry_run: false,
        subresource,
    }
}

fn all(store: &Store, plural: &str) -> Vec<Json> {
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
    let _ = store.update(pod_kind, &ns, &name, bound, &write(None));
}

/// Deletes the pod for good, once its processes are gone (the kubelet's final delete).
pub fn remove(store: &Store, pod: &Json) {
    if let Some(pod_kind) = kind("pods") {
        let (ns, name) = key(pod);
        let _ = store.delete(pod_kind, &ns, &name);
    }
}

/// Deletes the pod as a controller does: gracefully when it runs.
fn delete_gracefully(store: &Store, pod: &Json) {
    if let Some(pod_kind) = kind("pods") {
        let (ns, name) = key(pod);
        let _ = crate::pod_deletion::delete(store, pod_kind, &ns, &name, None);
    }
}

/// Every pod in the store.
pub fn pods(store: &Store) -> Vec<Json> {
    all(store, "pods")
}

fn template_hash(template: &Json) -> String {
    let digest = sha2::Sha256::digest(template.to_string().as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// The name and uid of the Deployment owning `pod`: like Kubernetes' garbage collector, a
/// Deployment created again under the same name does not own its predecessor's pods.
fn owner_of(pod: &Json) -> Option<(String, String)> {
    let owner = pod["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["kind"] == "Deployment")?;
    Some((
        owner["name"].as_str()?.into(),
        owner["uid"].as_str()?.into(),
    ))
}

fn uid(object: &Json) -> String {
    object["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn matches_selector(selector: &Map<String, Json>, labels: &Json) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Creates and deletes Pods so each Deployment has its replicas of its current template; deletes
/// Pods whose Deployment is gone. `ready` tells which pods run.
pub fn reconcile_deployments(store: &Store, ready: &dyn Fn(&str, &str) -> bool, serial: &mut u64) {
    let (Some(pod_kind), Some(deploy_kind)) = (kind("pods"), kind("deployments")) else {
        return;
    };
    let deployments = all(store, "deployments");
    let pods = pods(store);
    for pod in &pods {
        let (ns, _) = key(pod);
        let owned = owner_of(pod);
        let alive = owned.as_ref().is_some_and(|(owner, owner_uid)| {
            deployments
                .iter()
                .any(|d| key(d) == (ns.clone(), owner.clone()) && uid(d) == *owner_uid)
        });
        if owned.is_some() && !alive && !terminating(pod) {
            delete_gracefully(store, pod);
        }
    }
    for deployment in &deployments {
        let (ns, name) = key(deployment);
        let template = &deployment["spec"]["template"];
        let hash = template_hash(template);
        let replicas = deployment["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
        let mine: Vec<&Json> = pods
            .iter()
            .filter(|p| key(p).0 == ns && owner_of(p) == Some((name.clone(), uid(deployment))))
            .collect();
        let (current, old): (Vec<&Json>, Vec<&Json>) = mine
            .iter()
            .partition(|p| p["metadata"]["labels"]["pod-template-hash"] == hash.as_str());
        // A terminating pod of the current template no longer counts: it is replaced at once,
        // as a ReplicaSet does.
        let current: Vec<&Json> = current.into_iter().filter(|p| !terminating(p)).collect();
        // Recreate (what the provider renders): old pods go, terminating ones until their
        // processes are gone, before new ones start.
        for pod in old.iter().filter(|p| !terminating(p)) {
            delete_gracefully(store, pod);
        }
        for pod in current.iter().skip(replicas) {
            delete_gracefully(store, pod);
        }
        let mut failed_create = None;
        if old.is_empty() {
            for _ in current.len()..replicas {
                *serial += 1;
                let mut labels = template["metadata"]["labels"].clone();
                if let Some(l) = labels.as_object_mut() {
                    l.insert("pod-template-hash".into(), hash.clone().into());
                }
                let pod = json!({
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": format!("{name}-{hash}-{serial:05}"),
                        "namespace": ns,
                        "labels": labels,
                        "annotations": template["metadata"]["annotations"].clone(),
                        "ownerReferences": [{
                            "apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                            "uid": deployment["metadata"]["uid"].clone(), "controller": true,
                        }],
                    },
                    "spec": template["spec"].clone(),
                    "status": {"phase": "Pending"},
                });
                if let Err(e) = store.create(pod_kind, &ns, pod, &write(None)) {
                    failed_create = Some(e);
                    break;
                }
            }
        }
        let ready_count = current
            .iter()
            .take(replicas)
            .filter(|p| ready(&ns, &key(p).1))
            .count();
        let mut status = json!({
            "observedGeneration": deployment["metadata"]["generation"].clone(),
            "replicas": current.len().min(replicas),
            "updatedReplicas": current.len().min(replicas),
            "readyReplicas": ready_count,
            "availableReplicas": ready_count,
        });
        crate::replica_failure::observe(store, deployment, failed_create.as_ref(), &mut status);
        if deployment["status"] != status {
            let mut updated = deployment.clone();
            updated["status"] = status;
            if let Some(meta) = updated["metadata"].as_object_mut() {
                meta.remove("resourceVersion");
            }
            let _ = store.update(deploy_kind, &ns, &name, updated, &write(Some("status")));
        }
    }
}

/// Writes a pod's status when it changed.
pub fn write_pod_status(store: &Store, pod: &Json, status: Json) {
    let Some(pod_kind) = kind("pods") else {
        return;
    };
    if pod["status"] == status {
        return;
    }
    let (ns, name) = key(pod);
    let mut updated = pod.clone();
    updated["status"] = status;
    if let Some(meta) = updated["metadata"].as_object_mut() {
        meta.remove("resourceVersion");
    }
    let _ = store.update(pod_kind, &ns, &name, updated, &write(Some("status")));
}

/// Endpoints for every Service with a selector, from the ready pods' addresses; returns each
/// Service's name forms mapped to the first ready pod's address, for hosts files.
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
        // A terminating pod leaves the endpoints at once.
        let ready: Vec<&Json> = pods
            .iter()
            .filter(|p| !terminating(p))
            .filter(|p| key(p).0 == ns && matches_selector(selector, &p["metadata"]["labels"]))
            .filter(|p| {
                p["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
            })
            .collect();
        let addresses: Vec<Json> = ready
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
        let subsets = if addresses.is_empty() {
            json!([])
        } else {
            json!([{"addresses": addresses, "ports": ports}])
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

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(store: &Store) -> Json {
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "jm", "namespace": "ns"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "jm"}},
                "template": {
                    "metadata": {"labels": {"app": "jm"}},
                    "spec": {"containers": [{"name": "flink", "image": "flink:2.3"}]},
                },
            },
        });
        store
            .create(kind("deployments").unwrap(), "ns", deployment, &write(None))
            .unwrap()
    }

    #[test]
    fn a_deployment_created_again_under_its_name_gets_new_pods() {
        let store = Store::new();
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}});
        store
            .create(kind("namespaces").unwrap(), "", namespace, &write(None))
            .unwrap();
        let mut serial = 0;
        let first = deployment(&store);
        reconcile_deployments(&store, &|_, _| false, &mut serial);
        let old = pods(&store);
        assert_eq!(old.len(), 1);
        assert_eq!(owner_of(&old[0]).unwrap().1, uid(&first));

        store
            .delete(kind("deployments").unwrap(), "ns", "jm")
            .unwrap();
        let second = deployment(&store);
        assert_ne!(uid(&first), uid(&second));
        reconcile_deployments(&store, &|_, _| false, &mut serial);
        let new = pods(&store);
        assert_eq!(new.len(), 1, "{new:#?}");
        assert_eq!(owner_of(&new[0]).unwrap().1, uid(&second));
        assert_ne!(key(&new[0]), key(&old[0]));
    }

    #[test]
    fn recreate_waits_for_a_terminating_old_pod_to_be_gone() {
        let store = Store::new();
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}});
        store
            .create(kind("namespaces").unwrap(), "", namespace, &write(None))
            .unwrap();
        let mut serial = 0;
        let mut deployment = deployment(&store);
        reconcile_deployments(&store, &|_, _| true, &mut serial);
        let old = pods(&store);
        bind(&store, &old[0]);

        // A new template: the old pod, bound and running, is only marked for deletion.
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "flink:2.2".into();
        deployment["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("resourceVersion");
        store
            .update(
                kind("deployments").unwrap(),
                "ns",
                "jm",
                deployment,
                &write(None),
            )
            .unwrap();
        for _ in 0..2 {
            reconcile_deployments(&store, &|_, _| true, &mut serial);
            let now = pods(&store);
            assert_eq!(
                now.len(),
                1,
                "a new pod started beside the old one: {now:#?}"
            );
            assert!(terminating(&now[0]), "{:#}", now[0]);
            assert_eq!(now[0]["metadata"]["deletionGracePeriodSeconds"], 30);
        }

        // Its processes gone, the kubelet removes it: then the new pod comes.
        remove(&store, &pods(&store)[0]);
        reconcile_deployments(&store, &|_, _| true, &mut serial);
        let new = pods(&store);
        assert_eq!(new.len(), 1);
        assert_ne!(key(&new[0]), key(&old[0]));
        assert!(!terminating(&new[0]));
    }
}
