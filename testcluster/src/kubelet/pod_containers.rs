//! The order a kubelet runs a pod's containers in (`test/e2e/common/node/init_container.go`): the
//! init containers one at a time, in order, each to completion, before the app container starts;
//! a failed init container is restarted with back-off (restartPolicy `Always` or `OnFailure`) or,
//! with `Never`, fails the pod, and nothing after it starts.

use super::container_process::{ContainerProcess, RestartPolicy, State};
use serde_json::Value as Json;

/// Which of the pod's containers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Which {
    /// The init container at this index of `spec.initContainers`.
    Init(usize),
    /// The app container (`spec.containers[0]`).
    Main,
}

/// A pod's containers and their history.
pub struct PodContainers {
    /// The init containers, in order.
    pub init: Vec<ContainerProcess>,
    /// The app container.
    pub main: ContainerProcess,
    pub restart_policy: RestartPolicy,
}

impl PodContainers {
    /// The containers of `pod`'s spec, none started.
    pub fn of(pod: &Json) -> Self {
        let spec = &pod["spec"];
        let init: Vec<ContainerProcess> = spec["initContainers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                ContainerProcess::new(c["name"].as_str().unwrap_or_default(), "PodInitializing")
            })
            .collect();
        // The kubelet's default waiting state: PodInitializing while init containers are to run.
        let waiting = if init.is_empty() {
            "ContainerCreating"
        } else {
            "PodInitializing"
        };
        let main = ContainerProcess::new(
            spec["containers"][0]["name"].as_str().unwrap_or_default(),
            waiting,
        );
        PodContainers {
            init,
            main,
            restart_policy: RestartPolicy::of(spec),
        }
    }

    /// Whether every init container succeeded (the pod's `Initialized` condition).
    pub fn initialized(&self) -> bool {
        self.init.iter().all(ContainerProcess::succeeded)
    }

    /// The container to start now, if one is due: the first init container that has not
    /// succeeded; the app container once all have.
    pub fn due(&self) -> Option<Which> {
        match self.init.iter().position(|c| !c.succeeded()) {
            Some(i) => self.init[i].due().then_some(Which::Init(i)),
            None => self.main.due().then_some(Which::Main),
        }
    }

    /// The container `which`.
    pub fn get(&mut self, which: Which) -> &mut ContainerProcess {
        match which {
            Which::Init(i) => &mut self.init[i],
            Which::Main => &mut self.main,
        }
    }

    /// Notices exited containers; `oom_killed` says whether the pod's cgroup counted a new OOM
    /// kill (it belongs to the container that just exited).
    pub fn poll(&mut self, oom_killed: &mut dyn FnMut() -> bool) {
        for init in &mut self.init {
            init.poll_init(self.restart_policy, oom_killed);
        }
        self.main.poll(self.restart_policy, oom_killed);
    }

    /// The pod's phase: `Failed` when an init container failed for good or the app container
    /// ended with an error and stays ended, `Succeeded` when it ended well, `Running` once the app
    /// container has started, else `Pending`.
    pub fn phase(&self) -> &'static str {
        let failed =
            |c: &ContainerProcess| matches!(&c.state, State::Terminated(e) if e.exit_code != 0);
        if self.init.iter().any(failed) {
            return "Failed";
        }
        match &self.main.state {
            State::Terminated(e) if e.exit_code == 0 => "Succeeded",
            State::Terminated(_) => "Failed",
            _ if self.initialized() && self.main.has_run() => "Running",
            _ => "Pending",
        }
    }

    /// Whether the app container runs (a container without a readiness probe is ready once
    /// started).
    pub fn ready(&self) -> bool {
        self.main.running()
    }
}
