//! One pod on this machine: its working directory (volumes, hosts file, logs), its network
//! namespace and memory cgroup, and its containers (in the order `pod_containers` says). Each
//! container runs in the pod's network namespace with a mount and UTS namespace of its own, set
//! up by its script. Each running app container's probes run while it runs (`probes`); one whose
//! liveness or startup probe failed is stopped as the kubelet stops it (SIGTERM, SIGKILL after
//! the grace period) and restarts as its pod's `restartPolicy` says.

use super::memory::PodMemory;
use super::network;
use super::pod_containers::{PodContainers, Which};
use super::probes::{ContainerProbes, Target};
use super::termination::{PreStop, Termination};
use serde_json::Value as Json;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

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
    /// Each app container's probes, for the run they were started for.
    probes: Vec<Option<(u32, ContainerProbes)>>,
    /// Each app container being killed for a failed probe: when SIGKILL follows.
    probe_kills: Vec<Option<Instant>>,
}

/// What the kubelet records as Events after probing: (type, reason, message).
pub type ProbeEvent = (&'static str, &'static str, String);

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
            probes: (0..containers.app.len()).map(|_| None).collect(),
            probe_kills: vec![None; containers.app.len()],
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

    /// Keeps the probes of `pod`'s running app containers going: starts them for a new run,
    /// stops them with it, and kills a container whose liveness or startup probe failed
    /// (`terminationGracePeriodSeconds`, the probe's own if set, before SIGKILL). The Events to
    /// record.
    pub fn probe(&mut self, pod: &Json) -> Vec<ProbeEvent> {
        let mut events = Vec::new();
        let specs = pod["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (i, c) in self.containers.app.iter().enumerate() {
            let spec = specs.get(i).unwrap_or(&Json::Null);
            if !c.running() {
                self.probes[i] = None;
                self.probe_kills[i] = None;
                continue;
            }
            if let Some(at) = self.probe_kills[i] {
                if Instant::now() >= at {
                    c.signal("-KILL");
                }
                continue;
            }
            if self.probes[i]
                .as_ref()
                .is_none_or(|(run, _)| *run != c.runs)
            {
                let target = Target {
                    address: self.address.into(),
                    pid: c.pid(),
                    env: self.app_env[i].clone(),
                };
                self.probes[i] = Some((c.runs, ContainerProbes::start(spec, &target)));
            }
            let Some((_, probes)) = &self.probes[i] else {
                continue;
            };
            events.extend(
                probes
                    .take_unhealthy()
                    .into_iter()
                    .map(|m| ("Warning", "Unhealthy", m)),
            );
            if let Some(failed) = probes.take_failed() {
                let grace = spec[failed.field()]["terminationGracePeriodSeconds"]
                    .as_u64()
                    .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_u64())
                    .unwrap_or(30);
                events.push((
                    "Normal",
                    "Killing",
                    format!(
                        "Container {} failed {} probe, will be restarted",
                        c.name,
                        failed.word().to_lowercase()
                    ),
                ));
                c.signal("-TERM");
                self.probe_kills[i] = Some(Instant::now() + Duration::from_secs(grace));
            }
        }
        events
    }

    /// App container `i`'s `started` and `ready`, as its probes say.
    pub fn started_and_ready(&self, i: usize) -> (bool, bool) {
        let running = self.containers.app.get(i).is_some_and(|c| c.running());
        match &self.probes.get(i).and_then(Option::as_ref) {
            _ if !running => (false, false),
            Some((_, probes)) => (probes.started(), probes.ready()),
            // Not probed yet this run: what a container with no probes would be.
            None => (true, true),
        }
    }

    /// Whether the pod is ready: every app container running and ready.
    pub fn ready(&self) -> bool {
        self.containers.ready()
            && (0..self.containers.app.len()).all(|i| self.started_and_ready(i).1)
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
