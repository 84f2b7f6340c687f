//! `securityContext` on the local kubelet, as `test/e2e/common/node/security_context.go` checks
//! it: the container's processes run as `runAsUser`/`runAsGroup` with `fsGroup` as a
//! supplementary group that owns the volumes, `allowPrivilegeEscalation: false` sets
//! no_new_privs, `capabilities.drop` empties the bounding set, `readOnlyRootFilesystem` leaves
//! only the volumes writable, and `runAsNonRoot` refuses user 0 with the kubelet's message.
//! Init containers show it at no cost. The official Flink image's entrypoint, started as root,
//! runs Flink as its user `flink` (9999), as `gosu flink` does. Needs root.

use super::kubelet_init::node;
use super::kubelet_plugins::taskmanager_process;
use std::time::Duration;

const PROBE: &str = "echo uid=$(id -u) gid=$(id -g) groups=$(id -G); \
    grep -E '^(NoNewPrivs|CapBnd):' /proc/self/status; \
    if touch /probe 2>/dev/null; then echo root-writable; else echo root-read-only; fi; \
    touch /work/file && echo work-group=$(stat -c %g /work/file)";

fn pod(
    name: &str,
    pod_security: serde_json::Value,
    container_security: serde_json::Value,
) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": pod_security,
            "initContainers": [{
                "name": "probe", "image": "busybox:1.36", "command": ["sh", "-c", PROBE],
                "securityContext": container_security,
                "volumeMounts": [{"name": "work", "mountPath": "/work"}],
            }],
            "containers": [{"name": "main", "image": "flink:2.3.0", "args": ["not-an-entrypoint"]}],
            "volumes": [{"name": "work", "emptyDir": {}}],
        },
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_container_runs_as_its_security_context_says() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(&pod(
            "restricted",
            serde_json::json!({"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000}),
            serde_json::json!({"runAsUser": 1001, "allowPrivilegeEscalation": false,
                               "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}),
        ));
        node.wait_for("restricted", Duration::from_secs(20), |p| {
            p["status"]["initContainerStatuses"][0]["state"]["terminated"]
                .is_object()
                .then_some(())
        });
        let out = node.kubectl(&["logs", "restricted", "-c", "probe"]);
        assert!(out.contains("uid=1001 gid=3000 groups=3000 2000"), "{out}");
        assert!(out.contains("NoNewPrivs:\t1"), "{out}");
        assert!(out.contains("CapBnd:\t0000000000000000"), "{out}");
        assert!(out.contains("root-read-only"), "{out}");
        assert!(out.contains("work-group=2000"), "{out}");

        // Nothing set: root, as this image (busybox) runs, with a writable root.
        node.apply(&pod("plain", serde_json::json!({}), serde_json::json!({})));
        node.wait_for("plain", Duration::from_secs(20), |p| {
            p["status"]["initContainerStatuses"][0]["state"]["terminated"]
                .is_object()
                .then_some(())
        });
        let out = node.kubectl(&["logs", "plain", "-c", "probe"]);
        assert!(out.contains("uid=0 gid=0"), "{out}");
        assert!(out.contains("NoNewPrivs:\t0"), "{out}");
        assert!(out.contains("root-writable"), "{out}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn run_as_non_root_refuses_root_with_the_kubelets_message() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(&pod(
            "nonroot",
            serde_json::json!({"runAsNonRoot": true}),
            serde_json::json!({}),
        ));
        let waiting = node.wait_for("nonroot", Duration::from_secs(20), |p| {
            let w = &p["status"]["initContainerStatuses"][0]["state"]["waiting"];
            (w["reason"] == "CreateContainerConfigError").then(|| w.clone())
        });
        let message = waiting["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(
                "container has runAsNonRoot and image will run as root (pod: \"nonroot_default("
            ),
            "{message}"
        );
        assert!(message.ends_with("container: probe)"), "{message}");
    })
    .await
    .unwrap();
}

/// The `Uid:` and `Groups:` lines of a process's status.
fn ids_of(process: &std::path::Path) -> (String, String) {
    let status = std::fs::read_to_string(process.join("status")).unwrap();
    let line = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .map(|l| {
                l[key.len()..]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
    (line("Uid:"), line("Groups:"))
}

#[tokio::test(flavor = "multi_thread")]
async fn flink_runs_as_the_images_user_unless_the_pod_names_one() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        let flink = |name: &str, pod_security: serde_json::Value| {
            serde_json::json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": pod_security,
                    "containers": [{"name": "flink-main-container", "image": "flink:2.3.0",
                                    "args": ["taskmanager"]}],
                },
            })
            .to_string()
        };
        // No user: started as root, the entrypoint steps down to flink, leaving fsGroup behind.
        node.apply(&flink("as-image", serde_json::json!({"fsGroup": 2000})));
        let (uid, groups) = ids_of(&taskmanager_process("as-image"));
        assert_eq!(uid, "9999 9999 9999 9999");
        assert_eq!(groups, "9999");
        // A user of the pod's: Flink runs as it, with the fsGroup.
        node.apply(&flink(
            "as-pod",
            serde_json::json!({"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000}),
        ));
        let (uid, groups) = ids_of(&taskmanager_process("as-pod"));
        assert_eq!(uid, "1000 1000 1000 1000");
        assert_eq!(groups, "2000");
        // Root without capabilities cannot step down: the container fails, as gosu fails.
        let mut stuck: serde_json::Value =
            serde_json::from_str(&flink("as-root", serde_json::json!({}))).unwrap();
        stuck["spec"]["containers"][0]["securityContext"] =
            serde_json::json!({"capabilities": {"drop": ["ALL"]}});
        node.apply(&stuck.to_string());
        let terminated = node.wait_for("as-root", Duration::from_secs(30), |p| {
            p["status"]["containerStatuses"][0]["state"]["terminated"]
                .as_object()
                .cloned()
        });
        assert_ne!(terminated["exitCode"], 0, "{terminated:?}");
        let log = node.kubectl(&["logs", "as-root"]);
        assert!(log.contains("Operation not permitted"), "{log}");
        for name in ["as-image", "as-pod", "as-root"] {
            node.kubectl(&["delete", "pod", name, "--grace-period=0", "--wait=false"]);
        }
    })
    .await
    .unwrap();
}
