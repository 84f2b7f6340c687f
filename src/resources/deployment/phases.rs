//! Where an apply's time goes: the phases of a rollout, from the savepoint of the old job to the
//! new job RUNNING, each logged once at info level (`TF_LOG=info`) with how long it took since
//! the phase before and since the apply began, so a user can see where an upgrade's downtime went.
//! Which phases were seen is decided from what the apply observes anyway (the pod list, Flink's
//! answers): [`observe_pods`] reads the pods' part, the waits mark the rest.

use super::jobmanager_pods::{annotation, label};
use super::layout::ROLLOUT_ANNOTATION;
use k8s_openapi::api::core::v1::Pod;
use std::time::{Duration, Instant};

/// A step of a rollout, in the order they normally come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The old job stopped with a savepoint.
    Savepoint,
    /// The old job was cancelled.
    Cancelled,
    /// Flink ended the old job's application.
    ApplicationEnded,
    /// The new objects were applied.
    ObjectsApplied,
    /// No pod of an earlier rollout is left.
    OldPodsGone,
    /// Every pod of the new rollout exists and is bound to a node.
    PodsScheduled,
    /// Every new pod's Flink container runs.
    ContainersStarted,
    /// The new JobManager pod is Ready.
    JobManagerReady,
    /// The JobManager's REST API knows the job.
    JobSubmitted,
    /// As many TaskManagers as the deployment has registered with the JobManager.
    TaskManagersRegistered,
    /// Flink restored the job from a savepoint or checkpoint.
    Restored,
    /// Flink reports the job RUNNING.
    Running,
}

impl Phase {
    /// The words the log line uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Savepoint => "savepoint",
            Phase::Cancelled => "cancelled",
            Phase::ApplicationEnded => "old application ended",
            Phase::ObjectsApplied => "objects applied",
            Phase::OldPodsGone => "old pods gone",
            Phase::PodsScheduled => "new pods scheduled",
            Phase::ContainersStarted => "containers started",
            Phase::JobManagerReady => "JobManager ready",
            Phase::JobSubmitted => "job submitted",
            Phase::TaskManagersRegistered => "TaskManagers registered",
            Phase::Restored => "restored",
            Phase::Running => "RUNNING",
        }
    }
}

/// The phases one apply has seen so far.
#[derive(Debug)]
pub struct Phases {
    deployment: String,
    started: Instant,
    last: Instant,
    seen: Vec<(Phase, Duration)>,
    /// The pod template hashes of the rollout (JobManager, TaskManagers) and the TaskManager pods
    /// it has, once the objects are rendered.
    rollout: Option<(Vec<String>, usize)>,
}

impl Phases {
    /// The phases of the apply of `deployment`, which begins now.
    pub fn start(deployment: &str) -> Self {
        let now = Instant::now();
        Phases {
            deployment: deployment.to_string(),
            started: now,
            last: now,
            seen: Vec::new(),
            rollout: None,
        }
    }

    /// The rollout the pods are to reach: its pod template hashes and TaskManager pods.
    pub fn expect(&mut self, rollouts: Vec<String>, task_managers: usize) {
        self.rollout = Some((rollouts, task_managers));
    }

    /// What the deployment's pods say of the expected rollout (see [`observe_pods`]).
    pub fn observe(&mut self, pods: &[Pod]) {
        if let Some((rollouts, task_managers)) = self.rollout.clone() {
            let rollouts: Vec<&str> = rollouts.iter().map(String::as_str).collect();
            observe_pods(self, pods, &rollouts, task_managers);
        }
    }

    /// The TaskManagers the rollout has.
    pub fn task_managers(&self) -> usize {
        self.rollout.as_ref().map_or(0, |(_, n)| *n)
    }

    /// Records that `phase` is reached, once: logs it with its duration (since the phase before)
    /// and returns that duration; `None` when it was seen already.
    pub fn reached(&mut self, phase: Phase) -> Option<Duration> {
        if self.has(phase) {
            return None;
        }
        let now = Instant::now();
        let took = now - self.last;
        self.last = now;
        self.seen.push((phase, took));
        tracing::info!(
            deployment = %self.deployment,
            phase = phase.as_str(),
            seconds = took.as_secs_f64(),
            since_start = (now - self.started).as_secs_f64(),
            "rollout phase reached"
        );
        Some(took)
    }

    /// Whether `phase` was seen.
    pub fn has(&self, phase: Phase) -> bool {
        self.seen.iter().any(|(p, _)| *p == phase)
    }

    /// Logs the whole apply in one line: every phase seen and its duration, and the total.
    pub fn log_summary(&self) {
        if self.seen.is_empty() {
            return;
        }
        let phases: Vec<String> = self
            .seen
            .iter()
            .map(|(p, d)| format!("{} {:.1}s", p.as_str(), d.as_secs_f64()))
            .collect();
        tracing::info!(
            deployment = %self.deployment,
            seconds = self.started.elapsed().as_secs_f64(),
            phases = %phases.join(", "),
            "rollout phases"
        );
    }
}

