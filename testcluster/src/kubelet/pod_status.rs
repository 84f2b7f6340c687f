//! The pod status the local kubelet writes, in the shape a kubelet gives it (`kubelet_pods.go`
//! `generateAPIPodStatus`, `status/generate.go`, checked by `test/e2e/common/node/init_container.go`):
//! phase, the conditions with their reasons (`Initialized: False` with `ContainersNotInitialized`
//! and "containers with incomplete status: [...]" while init containers have not all succeeded;
//! `ContainersReady` and `Ready` with `ContainersNotReady` and "containers with unready status:
//! [...]" while an app container is not ready, `PodCompleted` or `PodFailed` once the pod ended),
//! `initContainerStatuses` and `containerStatuses`, one per container in spec order (state,
//! lastState, restartCount, ready, started), and the pod IP.

use super::container_process::{ContainerProcess, Ended, State};
use super::network;
use super::pod_containers::PodContainers;
use serde_json::{json, Value as Json};
use std::net::Ipv4Addr;

fn terminated(ended: &Ended) -> Json {
    json!({
        "exitCode": ended.exit_code,
        "reason": ended.reason,
        "startedAt": ended.started_at,
        "finishedAt": ended.finished_at,
    })
}

fn state(state: &State) -> Json {
    match state {
        State::Running { started_at } => json!({"running": {"startedAt": started_at}}),
        State::Waiting { reason, message } if message.is_empty() => {
            json!({"waiting": {"reason": reason}})
        }
        State::Waiting { reason, message } => {
            json!({"waiting": {"reason": reason, "message": message}})
        }
        State::Terminated(ended) => json!({"terminated": terminated(ended)}),
    }
}

/// One entry of `containerStatuses` or `initContainerStatuses`; `started` and `ready` as the
/// kubelet decides them (an init container is ready once it succeeded; an app container is
/// started once its startup probe succeeded, ready while its readiness probe does, each `true`
/// while it runs when it has no such probe).
fn container_status(spec: &Json, process: &ContainerProcess, started: bool, ready: bool) -> Json {
    let mut status = json!({
        "name": process.name,
        "image": spec["image"].clone(),
        "imageID": "",
        "ready": ready,
        "started": started,
        "restartCount": process.restarts,
        "state": state(&process.state),
        "lastState": {},
    });
    if let Some(ended) = &process.last_exit {
        status["lastState"] = json!({"terminated": terminated(ended)});
    }
    status
}

/// Container `i`'s `started` and `ready`.
type Probed<'a> = &'a dyn Fn(usize, &ContainerProcess) -> (bool, bool);

/// The statuses of `processes`, the containers of `specs` in that order, each as `probed` says.
fn statuses(specs: &Json, processes: &[ContainerProcess], probed: Probed) -> Json {
    let specs = specs.as_array().map(Vec::as_slice).unwrap_or_default();
    processes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (started, ready) = probed(i, c);
            container_status(specs.get(i).unwrap_or(&Json::Null), c, started, ready)
        })
        .collect()
}

fn condition(kind: &str, ok: bool, reason: &str, message: String) -> Json {
    if ok {
        json!({"type": kind, "status": "True"})
    } else {
        json!({"type": kind, "status": "False", "reason": reason, "message": message})
    }
}

/// `ContainersReady` and `Ready` as `GenerateContainersReadyCondition` words them: False with
/// the pod's terminal phase as reason (`PodCompleted`, `PodFailed`) once it ended, else with
/// `ContainersNotReady` naming the app containers that are not ready, in spec order.
fn readiness(kind: &str, phase: &str, unready: &[&str]) -> Json {
    match phase {
        "Succeeded" => json!({"type": kind, "status": "False", "reason": "PodCompleted"}),
        "Failed" => json!({"type": kind, "status": "False", "reason": "PodFailed"}),
        _ => condition(
            kind,
            unready.is_empty(),
            "ContainersNotReady",
            format!("containers with unready status: [{}]", unready.join(" ")),
        ),
    }
}

/// The status a kubelet would write for `pod`, its containers as `containers` run at `address`,
/// none of them probed.
#[cfg(test)]
pub fn status(pod: &Json, containers: &PodContainers, address: Ipv4Addr) -> Json {
    let running = |_: usize, c: &ContainerProcess| (c.running(), c.running());
    probed_status(pod, containers, address, &running)
}

