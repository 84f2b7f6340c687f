//! A pod's graceful termination, as a kubelet runs it once the API server marked the pod with a
//! `deletionTimestamp` (`pkg/kubelet/kuberuntime/kuberuntime_container.go`, `killContainer`;
//! `test/e2e/common/node/pods.go` graceful deletion): every running container is stopped at once,
//! each on its own: its `preStop` exec hook first when it has one, inside the container's
//! namespaces, then SIGTERM to its processes; SIGKILL to all once `deletionGracePeriodSeconds`
//! have passed since it began. Nothing restarts meanwhile. Step by step, so the kubelet's loop
//! serves the other pods in between.

use super::pod_containers::{PodContainers, Which};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// An app container's `lifecycle.preStop.exec.command` and the environment it runs with (the
/// container's own).
pub struct PreStop<'a> {
    pub command: Vec<String>,
    pub env: &'a [(String, String)],
}

/// A termination under way.
pub struct Termination {
    deadline: Instant,
    /// Per container, in the order of [`PodContainers::all`]: its preStop hook while it runs.
    hooks: Vec<Option<Child>>,
    /// Per container, likewise: whether it was sent SIGTERM.
    signalled: Vec<bool>,
    killed: bool,
}

impl Termination {
    /// Begins stopping `containers` within `grace`, starting the hook of each running app
    /// container that has one (`pre_stop[i]` is app container `i`'s).
    pub fn begin(containers: &PodContainers, grace: Duration, pre_stop: &[PreStop]) -> Self {
        let hooks: Vec<Option<Child>> = containers
            .all()
            .map(|(which, c)| {
                let Which::App(i) = which else {
                    return None;
                };
                let hook = pre_stop.get(i).filter(|h| !h.command.is_empty())?;
                super::container_process::exec_in(c.pid()?, &hook.command, hook.env)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| {
                        eprintln!("kubelet: the preStop hook of {} did not start: {e}", c.name)
                    })
                    .ok()
            })
            .collect();
        Termination {
            deadline: Instant::now() + grace,
            signalled: vec![false; hooks.len()],
            hooks,
            killed: false,
        }
    }

    /// One step: signals each container whose hook is done (or has none), notices exits, kills
    /// at the deadline. `true` once no container of the pod runs.
    pub fn step(&mut self, containers: &mut PodContainers) -> bool {
        let overdue = Instant::now() >= self.deadline;
        for (i, (_, c)) in containers.all().enumerate() {
            if self.signalled[i] {
                continue;
            }
            if let Some(hook) = &mut self.hooks[i] {
                let done = !matches!(hook.try_wait(), Ok(None));
                if !done && !overdue {
                    continue;
                }
                if !done {
                    let _ = hook.kill();
                }
                let _ = hook.wait();
                self.hooks[i] = None;
            }
            c.signal("-TERM");
            self.signalled[i] = true;
        }
        if overdue && !self.killed {
            for (_, c) in containers.all() {
                c.signal("-KILL");
            }
            self.killed = true;
        }
        let mut stopped = true;
        for c in containers.all_mut() {
            stopped &= c.poll_stopping();
        }
        stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet::container_process::State;
    use serde_json::json;
    use std::process::Command;

    fn start(containers: &mut PodContainers, i: usize, script: &str, dir: &std::path::Path) {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        containers.app[i].start(command, dir);
    }

    fn exit_code(containers: &PodContainers, i: usize) -> Option<i32> {
        match &containers.app[i].state {
            State::Terminated(e) => Some(e.exit_code),
            _ => None,
        }
    }

    /// Steps `termination` until the pod stopped or `until` says so; how long it took.
    fn step_until(
        termination: &mut Termination,
        containers: &mut PodContainers,
        mut until: impl FnMut(&PodContainers) -> bool,
    ) -> Duration {
        let began = Instant::now();
        while !termination.step(containers) && !until(containers) {
            assert!(began.elapsed() < Duration::from_secs(10), "did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        began.elapsed()
    }

    fn two_containers() -> PodContainers {
        PodContainers::of(&json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}))
    }

    #[test]
    fn every_container_gets_sigterm_and_sigkill_once_the_grace_period_is_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut containers = two_containers();
        start(
            &mut containers,
            0,
            "trap 'exit 0' TERM; while :; do sleep 0.1; done",
            dir.path(),
        );
        start(
            &mut containers,
            1,
            "trap '' TERM; while :; do sleep 0.1; done",
            dir.path(),
        );
        std::thread::sleep(Duration::from_millis(200));
        let mut termination = Termination::begin(&containers, Duration::from_secs(1), &[]);
        step_until(&mut termination, &mut containers, |c| {
            exit_code(c, 0).is_some()
        });
        assert_eq!(exit_code(&containers, 0), Some(0), "a handled its SIGTERM");
        assert_eq!(exit_code(&containers, 1), None, "b ignores it");
        step_until(&mut termination, &mut containers, |_| false);
        assert_eq!(exit_code(&containers, 1), Some(137), "b was killed");
    }

    #[test]
    fn a_containers_pre_stop_hook_delays_its_own_sigterm_only() {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout == b"0\n");
        if !root {
            eprintln!("skipped: nsenter into a container's namespaces needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let done = dir.path().join("hook-done");
        let mut containers = two_containers();
        let handled = format!(
            "trap 'test -f {} && exit 0; exit 3' TERM; while :; do sleep 0.1; done",
            done.display()
        );
        start(&mut containers, 0, &handled, dir.path());
        start(
            &mut containers,
            1,
            "trap 'exit 0' TERM; while :; do sleep 0.1; done",
            dir.path(),
        );
        std::thread::sleep(Duration::from_millis(200));
        let hook = PreStop {
            command: vec!["sh".into(), "-c".into(), "sleep 1; touch \"$DONE\"".into()],
            env: &[("DONE".into(), done.display().to_string())],
        };
        let none = PreStop {
            command: Vec::new(),
            env: &[],
        };
        let mut termination =
            Termination::begin(&containers, Duration::from_secs(20), &[hook, none]);
        step_until(&mut termination, &mut containers, |c| {
            exit_code(c, 1).is_some()
        });
        assert_eq!(exit_code(&containers, 1), Some(0));
        assert!(!done.exists(), "b was not kept waiting for a's hook");
        assert_eq!(exit_code(&containers, 0), None, "a waits for its hook");
        step_until(&mut termination, &mut containers, |_| false);
        assert_eq!(
            exit_code(&containers, 0),
            Some(0),
            "a got SIGTERM after its hook ended"
        );
    }
}
