//! Downtime benchmark: the provider (the real terraform CLI against the Kubernetes API test server
//! with its local kubelet, pods run as real Flink 2.3 processes) side by side with the by-hand
//! floor (the same jars, the same `config.yaml` the provider rendered, the same stateful job,
//! started directly as JobManager and TaskManager processes with the official image's memory
//! computation through `BashJavaUtils`, as the local kubelet does).
//!
//! For each it prints create to RUNNING (from the start of `terraform apply`, or of the first
//! process, to the last task RUNNING) and the downtime of three upgrades taken from Flink's own
//! timestamps: from the old job's stop-with-savepoint trigger (`/jobs/<id>/checkpoints`) to the
//! moment every subtask of the restored job is RUNNING (`/jobs/<id>/vertices/<v>/subtasktimes`).
//! The upgrades are a STATEFUL upgrade (a configuration change), a parallelism change (1 -> 2 on
//! one TaskManager with two slots) and a TaskManager-count change (1 -> 2). Then, with
//! `in_place_rescaling = true` (Flink's adaptive scheduler; turning it on rolls out, unmeasured),
//! the parallelism 1 -> 2 again in place: its downtime runs from the moment Flink's adaptive
//! scheduler entered `Restarting` (its rescale history, Flink 2.3) to every subtask RUNNING at the
//! new parallelism,
//! and the by-hand side asks Flink the same (`PUT /jobs/<id>/resource-requirements`). Then the
//! ratios. Last, by hand only, the floor of a warm-standby upgrade (a session cluster started
//! beside the running job, the job run on it from the stop's savepoint; see [`by_hand_standby`]),
//! against the cold STATEFUL upgrade by hand.
//!
//! Run with `cargo bench --bench upgrade` (as root: the local kubelet needs it). `UPGRADE_RUNS`
//! repeats the whole sequence (default 1).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    clippy::print_stdout
)]

#[allow(dead_code)]
#[path = "../tests/acceptance/harness.rs"]
mod harness;

#[allow(dead_code)]
#[path = "../tests/acceptance/cluster.rs"]
mod cluster;

use cluster::Cluster;
use harness::{shared_storage, Workspace, NODE_STORAGE};
use serde_json::Value as Json;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A keyed, stateful job: a running count per key in `ValueState`, checkpointed every 2 s, so a
/// savepoint carries state that the restored job reads back.
const JOB: &str = r#"
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

public class Counter {
    public static class Count extends RichMapFunction<Long, Long> {
        private transient ValueState<Long> count;
        @Override
        public void open(org.apache.flink.api.common.functions.OpenContext context) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Long.class));
        }
        @Override
        public Long map(Long value) throws Exception {
            Long c = count.value();
            long next = (c == null ? 0 : c) + 1;
            count.update(next);
            return next;
        }
    }
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.enableCheckpointing(2000);
        env.fromSource(new NumberSequenceSource(0, Long.MAX_VALUE), WatermarkStrategy.noWatermarks(), "numbers")
            .keyBy(x -> x % 16)
            .map(new Count()).uid("count")
            .filter(x -> x < 0)
            .print();
        env.execute("counter");
    }
}
"#;

/// The Flink 2.3.0 distribution (lib/ and bin/) that the local kubelet also runs.
fn flink_home() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-flink.sh");
    let out = Command::new(&script).arg("2.3.0").output().unwrap();
    assert!(
        out.status.success(),
        "the real Flink 2.3.0 jars are required"
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The job jar, compiled with javac against the real Flink jars.
fn job_jar(home: &Path, dir: &Path) -> PathBuf {
    std::fs::write(dir.join("Counter.java"), JOB).unwrap();
    let classes = dir.join("classes");
    let javac = Command::new("javac")
        .arg("-cp")
        .arg(format!("{}/lib/*", home.display()))
        .arg("-d")
        .arg(&classes)
        .arg(dir.join("Counter.java"))
        .output()
        .unwrap();
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let jar = dir.join("counter.jar");
    let status = Command::new("jar")
        .arg("cf")
        .arg(&jar)
        .arg("-C")
        .arg(&classes)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    jar
}

/// Serves `bytes` to every GET on all addresses (the pods' init container fetches the jar).
fn serve(bytes: Vec<u8>) -> u16 {
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request);
            let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", bytes.len());
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&bytes);
        }
    });
    port
}

fn http(address: &str, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s =
        std::net::TcpStream::connect_timeout(&address.parse().ok()?, Duration::from_secs(2))
            .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let code = buf.split_whitespace().nth(1)?.parse().ok()?;
    buf.split_once("\r\n\r\n")
        .map(|(_, body)| (code, body.to_string()))
}

