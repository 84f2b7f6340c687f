//! The kill matrix on the plain test server (issue 23): the real terraform CLI and the provider it
//! started SIGKILLed together (a CI runner killed mid-apply) at each step of a create, an update
//! and a destroy that needs no running job. After each kill the next apply (or destroy)
//! converges, with no orphans: every object the server holds with the provider's labels is one
//! that state lists, and the plan after it is empty. A create killed before it returned its state
//! leaves objects no state names; they carry its pending mark, and the next create adopts them
//! (with a warning) instead of refusing them as another resource's.
//!
//! On the local cluster, with a real job: a STATEFUL upgrade killed after its savepoint, with the
//! rollout's objects partly applied and the new savepoint in no state, converges on the next
//! apply, which restores from that savepoint (the ConfigMap recorded it), with one JobManager.
//! A SUSPEND killed as soon as Flink starts writing its savepoint converges too: Flink finishes
//! that stop on its own, the next apply finds the job ended and records the savepoint the killed
//! stop left (it used to scale the job down without it), and the resumed job restores from it.

use crate::cluster::Cluster;
use crate::harness::{shared_storage, unwrapped, Workspace, NODE_STORAGE};
use crate::lifecycle::{assert_runs_restored_from, counter, local_path, savepoints};
use crate::local_cluster::{job_jar, serve, wait_for};
use std::process::Child;
use std::time::Duration;

/// Long enough that the stalled request is certainly in flight when the kill comes.
const STALL: &str = r#"{"delay": {"millis": 20000}}"#;

