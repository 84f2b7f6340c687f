//! The stateful lifecycle with real Flink jobs on the local cluster: a STATEFUL upgrade stops the
//! job with a savepoint that state records and the new job restores from exactly that location
//! (Flink's `/jobs/<id>/checkpoints` says so); a change under upgrade_strategy NONE is stored
//! while the job runs on untouched; SUSPENDED takes a savepoint and leaves no Flink pod, RUNNING
//! restores from it with the stored change; each start is a new run with a new job id; a job
//! cancelled in Flink shows as drift and apply runs it again from the checkpoint Flink retained
//! (LATEST_STATE), one stopped with a savepoint by hand from that savepoint; a flink_savepoint is
//! taken while the job runs and replaced by a new one; a savepoint Flink cannot write fails the
//! apply with Flink's reason while the job keeps running and state keeps its savepoints; destroy
//! leaves a final savepoint on disk, and the deployment applied again finds it in its directories
//! (plan names it) and restores from it; renamed (a replacement with directories of its own), it
//! restores from the final savepoint the old one took. On the plain test server: the plan errors of invalid
//! settings and of a savepoint of a deployment that is not running, the warnings of changes that
//! would need a savepoint directory, and a create that runs past `timeouts.create`.

use crate::cluster::Cluster;
use crate::harness::{shared_storage, unwrapped, Workspace, NODE_STORAGE};
use crate::local_cluster::{http_get, job_jar, pod, serve, wait_for};
use std::io::{Read, Write};
use std::time::Duration;

/// The address the local cluster's pods reach this machine at.
pub(crate) const HOST: &str = "10.245.0.1";

/// `flink_deployment.counter`: the test's stateful job, served from `port`, with `settings`
/// (where its state goes) in the block.
pub(crate) fn counter(
    cluster: &Cluster,
    port: u16,
    state: &str,
    parallelism: u32,
    settings: &str,
) -> String {
    format!(
        r#"
resource "flink_deployment" "counter" {{
  name          = "counter"
  namespace     = "{ns}"
  flink_version = "2.3"
  state         = "{state}"
  artifact = {{
    jar_uri     = "http://{HOST}:{port}/counter.jar"
    entry_class = "Counter"
  }}
  parallelism = {parallelism}
  resources = {{
    jobmanager  = {{ memory = "1024m" }}
    taskmanager = {{ memory = "1024m" }}
  }}
  {settings}
  wait_timeout = "4 min"
}}
"#,
        ns = cluster.namespace,
    )
}

fn stateful(
    cluster: &Cluster,
    port: u16,
    savepoints: &str,
    state: &str,
    parallelism: u32,
) -> String {
    with_strategy(cluster, port, savepoints, state, parallelism, "STATEFUL")
}

fn with_strategy(
    cluster: &Cluster,
    port: u16,
    savepoints: &str,
    state: &str,
    parallelism: u32,
    upgrade_strategy: &str,
) -> String {
    let settings = format!(
        r#"upgrade_strategy = "{upgrade_strategy}"
  flink_configuration = {{
    "execution.checkpointing.savepoint-dir" = "{savepoints}"
    "execution.checkpointing.dir"           = "{savepoints}-checkpoints"
  }}
  {NODE_STORAGE}"#
    );
    cluster.provider_block() + &counter(cluster, port, state, parallelism, &settings)
}

/// The parallelism Flink runs the job's operators with.
fn running_parallelism(cluster: &Cluster, id: &str, job_id: &str) -> Option<u64> {
    let body = http_get(&rest_address(cluster, id)?, &format!("/jobs/{job_id}"))?;
    let job: serde_json::Value = serde_json::from_str(&body).ok()?;
    job["vertices"]
        .as_array()?
        .iter()
        .filter_map(|v| v["parallelism"].as_u64())
        .max()
}

/// The REST address of the deployment's JobManager pod.
pub(crate) fn rest_address(cluster: &Cluster, id: &str) -> Option<String> {
    pod(cluster, "jobmanager", id)["status"]["podIP"]
        .as_str()
        .map(|ip| format!("{ip}:8081"))
}

/// The job's state as Flink reports it.
pub(crate) fn job_state(cluster: &Cluster, id: &str, job_id: &str) -> Option<String> {
    let body = http_get(&rest_address(cluster, id)?, &format!("/jobs/{job_id}"))?;
    let job: serde_json::Value = serde_json::from_str(&body).ok()?;
    job["state"].as_str().map(String::from)
}

