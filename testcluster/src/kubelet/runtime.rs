//! One pod's process on this machine: its working directory (volumes, hosts file, logs), its
//! network namespace, the `sh` that sets up its mount namespace and execs the container, restarts
//! with back-off after it exits (restartPolicy Always), and what a kubelet reports of it.

use super::memory::PodMemory;
use super::network;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the container is doing, as `containerStatuses[].state` reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Not running: `reason` (e.g. `ContainerCreating`, `CrashLoopBackOff`,
    /// `CreateContainerConfigError`, `ErrImagePull`) and a message.
    Waiting { reason: String, message: String },
    /// Running since.
    Running { started_at: String },
}

/// A pod's process and its history.
pub struct PodRuntime {
    /// Pod number (network namespace and address).
    pub n: u32,
    /// Pod IP.
    pub address: Ipv4Addr,
    /// Working directory.
    pub dir: PathBuf,
    child: Option<Child>,
    /// Times the container restarted.
    pub restarts: u32,
    /// Current state.
    pub state: State,
    /// The last termination: exit code and reason.
    pub last_exit: Option<(i32, String)>,
    next_start: Instant,
    /// Its memory cgroup, when the machine has one to give; OOM kills seen in it so far.
    memory: Option<PodMemory>,
    oom_kills: u64,
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl PodRuntime {
    /// A pod whose network is set up and which waits to be started, its processes kept in
    /// `memory` when given.
    pub fn new(n: u32, dir: PathBuf, memory: Option<PodMemory>) -> Result<Self, String> {
        let address = network::pod_address(n);
        network::create_pod_network(n, address)?;
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(PodRuntime {
            n,
            address,
            dir,
            child: None,
            restarts: 0,
            state: State::Waiting {
                reason: "ContainerCreating".into(),
                message: String::new(),
            },
            last_exit: None,
            next_start: Instant::now(),
            memory,
            oom_kills: 0,
        })
    }

    /// The container's output (what `pods/log` serves).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("container.log")
    }

    /// Whether it is time to (re)start the container.
    pub fn due(&self) -> bool {
        self.child.is_none() && Instant::now() >= self.next_start
    }

    /// Reports that the container cannot be created yet, and tries again in a moment.
    pub fn cannot_start(&mut self, reason: &str, message: String) {
        self.state = State::Waiting {
            reason: reason.into(),
            message,
        };
        self.next_start = Instant::now() + Duration::from_secs(2);
    }

    /// Starts `script` in the pod's namespaces with `env`.
    pub fn start(&mut self, script: &str, env: &[(String, String)]) {
        let log = match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
        {
            Ok(f) => f,
            Err(e) => return self.cannot_start("RunContainerError", e.to_string()),
        };
        let Ok(log_err) = log.try_clone() else {
            return self.cannot_start("RunContainerError", "log file".into());
        };
        // A shell joins the memory cgroup and execs the rest: `ip netns exec` mounts a sysfs of
        // the network namespace, in which the cgroup hierarchy is not to be found.
        let mut command = Command::new("sh");
        let join = match &self.memory {
            Some(memory) => format!("echo $$ > '{}' && ", memory.procs().display()),
            None => String::new(),
        };
        command
            .args(["-c", &format!("{join}exec \"$@\""), "sh"])
            .args(["ip", "netns", "exec", &network::namespace_name(self.n)])
            .args([
                "unshare",
                "--mount",
                "--uts",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // The official image runs Flink as user `flink`, whose home is Flink's.
            .env("HOME", super::container::FLINK_HOME)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        match command.spawn() {
            Ok(child) => {
                self.child = Some(child);
                self.state = State::Running { started_at: now() };
            }
            Err(e) => self.cannot_start("RunContainerError", e.to_string()),
        }
    }

    /// Notices an exited container: records it and schedules the restart with back-off
    /// (10 s doubling up to 5 minutes, as the kubelet's CrashLoopBackOff).
    pub fn poll(&mut self) {
        let Some(child) = &mut self.child else {
            return;
        };
        let Ok(Some(status)) = child.try_wait() else {
            return;
        };
        self.child = None;
        let code = status.code().unwrap_or(137);
        let oom_kills = self.memory.as_ref().map_or(0, PodMemory::oom_kills);
        let reason = if oom_kills > self.oom_kills {
            "OOMKilled"
        } else if code == 0 {
            "Completed"
        } else {
            "Error"
        };
        self.oom_kills = oom_kills;
        self.last_exit = Some((code, reason.into()));
        self.restarts += 1;
        let backoff = Duration::from_secs(10 * 2u64.pow(self.restarts.min(5) - 1))
            .min(Duration::from_secs(300));
        self.next_start = Instant::now() + backoff;
        self.state = State::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: format!(
                "back-off {}s restarting failed container",
                backoff.as_secs()
            ),
        };
    }

    /// Whether the container runs (a container without a readiness probe is ready once started).
    pub fn ready(&self) -> bool {
        matches!(self.state, State::Running { .. })
    }

    /// Stops the process group and removes the network namespace.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill")
                .args(["-TERM", "--", &group])
                .stderr(std::process::Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // A group that exited already is fine; kill's complaint about it is noise.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(std::process::Stdio::null())
                .status();
            let _ = child.wait();
        }
        network::delete_pod_network(self.n);
    }
}

impl Drop for PodRuntime {
    fn drop(&mut self) {
        self.stop();
    }
}
