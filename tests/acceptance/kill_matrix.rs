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
//! A STATEFUL upgrade killed before its savepoint (every port-forward to the JobManager stalled),
//! and one killed while Flink writes it, then applied again from the same saved plan (it used to
//! start the job from the older savepoint state records); a destroy killed while Flink writes its
//! final savepoint, and one killed after it with the objects partly deleted: the next destroy
//! names that savepoint (it used to name an older one) and the deployment applied again restores
//! from it. Throughout the rollouts, [`JobManagerSampler`] sees at most one JobManager serving
//! the job. Each test prints a line per kill point and the totals: points tried, converged,
//! orphans, savepoints lost.

use crate::cluster::Cluster;
use crate::harness::{shared_storage, unwrapped, Workspace, NODE_STORAGE};
use crate::jobmanager_sampler::JobManagerSampler;
use crate::lifecycle::{counter, local_path, restored_from, savepoints};
use crate::local_cluster::{job_jar, pod, serve, wait_for};
use std::path::PathBuf;
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

/// What the kill points of one test left once the next run was done.
#[derive(Default)]
struct Report {
    points: Vec<Point>,
}

/// One kill point: what was killed, and what the next run left.
struct Point {
    point: &'static str,
    /// The next apply (or destroy) succeeded, and the plan after it was empty (or the state).
    converged: bool,
    /// Objects with the provider's labels that state does not list (after a destroy: any).
    orphans: usize,
    /// Savepoints the provider took that the next run did not keep: gone from disk, or newer
    /// than what the job restored from (or the destroy named).
    savepoints_lost: usize,
}

impl Report {
    fn record(&mut self, point: &'static str, converged: bool, orphans: usize, lost: usize) {
        eprintln!(
            "kill point {point:?}: converged {}, {orphans} orphans, {lost} savepoints lost",
            if converged { "yes" } else { "no" }
        );
        self.points.push(Point {
            point,
            converged,
            orphans,
            savepoints_lost: lost,
        });
    }

    /// Prints the totals, then fails on any point that did not converge, left an orphan or lost
    /// a savepoint.
    fn assert_all_kept(&self) {
        let tried = self.points.len();
        let converged = self.points.iter().filter(|p| p.converged).count();
        let orphans: usize = self.points.iter().map(|p| p.orphans).sum();
        let lost: usize = self.points.iter().map(|p| p.savepoints_lost).sum();
        eprintln!(
            "kill points: {tried} tried, {converged} converged, {orphans} orphans, {lost} \
             savepoints lost"
        );
        let failed: Vec<&str> = self
            .points
            .iter()
            .filter(|p| !p.converged || p.orphans > 0 || p.savepoints_lost > 0)
            .map(|p| p.point)
            .collect();
        assert!(failed.is_empty(), "kill points that failed: {failed:?}");
    }
}

/// `terraform apply`, then a plan: whether the apply succeeded and the plan was empty.
fn apply_converges(ws: &Workspace, args: &[&str]) -> (bool, String) {
    let mut all = vec!["apply", "-auto-approve", "-no-color"];
    all.extend_from_slice(args);
    let run = ws.terraform(&all);
    if run.code != 0 {
        eprintln!("the apply after the kill failed:\n{}", run.text);
        return (false, run.text);
    }
    let (changes, plan) = ws.plan();
    if changes {
        eprintln!("the plan after it is not empty:\n{plan}");
    }
    (!changes, run.text)
}

/// `terraform destroy`: whether it succeeded and left an empty state.
fn destroy_converges(ws: &Workspace) -> (bool, String) {
    let run = ws.terraform(&["destroy", "-auto-approve", "-no-color"]);
    if run.code != 0 {
        eprintln!("the destroy after the kill failed:\n{}", run.text);
        return (false, run.text);
    }
    let listed = ws.terraform(&["state", "list"]);
    (listed.text.trim().is_empty(), run.text)
}