const SNAPSHOT: &str = r#"
resource "flink_savepoint" "snap" {
  namespace  = flink_deployment.counter.namespace
  deployment = flink_deployment.counter.name
}
"#;

/// Asserts the job runs, restored from `location` (Flink's `latest.restored.external_path`).
pub(crate) fn assert_runs_restored_from(ws: &Workspace, cluster: &Cluster, location: &str) {
    let restored = restored_from(ws, cluster);
    assert!(same_path(&restored, location), "{restored} vs {location}");
}

/// Where the running job restored from, as Flink reports it (`latest.restored.external_path`).
pub(crate) fn restored_from(ws: &Workspace, cluster: &Cluster) -> String {
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["status"], "RUNNING");
    let (id, job_id) = (
        values["id"].as_str().unwrap(),
        values["job_id"].as_str().unwrap(),
    );
    wait_for(
        "the job to report its restore",
        Duration::from_secs(120),
        || {
            let body = http_get(
                &rest_address(cluster, id)?,
                &format!("/jobs/{job_id}/checkpoints"),
            )?;
            let checkpoints: serde_json::Value = serde_json::from_str(&body).ok()?;
            checkpoints["latest"]["restored"]["external_path"]
                .as_str()
                .map(String::from)
        },
    )
}

/// `POST path` with a JSON body to a Flink REST address; the answer's body.
fn http_post(address: &str, path: &str, body: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(address).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

/// The number of checkpoint directory `.../chk-<n>`.
fn checkpoint_number(location: &str) -> u64 {
    location
        .rsplit("chk-")
        .next()
        .and_then(|n| n.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no checkpoint directory: {location}"))
}

/// Flink writes `file:/x` where the provider was given `file:///x`.
pub(crate) fn same_path(a: &str, b: &str) -> bool {
    let strip = |p: &str| {
        p.trim_start_matches("file:")
            .trim_start_matches('/')
            .to_string()
    };
    strip(a) == strip(b)
}

pub(crate) fn local_path(location: &str) -> std::path::PathBuf {
    std::path::Path::new("/").join(location.trim_start_matches("file:").trim_start_matches('/'))
}

/// The job id of the deployment's current run.
pub(crate) fn job_id(ws: &Workspace) -> String {
    ws.resource_values("flink_deployment.counter")["job_id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) fn savepoints(ws: &Workspace) -> Vec<(String, String)> {
    let values = ws.resource_values("flink_deployment.counter");
    values["savepoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["location"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn stateful_upgrade_suspend_and_resume_restore_from_the_savepoints_the_provider_took() {
    let cluster = Cluster::start_with_pods("lifecycle");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let work = shared_storage();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let directory = format!("file://{}/savepoints", work.path().display());
    let ws = Workspace::new();

    ws.config(&stateful(&cluster, port, &directory, "RUNNING", 1));
    ws.apply();
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["status"], "RUNNING");
    assert_eq!(values["savepoints"], serde_json::json!([]));
    let id = values["id"].as_str().unwrap().to_string();
    let first_run = job_id(&ws);

    // A STATEFUL upgrade: the plan says a savepoint will be taken, apply records it, and the new
    // job restores from exactly that location.
    ws.config(&stateful(&cluster, port, &directory, "RUNNING", 2));
    let (changes, plan) = ws.plan();
    assert!(changes);
    assert!(plan.contains("last_savepoint"), "{plan}");
    ws.apply();
    let taken = savepoints(&ws);
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(taken[0].1, "UPGRADE");
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["last_savepoint"], taken[0].0.as_str());
    assert_runs_restored_from(&ws, &cluster, &taken[0].0);
    assert!(local_path(&taken[0].0).is_dir(), "the savepoint is on disk");
    assert_ne!(job_id(&ws), first_run, "an upgrade starts a new run");

    // upgrade_strategy NONE: the change is stored, the running job keeps its pods and its
    // parallelism, and pending_changes shows what waits.
    let upgraded_run = job_id(&ws);
    let jobmanager_pod = pod(&cluster, "jobmanager", &id)["metadata"]["name"].clone();
    ws.config(&with_strategy(
        &cluster, port, &directory, "RUNNING", 1, "NONE",
    ));
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(plan.contains("Change stored, not rolled out"), "{plan}");
    assert!(plan.contains("pending_changes"), "{plan}");
    ws.apply();
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["pending_changes"]["parallelism"], "2", "{values}");
    assert_eq!(
        values["effective_flink_configuration"]["parallelism.default"],
        "2"
    );
    assert_eq!(job_id(&ws), upgraded_run, "the same run goes on");
    assert_eq!(
        pod(&cluster, "jobmanager", &id)["metadata"]["name"],
        jobmanager_pod,
        "no new JobManager pod"
    );
    assert_eq!(running_parallelism(&cluster, &id, &upgraded_run), Some(2));
    assert_eq!(savepoints(&ws).len(), 1, "no savepoint for a stored change");

    // SUSPENDED: a savepoint, then no JobManager or TaskManager pod; what waited is stored.
    ws.config(&with_strategy(
        &cluster,
        port,
        &directory,
        "SUSPENDED",
        1,
        "NONE",
    ));
    ws.apply();
    let taken = savepoints(&ws);
    assert_eq!(taken.len(), 2, "{taken:?}");
    assert_eq!(taken[1].1, "SUSPEND");
    assert_eq!(
        ws.resource_values("flink_deployment.counter")["status"],
        "SUSPENDED"
    );
    let pods = cluster.kubectl(&[
        "get",
        "pods",
        "-l",
        &format!("flink.flinkops.io/deployment-id={id}"),
        "-o",
        "name",
    ]);
    assert_eq!(pods.trim(), "", "no Flink pod while suspended");
    assert!(
        ws.resource_values("flink_deployment.counter")["pending_changes"].is_null(),
        "nothing waits once the job stopped"
    );

    // RUNNING again: restores from the suspend savepoint, with the change that waited.
    ws.config(&stateful(&cluster, port, &directory, "RUNNING", 1));
    ws.apply();
    assert_runs_restored_from(&ws, &cluster, &taken[1].0);
    assert_eq!(running_parallelism(&cluster, &id, &job_id(&ws)), Some(1));

    // Cancelled in Flink, outside Terraform, after a checkpoint: the plan shows the drift, and
    // apply runs the job again as a new run from the checkpoint Flink retained (LATEST_STATE).
    let cancelled_run = job_id(&ws);
    let address = rest_address(&cluster, &id).unwrap();
    let checkpoint = wait_for("a completed checkpoint", Duration::from_secs(60), || {
        let body = http_get(&address, &format!("/jobs/{cancelled_run}/checkpoints"))?;
        let stats: serde_json::Value = serde_json::from_str(&body).ok()?;
        let path = stats["latest"]["completed"]["external_path"].as_str()?;
        path.contains("/chk-").then(|| path.to_string())
    });
    let mut socket = std::net::TcpStream::connect(&address).unwrap();
    write!(
        socket,
        "PATCH /jobs/{cancelled_run}?mode=cancel HTTP/1.0\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    wait_for("Flink to cancel the job", Duration::from_secs(60), || {
        (job_state(&cluster, &id, &cancelled_run)? == "CANCELED").then_some(())
    });
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(
        plan.contains(r#"~ state "#) && plan.contains(r#""CANCELLED" -> "RUNNING""#),
        "{plan}"
    );
    let said = unwrapped(&plan);
    assert!(
        said.contains("Restarting a job that ended outside Terraform")
            && said.contains("Flink reports the job CANCELED")
            && said.contains(&format!("otherwise the job starts from {}", taken[1].0)),
        "the plan names what the restart restores from: {plan}"
    );
    ws.apply();
    let taken = savepoints(&ws);
    assert_eq!(taken.len(), 3, "{taken:?}");
    assert_eq!(taken[2].1, "RETAINED_CHECKPOINT");
    let retained = &taken[2].0;
    assert!(retained.contains("/chk-"), "{retained}");
    let (kept, first_seen) = (checkpoint_number(retained), checkpoint_number(&checkpoint));
    assert!(kept >= first_seen, "{retained} is older than {checkpoint}");
    assert!(
        local_path(retained).is_dir(),
        "kept after the cancel: {retained}"
    );
    assert_runs_restored_from(&ws, &cluster, retained);
    let stopped_run = job_id(&ws);
    assert_ne!(
        stopped_run, cancelled_run,
        "the job runs again as a new run"
    );

    // Stopped with a savepoint by hand (as `flink stop` does; also what an apply killed right
    // after its savepoint leaves): the plan shows the drift, and apply restores from exactly
    // that savepoint, recorded as FOUND_SAVEPOINT.
    let address = rest_address(&cluster, &id).unwrap();
    let by_hand = format!("{directory}-by-hand");
    let trigger = wait_for(
        "Flink to take the stop request",
        Duration::from_secs(60),
        || {
            let answer = http_post(
                &address,
                &format!("/jobs/{stopped_run}/stop"),
                &format!(r#"{{"targetDirectory": "{by_hand}", "drain": false}}"#),
            )?;
            let answer: serde_json::Value = serde_json::from_str(&answer).ok()?;
            answer["request-id"].as_str().map(String::from)
        },
    );
    let location = wait_for("the savepoint by hand", Duration::from_secs(120), || {
        let body = http_get(
            &address,
            &format!("/jobs/{stopped_run}/savepoints/{trigger}"),
        )?;
        let status: serde_json::Value = serde_json::from_str(&body).ok()?;
        status["operation"]["location"].as_str().map(String::from)
    });
    wait_for("Flink to finish the job", Duration::from_secs(60), || {
        (job_state(&cluster, &id, &stopped_run)? == "FINISHED").then_some(())
    });
    let (changes, plan) = ws.plan();
    assert!(
        changes && plan.contains(r#""FINISHED" -> "RUNNING""#),
        "{plan}"
    );
    let said = unwrapped(&plan);
    assert!(
        said.contains("Restarting a job that ended outside Terraform")
            && said.contains("Flink reports the job FINISHED"),
        "{plan}"
    );
    ws.apply();
    let taken = savepoints(&ws);
    assert_eq!(taken.len(), 4, "{taken:?}");
    assert_eq!(taken[3].1, "FOUND_SAVEPOINT");
    assert!(same_path(&taken[3].0, &location), "{taken:?} vs {location}");
    assert_runs_restored_from(&ws, &cluster, &location);
    let job_id = job_id(&ws);
    assert_ne!(job_id, stopped_run);

    // flink_savepoint: taken while the job keeps running; -replace takes a new one, and the
    // first stays on disk.
    ws.config(&(stateful(&cluster, port, &directory, "RUNNING", 1) + SNAPSHOT));
    ws.apply();
    let snapshot = ws.resource_values("flink_savepoint.snap");
    assert_eq!(snapshot["job_id"], job_id.as_str());
    let first = snapshot["location"].as_str().unwrap().to_string();
    assert!(local_path(&first).is_dir(), "{first}");
    let replaced = ws.terraform(&[
        "apply",
        "-replace=flink_savepoint.snap",
        "-auto-approve",
        "-no-color",
    ]);
    assert_eq!(replaced.code, 0, "{}", replaced.text);
    ws.assert_no_changes();
    let second = ws.resource_values("flink_savepoint.snap")["location"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    assert!(local_path(&first).is_dir() && local_path(&second).is_dir());
    assert_eq!(
        savepoints(&ws),
        taken,
        "the lifecycle's savepoints are its own"
    );
    assert_eq!(
        job_state(&cluster, &id, &job_id).as_deref(),
        Some("RUNNING")
    );

    // A savepoint Flink cannot write: the apply fails with Flink's reason, the job keeps running
    // and state keeps what it had.
    ws.config(&stateful(
        &cluster,
        port,
        "file:///proc/no-savepoints-here",
        "RUNNING",
        1,
    ));
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    assert!(run.text.contains("The savepoint failed"), "{}", run.text);
    assert!(
        run.text.contains("Failed to create savepoint directory"),
        "Flink's reason: {}",
        run.text
    );
    assert!(run.text.contains("The job keeps running"), "{}", run.text);
    assert_eq!(savepoints(&ws), taken, "state keeps its savepoints");
    wait_for("the job to run on", Duration::from_secs(60), || {
        (job_state(&cluster, &id, &job_id)? == "RUNNING").then_some(())
    });

    ws.config(&stateful(&cluster, port, &directory, "RUNNING", 1));
    // Destroy stops the job with a final savepoint and says where it went.
    let destroyed = ws.destroy();
    assert!(destroyed.contains("Final savepoint taken"), "{destroyed}");
    let location = destroyed[destroyed.find("Final savepoint taken").unwrap()..]
        .split_whitespace()
        .skip_while(|w| *w != "at")
        .nth(1)
        .unwrap_or_default();
    assert!(local_path(location).is_dir(), "{location:?} in {destroyed}");

    // State follows identity: the same deployment applied again gets the same id, so the same
    // directories; its plan names the final savepoint found there, and the new job (a run of its
    // own) restores from it.
    let location = location.to_string();
    let savepoint_name = location.trim_end_matches('/').rsplit('/').next().unwrap();
    let (changes, plan) = ws.plan();
    assert!(changes);
    assert!(
        plan.contains("Starts from the state of an earlier deployment"),
        "{plan}"
    );
    assert!(
        plan.contains("last_savepoint") && plan.contains(savepoint_name),
        "the plan names {savepoint_name}: {plan}"
    );
    ws.apply();
    let found = savepoints(&ws);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "FOUND_SAVEPOINT");
    assert!(same_path(&found[0].0, &location), "{found:?} vs {location}");
    assert_runs_restored_from(&ws, &cluster, &location);
    assert_ne!(self::job_id(&ws), first_run, "a run of its own");

    // A new name replaces the deployment, with directories of its own: the plan says the new job
    // starts from the final savepoint the old one takes when destroyed, and it does.
    let renamed = stateful(&cluster, port, &directory, "RUNNING", 1).replace(
        r#"name          = "counter""#,
        r#"name          = "counter-renamed""#,
    );
    assert_ne!(renamed, stateful(&cluster, port, &directory, "RUNNING", 1));
    ws.config(&renamed);
    let (changes, plan) = ws.plan();
    assert!(changes);
    assert!(plan.contains("must be replaced"), "{plan}");
    assert!(
        plan.contains("The replacement starts from the state of the deployment it replaces"),
        "{plan}"
    );
    assert!(plan.contains("the final savepoint"), "{plan}");
    let applied = ws.apply();
    let final_savepoint = applied[applied.find("Final savepoint taken").expect(&applied)..]
        .split_whitespace()
        .skip_while(|w| *w != "at")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let found = savepoints(&ws);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        same_path(&found[0].0, &final_savepoint),
        "{found:?} vs {final_savepoint}"
    );
    assert_runs_restored_from(&ws, &cluster, &final_savepoint);
    ws.destroy();
}

fn plain(cluster: &Cluster, state: &str, parallelism: u32, extra: &str) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "job" {{
  name          = "job"
  namespace     = "{ns}"
  flink_version = "2.3"
  state         = "{state}"
  wait_for_job  = false
  artifact = {{
    jar_uri = "https://artifacts.example.com/job.jar"
  }}
  parallelism = {parallelism}
  {extra}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

#[test]
fn a_missing_savepoint_fails_the_apply_and_an_unreadable_directory_only_warns() {
    let cluster = Cluster::start("lifecycle-restore");
    let ws = Workspace::new();
    let work = shared_storage();

    // A savepoint to start from that is not there (no `_metadata`): the create stops before it
    // writes anything, naming the attribute.
    let missing = format!("file://{}/savepoint-gone", work.path().display());
    ws.config(&plain(
        &cluster,
        "RUNNING",
        1,
        &format!("initial_savepoint_path = \"{missing}\""),
    ));
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    let text = unwrapped(&run.text);
    assert!(text.contains("The state to restore from is gone"), "{text}");
    assert!(text.contains("initial_savepoint_path"), "{text}");
    assert!(
        text.contains(&format!("{missing} has no _metadata")),
        "{text}"
    );
    assert!(cluster.managed_objects().is_empty(), "nothing was written");
    let listed = ws.terraform(&["state", "list"]);
    assert!(listed.text.trim().is_empty(), "{}", listed.text);

    // Savepoints in S3 the provider has no credentials to read: plan warns that the job starts
    // without a predecessor's state, and the plan goes on.
    ws.config(&plain(
        &cluster,
        "RUNNING",
        1,
        r#"flink_configuration = { "execution.checkpointing.savepoint-dir" = "s3://flink-state/savepoints" }"#,
    ));
    let run = ws.terraform_with_env(
        &["plan", "-no-color"],
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
    );
    assert_eq!(run.code, 0, "{}", run.text);
    let text = unwrapped(&run.text);
    assert!(
        text.contains("Cannot look for the state of an earlier deployment"),
        "{text}"
    );
    assert!(
        text.contains("no S3 credentials the provider can read"),
        "{text}"
    );
    assert!(text.contains("the job starts without state"), "{text}");
}

#[test]
fn operations_that_cannot_work_fail_the_plan_on_their_attribute() {
    let cluster = Cluster::start("lifecycle-plan");
    let ws = Workspace::new();
    ws.config(&plain(
        &cluster,
        "RUNNING",
        1,
        "savepoint_timeout = \"soon\"\n  wait_timeout = \"5 parsecs\"\n  timeouts = { update = \"5 minutes\" }\n  rest_url = \"flink-job-rest:8081\"",
    ));
    let error = ws.plan_error();
    assert!(error.contains("Invalid duration \"soon\""), "{error}");
    assert!(error.contains("Invalid duration \"5 parsecs\""), "{error}");
    assert!(error.contains("savepoint_timeout"), "{error}");
    assert!(error.contains("Invalid timeout \"5 minutes\""), "{error}");
    assert!(error.contains("Go duration, e.g. 30m"), "{error}");
    assert!(error.contains("Invalid rest_url"), "{error}");
    assert!(
        error.contains("the URL must start with http:// or https://"),
        "{error}"
    );

    ws.config(&plain(&cluster, "RUNNING", 1, ""));
    ws.apply();

    // Whether a change needs a savepoint depends on what runs, so a deployment without a
    // savepoint directory gets a warning, never a plan error (it would block destroy too); the
    // plain server runs no job, so the change rolls out without one.
    ws.config(&plain(&cluster, "RUNNING", 2, ""));
    let (changes, plan) = ws.plan();
    let said = unwrapped(&plan);
    assert!(changes, "{plan}");
    assert!(said.contains("No savepoint directory"), "{plan}");
    assert!(said.contains("The job is not running (PENDING)"), "{plan}");
    assert!(
        said.contains("(UPGRADE needs one only of a running job)"),
        "{plan}"
    );

    ws.config(&plain(&cluster, "SUSPENDED", 1, ""));
    let (_, plan) = ws.plan();
    let said = unwrapped(&plan);
    assert!(said.contains("No savepoint directory"), "{plan}");
    assert!(said.contains("(SUSPEND needs one only"), "{plan}");
    assert!(
        said.contains("line 17"),
        "the warning points at state: {plan}"
    );

    // STATELESS needs none, and a resumed job without any savepoint is told it starts afresh.
    ws.config(&plain(
        &cluster,
        "RUNNING",
        2,
        "upgrade_strategy = \"STATELESS\"",
    ));
    ws.apply();
    ws.config(&plain(
        &cluster,
        "CANCELLED",
        2,
        "upgrade_strategy = \"STATELESS\"",
    ));
    ws.apply();
    // A savepoint of a deployment that is not running fails the plan on `deployment`.
    let cancelled = plain(&cluster, "CANCELLED", 2, "upgrade_strategy = \"STATELESS\"");
    ws.config(
        &(cancelled
            + r#"
resource "flink_savepoint" "snap" {
  namespace  = flink_deployment.job.namespace
  deployment = flink_deployment.job.name
}
"#),
    );
    let error = ws.plan_error();
    assert!(error.contains("The deployment is not running"), "{error}");
    assert!(error.contains("is CANCELLED"), "{error}");
    ws.config(&plain(
        &cluster,
        "RUNNING",
        2,
        "upgrade_strategy = \"STATELESS\"",
    ));
    let (_, plan) = ws.plan();
    assert!(plan.contains("Starting without state"), "{plan}");
    ws.destroy();
}

#[test]
fn a_create_that_outlasts_timeouts_create_fails_saying_so_and_stays_in_state() {
    // The plain test server runs no pods, so the job never runs.
    let cluster = Cluster::start("lifecycle-timeouts");
    let ws = Workspace::new();
    let config = plain(&cluster, "RUNNING", 1, "timeouts = { create = \"3s\" }")
        .replace("wait_for_job  = false", "wait_for_job  = true");
    ws.config(&config);
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    assert!(
        run.text.contains("The Flink job did not start"),
        "{}",
        run.text
    );
    assert!(
        run.text.contains("(timeouts.create = \"3s\")"),
        "names the timeout that ran out: {}",
        run.text
    );
    let listed = ws.terraform(&["state", "list"]);
    assert!(
        listed.text.contains("flink_deployment.job"),
        "what was created is in state: {}",
        listed.text
    );
    ws.destroy();
}
