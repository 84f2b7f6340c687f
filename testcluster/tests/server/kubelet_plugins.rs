//! The official image's `ENABLE_BUILT_IN_PLUGINS` on the local kubelet (apache/flink-docker's
//! `docker-entrypoint.sh`, `copy_plugins_if_required`): a jar the image's `opt/` has is linked into
//! `plugins/<name>/` before Flink starts, where a volume at `plugins/<name>/` lets a read-only
//! root write and leaves the image's own plugins (the metrics reporters) in sight, while one at
//! `plugins/` hides them; without a volume the link fails and Flink starts without it; a jar
//! `opt/` lacks (a release's name that does not exist) ends the container. Needs root.

use super::kubelet_init::{node, Node};
use std::time::Duration;

/// A TaskManager pod with a read-only root, told to enable `plugins`, with a volume at
/// `plugins_volume` if any.
fn pod(node: &Node, name: &str, plugins: &str, plugins_volume: Option<&str>) {
    let mut mounts = vec![serde_json::json!({"name": "log", "mountPath": "/opt/flink/log"})];
    let mut volumes = vec![serde_json::json!({"name": "log", "emptyDir": {}})];
    if let Some(path) = plugins_volume {
        mounts.push(serde_json::json!({"name": "plugins", "mountPath": path}));
        volumes.push(serde_json::json!({"name": "plugins", "emptyDir": {}}));
    }
    node.apply(
        &serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "securityContext": {"runAsUser": 9999, "runAsGroup": 9999, "fsGroup": 9999},
                "containers": [{
                    "name": "flink-main-container", "image": "flink:2.3.0", "args": ["taskmanager"],
                    "env": [{"name": "ENABLE_BUILT_IN_PLUGINS", "value": plugins}],
                    "securityContext": {"readOnlyRootFilesystem": true},
                    "volumeMounts": mounts,
                }],
                "volumes": volumes,
            },
        })
        .to_string(),
    );
}

/// `/proc/<pid>` of the TaskManager of pod `name`: the TaskManager process whose UTS namespace
/// has the pod's hostname.
pub fn taskmanager_process(name: &str) -> std::path::PathBuf {
    let started = std::time::Instant::now();
    loop {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let pid = entry.file_name().to_string_lossy().into_owned();
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if !String::from_utf8_lossy(&cmdline).contains("TaskManagerRunner") {
                continue;
            }
            let hostname = std::process::Command::new("nsenter")
                .args(["-t", &pid, "-u", "hostname"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            if hostname == name {
                return entry.path();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no TaskManager process of {name}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// What Flink's process in pod `name` sees in `plugins/`: read through `/proc/<pid>/root`, which
/// resolves in the process's own mount namespace.
fn plugins_seen(name: &str) -> Vec<String> {
    let dir = taskmanager_process(name).join("root/opt/flink/plugins");
    let mut seen: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    seen.sort();
    seen
}

/// The container's log once it says `line`.
fn log_with(node: &Node, name: &str, line: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        let (_, log) = node.kubectl_try(&["logs", name], None);
        if log.contains(line) {
            return log;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} never logged {line:?}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_entrypoint_links_the_plugins_it_is_told_to() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        // A volume where the link goes: the image's reporters stay in sight beside it.
        let linked_dir = "/opt/flink/plugins/flink-s3-fs-presto-2.3.0";
        pod(
            &node,
            "linked",
            "flink-s3-fs-presto-2.3.0.jar",
            Some(linked_dir),
        );
        log_with(
            &node,
            "linked",
            "Successfully enabled flink-s3-fs-presto-2.3.0.jar",
        );
        let link = node
            .pods_dir()
            .join("default/linked/volumes/plugins/flink-s3-fs-presto-2.3.0.jar");
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            std::path::Path::new("/opt/flink/opt/flink-s3-fs-presto-2.3.0.jar")
        );
        let seen = plugins_seen("linked");
        for dir in [
            "flink-s3-fs-presto-2.3.0",
            "metrics-prometheus",
            "metrics-otel",
        ] {
            assert!(seen.contains(&dir.to_string()), "{dir} not in {seen:?}");
        }
        node.kubectl(&[
            "delete",
            "pod",
            "linked",
            "--grace-period=0",
            "--wait=false",
        ]);

        // A volume over all of plugins/: the link is made, and the image's reporters are gone.
        pod(
            &node,
            "masked",
            "flink-s3-fs-presto-2.3.0.jar",
            Some("/opt/flink/plugins"),
        );
        log_with(
            &node,
            "masked",
            "Successfully enabled flink-s3-fs-presto-2.3.0.jar",
        );
        assert_eq!(plugins_seen("masked"), ["flink-s3-fs-presto-2.3.0"]);
        node.kubectl(&[
            "delete",
            "pod",
            "masked",
            "--grace-period=0",
            "--wait=false",
        ]);

        // A read-only root without a volume there: the link fails, the entrypoint carries on.
        pod(&node, "unwritable", "flink-s3-fs-presto-2.3.0.jar", None);
        let log = log_with(&node, "unwritable", "Successfully enabled");
        assert!(log.contains("Read-only file system"), "{log}");
        node.kubectl(&[
            "delete",
            "pod",
            "unwritable",
            "--grace-period=0",
            "--wait=false",
        ]);

        // A name the image's opt/ does not have.
        pod(
            &node,
            "missing",
            "flink-s3-fs-presto-2.3.9.jar",
            Some("/opt/flink/plugins"),
        );
        log_with(
            &node,
            "missing",
            "Plugin flink-s3-fs-presto-2.3.9.jar does not exist. Exiting.",
        );
        let status = node.wait_for("missing", Duration::from_secs(20), |p| {
            p["status"]["containerStatuses"][0]["state"]["terminated"]
                .as_object()
                .cloned()
        });
        assert_eq!(status["exitCode"], 1);
    })
    .await
    .unwrap();
}
