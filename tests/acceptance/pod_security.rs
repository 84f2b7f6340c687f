//! Pod Security on the local cluster, as a production namespace enforces it: in a namespace
//! labelled `pod-security.kubernetes.io/enforce=restricted`, a deployment with no pod options
//! runs a real job whose Flink processes run as the image's `flink` user (9999) on a read-only
//! root filesystem, and a deployment that asks for root is refused by admission, the apply
//! failing with the admission's own message instead of waiting out `wait_timeout`. A STATEFUL
//! upgrade there keeps its state on a PersistentVolumeClaim mounted through `pod_template` (as
//! production keeps it on a volume or S3): the savepoint is written under the read-only root,
//! and the upgraded job restores from it.

use crate::cluster::Cluster;
use crate::harness::Workspace;
use crate::lifecycle::{assert_runs_restored_from, counter, savepoints};
use crate::local_cluster::{job_jar, jvm_of, pod, serve};
use std::process::Command;

/// The real, effective uid and gid of process `pid`.
fn ids_of(pid: &str) -> (String, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    (field("Uid:"), field("Gid:"))
}

/// Whether `path` can be written inside the mount namespace of process `pid`.
fn writable_in(pid: &str, path: &str) -> bool {
    Command::new("nsenter")
        .args([
            "-t",
            pid,
            "-m",
            "--",
            "sh",
            "-c",
            &format!("echo probe > {path}"),
        ])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn under_pod_security_restricted_the_job_runs_as_flink_and_a_root_pod_is_refused() {
    let cluster = Cluster::start_with_pods("local-restricted");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    cluster.kubectl(&[
        "label",
        "namespace",
        &cluster.namespace,
        "pod-security.kubernetes.io/enforce=restricted",
    ]);
    let work = tempfile::tempdir().unwrap();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let ws = Workspace::new();
    ws.config(&(cluster.provider_block() + &counter(&cluster, port, "RUNNING", 1, "")));
    ws.apply();
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["status"], "RUNNING", "{values}");
    let id = values["id"].as_str().unwrap().to_string();
    for (component, class) in [
        ("jobmanager", "StandaloneApplicationClusterEntryPoint"),
        ("taskmanager", "TaskManagerRunner"),
    ] {
        let pod = pod(&cluster, component, &id);
        let name = pod["metadata"]["name"].as_str().unwrap();
        let pid = jvm_of(name, class);
        assert_eq!(
            ids_of(&pid),
            ("9999 9999".to_string(), "9999 9999".to_string()),
            "{component}"
        );
        assert!(
            !writable_in(&pid, "/opt/flink/lib/probe"),
            "{component}: the root filesystem is read-only"
        );
        assert!(
            writable_in(&pid, "/tmp/probe"),
            "{component}: /tmp is its own emptyDir"
        );
    }

    ws.destroy();

    // Root is what Pod Security refuses: the apply names admission's reason at once.
    let root = r#"pod = { run_as_user = 0 }"#;
    ws.config(&(cluster.provider_block() + &counter(&cluster, port, "RUNNING", 1, root)));
    let started = std::time::Instant::now();
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    eprintln!(
        "the refused pod failed the apply after {:?}",
        started.elapsed()
    );
    assert_ne!(run.code, 0, "{}", run.text);
    let text = run.text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("the deployment cannot run: FailedCreate"),
        "{}",
        run.text
    );
    assert!(
        text.contains("violates PodSecurity \"restricted:latest\""),
        "{}",
        run.text
    );
    ws.destroy();
}

/// Savepoints on a claim every pod of the deployment mounts, through its pod template.
const STATE_ON_A_CLAIM: &str = r#"upgrade_strategy = "STATEFUL"
  flink_configuration = {
    "execution.checkpointing.savepoint-dir" = "file:///flink-state/savepoints"
  }
  pod_template = {
    spec = {
      volumes = [{ name = "state", persistentVolumeClaim = { claimName = "flink-state" } }]
      containers = [{
        name         = "flink-main-container"
        volumeMounts = [{ name = "state", mountPath = "/flink-state" }]
      }]
    }
  }"#;

#[test]
fn under_pod_security_restricted_a_stateful_upgrade_keeps_its_state_on_a_claim() {
    let cluster = Cluster::start_with_pods("local-restricted-upgrade");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    cluster.kubectl(&[
        "label",
        "namespace",
        &cluster.namespace,
        "pod-security.kubernetes.io/enforce=restricted",
    ]);
    let claim = serde_json::json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "flink-state", "namespace": cluster.namespace},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
    });
    let manifest = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(manifest.path(), claim.to_string()).unwrap();
    cluster.kubectl(&["apply", "-f", &manifest.path().display().to_string()]);
    let work = tempfile::tempdir().unwrap();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let ws = Workspace::new();
    let config = |parallelism: u32| {
        cluster.provider_block()
            + &counter(&cluster, port, "RUNNING", parallelism, STATE_ON_A_CLAIM)
    };
    ws.config(&config(1));
    ws.apply();
    assert!(savepoints(&ws).is_empty());

    // The upgrade's savepoint goes onto the claim, and the new pods restore from it.
    ws.config(&config(2));
    ws.apply();
    let taken = savepoints(&ws);
    let [(location, reason)] = taken.as_slice() else {
        panic!("one savepoint, the upgrade's: {taken:?}");
    };
    assert_eq!(reason, "UPGRADE");
    assert!(
        location.contains("/flink-state/savepoints/savepoint-"),
        "{location}"
    );
    assert_runs_restored_from(&ws, &cluster, location);
    ws.destroy();
}