/// What the deployment's pods (every pod carrying its id, terminating ones too) say about the
/// rollout to `rollouts` (the JobManager's and TaskManagers' pod template hashes), with
/// `task_managers` TaskManager pods expected.
pub fn observe_pods(phases: &mut Phases, pods: &[Pod], rollouts: &[&str], task_managers: usize) {
    let new = |p: &&Pod| {
        annotation(p, ROLLOUT_ANNOTATION).is_some_and(|r| rollouts.contains(&r))
            && p.metadata.deletion_timestamp.is_none()
    };
    if pods.iter().all(|p| new(&p)) {
        phases.reached(Phase::OldPodsGone);
    } else {
        return;
    }
    let component = |c: &str| {
        pods.iter()
            .filter(move |p| label(p, "component") == Some(c))
            .collect::<Vec<_>>()
    };
    let (jobmanagers, taskmanagers) = (component("jobmanager"), component("taskmanager"));
    if jobmanagers.is_empty() || taskmanagers.len() < task_managers {
        return;
    }
    let all: Vec<&Pod> = jobmanagers.iter().chain(&taskmanagers).copied().collect();
    let scheduled = all
        .iter()
        .all(|p| p.spec.as_ref().is_some_and(|s| s.node_name.is_some()));
    if !scheduled {
        return;
    }
    phases.reached(Phase::PodsScheduled);
    let started = all.iter().all(|p| {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|cs| {
                !cs.is_empty()
                    && cs
                        .iter()
                        .all(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
            })
    });
    if !started {
        return;
    }
    phases.reached(Phase::ContainersStarted);
    let ready = jobmanagers.iter().any(|p| {
        p.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    });
    if ready {
        phases.reached(Phase::JobManagerReady);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(component: &str, rollout: &str, node: bool, running: bool, ready: bool) -> Pod {
        let mut spec = json!({"containers": [{"name": "flink-main-container"}]});
        if node {
            spec["nodeName"] = json!("local");
        }
        let state = if running {
            json!({"running": {}})
        } else {
            json!({"waiting": {"reason": "ContainerCreating"}})
        };
        serde_json::from_value(json!({
            "metadata": {
                "labels": {"component": component},
                "annotations": {ROLLOUT_ANNOTATION: rollout},
            },
            "spec": spec,
            "status": {
                "containerStatuses": [{
                    "name": "flink-main-container", "image": "flink", "imageID": "",
                    "ready": ready, "restartCount": 0, "state": state,
                }],
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
            },
        }))
        .unwrap()
    }

    #[test]
    fn each_phase_is_logged_once_in_the_order_seen() {
        let mut phases = Phases::start("orders");
        assert!(phases.reached(Phase::Savepoint).is_some());
        assert_eq!(phases.reached(Phase::Savepoint), None, "once");
        phases.reached(Phase::ObjectsApplied);
        let order: Vec<Phase> = phases.seen.iter().map(|(p, _)| *p).collect();
        assert_eq!(order, [Phase::Savepoint, Phase::ObjectsApplied]);
    }

    #[test]
    fn pods_of_the_new_rollout_step_through_scheduled_started_and_ready() {
        let rollouts = ["jm2", "tm2"];
        let mut phases = Phases::start("orders");
        let old = [pod("jobmanager", "jm1", true, true, true)];
        observe_pods(&mut phases, &old, &rollouts, 1);
        assert!(!phases.has(Phase::OldPodsGone), "an old pod is still there");

        let pending = [
            pod("jobmanager", "jm2", true, false, false),
            pod("taskmanager", "tm2", false, false, false),
        ];
        observe_pods(&mut phases, &pending, &rollouts, 1);
        assert!(phases.has(Phase::OldPodsGone));
        assert!(
            !phases.has(Phase::PodsScheduled),
            "a TaskManager has no node"
        );

        let scheduled = [
            pod("jobmanager", "jm2", true, true, false),
            pod("taskmanager", "tm2", true, false, false),
        ];
        observe_pods(&mut phases, &scheduled, &rollouts, 1);
        assert!(phases.has(Phase::PodsScheduled));
        assert!(!phases.has(Phase::ContainersStarted));

        let running = [
            pod("jobmanager", "jm2", true, true, true),
            pod("taskmanager", "tm2", true, true, false),
        ];
        observe_pods(&mut phases, &running, &rollouts, 2);
        assert!(
            !phases.has(Phase::ContainersStarted),
            "the second TaskManager is not there yet"
        );
        observe_pods(&mut phases, &running, &rollouts, 1);
        assert!(phases.has(Phase::ContainersStarted));
        assert!(phases.has(Phase::JobManagerReady));
    }
}
