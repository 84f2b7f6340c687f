//! One pod on this machine: its working directory (volumes, hosts file, logs), its network
//! namespace and memory cgroup, and its containers (in the order `pod_containers` says). Each
//! container runs in the pod's network namespace with a mount and UTS namespace of its own, set
//! up by its script.

use super::memory::PodMemory;
use super::network;
use super::pod_containers::{PodContainers, Which};
use super::termination::{PreStop, Termination};
use serde_json::Value as Json;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A pod's processes and their history.
pub struct PodRuntime {
    /// Pod number (network namespace and address).
    pub n: u32,
    /// Pod IP.
    pub address: Ipv4Addr,
    /// Working directory.
    pub dir: PathBuf,
    /// Its containers, in the order they run.
    pub containers: PodContainers,
    /// Its memory cgroup, when the machine has one to give; OOM kills seen in it so far.
    memory: Option<PodMemory>,
    oom_kills: u64,
    /// Each app container's environment as last started, for its preStop hook.
    app_env: Vec<Vec<(String, String)>>,
    /// Its graceful termination, once the pod is being deleted.
    terminating: Option<Termination>,
}

impl PodRuntime {
    /// Pod `pod`, its network set up, its containers waiting to start; its processes kept in
    /// `memory` when given.
    pub fn new(
        n: u32,
        dir: PathBuf,
        memory: Option<PodMemory>,
        pod: &Json,
    ) -> Result<Self, String> {
        let address = network::pod_address(n);
        network::create_pod_network(n, address)?;
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let containers = PodContainers::of(pod);
        Ok(PodRuntime {
            n,
            address,
            dir,
            app_env: vec![Vec::new(); containers.app.len()],
            containers,
            memory,
            oom_kills: 0,
            terminating: None,
        })
    }

    /// Starts `script` as container `which`, in the pod's namespaces and cgroup, with `env`.
    pub fn start(&mut self, which: Which, script: &str, env: &[(String, String)]) {
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
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let dir = self.dir.clone();
        if let Which::App(i) = which {
            self.app_env[i] = env.to_vec();
        }
        self.containers.get(which).start(command, &dir);
    }

    /// Notices exited containers and records how they ended.
    pub fn poll(&mut self) {
        let memory = &self.memory;
        let seen = &mut self.oom_kills;
        self.containers.poll(&mut || {
            let kills = memory.as_ref().map_or(0, PodMemory::oom_kills);
            let new = kills > *seen;
            *seen = kills;
            new
        });
    }

    /// Whether its graceful termination began.
    pub fn terminating(&self) -> bool {
        self.terminating.is_some()
    }

    /// One step of its graceful termination within `grace` (begun at the first call), each app
    /// container's `pre_stop` command (`pre_stop[i]` is app container `i`'s) run before it is
    /// signalled; `true` once none of its containers runs.
    pub fn terminate(&mut self, grace: Duration, pre_stop: Vec<Vec<String>>) -> bool {
        let containers = &mut self.containers;
        let env = &self.app_env;
        let termination = self.terminating.get_or_insert_with(|| {
            let hooks: Vec<PreStop> = pre_stop
                .into_iter()
                .zip(env)
                .map(|(command, env)| PreStop { command, env })
                .collect();
            Termination::begin(containers, grace, &hooks)
        });
        termination.step(containers)
    }

    /// Stops every container's processes and removes the network namespace.
    pub fn stop(&mut self) {
        // All signalled first, so that they exit together rather than one grace after another.
        for (_, c) in self.containers.all() {
            c.signal("-TERM");
        }
        for c in self.containers.all_mut() {
            c.stop(Duration::from_secs(5));
        }
        network::delete_pod_network(self.n);
    }
}

impl Drop for PodRuntime {
    fn drop(&mut self) {
        self.stop();
    }
}
