//! The local kubelet of `kube-test-server --run-pods`: Deployments get Pods, and each Pod's
//! containers run as real local processes in its own network namespace (its pod IP), each in a
//! mount namespace of its own (its volumes at their mount paths): a Flink image's container as
//! the Java process its entrypoint starts, any other (init containers, sidecars) as its command
//! on this machine's tools. With them the status a kubelet reports (phase, Ready from the
//! containers' probes, each container's state and restarts, pod IP), Endpoints for Services, Service names in a hosts
//! file, and NetworkPolicy ingress rules in each pod's network namespace. Stopping the server
//! stops every process it started.
//!
//! Layout: `pods` (the controllers' work against the store) -> `volumes` and `container` (what a
//! pod runs) -> `runtime` (the process) on `network` (namespaces, addresses, hosts) and `image`
//! (image tag to Flink distribution).

mod container;
mod container_process;
mod image;
pub use image::CustomImage;
pub mod log_files;
mod memory;
mod network;
mod network_policy;
mod pod_containers;
mod pod_events;
mod pod_status;
mod pods;
mod probes;
mod replica_sets;
mod runtime;
mod security;
mod service_account;
mod termination;
mod volumes;

use crate::http::Shared;
use crate::RunningServer;
use pod_containers::Which;
use runtime::PodRuntime;
use serde_json::Value as Json;
use service_account::InClusterApi;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where pods live and where Flink distributions come from.
#[derive(Debug, Clone)]
pub struct Options {
    /// Per-pod working directories go under it.
    pub work_dir: PathBuf,
    /// `scripts/fetch-flink.sh`: prints the distribution directory of a Flink release.
    pub fetch_script: PathBuf,
    /// Custom images by the name pods give (`--image NAME=BASE+DIR`).
    pub images: BTreeMap<String, CustomImage>,
}