#[test]
fn a_kill_at_every_step_of_create_update_and_destroy_converges_without_orphans() {
    let cluster = Cluster::start_with_faults("kill");
    let ws = Workspace::new();
    let mut report = Report::default();

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
    let (converged, applied) = apply_converges(&ws, &[]);
    assert!(
        unwrapped(&applied).contains("Adopting what an unfinished create left"),
        "{applied}"
    );
    let point = "create: objects partly applied";
    report.record(point, converged, orphans(&cluster, &ws).len(), 0);
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
    let (converged, _) = apply_converges(&ws, &[]);
    let point = "create: waiting for the job";
    report.record(point, converged, orphans(&cluster, &ws).len(), 0);

    // Update, killed with the TaskManager Deployment's apply in flight.
    cluster.arm_fault(&format!(
        r#"{{"verb": "patch", "kind": "Deployment", "name": "flink-counter-taskmanager", "count": {count}, "action": {STALL}}}"#
    ));
    ws.config(&deployment(&cluster, 2, false));
    let apply = ws.spawn_terraform(&["apply", "-auto-approve", "-no-color"]);
    cluster.until_fault_taken(count);
    kill(apply);
    cluster.disarm_faults();
    let (converged, _) = apply_converges(&ws, &[]);
    let point = "update: objects partly applied";
    report.record(point, converged, orphans(&cluster, &ws).len(), 0);

    // Destroy, killed with a Deployment's delete in flight: state keeps the resource, the
    // next destroy removes what is left.
    cluster.arm_fault(&format!(
        r#"{{"verb": "delete", "kind": "Deployment", "count": {count}, "action": {STALL}}}"#
    ));
    let destroy = ws.spawn_terraform(&["destroy", "-auto-approve", "-no-color"]);
    cluster.until_fault_taken(count);
    kill(destroy);
    cluster.disarm_faults();
    let (converged, _) = destroy_converges(&ws);
    let left = cluster.managed_objects();
    report.record("destroy: objects partly deleted", converged, left.len(), 0);
    report.assert_all_kept();
}

/// The RUNNING counter job of the local-cluster kill points, served from `port`, upgraded
/// STATEFUL with its savepoints in `directory`.
fn stateful(cluster: &Cluster, port: u16, directory: &str, parallelism: u32) -> String {
    let settings = format!(
        r#"upgrade_strategy = "STATEFUL"
  flink_configuration = {{
    "execution.checkpointing.savepoint-dir" = "{directory}"
  }}
  {NODE_STORAGE}"#
    );
    cluster.provider_block() + &counter(cluster, port, "RUNNING", parallelism, &settings)
}

#[test]
fn a_stateful_upgrade_killed_after_its_savepoint_restores_from_it_on_the_next_apply() {
    let cluster = Cluster::start_with_pods_and_faults("kill-upgrade");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let work = shared_storage();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let directory = format!("file://{}/savepoints", work.path().display());
    let config = |parallelism: u32| stateful(&cluster, port, &directory, parallelism);
    let ws = Workspace::new();
    ws.config(&config(1));
    ws.apply();
    assert!(savepoints(&ws).is_empty());
    let id = ws.resource_values("flink_deployment.counter")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut report = Report::default();

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
    let taken = on_disk(&directory);
    assert_eq!(
        taken.len(),
        1,
        "the upgrade's savepoint, before the kill: {taken:?}"
    );
    assert!(
        savepoints(&ws).is_empty(),
        "the kill came before state recorded it"
    );

    // The next apply converges and restores from the savepoint the killed one took, with one
    // JobManager serving the job throughout its rollout.
    let sampler = JobManagerSampler::start(&cluster, &id);
    let (converged, _) = apply_converges(&ws, &[]);
    sampler
        .finish()
        .assert_one_jobmanager("the rollout after a kill after its savepoint");
    let recorded = savepoints(&ws);
    let newest = recorded.last().map(|(location, _)| location.clone());
    let newest = newest.unwrap_or_else(|| panic!("no savepoint in state: {recorded:?}"));
    assert_eq!(local_path(&newest), taken[0], "{recorded:?}");
    let restored = restored_from(&ws, &cluster);
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
    report.record(
        "STATEFUL upgrade: after the savepoint, rollout partly applied",
        converged,
        orphans(&cluster, &ws).len(),
        savepoints_lost(
            &taken,
            newest_complete(&directory).as_ref(),
            Some(&restored),
        ),
    );

    // SUSPENDED, killed as soon as Flink starts writing the suspend's savepoint. Flink finishes
    // it on its own; the next apply (still SUSPENDED) converges, and RUNNING restores from it.
    let before = on_disk(&directory);
    // One JobManager at most through the suspend, the apply after it and the resume.
    let sampler = JobManagerSampler::start(&cluster, &id);
    let suspended = config(2).replace(
        r#"state         = "RUNNING""#,
        r#"state         = "SUSPENDED""#,
    );
    ws.config(&suspended);
    let apply = ws.spawn_terraform(&["apply", "-auto-approve", "-no-color"]);
    let started = wait_for(
        "the suspend's savepoint to start",
        Duration::from_secs(120),
        || {
            on_disk(&directory)
                .into_iter()
                .find(|p| !before.contains(p))
        },
    );
    kill(apply);
    let completed_at_kill = started.join("_metadata").is_file();
    // Flink ends the job once the savepoint completes; the next refresh sees it ended (on a
    // loaded machine it always does, and that apply used to scale the job down without
    // recording the savepoint, so the resume restored from the older one).
    until_finished(&ws, &cluster);
    let (suspend_converged, applied) = apply_converges(&ws, &[]);
    let applied = unwrapped(&applied);
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
    let kept = on_disk(&directory);
    ws.config(&config(2));
    let (resume_converged, _) = apply_converges(&ws, &[]);
    sampler
        .finish()
        .assert_one_jobmanager("a suspend killed during its savepoint and the resume");
    let recorded = savepoints(&ws);
    let (newest, _) = recorded.last().cloned().unwrap();
    assert_eq!(local_path(&newest), started, "{recorded:?}");
    let restored = restored_from(&ws, &cluster);
    eprintln!("the suspend's savepoint was complete at the kill: {completed_at_kill}");
    report.record(
        "SUSPEND: the savepoint being written",
        suspend_converged && resume_converged,
        orphans(&cluster, &ws).len(),
        savepoints_lost(&kept, newest_complete(&directory).as_ref(), Some(&restored)),
    );
    report.assert_all_kept();
    ws.destroy();
}