fn get_json(address: &str, path: &str) -> Option<Json> {
    match http(address, "GET", path, "")? {
        (200, body) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A job stopped with a savepoint by hand: Flink's trigger time, the savepoint's location, and
/// when Flink saw its last acknowledgement (the savepoint's own duration ends there), if the
/// statistics showed it before the JobManager went.
struct Stopped {
    trigger: u64,
    location: String,
    acknowledged: Option<u64>,
}

/// `POST /jobs/<id>/stop` with a savepoint under `storage`, waiting for its location.
fn stop_with_savepoint(rest: &str, job: &str, storage: &Path) -> Stopped {
    let body = format!(
        "{{\"targetDirectory\":\"file://{}/savepoints\",\"drain\":false}}",
        storage.display()
    );
    let (_, answer) = http(rest, "POST", &format!("/jobs/{job}/stop"), &body).unwrap();
    let request: Json = serde_json::from_str(&answer).unwrap();
    let request = request["request-id"].as_str().unwrap().to_string();
    let mut trigger = None;
    let location = wait_for("the savepoint", Duration::from_secs(120), || {
        trigger = trigger.or_else(|| savepoint_trigger(rest, job));
        let status = get_json(rest, &format!("/jobs/{job}/savepoints/{request}"))?;
        status["operation"]["location"].as_str().map(String::from)
    });
    // Flink's statistics may show the completion a moment after the location (they are cached
    // for `web.refresh-interval`), and the application's JobManager soon goes.
    let acknowledged = (0..20).find_map(|_| {
        let acknowledged = get_json(rest, &format!("/jobs/{job}/checkpoints")).and_then(|c| {
            c["history"]
                .as_array()?
                .iter()
                .find(|c| c["is_savepoint"] == true && c["status"] == "COMPLETED")?
                ["latest_ack_timestamp"]
                .as_u64()
        });
        if acknowledged.is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        acknowledged
    });
    Stopped {
        trigger: trigger.or_else(|| savepoint_trigger(rest, job)).unwrap(),
        location,
        acknowledged,
    }
}

/// When the last subtask of `job` turned RUNNING (Flink's epoch milliseconds), once every
/// subtask of every vertex is RUNNING; with the parallelism Flink runs it at.
fn all_tasks_running(address: &str, job: &str) -> Option<(u64, u64)> {
    let detail = get_json(address, &format!("/jobs/{job}"))?;
    let vertices = detail["vertices"].as_array()?;
    let mut last = 0;
    let mut parallelism = 0;
    for vertex in vertices {
        if vertex["status"] != "RUNNING" {
            return None;
        }
        parallelism = parallelism.max(vertex["parallelism"].as_u64()?);
        let id = vertex["id"].as_str()?;
        let times = get_json(address, &format!("/jobs/{job}/vertices/{id}/subtasktimes"))?;
        for subtask in times["subtasks"].as_array()? {
            let running = subtask["timestamps"]["RUNNING"]
                .as_u64()
                .filter(|t| *t > 0)?;
            last = last.max(running);
        }
    }
    (!vertices.is_empty()).then_some((last, parallelism))
}

/// Flink's trigger time of the newest savepoint of `job` (in progress or done).
fn savepoint_trigger(address: &str, job: &str) -> Option<u64> {
    let checkpoints = get_json(address, &format!("/jobs/{job}/checkpoints"))?;
    checkpoints["history"]
        .as_array()?
        .iter()
        .filter(|c| c["is_savepoint"] == true)
        .filter_map(|c| c["trigger_timestamp"].as_u64())
        .max()
}

/// The savepoint the restored job started from, as Flink reports it.
fn restored_from(address: &str, job: &str) -> Option<String> {
    let checkpoints = get_json(address, &format!("/jobs/{job}/checkpoints"))?;
    checkpoints["latest"]["restored"]["external_path"]
        .as_str()
        .map(String::from)
}

fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `address` for the trigger time of `job`'s savepoint in the background until stopped:
/// the old JobManager goes away soon after its job stops, so it is read while it is there.
struct TriggerWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Option<u64>>,
}

impl TriggerWatch {
    fn start(address: String, job: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut seen = None;
                while !stop.load(Ordering::Relaxed) && seen.is_none() {
                    seen = savepoint_trigger(&address, &job);
                    std::thread::sleep(Duration::from_millis(50));
                }
                seen
            })
        };
        TriggerWatch { stop, thread }
    }

    /// The trigger time seen, if the old JobManager showed the savepoint while it ran (on an
    /// overloaded machine the job may not have been running at the stop, and the provider then
    /// rolls out without a savepoint: the step is reported as not measured).
    fn trigger(self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// One step of the sequence, the same on both sides.
#[derive(Clone, Copy)]
struct Step {
    name: &'static str,
    parallelism: u32,
    task_managers: u32,
    /// A configuration value that changes at the plain upgrade, so the pods roll.
    object_reuse: bool,
}

const STEPS: [Step; 4] = [
    Step {
        name: "create",
        parallelism: 1,
        task_managers: 1,
        object_reuse: false,
    },
    Step {
        name: "STATEFUL upgrade",
        parallelism: 1,
        task_managers: 1,
        object_reuse: true,
    },
    Step {
        name: "parallelism 1 -> 2",
        parallelism: 2,
        task_managers: 1,
        object_reuse: true,
    },
    Step {
        name: "TaskManagers 1 -> 2",
        parallelism: 2,
        task_managers: 2,
        object_reuse: true,
    },
];

/// The in-place sequence: the adaptive scheduler turned on (a rollout, not measured), then the
/// parallelism raised in place.
const IN_PLACE: [Step; 2] = [
    Step {
        name: "adaptive scheduler on",
        parallelism: 1,
        task_managers: 1,
        object_reuse: true,
    },
    Step {
        name: "in-place parallelism 1 -> 2",
        parallelism: 2,
        task_managers: 1,
        object_reuse: true,
    },
];

/// The downtime of an in-place rescale of `job` to `parallelism`: from the moment Flink's adaptive
/// scheduler entered `Restarting` for the newest rescale (its rescale history,
/// `/jobs/<id>/rescales/history`, Flink 2.3; the job's own timestamps start over with the new
/// execution graph) to the last subtask RUNNING again, once every subtask runs at the new
/// parallelism; with that last moment.
fn in_place_downtime(address: &str, job: &str, parallelism: u32) -> Option<(Duration, u64)> {
    let (running, now) = all_tasks_running(address, job)?;
    if now != u64::from(parallelism) {
        return None;
    }
    let restarted = restarting_entered(address, job)?;
    Some((
        Duration::from_millis(running.saturating_sub(restarted)),
        running,
    ))
}

/// When the adaptive scheduler entered `Restarting` in the newest rescale of `job` (the history
/// lists the rescales; only the newest one's details, which hold its scheduler states, are
/// asked for).
fn restarting_entered(address: &str, job: &str) -> Option<u64> {
    let history = get_json(address, &format!("/jobs/{job}/rescales/history"))?;
    let newest = history
        .as_array()?
        .iter()
        .max_by_key(|rescale| rescale["startTimestampInMillis"].as_u64().unwrap_or(0))?;
    let id = newest["rescaleUuid"].as_str()?;
    let details = get_json(address, &format!("/jobs/{job}/rescales/details/{id}"))?;
    details["schedulerStates"]
        .as_array()?
        .iter()
        .filter(|span| span["state"] == "Restarting")
        .filter_map(|span| span["enterTimestampInMillis"].as_u64())
        .max()
}

/// What one side measured: create to RUNNING, then the downtime of each upgrade; and the wall
/// time of each command that did it (terraform apply, or the by-hand script's steps).
#[derive(Default)]
struct Figures {
    flink: Vec<Option<Duration>>,
    wall: Vec<Duration>,
    /// The warm-standby upgrade, measured by hand only: the provider does not offer it yet.
    standby: Option<Standby>,
}

/// The deployment at `step`. It sets `web.refresh-interval` (how long Flink's REST API caches job
/// details and checkpoint statistics; the by-hand side runs the same configuration) to 200 ms:
/// with the default 3 s the old JobManager can be gone before its statistics show the savepoint
/// of the stop (seen).
fn deployment(cluster: &Cluster, port: u16, storage: &str, step: Step, in_place: bool) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "counter" {{
  name          = "counter"
  namespace     = "{ns}"
  flink_version = "2.3"
  artifact = {{
    jar_uri     = "http://10.245.0.1:{port}/counter.jar"
    entry_class = "Counter"
  }}
  parallelism             = {parallelism}
  task_slots              = 2
  number_of_task_managers = {task_managers}
  in_place_rescaling      = {in_place}
  resources = {{
    jobmanager  = {{ memory = "1024m" }}
    taskmanager = {{ memory = "1024m" }}
  }}
  flink_configuration = {{
    "execution.checkpointing.savepoint-dir" = "file://{storage}/savepoints"
    "execution.checkpointing.dir"           = "file://{storage}/checkpoints"
    "pipeline.object-reuse"                 = "{object_reuse}"
    "web.refresh-interval"                  = "200 ms"
    "web.adaptive-scheduler.rescale-history.size" = "8"
  }}
  {NODE_STORAGE}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
        parallelism = step.parallelism,
        task_managers = step.task_managers,
        object_reuse = step.object_reuse,
    )
}

/// The provider's in-place rescale on `cluster` (after the upgrade sequence): its downtime from
/// Flink's timestamps and the apply's wall time; and what it rendered with the adaptive
/// scheduler on, for the by-hand side.
fn provider_in_place(
    cluster: &Cluster,
    ws: &Workspace,
    port: u16,
    storage: &str,
) -> (Option<Duration>, Duration, Rendered) {
    ws.config(&deployment(cluster, port, storage, IN_PLACE[0], true));
    ws.apply();
    let rendered = configmap(cluster);
    let values = ws.resource_values("flink_deployment.counter");
    let (id, job) = (
        values["id"].as_str().unwrap().to_string(),
        values["job_id"].as_str().unwrap().to_string(),
    );
    ws.config(&deployment(cluster, port, storage, IN_PLACE[1], true));
    let started = Instant::now();
    ws.apply();
    let wall = started.elapsed();
    let rescaled = ws.resource_values("flink_deployment.counter");
    assert_eq!(
        rescaled["job_id"],
        job.as_str(),
        "rescaled in place: the same job"
    );
    let address = wait_for("the JobManager of the job", Duration::from_secs(60), || {
        jobmanager_running(cluster, &id, &job)
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let took = loop {
        if let Some((took, _)) = in_place_downtime(&address, &job, IN_PLACE[1].parallelism) {
            break took;
        }
        if Instant::now() > deadline {
            let detail = get_json(&address, &format!("/jobs/{job}")).unwrap_or_default();
            let history = get_json(&address, &format!("/jobs/{job}/rescales/history"));
            panic!(
                "the in-place rescale never showed every task RUNNING at {} after a Restarting: \
                 job {detail}, rescale history {history:?}",
                IN_PLACE[1].parallelism
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    println!(
        "provider, {}: {} from Flink's timestamps, apply {}",
        IN_PLACE[1].name,
        seconds(took),
        seconds(wall)
    );
    (Some(took), wall, rendered)
}

/// What the provider put in the deployment's ConfigMap.
fn configmap(cluster: &Cluster) -> Rendered {
    let read = |key: &str| {
        cluster.kubectl(&[
            "get",
            "configmap",
            "flink-counter-config",
            "-o",
            &format!("jsonpath={{.data.{}}}", key.replace('.', "\\.")),
        ])
    };
    Rendered {
        config_yaml: read("config.yaml"),
        log4j: read("log4j-console.properties"),
    }
}

/// The REST address of the JobManager pod that runs `job`.
fn jobmanager_running(cluster: &Cluster, id: &str, job: &str) -> Option<String> {
    let text = cluster.kubectl(&[
        "get",
        "pods",
        "-l",
        &format!("component=jobmanager,flink.flinkops.io/deployment-id={id}"),
        "-o",
        "json",
    ]);
    let pods: Json = serde_json::from_str(&text).ok()?;
    pods["items"].as_array()?.iter().find_map(|p| {
        let address = format!("{}:8081", p["status"]["podIP"].as_str()?);
        get_json(&address, &format!("/jobs/{job}")).map(|_| address)
    })
}

/// What the provider put in the deployment's ConfigMap at one step.
struct Rendered {
    config_yaml: String,
    log4j: String,
}

/// The provider's side; also returns the configuration it rendered for each step (the in-place
/// sequence's last).
fn provider(jar: &Path) -> (Figures, Vec<Rendered>) {
    let cluster = Cluster::start_with_pods("bench-upgrade");
    assert!(
        cluster.local_pods(),
        "the benchmark needs the local kubelet"
    );
    let storage = shared_storage();
    let storage_path = storage.path().display().to_string();
    let port = serve(std::fs::read(jar).unwrap());
    let ws = Workspace::new();
    let mut figures = Figures::default();
    let mut configs = Vec::new();
    let mut previous: Option<(String, String)> = None;
    for step in STEPS {
        ws.config(&deployment(&cluster, port, &storage_path, step, false));
        let watch = previous
            .as_ref()
            .map(|(address, job)| TriggerWatch::start(address.clone(), job.clone()));
        let previous_job = previous.as_ref().map(|(_, job)| job.clone());
        let started_ms = now_ms();
        let started = Instant::now();
        let log = ws.path().join("apply.log");
        let run = ws.terraform_with_env(
            &["apply", "-auto-approve", "-no-color"],
            &[
                ("TF_LOG_PROVIDER", "info"),
                ("TF_LOG_PATH", log.to_str().unwrap()),
            ],
        );
        let wall = started.elapsed();
        assert_eq!(run.code, 0, "terraform apply failed:\n{}", run.text);
        // Where the provider says the time went (its info log, one line per apply).
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        for line in logged.lines().filter(|l| l.contains("rollout phases")) {
            println!("provider, {}: {}", step.name, phases_of(line));
        }
        let values = ws.resource_values("flink_deployment.counter");
        let (id, job) = (
            values["id"].as_str().unwrap().to_string(),
            values["job_id"].as_str().unwrap().to_string(),
        );
        let address = wait_for("the JobManager of the job", Duration::from_secs(60), || {
            jobmanager_running(&cluster, &id, &job)
        });
        let (running, parallelism) =
            wait_for("every task RUNNING", Duration::from_secs(120), || {
                all_tasks_running(&address, &job)
            });
        assert_eq!(parallelism, u64::from(step.parallelism), "{}", step.name);
        let kept_running = previous_job.as_deref() == Some(job.as_str());
        let from = match watch {
            // The job was not stopped: no downtime.
            Some(_) if kept_running => {
                println!(
                    "provider, {}: the job kept running (same job id)",
                    step.name
                );
                Some(running)
            }
            Some(watch) => {
                let restored = restored_from(&address, &job);
                assert!(
                    restored.is_some(),
                    "{}: the job restored from a savepoint",
                    step.name
                );
                watch.trigger()
            }
            None => Some(started_ms),
        };
        let took = from.map(|from| Duration::from_millis(running - from));
        if took.is_none() {
            println!(
                "provider, {}: not measured, no savepoint of the old job was seen; the apply said:",
                step.name
            );
            for line in run.text.lines().filter(|l| l.contains("avepoint")) {
                println!("  {}", line.trim());
            }
        }
        figures.flink.push(took);
        figures.wall.push(wall);
        println!(
            "provider, {}: {} from Flink's timestamps, apply {}",
            step.name,
            optional_seconds(took),
            seconds(wall)
        );
        ws.assert_no_changes();
        configs.push(configmap(&cluster));
        previous = Some((address, job));
    }
    let (took, wall, rendered) = provider_in_place(&cluster, &ws, port, &storage_path);
    figures.flink.push(took);
    figures.wall.push(wall);
    configs.push(rendered);
    ws.destroy();
    (figures, configs)
}

/// The phases and total of the provider's "rollout phases" log line, however Terraform framed it.
fn phases_of(line: &str) -> String {
    let field = |name: &str| {
        let at = line.find(&format!("{name}="))? + name.len() + 1;
        let rest = &line[at..];
        Some(match rest.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next()?.to_string(),
            None => rest.split_whitespace().next()?.to_string(),
        })
    };
    match (field("phases"), field("seconds")) {
        (Some(phases), Some(total)) => format!("{phases} (total {total} s)"),
        _ => line.trim().to_string(),
    }
}

/// Three distinct free ports (held together while they are picked, so none repeats).
fn free_ports() -> (u16, u16, u16) {
    let listeners: Vec<_> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let port = |i: usize| listeners[i].local_addr().unwrap().port();
    (port(0), port(1), port(2))
}

/// A by-hand cluster: one JobManager (application mode) and its TaskManagers as processes.
struct HandCluster {
    rest: String,
    /// Its configuration directory.
    conf: PathBuf,
    processes: Vec<Child>,
}

/// Stopped with TERM, as a kubelet (or a person) stops a process, waiting for the JVMs to exit;
/// also when the benchmark fails half-way.
impl Drop for HandCluster {
    fn drop(&mut self) {
        for p in &self.processes {
            let _ = Command::new("kill").arg(p.id().to_string()).status();
        }
        for p in &mut self.processes {
            let _ = p.wait();
        }
    }
}

/// `config.yaml` as the provider rendered it, with what differs outside a pod: addresses and
/// ports on the loopback (the TaskManagers' RPC port random), the state directories, the job id and where it restores from.
fn local_config(
    rendered: &str,
    storage: &Path,
    job: &str,
    restore: Option<&str>,
    ports: (u16, u16, u16),
) -> String {
    let (rpc, rest, blob) = ports;
    let replaced = [
        "jobmanager.rpc.address",
        "jobmanager.rpc.port",
        "rest.port",
        "rest.address",
        "rest.bind-address",
        "blob.server.port",
        "jobmanager.bind-host",
        "taskmanager.bind-host",
        "taskmanager.host",
        "taskmanager.rpc.port",
        "execution.checkpointing.savepoint-dir",
        "execution.checkpointing.dir",
        "execution.savepoint.path",
        "execution.state-recovery.path",
        "$internal.pipeline.job-id",
        "$internal.application.id",
    ];
    let mut text: String = rendered
        .lines()
        .filter(|line| {
            let key = line
                .split_once(": ")
                .map_or("", |(k, _)| k.trim_matches('"'));
            !replaced.contains(&key)
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let storage = storage.display();
    let mut set = vec![
        ("jobmanager.rpc.address", "127.0.0.1".to_string()),
        ("jobmanager.rpc.port", rpc.to_string()),
        ("rest.port", rest.to_string()),
        ("rest.address", "127.0.0.1".into()),
        ("rest.bind-address", "127.0.0.1".into()),
        ("blob.server.port", blob.to_string()),
        ("jobmanager.bind-host", "127.0.0.1".into()),
        ("taskmanager.bind-host", "127.0.0.1".into()),
        ("taskmanager.host", "127.0.0.1".into()),
        // Each pod has its own address for the fixed port; processes on one machine do not.
        ("taskmanager.rpc.port", "0".into()),
        (
            "execution.checkpointing.savepoint-dir",
            format!("file://{storage}/savepoints"),
        ),
        (
            "execution.checkpointing.dir",
            format!("file://{storage}/checkpoints"),
        ),
        ("$internal.pipeline.job-id", job.to_string()),
        ("$internal.application.id", job.to_string()),
    ];
    if let Some(path) = restore {
        // The 2.x name, which the provider renders (and which wins over the older one).
        set.push(("execution.state-recovery.path", path.to_string()));
    }
    for (key, value) in set {
        text.push_str(&format!("{key:?}: {value:?}\n"));
    }
    text
}

/// How a by-hand JobManager runs: the job's own (application mode, the job on the classpath and
/// started with the cluster) or a session cluster that waits for jobs through its REST API.
#[derive(Clone, Copy)]
enum Entry {
    Application,
    Session,
}

/// Starts the JobManager and `task_managers` TaskManagers at once, each as the official image's
/// entrypoint would: `BashJavaUtils` computes its memory options, then Java runs the entry class.
fn start_by_hand(
    home: &Path,
    jar_dir: &Path,
    conf: &Path,
    log_dir: &Path,
    jobmanager: Option<Entry>,
    task_managers: std::ops::Range<u32>,
) -> Vec<Child> {
    let home = home.display();
    let conf = conf.display();
    let value = |key: &str| {
        let text = std::fs::read_to_string(format!("{conf}/config.yaml")).unwrap();
        text.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(": ")?;
                (k.trim_matches('"') == key).then(|| v.trim().trim_matches('"').to_string())
            })
            .unwrap_or_default()
    };
    let launch = |resources: &str, class: &str, args: &str, log: String| {
        let component = match resources {
            "GET_JM_RESOURCE_PARAMS" => "jobmanager",
            _ => "taskmanager",
        };
        // The JVM options Flink's launch scripts read from the configuration.
        let jvm = [
            "env.java.default-opts.all".to_string(),
            "env.java.opts.all".to_string(),
            format!("env.java.opts.{component}"),
        ]
        .map(|key| value(&key))
        .join(" ");
        let script = format!(
            "utils=$(java -cp \"{home}/bin/bash-java-utils.jar:{home}/lib/*\" \
             org.apache.flink.runtime.util.bash.BashJavaUtils {resources} --configDir {conf} \
             | grep '^BASH_JAVA_UTILS_EXEC_RESULT:' | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://')\n\
             memory_jvm=$(echo \"$utils\" | sed -n 1p)\nmemory_dynamic=$(echo \"$utils\" | sed -n 2p)\n\
             exec java $memory_jvm {jvm} -Dlog.file={log} \
             -Dlog4j.configurationFile=file:{conf}/log4j-console.properties \
             -cp \"{home}/lib/*:{}/*\" {class} --configDir {conf} {args} $memory_dynamic\n",
            jar_dir.display()
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut processes = Vec::new();
    if let Some(entry) = jobmanager {
        let (class, args) = match entry {
            Entry::Application => (
                "org.apache.flink.container.entrypoint.StandaloneApplicationClusterEntryPoint",
                "--job-classname Counter",
            ),
            Entry::Session => (
                "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
                "",
            ),
        };
        processes.push(launch(
            "GET_JM_RESOURCE_PARAMS",
            class,
            args,
            format!("{}/jobmanager.log", log_dir.display()),
        ));
    }
    for i in task_managers {
        processes.push(launch(
            "GET_TM_RESOURCE_PARAMS",
            "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
            "",
            format!("{}/taskmanager-{i}.log", log_dir.display()),
        ));
    }
    processes
}

/// The by-hand floor over the provider's rendered configurations, one per step.
fn by_hand(home: &Path, jar: &Path, configs: &[Rendered]) -> Figures {
    let mut work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    if std::env::var_os("UPGRADE_KEEP").is_some() {
        work.disable_cleanup(true);
        println!("by hand: files kept in {}", work.path().display());
    }
    let storage = work.path().join("storage");
    let jar_dir = work.path().join("usrlib");
    std::fs::create_dir_all(&jar_dir).unwrap();
    std::fs::copy(jar, jar_dir.join("counter.jar")).unwrap();
    let mut figures = Figures::default();
    let mut running: Option<(HandCluster, String)> = None;
    for (n, (step, rendered)) in STEPS.iter().zip(configs).enumerate() {
        let job = format!("{:032x}", 0xb0b0_0000_u64 + n as u64 + (now_ms() << 20));
        let conf = work.path().join(format!("conf-{n}"));
        let logs = work.path().join(format!("log-{n}"));
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(conf.join("log4j-console.properties"), &rendered.log4j).unwrap();
        let started = Instant::now();
        if let Some((cluster, running_job)) = running.as_mut().filter(|_| n > 0) {
            let before = STEPS[n - 1];
            if before.parallelism == step.parallelism && before.object_reuse == step.object_reuse {
                // Only more TaskManagers: started beside the running job, which goes on.
                let more = start_by_hand(
                    home,
                    &jar_dir,
                    &cluster.conf,
                    &logs,
                    None,
                    before.task_managers..step.task_managers,
                );
                cluster.processes.extend(more);
                let rest = cluster.rest.clone();
                wait_for("the TaskManagers", Duration::from_secs(120), || {
                    let overview = get_json(&rest, "/overview")?;
                    (overview["taskmanagers"].as_u64()? >= u64::from(step.task_managers))
                        .then_some(())
                });
                assert!(all_tasks_running(&rest, running_job).is_some());
                figures.flink.push(Some(Duration::ZERO));
                figures.wall.push(started.elapsed());
                println!(
                    "by hand, {}: the job kept running, the TaskManagers registered in {}",
                    step.name,
                    seconds(started.elapsed())
                );
                continue;
            }
        }
        let (from, restore) = match running.take() {
            None => (now_ms(), None),
            Some((old, old_job)) => {
                // Stop with a savepoint, then stop the processes, as a script would.
                let stopped = stop_with_savepoint(&old.rest, &old_job, &storage);
                drop(old);
                (stopped.trigger, Some(stopped.location))
            }
        };
        let ports = free_ports();
        let text = local_config(
            &rendered.config_yaml,
            &storage,
            &job,
            restore.as_deref(),
            ports,
        );
        std::fs::write(conf.join("config.yaml"), text).unwrap();
        let processes = start_by_hand(
            home,
            &jar_dir,
            &conf,
            &logs,
            Some(Entry::Application),
            0..step.task_managers,
        );
        let rest = format!("127.0.0.1:{}", ports.1);
        // Stopped whatever happens next.
        let cluster = HandCluster {
            rest: rest.clone(),
            conf: conf.clone(),
            processes,
        };
        let (at, parallelism) = wait_for("every task RUNNING", Duration::from_secs(120), || {
            all_tasks_running(&rest, &job)
        });
        assert_eq!(parallelism, u64::from(step.parallelism), "{}", step.name);
        if restore.is_some() {
            assert!(
                restored_from(&rest, &job).is_some(),
                "{}: restored",
                step.name
            );
        }
        figures.flink.push(Some(Duration::from_millis(at - from)));
        figures.wall.push(started.elapsed());
        println!(
            "by hand, {}: {} from Flink's timestamps, {} in all",
            step.name,
            seconds(Duration::from_millis(at - from)),
            seconds(started.elapsed())
        );
        running = Some((cluster, job));
    }
    drop(running);
    let (took, wall) =
        by_hand_in_place(home, &jar_dir, &storage, work.path(), &configs[STEPS.len()]);
    figures.flink.push(Some(took));
    figures.wall.push(wall);
    figures.standby = Some(by_hand_standby(
        home,
        jar,
        &storage,
        work.path(),
        &configs[0],
    ));
    figures
}

/// The by-hand in-place rescale: a cluster on the provider's configuration with the adaptive
/// scheduler, its job's parallelism raised to 2 as a person would, through Flink's resource
/// requirements; the downtime from Flink's timestamps and the wall time from the request on.
fn by_hand_in_place(
    home: &Path,
    jar_dir: &Path,
    storage: &Path,
    work: &Path,
    rendered: &Rendered,
) -> (Duration, Duration) {
    let job = format!("{:032x}", 0xada0_0000_u64 + (now_ms() << 20));
    let conf = work.join("conf-in-place");
    let logs = work.join("log-in-place");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(conf.join("log4j-console.properties"), &rendered.log4j).unwrap();
    let ports = free_ports();
    let text = local_config(&rendered.config_yaml, storage, &job, None, ports);
    std::fs::write(conf.join("config.yaml"), text).unwrap();
    let rest = format!("127.0.0.1:{}", ports.1);
    let _cluster = HandCluster {
        rest: rest.clone(),
        conf: conf.clone(),
        processes: start_by_hand(home, jar_dir, &conf, &logs, Some(Entry::Application), 0..1),
    };
    wait_for("every task RUNNING", Duration::from_secs(120), || {
        all_tasks_running(&rest, &job).filter(|(_, p)| *p == 1)
    });
    let started = Instant::now();
    let path = format!("/jobs/{job}/resource-requirements");
    let (_, current) = http(&rest, "GET", &path, "").unwrap();
    let mut requirements: Json = serde_json::from_str(&current).unwrap();
    // Vertices the job's code gave a parallelism of their own keep it, as the provider leaves them.
    for requirement in requirements.as_object_mut().unwrap().values_mut() {
        if requirement["parallelism"]["upperBound"] == IN_PLACE[0].parallelism {
            requirement["parallelism"]["upperBound"] = IN_PLACE[1].parallelism.into();
        }
    }
    let (code, answer) = http(&rest, "PUT", &path, &requirements.to_string()).unwrap();
    assert!(code < 300, "PUT {path}: {code} {answer}");
    let (took, _) = wait_for("every task RUNNING at 2", Duration::from_secs(180), || {
        in_place_downtime(&rest, &job, IN_PLACE[1].parallelism)
    });
    let wall = started.elapsed();
    println!(
        "by hand, {}: {} from Flink's timestamps, {} in all",
        IN_PLACE[1].name,
        seconds(took),
        seconds(wall)
    );
    (took, wall)
}

/// The by-hand floor of a warm-standby upgrade, the design issue 24 evaluates: while the job
/// runs on its application cluster, a session cluster on the same configuration starts beside it
/// with its TaskManagers registered and the job's jar already in its `web.upload.dir` (where an
/// init container would put it), and builds the job's plan once to warm up; then the old job stops with a savepoint and, once the savepoint
/// is complete (so no two runs ever process at once), the jar is run on the standby
/// (`POST /jars/<jar>/run`) from that savepoint under the next job id. Returns the savepoint's
/// own duration (trigger to last acknowledgement), the downtime from Flink's timestamps (trigger
/// to every subtask of the restored job RUNNING) and how long the run request took.
fn by_hand_standby(
    home: &Path,
    jar: &Path,
    storage: &Path,
    work: &Path,
    rendered: &Rendered,
) -> Standby {
    let start = |name: &str, job: &str, entry: Entry, jar_dir: &Path| {
        let conf = work.join(format!("conf-{name}"));
        let logs = work.join(format!("log-{name}"));
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(conf.join("log4j-console.properties"), &rendered.log4j).unwrap();
        let ports = free_ports();
        let mut text = local_config(&rendered.config_yaml, storage, job, None, ports);
        if let Entry::Session = entry {
            // A session cluster takes each job's id from its run request.
            text = text
                .lines()
                .filter(|l| !l.contains("$internal."))
                .map(|l| format!("{l}\n"))
                .collect();
            text.push_str(&format!("\"web.upload.dir\": {:?}\n", work.join("upload")));
        }
        std::fs::write(conf.join("config.yaml"), text).unwrap();
        HandCluster {
            rest: format!("127.0.0.1:{}", ports.1),
            processes: start_by_hand(home, jar_dir, &conf, &logs, Some(entry), 0..1),
            conf,
        }
    };
    let old_job = format!("{:032x}", 0x57a0_0000_u64 + (now_ms() << 20));
    let new_job = format!("{:032x}", 0x57a1_0000_u64 + (now_ms() << 20));
    let usrlib = work.join("usrlib");
    let old = start("standby-old", &old_job, Entry::Application, &usrlib);
    let uploads = work.join("upload/flink-web-upload");
    std::fs::create_dir_all(&uploads).unwrap();
    std::fs::copy(jar, uploads.join("counter.jar")).unwrap();
    let no_jars = work.join("no-jars");
    std::fs::create_dir_all(&no_jars).unwrap();
    let standby = start("standby-new", &new_job, Entry::Session, &no_jars);
    wait_for("the old job RUNNING", Duration::from_secs(120), || {
        all_tasks_running(&old.rest, &old_job)
    });
    wait_for(
        "the standby's TaskManager",
        Duration::from_secs(120),
        || {
            let overview = get_json(&standby.rest, "/overview")?;
            (overview["slots-available"].as_u64()? >= u64::from(STEPS[0].parallelism)).then_some(())
        },
    );
    // Warm: the standby builds the job's plan once (its classes loaded, the code compiled), which
    // took the run request from 0.8-1.4 s to 0.5 s in two paired runs.
    let plan = serde_json::json!({"entryClass": "Counter"}).to_string();
    let (code, answer) = http(&standby.rest, "POST", "/jars/counter.jar/plan", &plan).unwrap();
    assert!(code < 300, "POST /jars/counter.jar/plan: {code} {answer}");
    let stopped = stop_with_savepoint(&old.rest, &old_job, storage);
    let asked = Instant::now();
    let body = serde_json::json!({
        "entryClass": "Counter",
        "jobId": new_job,
        "savepointPath": stopped.location,
    })
    .to_string();
    let (code, answer) = http(&standby.rest, "POST", "/jars/counter.jar/run", &body).unwrap();
    assert!(code < 300, "POST /jars/counter.jar/run: {code} {answer}");
    let submit = asked.elapsed();
    drop(old);
    let (at, _) = wait_for("the restored job RUNNING", Duration::from_secs(120), || {
        all_tasks_running(&standby.rest, &new_job)
    });
    assert_eq!(
        restored_from(&standby.rest, &new_job).as_deref(),
        Some(stopped.location.as_str()),
        "the standby restored from the stop's savepoint"
    );
    let figures = Standby {
        savepoint: stopped
            .acknowledged
            .map(|acked| Duration::from_millis(acked - stopped.trigger)),
        downtime: Duration::from_millis(at - stopped.trigger),
        submit,
    };
    println!(
        "by hand, warm standby: savepoint {}, downtime {} from Flink's timestamps, the run \
         request {}",
        optional_seconds(figures.savepoint),
        seconds(figures.downtime),
        seconds(figures.submit)
    );
    figures
}

/// The figures of a warm-standby upgrade (see [`by_hand_standby`]).
#[derive(Clone, Copy)]
struct Standby {
    savepoint: Option<Duration>,
    downtime: Duration,
    submit: Duration,
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn optional_seconds(d: Option<Duration>) -> String {
    d.map_or("not measured".into(), seconds)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let runs: usize = std::env::var("UPGRADE_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let home = flink_home();
    let work = tempfile::tempdir().unwrap();
    let jar = job_jar(&home, work.path());
    for run in 1..=runs {
        println!("run {run} of {runs}, load average before: {}", load());
        let (provided, configs) = provider(&jar);
        let floor = by_hand(&home, &jar, &configs);
        println!("load average after: {}", load());
        println!(
            "| | provider (Flink) | provider (apply) | by hand (Flink) | by hand (wall) | ratio |"
        );
        println!("| --- | --- | --- | --- | --- | --- |");
        let names = STEPS.iter().map(|s| s.name).chain([IN_PLACE[1].name]);
        for (i, name) in names.enumerate() {
            let what = if i == 0 {
                "create to RUNNING".to_string()
            } else {
                format!("{name} downtime")
            };
            let ratio = match (provided.flink[i], floor.flink[i]) {
                (Some(p), Some(f)) if !f.is_zero() => {
                    format!("{:.1}x", p.as_secs_f64() / f.as_secs_f64())
                }
                _ => "-".into(),
            };
            println!(
                "| {what} | {} | {} | {} | {} | {ratio} |",
                optional_seconds(provided.flink[i]),
                seconds(provided.wall[i]),
                optional_seconds(floor.flink[i]),
                seconds(floor.wall[i]),
            );
        }
        if let Some(standby) = floor.standby {
            // The floor a warm standby would reach, against the cold STATEFUL upgrade's.
            let cold = floor.flink[1].map_or("-".into(), |cold| {
                format!(
                    "{:.2}x",
                    standby.downtime.as_secs_f64() / cold.as_secs_f64()
                )
            });
            let beyond = standby
                .savepoint
                .map_or("-".into(), |s| seconds(standby.downtime.saturating_sub(s)));
            println!(
                "warm standby by hand: downtime {} (savepoint {}, {beyond} beyond it, the run \
                 request {}); {cold} of the cold STATEFUL upgrade by hand",
                seconds(standby.downtime),
                optional_seconds(standby.savepoint),
                seconds(standby.submit),
            );
        }
    }
}
