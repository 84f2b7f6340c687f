//! The Events a kubelet and the scheduler record about a pod, read from the changes of its status
//! as this kubelet writes it (`pkg/kubelet/events/event.go` for the reasons,
//! `kuberuntime_container.go` and `images/image_manager.go` for the messages): `Scheduled` when
//! it is bound; `Pulled`, `Created` and `Started` each time a container starts; `Failed` when one
//! cannot (a pull that fails, a missing ConfigMap or Secret); `BackOff` when a failed container
//! waits to restart; `Killing` when the pod is deleted or a probe failed; `Unhealthy` for each
//! failed probe. Recorded on transitions only, as the
//! kubelet records them once per attempt, not once per status write.

use crate::events::{self, Occurrence};
use crate::store::Store;
use serde_json::Value as Json;

fn record(store: &Store, pod: &Json, kind: &str, reason: &str, message: &str, source: &str) {
    events::record(
        store,
        &Occurrence {
            involved: pod,
            kind,
            reason,
            message,
            source,
        },
    );
}

fn pod_id(pod: &Json) -> String {
    format!(
        "{}_{}({})",
        pod["metadata"]["name"].as_str().unwrap_or_default(),
        pod["metadata"]["namespace"].as_str().unwrap_or_default(),
        pod["metadata"]["uid"].as_str().unwrap_or_default()
    )
}

/// The scheduler's Event for a pod bound to `node`.
pub fn scheduled(store: &Store, pod: &Json, node: &str) {
    let (ns, name) = super::pods::key(pod);
    record(
        store,
        pod,
        "Normal",
        "Scheduled",
        &format!("Successfully assigned {ns}/{name} to {node}"),
        "default-scheduler",
    );
}

/// A kubelet Event of `kind` (`Normal`, `Warning`) about `pod`.
pub fn kubelet(store: &Store, pod: &Json, kind: &str, reason: &str, message: &str) {
    record(store, pod, kind, reason, message, "kubelet");
}

/// The kubelet's Events as it stops the pod's running containers.
pub fn killing(store: &Store, pod: &Json) {
    for status in statuses(&pod["status"]) {
        if status["state"]["running"].is_object() {
            let name = status["name"].as_str().unwrap_or_default();
            record(
                store,
                pod,
                "Normal",
                "Killing",
                &format!("Stopping container {name}"),
                "kubelet",
            );
        }
    }
}

fn statuses(status: &Json) -> impl Iterator<Item = &Json> {
    ["initContainerStatuses", "containerStatuses"]
        .into_iter()
        .filter_map(|list| status[list].as_array())
        .flatten()
}

/// When a container's current run began, if it began at all.
fn started_at(status: &Json) -> Option<&str> {
    let state = &status["state"];
    state["running"]["startedAt"]
        .as_str()
        .or_else(|| state["terminated"]["startedAt"].as_str())
}

