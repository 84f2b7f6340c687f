//! A pod's row as `printPod` computes it: READY (ready running containers, restartable init
//! containers counted), STATUS (the phase or reason, `Init:N/M`, `Init:<reason>`,
//! `Init:ExitCode:N`, the last container's waiting or terminated reason, `Completed`,
//! `NotReady`, `Terminating` once a deletion is set), RESTARTS (`N (age ago)` after a restart),
//! AGE, and the wide columns IP, NODE, NOMINATED NODE, READINESS GATES.

use super::{since, wide, Column, AGE, NAME};
use serde_json::{json, Value as Json};

/// The pod columns.
pub const COLUMNS: &[Column] = &[
    NAME,
    super::column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    super::column("Status", "string", "The aggregate status of the containers in this pod."),
    super::column("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
    AGE,
    wide("IP", "string", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
    wide("Node", "string", "NodeName is a request to schedule this pod onto a specific node."),
    wide("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node."),
    wide("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness."),
];

fn list<'a>(o: &'a Json, path: &str) -> &'a [Json] {
    o.pointer(path)
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text<'a>(o: &'a Json, path: &str) -> &'a str {
    o.pointer(path).and_then(Json::as_str).unwrap_or_default()
}

/// `isRestartableInitContainer`: a sidecar (`restartPolicy: Always`).
fn restartable(spec_init: &[Json], name: &str) -> bool {
    spec_init
        .iter()
        .any(|c| c["name"] == name && c["restartPolicy"] == "Always")
}

/// The later of two optional RFC 3339 timestamps (they compare as text).
fn later(a: Option<String>, b: &Json) -> Option<String> {
    match (a, b.as_str()) {
        (Some(a), Some(b)) if b > a.as_str() => Some(b.to_string()),
        (None, Some(b)) => Some(b.to_string()),
        (a, _) => a,
    }
}

/// A terminated state's reason, or `<prefix>Signal:N` / `<prefix>ExitCode:N` without one.
fn terminated_reason(terminated: &Json, prefix: &str) -> String {
    let reason = text(terminated, "/reason");
    if !reason.is_empty() {
        return format!("{prefix}{reason}");
    }
    match terminated["signal"].as_i64().filter(|s| *s != 0) {
        Some(signal) => format!("{prefix}Signal:{signal}"),
        None => format!(
            "{prefix}ExitCode:{}",
            terminated["exitCode"].as_i64().unwrap_or(0)
        ),
    }
}

