//! One container of a pod as a local process: started from a prepared command, its output in its
//! own log (the run before kept for `--previous`), how it ended (exit code, `Completed`, `Error` or
//! `OOMKilled`, start and finish times), and whether and when it runs again: the pod's
//! `restartPolicy` decides (`Always`, `OnFailure`, `Never`), with the kubelet's back-off of 10 s
//! doubling to 5 minutes, `CrashLoopBackOff` meanwhile (kubelet `kuberuntime_manager.go`,
//! `doBackOff`). This is the state `containerStatuses[]` and `initContainerStatuses[]` report.

use super::log_files;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a container run ended, as `state.terminated` / `lastState.terminated` report it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub exit_code: i32,
    /// `Completed` (exit code 0), `OOMKilled` or `Error`.
    pub reason: String,
    pub started_at: String,
    pub finished_at: String,
}

/// What the container is doing, as `state` reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Not running: `reason` (e.g. `ContainerCreating`, `PodInitializing`, `CrashLoopBackOff`,
    /// `CreateContainerConfigError`, `ErrImagePull`) and a message.
    Waiting { reason: String, message: String },
    /// Running since.
    Running { started_at: String },
    /// Ended and not restarted (an init container that succeeded, or restartPolicy says so).
    Terminated(Ended),
}

/// The pod's `restartPolicy`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

impl RestartPolicy {
    /// From the pod spec; `Always` when unset, as the API server defaults it.
    pub fn of(spec: &serde_json::Value) -> RestartPolicy {
        match spec["restartPolicy"].as_str() {
            Some("Never") => RestartPolicy::Never,
            Some("OnFailure") => RestartPolicy::OnFailure,
            _ => RestartPolicy::Always,
        }
    }
}

/// One container and its history.
pub struct ContainerProcess {
    pub name: String,
    child: Option<Child>,
    started_at: String,
    /// Times it was restarted.
    pub restarts: u32,
    pub state: State,
    /// The run before the current state, when there was one.
    pub last_exit: Option<Ended>,
    next_start: Instant,
    /// Times it was started: tells one run from the next.
    pub runs: u32,
}

pub use crate::store::now;

impl ContainerProcess {
    /// A container not started yet, waiting with `reason` (`ContainerCreating`, or
    /// `PodInitializing` in a pod with init containers, as the kubelet's default waiting state).
    pub fn new(name: &str, reason: &str) -> Self {
        ContainerProcess {
            name: name.to_string(),
            child: None,
            started_at: String::new(),
            restarts: 0,
            state: State::Waiting {
                reason: reason.into(),
                message: String::new(),
            },
            last_exit: None,
            next_start: Instant::now(),
            runs: 0,
        }
    }

    /// Whether it is time to (re)start it.
    pub fn due(&self) -> bool {
        self.child.is_none()
            && !matches!(self.state, State::Terminated(_))
            && Instant::now() >= self.next_start
    }

    /// Whether it ended with exit code 0 and stays ended (an init container's success).
    pub fn succeeded(&self) -> bool {
        matches!(&self.state, State::Terminated(e) if e.exit_code == 0)
    }

