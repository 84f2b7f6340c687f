//! The order a kubelet runs a pod's containers in (`test/e2e/common/node/init_container.go`): the
//! init containers one at a time, in order, each to completion, then every app container (in spec
//! order, all at once); a failed init container is restarted with back-off (restartPolicy `Always`
//! or `OnFailure`) or, with `Never`, fails the pod, and nothing after it starts. Each app container
//! restarts on its own, as restartPolicy says; the pod is ready while all of them run, and its
//! phase is the kubelet's `getPhase` (`pkg/kubelet/kubelet_pods.go`) over their states.

use super::container_process::{ContainerProcess, RestartPolicy, State};
use serde_json::Value as Json;

/// Which of the pod's containers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Which {
    /// The init container at this index of `spec.initContainers`.
    Init(usize),
    /// The app container at this index of `spec.containers`.
    App(usize),
}

/// A pod's containers and their history.
pub struct PodContainers {
    /// The init containers, in order.
    pub init: Vec<ContainerProcess>,
    /// The app containers, in spec order.
    pub app: Vec<ContainerProcess>,
    pub restart_policy: RestartPolicy,
}

impl PodContainers {
    /// The containers of `pod`'s spec, none started.
    pub fn of(pod: &Json) -> Self {
        let spec = &pod["spec"];
        let named = |list: &str, waiting: &str| -> Vec<ContainerProcess> {
            spec[list]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| ContainerProcess::new(c["name"].as_str().unwrap_or_default(), waiting))
                .collect()
        };
        let init = named("initContainers", "PodInitializing");
        // The kubelet's default waiting state: PodInitializing while init containers are to run.
        let waiting = if init.is_empty() {
            "ContainerCreating"
        } else {
            "PodInitializing"
        };
        PodContainers {
            app: named("containers", waiting),
            init,
            restart_policy: RestartPolicy::of(spec),
        }
    }

    /// Every container, init containers first, in the order `get` would be given them.
    pub fn all(&self) -> impl Iterator<Item = (Which, &ContainerProcess)> {
        let init = self.init.iter().enumerate();
        let app = self.app.iter().enumerate();
        init.map(|(i, c)| (Which::Init(i), c))
            .chain(app.map(|(i, c)| (Which::App(i), c)))
    }

    /// Every container, mutable, in the order of [`PodContainers::all`].
    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut ContainerProcess> {
        self.init.iter_mut().chain(self.app.iter_mut())
    }

    /// Whether every init container succeeded (the pod's `Initialized` condition).
    pub fn initialized(&self) -> bool {
        self.init.iter().all(ContainerProcess::succeeded)
    }

    /// The containers to start now: the first init container that has not succeeded, when it is
    /// due; once all have, each app container that is due.
    pub fn due(&self) -> Vec<Which> {
        match self.init.iter().position(|c| !c.succeeded()) {
            Some(i) => self.init[i]
                .due()
                .then_some(Which::Init(i))
                .into_iter()
                .collect(),
            None => (0..self.app.len())
                .filter(|&i| self.app[i].due())
                .map(Which::App)
                .collect(),
        }
    }

    /// The container `which`.
    pub fn get(&mut self, which: Which) -> &mut ContainerProcess {
        match which {
            Which::Init(i) => &mut self.init[i],
            Which::App(i) => &mut self.app[i],
        }
    }

    /// Notices exited containers; `oom_killed` says whether the pod's cgroup counted a new OOM
    /// kill (it is put down to the first container found exited after it).
    pub fn poll(&mut self, oom_killed: &mut dyn FnMut() -> bool) {
        for init in &mut self.init {
            init.poll_init(self.restart_policy, oom_killed);
        }
        for app in &mut self.app {
            app.poll(self.restart_policy, oom_killed);
        }
    }

    /// The pod's phase, as `getPhase` counts its containers: `Failed` when an init container
    /// failed under restartPolicy `Never`; `Pending` until all init containers succeeded and while
    /// an app container has not started yet; `Running` while one runs, or all ended and some will
    /// restart; else `Succeeded` when all ended with exit code 0, `Failed` when one did not.
    pub fn phase(&self) -> &'static str {
        let failed =
            |c: &ContainerProcess| matches!(&c.state, State::Terminated(e) if e.exit_code != 0);
        if self.init.iter().any(failed) {
            return "Failed";
        }
        if !self.initialized() {
            return "Pending";
        }
        let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
        for c in &self.app {
            match &c.state {
                State::Running { .. } => running += 1,
                State::Terminated(e) => {
                    stopped += 1;
                    if e.exit_code == 0 {
                        succeeded += 1;
                    }
                }
                // Waiting to restart after a run is `stopped` to the kubelet, not `waiting`.
                State::Waiting { .. } if c.last_exit.is_some() => stopped += 1,
                State::Waiting { .. } => waiting += 1,
            }
        }
        if waiting > 0 || running + stopped == 0 {
            "Pending"
        } else if running > 0 || self.restart_policy == RestartPolicy::Always {
            "Running"
        } else if stopped == succeeded {
            "Succeeded"
        } else if self.restart_policy == RestartPolicy::Never {
            "Failed"
        } else {
            // OnFailure: the failed ones restart.
            "Running"
        }
    }

    /// Whether every app container runs (a container without a readiness probe is ready once
    /// started).
    pub fn ready(&self) -> bool {
        !self.app.is_empty() && self.app.iter().all(ContainerProcess::running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet::container_process::Ended;
    use serde_json::json;

    fn pod(policy: &str) -> Json {
        json!({"spec": {
            "restartPolicy": policy,
            "initContainers": [{"name": "init1"}, {"name": "init2"}],
            "containers": [{"name": "flink-main-container"}, {"name": "sidecar"}],
        }})
    }

    fn exit(code: i32) -> Ended {
        Ended {
            exit_code: code,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            started_at: String::new(),
            finished_at: String::new(),
        }
    }

    fn ended(code: i32) -> State {
        State::Terminated(exit(code))
    }

    /// Waiting to restart after a run that ended with `code`.
    fn restarting(container: &mut ContainerProcess, code: i32) {
        container.last_exit = Some(exit(code));
        container.state = State::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: String::new(),
        };
    }

    fn running() -> State {
        State::Running {
            started_at: String::new(),
        }
    }

    #[test]
    fn init_containers_come_one_at_a_time_then_every_app_container() {
        let mut containers = PodContainers::of(&pod("Always"));
        assert_eq!(containers.due(), [Which::Init(0)]);
        containers.init[0].state = ended(0);
        assert_eq!(containers.due(), [Which::Init(1)]);
        containers.init[1].state = ended(0);
        assert_eq!(containers.due(), [Which::App(0), Which::App(1)]);
        let names: Vec<(Which, &str)> = containers
            .all()
            .map(|(w, c)| (w, c.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (Which::Init(0), "init1"),
                (Which::Init(1), "init2"),
                (Which::App(0), "flink-main-container"),
                (Which::App(1), "sidecar"),
            ]
        );
    }

    #[test]
    fn the_pod_is_ready_only_while_every_app_container_runs() {
        let mut containers = PodContainers::of(&pod("Always"));
        containers.init[0].state = ended(0);
        containers.init[1].state = ended(0);
        containers.app[0].state = running();
        assert!(!containers.ready());
        assert_eq!(
            containers.phase(),
            "Pending",
            "a container not started yet keeps the pod Pending"
        );
        containers.app[1].state = running();
        assert!(containers.ready());
        assert_eq!(containers.phase(), "Running");
    }

    #[test]
    fn a_crashing_sidecar_leaves_the_pod_running_but_not_ready() {
        let mut containers = PodContainers::of(&pod("Always"));
        containers.init[0].state = ended(0);
        containers.init[1].state = ended(0);
        containers.app[0].state = running();
        restarting(&mut containers.app[1], 1);
        assert!(!containers.ready());
        assert_eq!(containers.phase(), "Running");
        restarting(&mut containers.app[0], 0);
        assert_eq!(
            containers.phase(),
            "Running",
            "under Always, all restarting is Running"
        );
    }

    #[test]
    fn without_restarts_the_phase_ends_when_every_app_container_did() {
        let mut containers = PodContainers::of(&pod("Never"));
        containers.init[0].state = ended(0);
        containers.init[1].state = ended(0);
        containers.app[0].state = ended(0);
        containers.app[1].state = running();
        assert_eq!(containers.phase(), "Running", "one still runs");
        containers.app[1].state = ended(0);
        assert_eq!(containers.phase(), "Succeeded");
        containers.app[1].state = ended(2);
        assert_eq!(containers.phase(), "Failed");

        let mut on_failure = PodContainers::of(&pod("OnFailure"));
        on_failure.init[0].state = ended(0);
        on_failure.init[1].state = ended(0);
        on_failure.app[0].state = ended(0);
        restarting(&mut on_failure.app[1], 2);
        assert_eq!(on_failure.phase(), "Running", "the failed one restarts");
    }
}