/// The same, app container `i`'s `started` and `ready` as `probed(i, ..)` says.
pub fn probed_status(
    pod: &Json,
    containers: &PodContainers,
    address: Ipv4Addr,
    probed: Probed,
) -> Json {
    let spec = &pod["spec"];
    let phase = containers.phase();
    let incomplete: Vec<&str> = containers
        .init
        .iter()
        .filter(|c| !c.succeeded())
        .map(|c| c.name.as_str())
        .collect();
    let unready: Vec<&str> = containers
        .app
        .iter()
        .enumerate()
        .filter(|(i, c)| !probed(*i, c).1)
        .map(|(_, c)| c.name.as_str())
        .collect();
    let initialized = if phase == "Succeeded" {
        json!({"type": "Initialized", "status": "True", "reason": "PodCompleted"})
    } else {
        condition(
            "Initialized",
            incomplete.is_empty(),
            "ContainersNotInitialized",
            format!(
                "containers with incomplete status: [{}]",
                incomplete.join(" ")
            ),
        )
    };
    let mut status = json!({
        "phase": phase,
        "podIP": address.to_string(),
        "podIPs": [{"ip": address.to_string()}],
        "hostIP": network::GATEWAY.to_string(),
        "conditions": [
            condition("PodScheduled", true, "", String::new()),
            initialized,
            readiness("ContainersReady", phase, &unready),
            readiness("Ready", phase, &unready),
        ],
        "containerStatuses": statuses(&spec["containers"], &containers.app, probed),
    });
    if !containers.init.is_empty() {
        status["initContainerStatuses"] =
            statuses(&spec["initContainers"], &containers.init, &|_, c| {
                (c.running(), c.succeeded())
            });
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet::container_process::RestartPolicy;

    fn pod(policy: &str) -> Json {
        json!({"spec": {
            "restartPolicy": policy,
            "initContainers": [
                {"name": "init1", "image": "busybox:1.36"},
                {"name": "init2", "image": "busybox:1.36"},
            ],
            "containers": [{"name": "run1", "image": "flink:2.3.0"}],
        }})
    }

    fn ended(code: i32) -> Ended {
        Ended {
            exit_code: code,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: "2026-01-01T00:00:01Z".into(),
        }
    }

    fn condition<'a>(status: &'a Json, kind: &str) -> &'a Json {
        status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == kind)
            .unwrap()
    }

    #[test]
    fn while_init_containers_run_the_pod_is_pending_and_not_initialized() {
        let pod = pod("Always");
        let mut containers = PodContainers::of(&pod);
        assert_eq!(containers.restart_policy, RestartPolicy::Always);
        containers.init[0].state = State::Terminated(ended(0));
        let status = status(&pod, &containers, Ipv4Addr::new(10, 245, 0, 9));
        assert_eq!(status["phase"], "Pending");
        let initialized = condition(&status, "Initialized");
        assert_eq!(initialized["status"], "False");
        assert_eq!(initialized["reason"], "ContainersNotInitialized");
        assert_eq!(
            initialized["message"],
            "containers with incomplete status: [init2]"
        );
        assert_eq!(condition(&status, "Ready")["reason"], "ContainersNotReady");
        let init = &status["initContainerStatuses"];
        assert_eq!(init[0]["state"]["terminated"]["reason"], "Completed");
        assert_eq!(init[0]["ready"], true);
        assert_eq!(init[1]["state"]["waiting"]["reason"], "PodInitializing");
        assert_eq!(init[1]["ready"], false);
        let main = &status["containerStatuses"][0];
        assert_eq!(main["name"], "run1");
        assert_eq!(main["state"]["waiting"]["reason"], "PodInitializing");
    }

    #[test]
    fn a_failed_init_container_fails_a_pod_that_never_restarts() {
        let pod = pod("Never");
        let mut containers = PodContainers::of(&pod);
        containers.init[0].state = State::Terminated(ended(0));
        containers.init[1].state = State::Terminated(ended(1));
        assert_eq!(containers.due(), [], "nothing starts after a failure");
        let status = status(&pod, &containers, Ipv4Addr::new(10, 245, 0, 9));
        assert_eq!(status["phase"], "Failed");
        assert_eq!(
            condition(&status, "Initialized")["message"],
            "containers with incomplete status: [init2]"
        );
        assert_eq!(
            status["initContainerStatuses"][1]["state"]["terminated"]["exitCode"],
            1
        );
        assert_eq!(
            status["containerStatuses"][0]["state"]["waiting"]["reason"],
            "PodInitializing"
        );
    }

    #[test]
    fn a_pod_without_init_containers_is_initialized_and_waits_for_its_container() {
        let pod = json!({"spec": {"containers": [{"name": "c", "image": "flink:2.3.0"}]}});
        let containers = PodContainers::of(&pod);
        let status = status(&pod, &containers, Ipv4Addr::new(10, 245, 0, 9));
        assert_eq!(condition(&status, "Initialized")["status"], "True");
        assert!(status.get("initContainerStatuses").is_none());
        assert_eq!(
            status["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
    }

    fn two_app_containers(policy: &str) -> Json {
        json!({"spec": {
            "restartPolicy": policy,
            "containers": [
                {"name": "flink-main-container", "image": "flink:2.3.0"},
                {"name": "sidecar", "image": "busybox:1.36"},
            ],
        }})
    }

    fn running() -> State {
        State::Running {
            started_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn every_app_container_has_its_status_in_spec_order() {
        let pod = two_app_containers("Always");
        let mut containers = PodContainers::of(&pod);
        containers.app[0].state = running();
        containers.app[1].state = running();
        containers.app[1].restarts = 2;
        containers.app[1].last_exit = Some(ended(1));
        let status = status(&pod, &containers, Ipv4Addr::new(10, 245, 0, 9));
        let statuses = status["containerStatuses"].as_array().unwrap();
        let names: Vec<&str> = statuses
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["flink-main-container", "sidecar"]);
        assert_eq!(statuses[0]["image"], "flink:2.3.0");
        assert_eq!(statuses[1]["image"], "busybox:1.36");
        assert_eq!(statuses[1]["restartCount"], 2);
        assert_eq!(statuses[1]["lastState"]["terminated"]["exitCode"], 1);
        assert_eq!(statuses[0]["restartCount"], 0);
        assert!(statuses.iter().all(|s| s["ready"] == true), "{statuses:?}");
        assert_eq!(status["phase"], "Running");
        assert_eq!(condition(&status, "ContainersReady")["status"], "True");
        assert_eq!(condition(&status, "Ready")["status"], "True");
    }

    #[test]
    fn ready_is_false_naming_the_app_containers_that_are_not() {
        let pod = two_app_containers("Always");
        let mut containers = PodContainers::of(&pod);
        containers.app[0].state = running();
        containers.app[1].last_exit = Some(ended(1));
        containers.app[1].state = State::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: "back-off 10s restarting failed container=sidecar".into(),
        };
        let status = status(&pod, &containers, Ipv4Addr::new(10, 245, 0, 9));
        assert_eq!(status["phase"], "Running", "one runs, one restarts");
        for kind in ["ContainersReady", "Ready"] {
            let c = condition(&status, kind);
            assert_eq!(c["status"], "False");
            assert_eq!(c["reason"], "ContainersNotReady");
            assert_eq!(c["message"], "containers with unready status: [sidecar]");
        }
        assert_eq!(status["containerStatuses"][0]["ready"], true);
        assert_eq!(status["containerStatuses"][1]["ready"], false);

        let waiting = PodContainers::of(&pod);
        let status = super::status(&pod, &waiting, Ipv4Addr::new(10, 245, 0, 9));
        assert_eq!(status["phase"], "Pending");
        assert_eq!(
            condition(&status, "Ready")["message"],
            "containers with unready status: [flink-main-container sidecar]"
        );
    }

    #[test]
    fn an_ended_pod_is_not_ready_for_its_phase() {
        let pod = two_app_containers("Never");
        let mut containers = PodContainers::of(&pod);
        containers.app[0].state = State::Terminated(ended(0));
        containers.app[1].state = State::Terminated(ended(0));
        let status = status(&pod, &containers, Ipv4Addr::new(10, 245, 0, 9));
        assert_eq!(status["phase"], "Succeeded");
        assert_eq!(condition(&status, "Ready")["reason"], "PodCompleted");
        assert!(condition(&status, "Ready").get("message").is_none());
        assert_eq!(condition(&status, "Initialized")["reason"], "PodCompleted");

        containers.app[1].state = State::Terminated(ended(3));
        let status = super::status(&pod, &containers, Ipv4Addr::new(10, 245, 0, 9));
        assert_eq!(status["phase"], "Failed");
        assert_eq!(condition(&status, "ContainersReady")["reason"], "PodFailed");
        assert_eq!(
            status["containerStatuses"][1]["state"]["terminated"]["exitCode"],
            3
        );
    }
}