/// The Events for what changed from `before` to `after` (the pod's status as last written and as
/// about to be written).
pub fn changed(store: &Store, pod: &Json, before: &Json, after: &Json) {
    let spec_image = |name: &str| {
        ["initContainers", "containers"]
            .into_iter()
            .filter_map(|list| pod["spec"][list].as_array())
            .flatten()
            .find(|c| c["name"] == name)
            .and_then(|c| c["image"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    for now in statuses(after) {
        let name = now["name"].as_str().unwrap_or_default();
        let was = statuses(before).find(|s| s["name"] == name);
        let image = spec_image(name);
        let began = started_at(now);
        if began.is_some() && began != was.and_then(started_at) {
            let present = format!("Container image \"{image}\" already present on machine");
            record(store, pod, "Normal", "Pulled", &present, "kubelet");
            let created = format!("Created container: {name}");
            record(store, pod, "Normal", "Created", &created, "kubelet");
            let started = format!("Started container {name}");
            record(store, pod, "Normal", "Started", &started, "kubelet");
        }
        let waiting = |s: &Json| {
            s["state"]["waiting"]["reason"]
                .as_str()
                .map(|r| (r.to_string(), s["state"]["waiting"]["message"].clone()))
        };
        let Some((reason, message)) = waiting(now) else {
            continue;
        };
        if was.and_then(waiting) == Some((reason.clone(), message.clone())) {
            continue;
        }
        let message = message.as_str().unwrap_or_default();
        match reason.as_str() {
            "CrashLoopBackOff" => record(
                store,
                pod,
                "Warning",
                "BackOff",
                &format!(
                    "Back-off restarting failed container {name} in pod {}",
                    pod_id(pod)
                ),
                "kubelet",
            ),
            "ErrImagePull" => {
                let failed = format!("Failed to pull image \"{image}\": {message}");
                record(store, pod, "Warning", "Failed", &failed, "kubelet");
                record(
                    store,
                    pod,
                    "Warning",
                    "Failed",
                    "Error: ErrImagePull",
                    "kubelet",
                );
            }
            "CreateContainerConfigError" | "RunContainerError" => {
                let failed = format!("Error: {message}");
                record(store, pod, "Warning", "Failed", &failed, "kubelet");
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds;
    use crate::selectors::{FieldSelector, LabelSelector};
    use crate::store::Write;
    use serde_json::json;

    fn store_with_pod() -> (Store, Json) {
        let store = Store::new();
        let write = Write {
            manager: "test",
            dry_run: false,
            subresource: None,
        };
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}});
        store
            .create(kinds::find("", "v1", "namespaces").unwrap(), "", ns, &write)
            .unwrap();
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
                         "spec": {"containers": [{"name": "main", "image": "flink:2.3"}]}});
        let pod = store
            .create(kinds::find("", "v1", "pods").unwrap(), "ns", pod, &write)
            .unwrap();
        (store, pod)
    }

    fn events(store: &Store) -> Vec<(String, String, i64)> {
        let kind = kinds::find("", "v1", "events").unwrap();
        let (labels, fields) = (
            LabelSelector::parse("").unwrap(),
            FieldSelector::parse("").unwrap(),
        );
        let mut found: Vec<(String, String, i64)> = store
            .list(kind, Some("ns"), &labels, &fields)
            .0
            .iter()
            .map(|e| {
                (
                    e["reason"].as_str().unwrap_or_default().to_string(),
                    e["message"].as_str().unwrap_or_default().to_string(),
                    e["count"].as_i64().unwrap_or(1),
                )
            })
            .collect();
        found.sort();
        found
    }

    fn status(state: Json) -> Json {
        json!({"containerStatuses": [{"name": "main", "state": state}]})
    }

    #[test]
    fn a_start_is_recorded_once_and_a_failure_once_per_change() {
        let (store, pod) = store_with_pod();
        let waiting = status(json!({"waiting": {"reason": "CreateContainerConfigError",
                                                 "message": "configmap \"c\" not found"}}));
        changed(&store, &pod, &json!({}), &waiting);
        changed(&store, &pod, &waiting, &waiting);
        let running = status(json!({"running": {"startedAt": "2026-12-02T03:00:00Z"}}));
        changed(&store, &pod, &waiting, &running);
        changed(&store, &pod, &running, &running);
        let crashed =
            status(json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}}));
        changed(&store, &pod, &running, &crashed);
        assert_eq!(
            events(&store),
            [
                (
                    "BackOff".into(),
                    format!(
                        "Back-off restarting failed container main in pod p_ns({})",
                        pod["metadata"]["uid"].as_str().unwrap()
                    ),
                    1
                ),
                ("Created".into(), "Created container: main".into(), 1),
                (
                    "Failed".into(),
                    "Error: configmap \"c\" not found".into(),
                    1
                ),
                (
                    "Pulled".into(),
                    "Container image \"flink:2.3\" already present on machine".into(),
                    1
                ),
                ("Started".into(), "Started container main".into(), 1),
            ]
        );
    }
}