/// A running kubelet; dropping it stops every pod process.
pub struct Kubelet {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Why pods cannot run on this machine, if they cannot.
pub fn check_host() -> Result<(), String> {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !root {
        return Err("--run-pods needs root (network and mount namespaces per pod)".into());
    }
    for tool in ["ip", "unshare", "nsenter", "java", "mount", "nft"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !found {
            let package = if tool == "nft" {
                " (Debian's nftables: pods' NetworkPolicy rules)"
            } else {
                ""
            };
            return Err(format!("--run-pods needs `{tool}` on PATH{package}"));
        }
    }
    network::ensure_bridge()
}

impl Kubelet {
    /// Starts the kubelet over the server's store, after checking the host can run pods; the
    /// server also listens at the pods' gateway, where their in-cluster clients reach it.
    pub fn start(server: &RunningServer, options: Options) -> Result<Kubelet, String> {
        check_host()?;
        let address = server
            .listen_also(&format!("{}:0", network::GATEWAY))
            .map_err(|e| format!("the in-cluster API listener: {e}"))?;
        let api = InClusterApi {
            address,
            ca_pem: server.ca_pem.clone(),
        };
        let shared = server.shared.clone();
        std::fs::create_dir_all(&options.work_dir)
            .map_err(|e| format!("{}: {e}", options.work_dir.display()))?;
        let _ = shared.pods_dir.set(options.work_dir.clone());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || run(&shared, &options, &api, &stop))
        };
        Ok(Kubelet {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A pod number unique on this machine for the life of this process (and so a unique network
/// namespace and address): kubelets of one process count together, and each process counts in
/// its own block of 300, chosen by its pid, so two servers on one machine do not collide.
fn pod_number() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let block = std::process::id() % 200;
    block * 300 + 1 + NEXT.fetch_add(1, Ordering::Relaxed) % 299
}

fn run(shared: &Shared, options: &Options, api: &InClusterApi, stop: &AtomicBool) {
    // Declared before the runtimes, so it is removed after their cgroups.
    let memory_root = memory::Root::create()
        .map_err(|e| eprintln!("kubelet: pods run without memory limits: {e}"))
        .ok();
    let store = &shared.store;
    let mut runtimes: BTreeMap<(String, String), PodRuntime> = BTreeMap::new();
    let mut serial = 0u64;
    let mut services = BTreeMap::new();
    let mut policed = BTreeMap::new();
    while !stop.load(Ordering::Relaxed) {
        {
            let ready = |ns: &str, name: &str| {
                runtimes
                    .get(&(ns.to_string(), name.to_string()))
                    .is_some_and(PodRuntime::ready)
            };
            replica_sets::reconcile_deployments(store, &ready);
            replica_sets::reconcile_replica_sets(store, &ready, &mut serial);
        }
        let pods = pods::pods(store);
        runtimes.retain(|key, _| pods.iter().any(|p| pods::key(p) == *key));
        for pod in &pods {
            let key = pods::key(pod);
            let deleting = pods::terminating(pod);
            if deleting && !runtimes.contains_key(&key) {
                // Nothing of it runs here: it goes at once.
                pods::remove(store, pod);
                continue;
            }
            pods::bind(store, pod);
            if !runtimes.contains_key(&key) {
                let dir = options.work_dir.join(&key.0).join(&key.1);
                let n = pod_number();
                let limit = memory::pod_limit(&pod["spec"]);
                let cgroup = match (&memory_root, limit) {
                    (Some(root), Some(bytes)) => root
                        .pod(n, bytes)
                        .map_err(|e| eprintln!("kubelet: pod {}: no memory limit: {e}", key.1))
                        .ok(),
                    _ => None,
                };
                match PodRuntime::new(n, dir, cgroup, pod) {
                    Ok(r) => {
                        runtimes.insert(key.clone(), r);
                    }
                    Err(e) => {
                        eprintln!("kubelet: pod {}: cannot set up its network: {e}", key.1);
                        continue;
                    }
                }
            }
            let Some(runtime) = runtimes.get_mut(&key) else {
                continue;
            };
            if deleting {
                let grace = pod["metadata"]["deletionGracePeriodSeconds"]
                    .as_u64()
                    .unwrap_or(30);
                let pre_stop = pod["spec"]["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(container::pre_stop_command)
                    .collect();
                if !runtime.terminating() {
                    pod_events::killing(store, pod);
                }
                if runtime.terminate(Duration::from_secs(grace), pre_stop) {
                    pods::remove(store, pod);
                    runtimes.remove(&key);
                    continue;
                }
            } else {
                runtime.poll();
            }
            let due = if runtime.terminating() {
                Vec::new()
            } else {
                runtime.containers.due()
            };
            for which in due {
                match prepare(shared, pod, which, runtime, &services, options, api) {
                    Ok(ready) => runtime.start(which, &ready.script, &ready.env),
                    Err(not) => runtime
                        .containers
                        .get(which)
                        .cannot_start(not.reason, not.message),
                }
            }
            if !runtime.terminating() {
                for (kind, reason, message) in runtime.probe(pod) {
                    pod_events::kubelet(store, pod, kind, reason, &message);
                }
            }
            let probed =
                |i: usize, _: &container_process::ContainerProcess| runtime.started_and_ready(i);
            let status =
                pod_status::probed_status(pod, &runtime.containers, runtime.address, &probed);
            pods::write_pod_status(store, pod, status);
        }
        let running: Vec<network_policy::Running> = runtimes
            .iter()
            .map(|((namespace, name), r)| network_policy::Running {
                namespace: namespace.clone(),
                name: name.clone(),
                n: r.n,
                address: r.address,
            })
            .collect();
        network_policy::enforce(store, &running, &mut policed);
        let names = pods::reconcile_endpoints(store);
        if names != services {
            services = names;
            for (key, runtime) in &runtimes {
                let _ = std::fs::write(
                    runtime.dir.join("hosts"),
                    network::hosts_file(&key.1, runtime.address, &services),
                );
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // Dropping the runtimes stops their processes and namespaces.
}

/// Where claims' volumes live under the work directory: a name no namespace can have.
const CLAIMS_DIR: &str = "_persistent-volumes";

/// The `PATH` of the images whose commands run on the host's tools (busybox's, the AWS CLI's,
/// Docker's default).
const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a pod's container starts with.
struct Prepared {
    script: String,
    env: Vec<(String, String)>,
}

/// Why a container cannot start: the kubelet's waiting reason and a message.
struct NotStarted {
    reason: &'static str,
    message: String,
}

fn not_started(reason: &'static str) -> impl Fn(String) -> NotStarted {
    move |message| NotStarted { reason, message }
}

/// The script and environment of container `which` of a pod, or why it cannot start.
fn prepare(
    shared: &Shared,
    pod: &Json,
    which: Which,
    runtime: &PodRuntime,
    services: &BTreeMap<String, std::net::Ipv4Addr>,
    options: &Options,
    api: &InClusterApi,
) -> Result<Prepared, NotStarted> {
    let store = &shared.store;
    let (ns, name) = pods::key(pod);
    let spec = &pod["spec"];
    let container = match which {
        Which::Init(i) => &spec["initContainers"][i],
        Which::App(i) => &spec["containers"][i],
    };
    let claims_dir = options.work_dir.join(CLAIMS_DIR);
    let mut mounts = volumes::materialize(store, &ns, spec, container, &runtime.dir, &claims_dir)
        .map_err(not_started("CreateContainerConfigError"))?;
    mounts.extend(
        service_account::mount(store, &shared.tokens, api, &ns, spec, &runtime.dir)
            .map_err(not_started("RunContainerError"))?,
    );
    // The container's own variables win over the kubelet's, as in a cluster.
    let mut env = service_account::environment(api);
    let flink = runs_flink(which, container, options);
    if !flink {
        // A container's `PATH` is its image's, never the host user's: tools installed for root
        // alone (under /root) are out of reach of a container running as another user.
        env.insert("PATH".into(), IMAGE_PATH.into());
    }
    env.extend(
        volumes::environment(store, &ns, &name, &runtime.address.to_string(), container)
            .map_err(not_started("CreateContainerConfigError"))?,
    );
    // Neither the official Flink image nor busybox sets a `USER`: both start as root.
    let image_user = security::ROOT;
    let pod_id = format!(
        "{name}_{ns}({})",
        pod["metadata"]["uid"].as_str().unwrap_or_default()
    );
    let security = security::resolve(spec, container, image_user, &pod_id)
        .map_err(not_started("CreateContainerConfigError"))?;

    // The kubelet gives the pod's volumes to its fsGroup before the container starts.
    if let Some(fs_group) = spec["securityContext"]["fsGroup"]
        .as_u64()
        .and_then(|g| u32::try_from(g).ok())
    {
        for m in &mounts {
            security::set_volume_ownership(Path::new(&m.source), fs_group, m.read_only)
                .map_err(|e| not_started("RunContainerError")(format!("fsGroup: {e}")))?;
        }
    }
    let hosts = runtime.dir.join("hosts");
    std::fs::write(
        &hosts,
        network::hosts_file(&name, runtime.address, services),
    )
    .map_err(|e| not_started("RunContainerError")(e.to_string()))?;
    let script = if flink {
        flink_script(&name, container, &mounts, &hosts, &env, options, &security)?
    } else {
        container::command_script(
            &name,
            &mounts,
            &hosts,
            &container::command(container, &env),
            &security,
        )
        .map_err(not_started("RunContainerError"))?
    };
    Ok(Prepared {
        script,
        env: env.into_iter().collect(),
    })
}

/// Whether container `which` runs its image's Flink entrypoint rather than its command: an app
/// container of a Flink image does, and so does one without a command, whose image's entrypoint
/// is the only thing it could run (and fails to pull when the image is not Flink's).
fn runs_flink(which: Which, container: &Json, options: &Options) -> bool {
    let image = container["image"].as_str().unwrap_or_default();
    let (base, _) = image::resolve(image, &options.images);
    let no_command = container["command"].as_array().is_none_or(|c| c.is_empty());
    matches!(which, Which::App(_)) && (image::flink_tag(base).is_some() || no_command)
}

/// The script of a Flink container of pod `name`: its image's distribution and entrypoint.
fn flink_script(
    name: &str,
    container: &Json,
    mounts: &[container::Mount],
    hosts: &Path,
    env: &BTreeMap<String, String>,
    options: &Options,
    security: &security::Security,
) -> Result<String, NotStarted> {
    let (image, overlay) = image::resolve(
        container["image"].as_str().unwrap_or_default(),
        &options.images,
    );
    let release =
        image::flink_release(image, &options.fetch_script).map_err(not_started("ErrImagePull"))?;
    let distribution = image::distribution(&release, &options.fetch_script)
        .map_err(not_started("ErrImagePull"))?;
    let args: Vec<String> = container["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(|w| container::expand(w, env))
                .collect()
        })
        .unwrap_or_default();
    let config_mount = mounts.iter().find(|m| m.path == "/opt/flink/conf");
    let config_yaml = config_mount
        .and_then(|m| std::fs::read_to_string(PathBuf::from(&m.source).join("config.yaml")).ok())
        .unwrap_or_default();
    let script = container::script(&container::Launch {
        hostname: name,
        distribution: &distribution,
        overlay,
        mounts,
        args: &args,
        config_yaml: &config_yaml,
        config_writable: config_mount.is_none_or(|m| !m.read_only),
        entrypoint_settings: &container::entrypoint_settings(name, env),
        hosts_file: hosts,
        security,
        log_file: std::path::Path::new("/opt/flink/log/flink.log"),
        opt_jars: &image::opt_jars(&release, &distribution),
        plugins: &image::plugins(&release),
    })
    .map_err(not_started("RunContainerError"))?;
    Ok(script.text)
}
