//! The Deployment and ReplicaSet controllers of kube-controller-manager, against the store
//! (`pkg/controller/deployment` with its Recreate strategy, `pkg/controller/replicaset`). Each
//! Deployment owns one ReplicaSet per pod template, `<deployment>-<pod-template-hash>`, which
//! carries the template's labels plus `pod-template-hash` and the revision annotations
//! `kubectl rollout history` and `undo` read; a template seen before (after `rollout undo`) gets
//! its ReplicaSet back at the next revision. Recreate scales every old ReplicaSet to 0 and waits
//! until their pods are gone before the new one scales up; old ReplicaSets stay at 0 up to
//! `revisionHistoryLimit`. Each ReplicaSet owns its Pods, `<replicaset>-<5 characters>`. A pod the
//! API server refuses raises `ReplicaFailure` on the ReplicaSet, with a `FailedCreate` Event on
//! it, and the Deployment copies the condition (`calculateStatus`). An object whose owner is gone
//! (by uid) is deleted, as the garbage collector does, and pods gracefully.

use super::pods::{key, terminating};
use crate::events::{self, Occurrence};
use crate::kinds;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{now, Store, Write};
use serde_json::{json, Value as Json};
use sha2::Digest;

const MANAGER: &str = "kube-test-server-controllers";
const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const HASH_LABEL: &str = "pod-template-hash";
/// The alphabet of generated name suffixes (`k8s.io/apimachinery/pkg/util/rand`).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn write(subresource: Option<&'static str>) -> Write<'static> {
    Write {
        manager: MANAGER,
        dry_run: false,
        subresource,
    }
}

fn kind(plural: &str) -> Option<&'static kinds::ResourceKind> {
    kinds::KINDS.iter().find(|k| k.plural == plural)
}

fn all(store: &Store, plural: &str) -> Vec<Json> {
    let (Some(kind), Ok(labels), Ok(fields)) = (
        kind(plural),
        LabelSelector::parse(""),
        FieldSelector::parse(""),
    ) else {
        return Vec::new();
    };
    store.list(kind, None, &labels, &fields).0
}

fn uid(object: &Json) -> &str {
    object["metadata"]["uid"].as_str().unwrap_or_default()
}

/// The uid of `object`'s controller of kind `owner_kind`.
fn controller_uid<'a>(object: &'a Json, owner_kind: &str) -> Option<&'a str> {
    object["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["kind"] == owner_kind && o["controller"] == true)?["uid"]
        .as_str()
}

fn owned_by<'a>(objects: &'a [Json], owner: &Json, owner_kind: &str) -> Vec<&'a Json> {
    objects
        .iter()
        .filter(|o| key(o).0 == key(owner).0 && controller_uid(o, owner_kind) == Some(uid(owner)))
        .collect()
}