/// What is under the savepoint directory `directory` (savepoints complete or being written).
fn on_disk(directory: &str) -> Vec<PathBuf> {
    std::fs::read_dir(local_path(directory))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The newest complete savepoint under `directory` (the newest `_metadata`).
fn newest_complete(directory: &str) -> Option<PathBuf> {
    on_disk(directory)
        .into_iter()
        .filter_map(|p| {
            let written = p.join("_metadata").metadata().ok()?.modified().ok()?;
            Some((written, p))
        })
        .max()
        .map(|(_, p)| p)
}

/// The savepoints lost between `kept` (complete before the next run) and what it left: those
/// gone from disk, and the newest of them when `used` (what the job restored from, what a
/// destroy named) is not it.
fn savepoints_lost(kept: &[PathBuf], newest: Option<&PathBuf>, used: Option<&str>) -> usize {
    let gone = kept
        .iter()
        .filter(|p| !p.join("_metadata").is_file())
        .count();
    let newest_unused = newest.is_some_and(|n| used.is_none_or(|u| local_path(u) != *n));
    gone + usize::from(newest_unused)
}

/// The location a destroy's "Final savepoint taken" (or "No final savepoint") warning names
/// under `directory`, if any.
fn named_savepoint(output: &str, directory: &str) -> Option<String> {
    let base = local_path(directory).display().to_string();
    unwrapped(output)
        .split_whitespace()
        .map(|w| w.trim_end_matches(['.', ',', ';', ')']))
        .find(|w| {
            w.starts_with("file:")
                && local_path(w).starts_with(&base)
                && local_path(w) != std::path::Path::new(&base)
        })
        .map(String::from)
}

/// Waits until Flink reports the job of the deployment in state `ws` ended with FINISHED: a stop
/// with savepoint in flight when terraform was killed finishes on its own.
fn until_finished(ws: &Workspace, cluster: &Cluster) {
    let id = ws.resource_values("flink_deployment.counter")["id"]
        .as_str()
        .map(String::from)
        .unwrap();
    let run = crate::lifecycle::job_id(ws);
    wait_for("the job to end", Duration::from_secs(120), || {
        (crate::lifecycle::job_state(cluster, &id, &run)? == "FINISHED").then_some(())
    });
}

#[test]
fn upgrades_and_destroys_killed_around_their_savepoints_keep_the_newest_state() {
    let cluster = Cluster::start_with_pods_and_faults("kill-savepoints");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let work = shared_storage();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let directory = format!("file://{}/savepoints", work.path().display());
    let config = |parallelism: u32| stateful(&cluster, port, &directory, parallelism);
    let ws = Workspace::new();
    ws.config(&config(1));
    ws.apply();
    let id = ws.resource_values("flink_deployment.counter")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut report = Report::default();
    let count = 1000;

    // A STATEFUL upgrade killed before its savepoint: every port-forward to the JobManager
    // stalls, so the apply (without a refresh, so its first port-forward is the upgrade's
    // question whether the job runs, just before the trigger) is killed before Flink was asked
    // for anything. The next apply upgrades as if nothing happened.
    let jobmanager = pod(&cluster, "jobmanager", &id)["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    cluster.arm_fault(&format!(
        r#"{{"verb": "get", "kind": "pods", "name": "{jobmanager}", "count": {count}, "action": {STALL}}}"#
    ));
    ws.config(&config(2));
    let apply = ws.spawn_terraform(&["apply", "-refresh=false", "-auto-approve", "-no-color"]);
    cluster.until_fault_taken(count);
    kill(apply);
    cluster.disarm_faults();
    assert!(
        on_disk(&directory).is_empty(),
        "Flink was asked for no savepoint"
    );
    let sampler = JobManagerSampler::start(&cluster, &id);
    let (converged, _) = apply_converges(&ws, &[]);
    sampler
        .finish()
        .assert_one_jobmanager("the upgrade after a kill before its savepoint");
    let recorded = savepoints(&ws);
    let newest = newest_complete(&directory);
    let restored = restored_from(&ws, &cluster);
    assert_eq!(
        recorded.last().map(|(_, r)| r.as_str()),
        Some("UPGRADE"),
        "{recorded:?}"
    );
    report.record(
        "STATEFUL upgrade: before the savepoint",
        converged,
        orphans(&cluster, &ws).len(),
        savepoints_lost(&[], newest.as_ref(), Some(&restored)),
    );

    // A STATEFUL upgrade killed while Flink writes its savepoint, then applied again from the
    // same saved plan (a pipeline retrying its apply job): Flink finished that stop on its own,
    // and the job starts from the savepoint it left, which no state records.
    ws.config(&config(1));
    let planned = ws.terraform(&["plan", "-out=upgrade.tfplan", "-no-color"]);
    assert_eq!(planned.code, 0, "{}", planned.text);
    let before = on_disk(&directory);
    let apply = ws.spawn_terraform(&["apply", "-auto-approve", "-no-color", "upgrade.tfplan"]);
    let started = wait_for(
        "the upgrade's savepoint to start",
        Duration::from_secs(120),
        || {
            on_disk(&directory)
                .into_iter()
                .find(|p| !before.contains(p))
        },
    );
    kill(apply);
    until_finished(&ws, &cluster);
    wait_for("the savepoint to complete", Duration::from_secs(60), || {
        started.join("_metadata").is_file().then_some(())
    });
    let kept = on_disk(&directory);
    let sampler = JobManagerSampler::start(&cluster, &id);
    let (converged, _) = apply_converges(&ws, &["upgrade.tfplan"]);
    sampler
        .finish()
        .assert_one_jobmanager("the upgrade after a kill during its savepoint");
    let restored = restored_from(&ws, &cluster);
    report.record(
        "STATEFUL upgrade: the savepoint being written",
        converged,
        orphans(&cluster, &ws).len(),
        savepoints_lost(&kept, newest_complete(&directory).as_ref(), Some(&restored)),
    );

    // Destroy killed while Flink writes the final savepoint: Flink finishes it, the next destroy
    // names it, and the deployment applied again restores from it.
    let before = on_disk(&directory);
    let destroy = ws.spawn_terraform(&["destroy", "-auto-approve", "-no-color"]);
    let started = wait_for(
        "the final savepoint to start",
        Duration::from_secs(120),
        || {
            on_disk(&directory)
                .into_iter()
                .find(|p| !before.contains(p))
        },
    );
    kill(destroy);
    until_finished(&ws, &cluster);
    wait_for(
        "the final savepoint to complete",
        Duration::from_secs(60),
        || started.join("_metadata").is_file().then_some(()),
    );
    let kept = on_disk(&directory);
    let (converged, destroyed) = destroy_converges(&ws);
    let named = named_savepoint(&destroyed, &directory);
    let left = cluster.managed_objects().len();
    let newest = newest_complete(&directory);
    let mut lost = savepoints_lost(&kept, newest.as_ref(), named.as_deref());
    ws.config(&config(1));
    let (reapplied, _) = apply_converges(&ws, &[]);
    let restored = restored_from(&ws, &cluster);
    lost += savepoints_lost(&[], newest.as_ref(), Some(&restored));
    eprintln!("the destroy after the kill named {named:?}, the job applied again restored from {restored}");
    report.record(
        "destroy: the final savepoint being written",
        converged && reapplied,
        left,
        lost,
    );

    // Destroy killed after its final savepoint completed, with a Deployment's delete in flight
    // (the objects before it deleted): the next destroy deletes the rest and names that
    // savepoint.
    let before = on_disk(&directory);
    cluster.arm_fault(&format!(
        r#"{{"verb": "delete", "kind": "Deployment", "count": {count}, "action": {STALL}}}"#
    ));
    let destroy = ws.spawn_terraform(&["destroy", "-auto-approve", "-no-color"]);
    cluster.until_fault_taken(count);
    kill(destroy);
    cluster.disarm_faults();
    let taken: Vec<PathBuf> = on_disk(&directory)
        .into_iter()
        .filter(|p| !before.contains(p) && p.join("_metadata").is_file())
        .collect();
    assert_eq!(
        taken.len(),
        1,
        "the final savepoint, before the kill: {taken:?}"
    );
    let (converged, destroyed) = destroy_converges(&ws);
    let named = named_savepoint(&destroyed, &directory);
    eprintln!("the destroy after the kill named {named:?}");
    report.record(
        "destroy: after the final savepoint, objects partly deleted",
        converged,
        cluster.managed_objects().len(),
        savepoints_lost(
            &taken,
            newest_complete(&directory).as_ref(),
            named.as_deref(),
        ),
    );
    report.assert_all_kept();
}