fn deployment(cluster: &Cluster, parallelism: u32, wait_for_job: bool) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "counter" {{
  name          = "counter"
  namespace     = "{ns}"
  flink_version = "2.2"
  parallelism   = {parallelism}
  wait_for_job  = {wait_for_job}
  artifact = {{
    jar_uri     = "https://artifacts.example.com/counter.jar"
    entry_class = "org.example.Counter"
  }}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

/// SIGKILLs terraform and the provider (its process group) and reaps terraform.
fn kill(mut child: Child) {
    let killed = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status()
        .is_ok_and(|s| s.success());
    assert!(killed, "kill failed");
    let _ = child.wait();
}

/// The objects the server holds with the provider's labels that state does not list.
fn orphans(cluster: &Cluster, ws: &Workspace) -> Vec<String> {
    let state = ws.state();
    let listed: Vec<String> = state["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["values"]["kubernetes_objects"].as_object())
        .flat_map(|objects| objects.keys().cloned())
        .collect();
    cluster
        .managed_objects()
        .into_iter()
        .filter(|held| {
            // `kubectl get -o name` says `deployment.apps/x`, state `Deployment/x`.
            let (kind, name) = held.split_once('/').unwrap_or_default();
            let kind = kind.split('.').next().unwrap_or_default();
            !listed
                .iter()
                .any(|l| l.eq_ignore_ascii_case(&format!("{kind}/{name}")))
        })
        .collect()
}

/// One kill point: what was killed, and what the next run needed.
struct Outcome {
    point: &'static str,
    orphans_after: usize,
}

#[test]
fn a_kill_at_every_step_of_create_update_and_destroy_converges_without_orphans() {
    let cluster = Cluster::start_with_faults("kill");
    let ws = Workspace::new();
    let mut outcomes = Vec::new();

    // Create, killed with the first Deployment's apply in flight: the ConfigMap and the
    // ServiceAccount exist, marked by an instance no state records.
    ws.config(&deployment(&cluster, 1, false));
    let count = 1000;
    cluster.arm_fault(&format!(
        r#"{{"verb": "patch", "kind": "Deployment", "count": {count}, "action": {STALL}}}"#
    ));
    let apply = ws.spawn_terraform(&["apply", "-auto-approve", "-no-color"]);
    cluster.until_fault_taken(count);
    kill(apply);
    cluster.disarm_faults();
    let left = cluster.managed_objects();
    assert!(
        left.iter().any(|o| o == "configmap/flink-counter-config"),
        "the kill came before any object: {left:?}"
    );
    let applied = ws.apply();
    assert!(
        unwrapped(&applied).contains("Adopting what an unfinished create left"),
        "{applied}"
    );
    outcomes.push(Outcome {
        point: "create: objects partly applied",
        orphans_after: orphans(&cluster, &ws).len(),
    });
    ws.destroy();

    // Create, killed while it waits for a job that never starts (no pods run here): every
    // object exists, and none is in state.
    ws.config(&deployment(&cluster, 1, true));
    let apply = ws.spawn_terraform(&["apply", "-auto-approve", "-no-color"]);
    cluster.until_managed("deployment.apps/flink-counter-taskmanager");
    std::thread::sleep(Duration::from_millis(500));
    kill(apply);
    let listed = ws.terraform(&["state", "list"]);
    assert!(
        !listed.text.contains("flink_deployment.counter"),
        "a killed create recorded no state: {}",
        listed.text
    );
    ws.config(&deployment(&cluster, 1, false));
    ws.apply();
    outcomes.push(Outcome {
        point: "create: waiting for the job",
        orphans_after: orphans(&cluster, &ws).len(),
    });

    // Update, killed with the TaskManager Deployment's apply in flight.
    cluster.arm_fault(&format!(
        r#"{{"verb": "patch", "kind": "Deployment", "name": "flink-counter-taskmanager", "count": {count}, "action": {STALL}}}"#
    ));
    ws.config(&deployment(&cluster, 2, false));
    let apply = ws.spawn_terraform(&["apply", "-auto-approve", "-no-color"]);
    cluster.until_fault_taken(count);
    kill(apply);
    cluster.disarm_faults();
    ws.apply();
    outcomes.push(Outcome {
        point: "update: objects partly applied",
        orphans_after: orphans(&cluster, &ws).len(),
    });

    // Destroy, killed with a Deployment's delete in flight: state keeps the resource, the
    // next destroy removes what is left.
    cluster.arm_fault(&format!(
        r#"{{"verb": "delete", "kind": "Deployment", "count": {count}, "action": {STALL}}}"#
    ));
    let destroy = ws.spawn_terraform(&["destroy", "-auto-approve", "-no-color"]);
    cluster.until_fault_taken(count);
    kill(destroy);
    cluster.disarm_faults();
    ws.destroy();
    let left = cluster.managed_objects();
    outcomes.push(Outcome {
        point: "destroy: objects partly deleted",
        orphans_after: left.len(),
    });

    for o in &outcomes {
        eprintln!(
            "kill point {:?}: converged on the next run, {} orphans",
            o.point, o.orphans_after
        );
    }
    let with_orphans: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.orphans_after > 0)
        .map(|o| o.point)
        .collect();
    assert!(with_orphans.is_empty(), "orphans after {with_orphans:?}");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_stateful_upgrade_killed_after_its_savepoint_restores_from_it_on_the_next_apply() {
    let cluster = Cluster::start_with_pods_and_faults("kill-upgrade");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let work = shared_storage();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let directory = format!("file://{}/savepoints", work.path().display());
    let config = |parallelism: u32| {
        let settings = format!(
            r#"upgrade_strategy = "STATEFUL"
  flink_configuration = {{
    "execution.checkpointing.savepoint-dir" = "{directory}"
  }}
  {NODE_STORAGE}"#
        );
        cluster.provider_block() + &counter(&cluster, port, "RUNNING", parallelism, &settings)
    };
    let ws = Workspace::new();
    ws.config(&config(1));
    ws.apply();
    assert!(savepoints(&ws).is_empty());

    // The upgrade: the savepoint is taken, the ConfigMap applied, and the JobManager's
    // Deployment stalls; terraform and the provider are killed there.
    let count = 1000;
    cluster.arm_fault(&format!(
        r#"{{"verb": "patch", "kind": "Deployment", "name": "flink-counter-jobmanager", "count": {count}, "action": {STALL}}}"#
    ));
    ws.config(&config(2));
    let apply = ws.spawn_terraform(&["apply", "-auto-approve", "-no-color"]);
    cluster.until_fault_taken(count);
    kill(apply);
    cluster.disarm_faults();
    let taken: Vec<std::path::PathBuf> = std::fs::read_dir(local_path(&directory))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert_eq!(
        taken.len(),
        1,
        "the upgrade's savepoint, before the kill: {taken:?}"
    );
    assert!(
        savepoints(&ws).is_empty(),
        "the kill came before state recorded it"
    );

    // The next apply converges and restores from the savepoint the killed one took.
    ws.apply();
    let recorded = savepoints(&ws);
    let newest = recorded.last().map(|(location, _)| location.clone());
    let newest = newest.unwrap_or_else(|| panic!("no savepoint in state: {recorded:?}"));
    assert_eq!(local_path(&newest), taken[0], "{recorded:?}");
    assert_runs_restored_from(&ws, &cluster, &newest);
    // The old JobManager pod may still be terminating: the job runs in one of them only once
    // that ends, and no second one comes up.
    let jobmanagers = || {
        cluster
            .kubectl(&["get", "pods", "-l", "component=jobmanager", "-o", "name"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    };
    wait_for("one JobManager pod", Duration::from_secs(90), || {
        (jobmanagers() == 1).then_some(())
    });
    eprintln!(
        "kill point \"STATEFUL upgrade: after the savepoint, rollout partly applied\": converged on \
         the next apply, restored from {newest}, savepoints lost: 0"
    );

    // SUSPENDED, killed as soon as Flink starts writing the suspend's savepoint. Flink finishes
    // it on its own; the next apply (still SUSPENDED) converges, and RUNNING restores from it.
    let on_disk = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(local_path(&directory))
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let before = on_disk();
    let suspended = config(2).replace(
        r#"state         = "RUNNING""#,
        r#"state         = "SUSPENDED""#,
    );
    ws.config(&suspended);
    let apply = ws.spawn_terraform(&["apply", "-auto-approve", "-no-color"]);
    let started = wait_for(
        "the suspend's savepoint to start",
        Duration::from_secs(120),
        || on_disk().into_iter().find(|p| !before.contains(p)),
    );
    kill(apply);
    let completed_at_kill = started.join("_metadata").is_file();
    // Flink ends the job once the savepoint completes; the next refresh sees it ended (on a
    // loaded machine it always does, and that apply used to scale the job down without
    // recording the savepoint, so the resume restored from the older one).
    let (id, run) = (
        ws.resource_values("flink_deployment.counter")["id"]
            .as_str()
            .map(String::from),
        crate::lifecycle::job_id(&ws),
    );
    let id = id.unwrap();
    wait_for("the job to end", Duration::from_secs(120), || {
        (crate::lifecycle::job_state(&cluster, &id, &run)? == "FINISHED").then_some(())
    });
    let applied = unwrapped(&ws.apply());
    assert!(
        applied.contains("Suspending a job that ended outside Terraform"),
        "{applied}"
    );
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["status"], "SUSPENDED", "{values}");
    wait_for(
        "the suspend's savepoint to complete",
        Duration::from_secs(60),
        || started.join("_metadata").is_file().then_some(()),
    );
    ws.config(&config(2));
    ws.apply();
    let recorded = savepoints(&ws);
    let (newest, _) = recorded.last().cloned().unwrap();
    assert_eq!(local_path(&newest), started, "{recorded:?}");
    assert_runs_restored_from(&ws, &cluster, &newest);
    eprintln!(
        "kill point \"SUSPEND: the savepoint being written\" (complete at the kill: \
         {completed_at_kill}): converged on the next apply, resumed from {newest}, savepoints \
         lost: 0"
    );
    ws.destroy();
}