    /// Whether its process runs.
    pub fn running(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// Reports that it cannot be created yet, and tries again in a moment.
    pub fn cannot_start(&mut self, reason: &str, message: String) {
        self.state = State::Waiting {
            reason: reason.into(),
            message,
        };
        self.next_start = Instant::now() + Duration::from_secs(2);
    }

    /// Starts `command` (its environment and namespaces set by the pod), its output into this
    /// container's log, in a process group of its own.
    pub fn start(&mut self, mut command: Command, pod_dir: &Path) {
        let log = match log_files::rotate(pod_dir, &self.name).and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        }) {
            Ok(f) => f,
            Err(e) => return self.cannot_start("RunContainerError", format!("its log: {e}")),
        };
        let Ok(log_err) = log.try_clone() else {
            return self.cannot_start("RunContainerError", "its log".into());
        };
        command.stdin(Stdio::null()).stdout(log).stderr(log_err);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        match command.spawn() {
            Ok(child) => {
                self.child = Some(child);
                self.runs += 1;
                self.started_at = now();
                self.state = State::Running {
                    started_at: self.started_at.clone(),
                };
            }
            Err(e) => self.cannot_start("RunContainerError", e.to_string()),
        }
    }

    /// Notices that its process exited: records how (`oom_killed` when the pod's memory cgroup
    /// counted a new OOM kill) and, as `policy` says, schedules the restart with back-off or
    /// leaves it terminated. `true` when it just exited.
    pub fn poll(&mut self, policy: RestartPolicy, oom_killed: &mut dyn FnMut() -> bool) -> bool {
        let Some(child) = &mut self.child else {
            return false;
        };
        let Ok(Some(status)) = child.try_wait() else {
            return false;
        };
        self.child = None;
        let exit_code = exit_code(status);
        let reason = if oom_killed() {
            "OOMKilled"
        } else if exit_code == 0 {
            "Completed"
        } else {
            "Error"
        };
        let ended = Ended {
            exit_code,
            reason: reason.into(),
            started_at: self.started_at.clone(),
            finished_at: now(),
        };
        let restart = match policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => exit_code != 0,
            RestartPolicy::Never => false,
        };
        if !restart {
            self.state = State::Terminated(ended);
            return true;
        }
        self.last_exit = Some(ended);
        self.restarts += 1;
        let backoff = Duration::from_secs(10 * 2u64.pow(self.restarts.min(6) - 1))
            .min(Duration::from_secs(300));
        self.next_start = Instant::now() + backoff;
        self.state = State::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: format!(
                "back-off {}s restarting failed container={}",
                backoff.as_secs(),
                self.name
            ),
        };
        true
    }

    /// An init container that succeeded, rerun only when it fails: restartPolicy `Always` means
    /// `OnFailure` for init containers (they run to completion).
    pub fn poll_init(&mut self, policy: RestartPolicy, oom: &mut dyn FnMut() -> bool) -> bool {
        let policy = match policy {
            RestartPolicy::Never => RestartPolicy::Never,
            _ => RestartPolicy::OnFailure,
        };
        self.poll(policy, oom)
    }

    /// The id of its process (the one in its namespaces) and of its process group, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends `signal` (`-TERM`, `-KILL`) to its process group, if it runs.
    pub fn signal(&self, signal_name: &str) {
        if let Some(pid) = self.pid() {
            signal(signal_name, &format!("-{pid}"));
        }
    }

    /// While the pod terminates: notices that its process exited and leaves it terminated (no
    /// restart, whatever the policy). `true` once it does not run.
    pub fn poll_stopping(&mut self) -> bool {
        let Some(child) = &mut self.child else {
            return true;
        };
        let Ok(Some(status)) = child.try_wait() else {
            return false;
        };
        // The rest of its group goes with it, as its container would.
        signal("-KILL", &format!("-{}", child.id()));
        self.child = None;
        let exit_code = exit_code(status);
        self.state = State::Terminated(Ended {
            exit_code,
            reason: if exit_code == 0 { "Completed" } else { "Error" }.into(),
            started_at: self.started_at.clone(),
            finished_at: now(),
        });
        true
    }

    /// Stops its process group: SIGTERM, up to `grace` for it to exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        signal("-TERM", &group);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Also the group's other processes; a group that exited already is fine.
        signal("-KILL", &group);
        let _ = child.wait();
    }
}

/// `command` as it runs inside the namespaces of the container whose process is `pid` (a hook's
/// or an exec probe's, as the runtime's exec), with the container's environment `env`.
pub fn exec_in(pid: u32, command: &[String], env: &[(String, String)]) -> Command {
    let mut exec = Command::new("nsenter");
    exec.args(["-t", &pid.to_string(), "-m", "-u", "-n", "--"])
        .args(command)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null());
    exec
}

/// Sends `signal` to the process group `group` (`-<pgid>`), quietly: a group gone already is fine.
pub fn signal(signal: &str, group: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", group])
        .stderr(Stdio::null())
        .status();
}

/// The exit code a container runtime reports: the process's, or 128 + the signal that ended it.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(137)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(process: &mut ContainerProcess, script: &str, dir: &Path) {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        process.start(command, dir);
        for _ in 0..100 {
            if process
                .child
                .as_mut()
                .unwrap()
                .try_wait()
                .unwrap()
                .is_some()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{script} did not end");
    }

    #[test]
    fn a_failed_container_backs_off_and_keeps_its_previous_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut init = ContainerProcess::new("fetch", "PodInitializing");
        run(&mut init, "echo first; exit 8", dir.path());
        assert!(init.poll_init(RestartPolicy::Always, &mut || false));
        assert_eq!(init.restarts, 1);
        assert_eq!(init.last_exit.as_ref().unwrap().exit_code, 8);
        assert_eq!(init.last_exit.as_ref().unwrap().reason, "Error");
        assert!(
            matches!(&init.state, State::Waiting { reason, .. } if reason == "CrashLoopBackOff")
        );
        assert!(!init.due(), "it waits its back-off");

        init.next_start = Instant::now();
        run(&mut init, "echo second", dir.path());
        assert!(init.poll_init(RestartPolicy::Always, &mut || false));
        assert!(init.succeeded(), "{:?}", init.state);
        assert!(!init.due(), "a completed init container stays completed");
        let read = |p| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(log_files::current(dir.path(), "fetch")), "second\n");
        assert_eq!(read(log_files::previous(dir.path(), "fetch")), "first\n");
    }

    #[test]
    fn restart_policy_never_leaves_it_terminated() {
        let dir = tempfile::tempdir().unwrap();
        let mut main = ContainerProcess::new("main", "ContainerCreating");
        run(&mut main, "kill -TERM $$", dir.path());
        assert!(main.poll(RestartPolicy::Never, &mut || false));
        let State::Terminated(ended) = &main.state else {
            panic!("{:?}", main.state);
        };
        assert_eq!((ended.exit_code, ended.reason.as_str()), (143, "Error"));
        assert_eq!(main.restarts, 0);
        assert!(!main.due());
    }
}
