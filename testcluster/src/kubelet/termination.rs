//! A pod's graceful termination, as a kubelet runs it once the API server marked the pod with a
//! `deletionTimestamp` (`pkg/kubelet/kuberuntime/kuberuntime_container.go`, `killContainer`;
//! `test/e2e/common/node/pods.go` graceful deletion): the app container's `preStop` exec hook
//! first, inside the container's namespaces, then SIGTERM to every container's processes, then
//! SIGKILL once `deletionGracePeriodSeconds` have passed since it began. Nothing restarts
//! meanwhile. Step by step, so the kubelet's loop serves the other pods in between.

use super::pod_containers::PodContainers;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A termination under way.
pub struct Termination {
    deadline: Instant,
    pre_stop: Option<Child>,
    signalled: bool,
    killed: bool,
}

impl Termination {
    /// Begins stopping `containers` within `grace`, running `pre_stop` (the app container's
    /// `lifecycle.preStop.exec.command`, with its environment `env`) first when it runs.
    pub fn begin(
        containers: &PodContainers,
        grace: Duration,
        pre_stop: &[String],
        env: &[(String, String)],
    ) -> Self {
        let pre_stop = match (containers.main.pid(), pre_stop.is_empty()) {
            (Some(pid), false) => Command::new("nsenter")
                .args(["-t", &pid.to_string(), "-m", "-u", "-n", "--"])
                .args(pre_stop)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| eprintln!("kubelet: the preStop hook did not start: {e}"))
                .ok(),
            _ => None,
        };
        Termination {
            deadline: Instant::now() + grace,
            pre_stop,
            signalled: false,
            killed: false,
        }
    }

    /// One step: waits for the hook, signals, notices exits, kills at the deadline. `true` once
    /// no container of the pod runs.
    pub fn step(&mut self, containers: &mut PodContainers) -> bool {
        let overdue = Instant::now() >= self.deadline;
        if let Some(hook) = &mut self.pre_stop {
            let done = !matches!(hook.try_wait(), Ok(None));
            if !done && !overdue {
                return false;
            }
            if !done {
                let _ = hook.kill();
            }
            let _ = hook.wait();
            self.pre_stop = None;
        }
        if !self.signalled {
            for c in containers.init.iter().chain([&containers.main]) {
                c.signal("-TERM");
            }
            self.signalled = true;
        }
        if overdue && !self.killed {
            for c in containers.init.iter().chain([&containers.main]) {
                c.signal("-KILL");
            }
            self.killed = true;
        }
        let mut stopped = true;
        for c in containers.init.iter_mut().chain([&mut containers.main]) {
            stopped &= c.poll_stopping();
        }
        stopped
    }
}