fn owner_reference(owner: &Json, owner_kind: &str) -> Json {
    json!({"apiVersion": "apps/v1", "kind": owner_kind, "name": owner["metadata"]["name"],
           "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true})
}

/// A JSON text with every object's keys sorted and its null and empty-object fields left out, so
/// templates equal as Kubernetes compares them (`apiequality.Semantic`, after a typed client's
/// round trip adds `creationTimestamp: null` and `resources: {}`, as `kubectl rollout undo`
/// does) hash alike.
fn canonical(value: &Json) -> String {
    match value {
        Json::Object(map) => {
            let mut fields: Vec<(&String, String)> = map
                .iter()
                .map(|(k, v)| (k, canonical(v)))
                .filter(|(_, v)| v != "null" && v != "{}")
                .collect();
            fields.sort();
            let fields: Vec<String> = fields
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", Json::from(k.as_str())))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// The pod template's hash, in the safe alphabet of generated names, as the label carries it.
fn template_hash(template: &Json) -> String {
    let digest = sha2::Sha256::digest(canonical(template).as_bytes());
    digest
        .iter()
        .take(10)
        .map(|b| ALPHANUMS[*b as usize % ALPHANUMS.len()] as char)
        .collect()
}

/// Five characters of the safe alphabet for `serial` (unique for the life of the process).
fn suffix(serial: u64) -> String {
    let base = ALPHANUMS.len() as u64;
    let mut n = serial;
    (0..5)
        .map(|_| {
            let c = ALPHANUMS[(n % base) as usize] as char;
            n /= base;
            c
        })
        .collect()
}

fn revision(object: &Json) -> u64 {
    object["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn replicas(object: &Json) -> u64 {
    object["spec"]["replicas"].as_u64().unwrap_or(1)
}

fn without_resource_version(mut object: Json) -> Json {
    if let Some(meta) = object["metadata"].as_object_mut() {
        meta.remove("resourceVersion");
    }
    object
}

fn record(store: &Store, involved: &Json, kind: &str, reason: &str, message: &str, source: &str) {
    events::record(
        store,
        &Occurrence {
            involved,
            kind,
            reason,
            message,
            source,
        },
    );
}

/// Sets the replica count of ReplicaSet `rs` (and its revision annotations), saying so on its
/// Deployment as the controller's `ScalingReplicaSet` Event.
fn scale(store: &Store, deployment: &Json, rs: &Json, to: u64, revision: u64) {
    let Some(rs_kind) = kind("replicasets") else {
        return;
    };
    let from = replicas(rs);
    let mut updated = rs.clone();
    updated["spec"]["replicas"] = to.into();
    if let Some(annotations) = updated["metadata"]
        .as_object_mut()
        .map(|m| m.entry("annotations").or_insert_with(|| json!({})))
        .and_then(Json::as_object_mut)
    {
        annotations.insert(REVISION.into(), revision.to_string().into());
        annotations.insert(DESIRED.into(), replicas(deployment).to_string().into());
    }
    if updated == *rs {
        return;
    }
    let (ns, name) = key(rs);
    // With its resourceVersion, so a scale that raced this round is not undone.
    if store
        .update(rs_kind, &ns, &name, updated, &write(None))
        .is_err()
    {
        return;
    }
    if from != to {
        let verb = if to > from { "up" } else { "down" };
        record(
            store,
            deployment,
            "Normal",
            "ScalingReplicaSet",
            &format!("Scaled {verb} replica set {name} from {from} to {to}"),
            "deployment-controller",
        );
    }
}

/// One round of the Deployment controller: ReplicaSets for every Deployment, rolled out by
/// Recreate, and each Deployment's status from its ReplicaSets and their pods.
pub fn reconcile_deployments(store: &Store, ready: &dyn Fn(&str, &str) -> bool) {
    let (Some(rs_kind), Some(deploy_kind)) = (kind("replicasets"), kind("deployments")) else {
        return;
    };
    let deployments = all(store, "deployments");
    for rs in all(store, "replicasets") {
        let owner = controller_uid(&rs, "Deployment");
        if owner.is_some_and(|o| !deployments.iter().any(|d| uid(d) == o)) {
            let (ns, name) = key(&rs);
            let _ = store.delete(rs_kind, &ns, &name);
        }
    }
    let sets = all(store, "replicasets");
    let pods = super::pods::pods(store);
    for deployment in &deployments {
        let (ns, name) = key(deployment);
        let template = &deployment["spec"]["template"];
        let hash = template_hash(template);
        let mine = owned_by(&sets, deployment, "Deployment");
        let newest_revision = mine.iter().map(|rs| revision(rs)).max().unwrap_or(0);
        let new_rs = match mine
            .iter()
            .find(|rs| rs["metadata"]["name"] == format!("{name}-{hash}"))
        {
            Some(rs) => (*rs).clone(),
            None => {
                let with_hash = |labels: &Json| {
                    let mut labels = labels.clone();
                    if let Some(l) = labels.as_object_mut() {
                        l.insert(HASH_LABEL.into(), hash.clone().into());
                    }
                    labels
                };
                let labels = with_hash(&template["metadata"]["labels"]);
                let mut selector = deployment["spec"]["selector"].clone();
                if selector["matchLabels"].is_object() {
                    selector["matchLabels"] = with_hash(&selector["matchLabels"]);
                }
                let mut rs_template = template.clone();
                rs_template["metadata"]["labels"] = labels.clone();
                let rs = json!({
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {
                        "name": format!("{name}-{hash}"), "namespace": ns, "labels": labels,
                        "annotations": {REVISION: (newest_revision + 1).to_string(),
                                        DESIRED: replicas(deployment).to_string()},
                        "ownerReferences": [owner_reference(deployment, "Deployment")],
                    },
                    "spec": {"replicas": 0, "selector": selector, "template": rs_template},
                });
                match store.create(rs_kind, &ns, rs, &write(None)) {
                    Ok(created) => created,
                    Err(_) => continue,
                }
            }
        };
        let old: Vec<&&Json> = mine.iter().filter(|rs| uid(rs) != uid(&new_rs)).collect();
        let pods_of = |rs: &Json| -> Vec<&Json> { owned_by(&pods, rs, "ReplicaSet") };
        // Recreate: the old ReplicaSets go to 0 and their pods must be gone (terminating ones
        // included) before the new one scales up.
        for rs in &old {
            scale(store, deployment, rs, 0, revision(rs));
        }
        let old_pods_left = old.iter().any(|rs| !pods_of(rs).is_empty());
        // A template seen before (rollout undo) becomes the newest revision again.
        let new_revision = if old.iter().any(|rs| revision(rs) > revision(&new_rs)) {
            newest_revision + 1
        } else {
            revision(&new_rs).max(1)
        };
        if !old_pods_left {
            scale(
                store,
                deployment,
                &new_rs,
                replicas(deployment),
                new_revision,
            );
        } else {
            scale(store, deployment, &new_rs, 0, new_revision);
        }
        prune_history(store, deployment, &old);

        let active = |rs: &Json| pods_of(rs).into_iter().filter(|p| !terminating(p)).count() as u64;
        let ready_of = |rs: &Json| {
            pods_of(rs)
                .into_iter()
                .filter(|p| !terminating(p) && ready(&ns, &key(p).1))
                .count() as u64
        };
        let everything: Vec<&Json> = std::iter::once(&new_rs)
            .chain(old.iter().map(|rs| **rs))
            .collect();
        let total: u64 = everything.iter().map(|rs| active(rs)).sum();
        let ready_count: u64 = everything.iter().map(|rs| ready_of(rs)).sum();
        let updated = active(&new_rs);
        let wanted = replicas(deployment);
        let complete = updated == wanted && total == wanted && ready_count == wanted;
        let previous = deployment["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut conditions = vec![
            condition(
                &previous,
                "Available",
                ready_count >= wanted,
                if ready_count >= wanted {
                    "MinimumReplicasAvailable"
                } else {
                    "MinimumReplicasUnavailable"
                },
                if ready_count >= wanted {
                    "Deployment has minimum availability."
                } else {
                    "Deployment does not have minimum availability."
                },
            ),
            condition(
                &previous,
                "Progressing",
                true,
                if complete {
                    "NewReplicaSetAvailable"
                } else {
                    "ReplicaSetUpdated"
                },
                &if complete {
                    format!(
                        "ReplicaSet \"{}\" has successfully progressed.",
                        new_rs["metadata"]["name"].as_str().unwrap_or_default()
                    )
                } else {
                    format!(
                        "ReplicaSet \"{}\" is progressing.",
                        new_rs["metadata"]["name"].as_str().unwrap_or_default()
                    )
                },
            ),
        ];
        // The Deployment carries its ReplicaSet's failure to create pods.
        let refreshed_rs = store
            .get(
                rs_kind,
                &ns,
                new_rs["metadata"]["name"].as_str().unwrap_or_default(),
            )
            .unwrap_or(new_rs.clone());
        if let Some(failure) = refreshed_rs["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "ReplicaFailure"))
        {
            let kept = previous
                .iter()
                .find(|c| c["type"] == "ReplicaFailure")
                .cloned();
            conditions.push(kept.unwrap_or_else(|| failure.clone()));
        }
        let mut status = json!({
            "observedGeneration": deployment["metadata"]["generation"].clone(),
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready_count,
            "availableReplicas": ready_count,
            "conditions": conditions,
        });
        if wanted > ready_count {
            status["unavailableReplicas"] = (wanted - ready_count).into();
        }
        let mut annotated = deployment.clone();
        let revision_text = new_revision.to_string();
        let annotations_differ =
            deployment["metadata"]["annotations"][REVISION] != revision_text.as_str();
        if annotations_differ {
            if let Some(annotations) = annotated["metadata"]
                .as_object_mut()
                .map(|m| m.entry("annotations").or_insert_with(|| json!({})))
                .and_then(Json::as_object_mut)
            {
                annotations.insert(REVISION.into(), revision_text.into());
            }
            // With its resourceVersion: a write that raced this round (an apply) wins, and the
            // next round annotates what it wrote.
            if let Ok(stored) =
                store.update(deploy_kind, &ns, &name, annotated.clone(), &write(None))
            {
                annotated = stored;
            }
        }
        if annotated["status"] != status {
            annotated["status"] = status;
            let _ = store.update(
                deploy_kind,
                &ns,
                &name,
                without_resource_version(annotated),
                &write(Some("status")),
            );
        }
    }
}

/// A status condition, its transition time kept while its status stays.
fn condition(previous: &[Json], kind: &str, status: bool, reason: &str, message: &str) -> Json {
    let status = if status { "True" } else { "False" };
    let before = previous.iter().find(|c| c["type"] == kind);
    let at = now();
    let transitioned = before
        .filter(|c| c["status"] == status)
        .map(|c| c["lastTransitionTime"].clone())
        .unwrap_or_else(|| at.clone().into());
    let updated = before
        .filter(|c| c["status"] == status && c["reason"] == reason)
        .map(|c| c["lastUpdateTime"].clone())
        .unwrap_or_else(|| at.into());
    json!({"type": kind, "status": status, "reason": reason, "message": message,
           "lastUpdateTime": updated, "lastTransitionTime": transitioned})
}

/// Deletes the oldest ReplicaSets at 0 replicas beyond `revisionHistoryLimit` (default 10).
fn prune_history(store: &Store, deployment: &Json, old: &[&&Json]) {
    let Some(rs_kind) = kind("replicasets") else {
        return;
    };
    let limit = deployment["spec"]["revisionHistoryLimit"]
        .as_u64()
        .unwrap_or(10) as usize;
    let mut idle: Vec<&Json> = old
        .iter()
        .map(|rs| **rs)
        .filter(|rs| rs["status"]["replicas"].as_u64().unwrap_or(0) == 0 && replicas(rs) == 0)
        .collect();
    idle.sort_by_key(|rs| revision(rs));
    let excess = idle.len().saturating_sub(limit);
    for rs in idle.into_iter().take(excess) {
        let (ns, name) = key(rs);
        let _ = store.delete(rs_kind, &ns, &name);
    }
}

/// One round of the ReplicaSet controller: each ReplicaSet gets its replicas of its template
/// (new pods first, the newest go when there are too many), pods whose ReplicaSet is gone are
/// deleted gracefully, and each ReplicaSet's status and `ReplicaFailure` are written.
pub fn reconcile_replica_sets(store: &Store, ready: &dyn Fn(&str, &str) -> bool, serial: &mut u64) {
    let (Some(pod_kind), Some(rs_kind)) = (kind("pods"), kind("replicasets")) else {
        return;
    };
    let sets = all(store, "replicasets");
    let pods = super::pods::pods(store);
    for pod in &pods {
        let owner = controller_uid(pod, "ReplicaSet");
        if owner.is_some_and(|o| !sets.iter().any(|rs| uid(rs) == o)) && !terminating(pod) {
            let (ns, name) = key(pod);
            let _ = crate::pod_deletion::delete(store, pod_kind, &ns, &name, None);
        }
    }
    for rs in &sets {
        let (ns, name) = key(rs);
        let mine: Vec<&Json> = owned_by(&pods, rs, "ReplicaSet")
            .into_iter()
            .filter(|p| !terminating(p))
            .collect();
        let wanted = replicas(rs) as usize;
        for pod in mine.iter().skip(wanted) {
            let (_, pod_name) = key(pod);
            let _ = crate::pod_deletion::delete(store, pod_kind, &ns, &pod_name, None);
        }
        let template = &rs["spec"]["template"];
        let mut failure = None;
        for _ in mine.len()..wanted {
            *serial += 1;
            let pod = json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "name": format!("{name}-{}", suffix(*serial)), "namespace": ns,
                    "labels": template["metadata"]["labels"].clone(),
                    "annotations": template["metadata"]["annotations"].clone(),
                    "ownerReferences": [owner_reference(rs, "ReplicaSet")],
                },
                "spec": template["spec"].clone(),
                "status": {"phase": "Pending"},
            });
            if let Err(e) = store.create(pod_kind, &ns, pod, &write(None)) {
                record(
                    store,
                    rs,
                    "Warning",
                    "FailedCreate",
                    &format!("Error creating: {}", e.message),
                    "replicaset-controller",
                );
                failure = Some(e.message);
                break;
            }
        }
        let active = mine.len().min(wanted) as u64;
        let ready_count = mine
            .iter()
            .take(wanted)
            .filter(|p| ready(&ns, &key(p).1))
            .count() as u64;
        let mut status = json!({
            "replicas": active, "fullyLabeledReplicas": active, "readyReplicas": ready_count,
            "availableReplicas": ready_count, "observedGeneration": rs["metadata"]["generation"].clone(),
        });
        // As first set while the failures go on; gone once a round creates its pods.
        if let Some(message) = failure {
            let previous = rs["status"]["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "ReplicaFailure"))
                .cloned();
            let at = now();
            status["conditions"] = json!([previous.unwrap_or_else(|| json!({
                "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                "message": message, "lastTransitionTime": at}))]);
        }
        if rs["status"] != status {
            let mut updated = rs.clone();
            updated["status"] = status;
            let _ = store.update(
                rs_kind,
                &ns,
                &name,
                without_resource_version(updated),
                &write(Some("status")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pods::{bind, pods, remove};
    use super::*;

    fn store_with_namespace() -> Store {
        let store = Store::new();
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}});
        store
            .create(kind("namespaces").unwrap(), "", namespace, &write(None))
            .unwrap();
        store
    }

    fn deployment(store: &Store) -> Json {
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "jm", "namespace": "ns"},
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
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

    fn with_image(store: &Store, image: &str) {
        let mut d = store.get(kind("deployments").unwrap(), "ns", "jm").unwrap();
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image.into();
        store
            .update(kind("deployments").unwrap(), "ns", "jm", d, &write(None))
            .unwrap();
    }

    fn round(store: &Store, serial: &mut u64) {
        reconcile_deployments(store, &|_, _| true);
        reconcile_replica_sets(store, &|_, _| true, serial);
    }

    fn replica_sets(store: &Store) -> Vec<Json> {
        all(store, "replicasets")
    }

    fn get(store: &Store, plural: &str, name: &str) -> Json {
        store.get(kind(plural).unwrap(), "ns", name).unwrap()
    }

    #[test]
    fn a_deployment_owns_a_replica_set_per_template_which_owns_the_pods() {
        let store = store_with_namespace();
        let mut serial = 0;
        let d = deployment(&store);
        round(&store, &mut serial);
        let sets = replica_sets(&store);
        assert_eq!(sets.len(), 1);
        let rs = &sets[0];
        let hash = rs["metadata"]["labels"][HASH_LABEL].as_str().unwrap();
        assert_eq!(hash.len(), 10);
        assert_eq!(rs["metadata"]["name"], format!("jm-{hash}"));
        assert_eq!(rs["metadata"]["annotations"][REVISION], "1");
        assert_eq!(controller_uid(rs, "Deployment"), Some(uid(&d)));
        assert_eq!(rs["spec"]["selector"]["matchLabels"][HASH_LABEL], hash);
        assert_eq!(rs["spec"]["replicas"], 1);

        let pods = pods(&store);
        assert_eq!(pods.len(), 1);
        let name = pods[0]["metadata"]["name"].as_str().unwrap();
        assert!(
            name.starts_with(&format!("jm-{hash}-")) && name.len() == "jm-".len() + 16,
            "{name}"
        );
        assert_eq!(controller_uid(&pods[0], "ReplicaSet"), Some(uid(rs)));
        assert_eq!(pods[0]["metadata"]["labels"][HASH_LABEL], hash);

        round(&store, &mut serial);
        let d = get(&store, "deployments", "jm");
        assert_eq!(d["metadata"]["annotations"][REVISION], "1");
        assert_eq!(
            d["status"]["observedGeneration"],
            d["metadata"]["generation"]
        );
        assert_eq!(
            (
                d["status"]["replicas"].clone(),
                d["status"]["updatedReplicas"].clone(),
                d["status"]["availableReplicas"].clone()
            ),
            (json!(1), json!(1), json!(1))
        );
        let conditions = d["status"]["conditions"].as_array().unwrap();
        assert!(
            conditions
                .iter()
                .any(|c| c["type"] == "Progressing" && c["reason"] == "NewReplicaSetAvailable"),
            "{conditions:#?}"
        );
        assert!(
            conditions
                .iter()
                .any(|c| c["type"] == "Available" && c["status"] == "True"),
            "{conditions:#?}"
        );
    }

    #[test]
    fn a_deployment_created_again_under_its_name_gets_new_replica_sets_and_pods() {
        let store = store_with_namespace();
        let mut serial = 0;
        let first = deployment(&store);
        round(&store, &mut serial);
        let old_pod = pods(&store)[0].clone();

        store
            .delete(kind("deployments").unwrap(), "ns", "jm")
            .unwrap();
        let second = deployment(&store);
        assert_ne!(uid(&first), uid(&second));
        for _ in 0..3 {
            round(&store, &mut serial);
            for pod in pods(&store).iter().filter(|p| terminating(p)) {
                remove(&store, pod);
            }
        }
        let sets = replica_sets(&store);
        assert_eq!(sets.len(), 1, "{sets:#?}");
        assert_eq!(controller_uid(&sets[0], "Deployment"), Some(uid(&second)));
        let new = pods(&store);
        assert_eq!(new.len(), 1, "{new:#?}");
        assert_ne!(key(&new[0]), key(&old_pod));
        assert_eq!(controller_uid(&new[0], "ReplicaSet"), Some(uid(&sets[0])));
    }

    #[test]
    fn recreate_waits_for_the_old_pods_to_be_gone_and_keeps_the_old_replica_set_at_zero() {
        let store = store_with_namespace();
        let mut serial = 0;
        deployment(&store);
        round(&store, &mut serial);
        let old = pods(&store);
        bind(&store, &old[0]);

        // A new template: the old pod, bound and running, is only marked for deletion.
        with_image(&store, "flink:2.2");
        for _ in 0..2 {
            round(&store, &mut serial);
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
        round(&store, &mut serial);
        let new = pods(&store);
        assert_eq!(new.len(), 1);
        assert_ne!(key(&new[0]), key(&old[0]));
        assert!(!terminating(&new[0]));
        let mut sets = replica_sets(&store);
        sets.sort_by_key(revision);
        let replicas: Vec<(u64, u64)> =
            sets.iter().map(|rs| (revision(rs), replicas(rs))).collect();
        assert_eq!(replicas, [(1, 0), (2, 1)]);
        round(&store, &mut serial);
        assert_eq!(
            get(&store, "deployments", "jm")["metadata"]["annotations"][REVISION],
            "2"
        );
    }

    #[test]
    fn a_template_seen_before_gets_its_replica_set_back_at_the_next_revision() {
        let store = store_with_namespace();
        let mut serial = 0;
        deployment(&store);
        let settle = |store: &Store, serial: &mut u64| {
            for _ in 0..3 {
                round(store, serial);
                for pod in pods(store).iter().filter(|p| terminating(p)) {
                    remove(store, pod);
                }
            }
        };
        settle(&store, &mut serial);
        let first = replica_sets(&store)[0]["metadata"]["name"].clone();
        with_image(&store, "flink:2.2");
        settle(&store, &mut serial);
        // What `kubectl rollout undo` writes: the first template again.
        with_image(&store, "flink:2.3");
        settle(&store, &mut serial);
        let sets = replica_sets(&store);
        assert_eq!(sets.len(), 2, "{sets:#?}");
        let back = sets
            .iter()
            .find(|rs| rs["metadata"]["name"] == first)
            .unwrap();
        assert_eq!((revision(back), replicas(back)), (3, 1));
        assert_eq!(
            get(&store, "deployments", "jm")["metadata"]["annotations"][REVISION],
            "3"
        );
        assert_eq!(pods(&store).len(), 1);
    }

    #[test]
    fn equal_templates_hash_alike_whatever_their_key_order() {
        let a: Json =
            serde_json::from_str(r#"{"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"x":1}}"#)
                .unwrap();
        let b: Json =
            serde_json::from_str(r#"{"spec":{"x":1},"metadata":{"labels":{"b":"2","a":"1"}}}"#)
                .unwrap();
        assert_eq!(template_hash(&a), template_hash(&b));
        assert_ne!(template_hash(&a), template_hash(&json!({"spec": {"x": 2}})));
        let round_tripped = json!({"metadata": {"creationTimestamp": null, "labels": {"a": "1", "b": "2"}},
                                   "spec": {"x": 1, "resources": {}}});
        assert_eq!(template_hash(&a), template_hash(&round_tripped));
        assert!(template_hash(&a).bytes().all(|c| ALPHANUMS.contains(&c)));
    }
}