/// The cells of a pod's row.
pub fn cells(pod: &Json) -> Vec<Json> {
    let spec_init = list(pod, "/spec/initContainers");
    let mut total = list(pod, "/spec/containers").len();
    total += spec_init
        .iter()
        .filter(|c| c["restartPolicy"] == "Always")
        .count();
    let mut ready = 0;
    let (mut restarts, mut sidecar_restarts) = (0i64, 0i64);
    let (mut last_restart, mut sidecar_last_restart) = (None, None);
    let phase = text(pod, "/status/phase");
    let mut reason = match text(pod, "/status/reason") {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    let conditions = list(pod, "/status/conditions");
    if conditions
        .iter()
        .any(|c| c["type"] == "PodScheduled" && c["reason"] == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }
    let mut initializing = false;
    let init_statuses = list(pod, "/status/initContainerStatuses");
    for (i, status) in init_statuses.iter().enumerate() {
        let name = status["name"].as_str().unwrap_or_default();
        let terminated_before = &status["lastState"]["terminated"]["finishedAt"];
        restarts += status["restartCount"].as_i64().unwrap_or(0);
        last_restart = later(last_restart, terminated_before);
        let sidecar = restartable(spec_init, name);
        if sidecar {
            sidecar_restarts += status["restartCount"].as_i64().unwrap_or(0);
            sidecar_last_restart = later(sidecar_last_restart, terminated_before);
        }
        let terminated = status.pointer("/state/terminated").filter(|t| !t.is_null());
        let waiting = text(status, "/state/waiting/reason");
        if terminated.is_some_and(|t| t["exitCode"].as_i64() == Some(0)) {
            continue;
        }
        if sidecar && status["started"] == true {
            if status["ready"] == true {
                ready += 1;
            }
            continue;
        }
        reason = if let Some(t) = terminated {
            terminated_reason(t, "Init:")
        } else if !waiting.is_empty() && waiting != "PodInitializing" {
            format!("Init:{waiting}")
        } else {
            format!("Init:{i}/{}", spec_init.len())
        };
        initializing = true;
        break;
    }
    let initialized = conditions
        .iter()
        .any(|c| c["type"] == "Initialized" && c["status"] == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = sidecar_last_restart;
        let mut has_running = false;
        for status in list(pod, "/status/containerStatuses").iter().rev() {
            restarts += status["restartCount"].as_i64().unwrap_or(0);
            last_restart = later(
                last_restart,
                &status["lastState"]["terminated"]["finishedAt"],
            );
            let waiting = text(status, "/state/waiting/reason");
            let terminated = status.pointer("/state/terminated").filter(|t| !t.is_null());
            let running = status
                .pointer("/state/running")
                .is_some_and(|r| !r.is_null());
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                reason = terminated_reason(t, "");
            } else if status["ready"] == true && running {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }
    let deleting = pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null());
    if deleting && text(pod, "/status/reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && !matches!(phase, "Succeeded" | "Failed") {
        reason = "Terminating".into();
    }
    let restarts_cell = match last_restart {
        Some(at) if restarts != 0 => format!("{restarts} ({} ago)", since(&json!(at))),
        _ => restarts.to_string(),
    };
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    // The v1 -> internal conversion fills podIPs from podIP when only the latter is set.
    let ip = match list(pod, "/status/podIPs").first() {
        Some(first) => text(first, "/ip").to_string(),
        None => text(pod, "/status/podIP").to_string(),
    };
    let gates = list(pod, "/spec/readinessGates");
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| {
                conditions
                    .iter()
                    .find(|c| c["type"] == g["conditionType"])
                    .is_some_and(|c| c["status"] == "True")
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };
    vec![
        json!(text(pod, "/metadata/name")),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
        json!(since(&pod["metadata"]["creationTimestamp"])),
        json!(or_none(&ip)),
        json!(or_none(text(pod, "/spec/nodeName"))),
        json!(or_none(text(pod, "/status/nominatedNodeName"))),
        json!(readiness_gates),
    ]
}

/// `podSuccessConditions` / `podFailedConditions`: a finished pod's row says so.
pub fn row_conditions(kind: &str, object: &Json) -> Option<Json> {
    if kind != "Pod" {
        return None;
    }
    let (reason, message) = match text(object, "/status/phase") {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(pod: Json) -> (String, String, String) {
        let c = cells(&pod);
        (
            c[1].as_str().unwrap().into(),
            c[2].as_str().unwrap().into(),
            c[3].as_str().unwrap().into(),
        )
    }

    fn pod(spec: Json, status: Json) -> Json {
        json!({"metadata": {"name": "p", "creationTimestamp": "2020-01-01T00:00:00Z"}, "spec": spec, "status": status})
    }

    #[test]
    fn running_ready_and_restarted() {
        let p = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"phase": "Running", "podIP": "10.0.0.5",
            "containerStatuses": [{"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
                                   "lastState": {"terminated": {"finishedAt": "2020-01-01T00:00:00Z", "exitCode": 1}}}]}),
        );
        let (ready, status, restarts) = status_of(p.clone());
        assert_eq!((ready.as_str(), status.as_str()), ("1/1", "Running"));
        assert!(
            restarts.starts_with("2 (") && restarts.ends_with(" ago)"),
            "{restarts}"
        );
        assert_eq!(cells(&p)[5], "10.0.0.5");
        assert_eq!(cells(&p)[6], "<none>");
    }

    #[test]
    fn waiting_reasons_and_exit_codes() {
        let crash = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"phase": "Running",
            "containerStatuses": [{"name": "a", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
        );
        assert_eq!(status_of(crash).1, "CrashLoopBackOff");
        let exited = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"phase": "Running",
            "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 3}}}]}),
        );
        assert_eq!(status_of(exited).1, "ExitCode:3");
        let done = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"phase": "Succeeded",
            "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        );
        assert_eq!(status_of(done.clone()).1, "Completed");
        assert_eq!(
            row_conditions("Pod", &done).unwrap()[0]["reason"],
            "Succeeded"
        );
    }

    #[test]
    fn init_containers() {
        let spec = json!({"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]});
        let waiting = pod(
            spec.clone(),
            json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
            {"name": "i2", "state": {"running": {}}}]}),
        );
        assert_eq!(status_of(waiting).1, "Init:1/2");
        let failed = pod(
            spec.clone(),
            json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "i1", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
        );
        assert_eq!(status_of(failed).1, "Init:Error");
        let looping = pod(
            spec.clone(),
            json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "i1", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
        );
        assert_eq!(
            status_of(looping),
            ("0/1".into(), "Init:CrashLoopBackOff".into(), "3".into())
        );
        let initializing = pod(
            spec,
            json!({"phase": "Pending",
            "conditions": [{"type": "Initialized", "status": "True"}],
            "initContainerStatuses": [{"name": "i1", "state": {"terminated": {"exitCode": 0}}}, {"name": "i2", "state": {"terminated": {"exitCode": 0}}}],
            "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "PodInitializing"}}}]}),
        );
        assert_eq!(status_of(initializing).1, "PodInitializing");
    }

    #[test]
    fn terminating_once_deleted() {
        let mut p = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"phase": "Running"}),
        );
        p["metadata"]["deletionTimestamp"] = json!("2020-01-01T00:00:00Z");
        assert_eq!(status_of(p).1, "Terminating");
    }
}
