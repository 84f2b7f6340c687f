//! Graceful pod deletion on the local kubelet, as on a cluster (`test/e2e/common/node/pods.go`,
//! "should be submitted and removed"): a delete marks the pod with `deletionTimestamp` and
//! `deletionGracePeriodSeconds`, the pod stays while its processes get SIGTERM (and the app
//! container's preStop hook runs first), leaves its Service's endpoints at once, and goes once they
//! exited, or are killed when the grace period ends; `kubectl describe pod` shows the scheduler's
//! and the kubelet's Events, and the deletion its `Killing`. Needs root.

use super::kubelet_init::{node, Node};
use std::time::{Duration, Instant};

/// A pod whose init container runs `script` with an emptyDir at /work (so it is running when
/// deleted, at no cost), and the host directory of that emptyDir.
fn trapping_pod(node: &Node, name: &str, grace: u32, script: &str) -> std::path::PathBuf {
    node.apply(
        &serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {
                "terminationGracePeriodSeconds": grace,
                "initContainers": [{
                    "name": "trap", "image": "busybox:1.36", "command": ["sh", "-c", script],
                    "volumeMounts": [{"name": "work", "mountPath": "/work"}],
                }],
                "containers": [{"name": "main", "image": "flink:2.3.0", "args": ["taskmanager"]}],
                "volumes": [{"name": "work", "emptyDir": {}}],
            },
        })
        .to_string(),
    );
    node.wait_for(name, Duration::from_secs(20), |p| {
        p["status"]["initContainerStatuses"][0]["state"]["running"]
            .is_object()
            .then_some(())
    });
    node.pods_dir()
        .join("default")
        .join(name)
        .join("volumes/work")
}

fn gone(node: &Node, name: &str) -> bool {
    let (ok, text) = node.kubectl_try(&["get", "pod", name, "-o", "name"], None);
    !ok && text.contains("not found")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_pod_stays_while_its_process_handles_sigterm() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        let work = trapping_pod(
            &node,
            "graceful",
            20,
            "trap 'echo got TERM >> /work/log; sleep 2; echo done >> /work/log; exit 0' TERM; \
             echo started >> /work/log; while true; do sleep 0.2; done",
        );
        std::thread::sleep(Duration::from_millis(500));
        // `kubectl describe pod` tells the pod's story as on a cluster.
        let described = node.kubectl(&["describe", "pod", "graceful"]);
        for line in [
            "default-scheduler  Successfully assigned default/graceful to local-kubelet",
            r#"kubelet            Container image "busybox:1.36" already present on machine"#,
            "kubelet            Created container: trap",
            "kubelet            Started container trap",
        ] {
            assert!(described.contains(line), "{line:?} in:\n{described}");
        }
        let deleted = Instant::now();
        node.kubectl(&["delete", "pod", "graceful", "--wait=false"]);
        let marked = node.pod("graceful");
        assert!(
            marked["metadata"]["deletionTimestamp"].is_string(),
            "{:#}",
            marked["metadata"]
        );
        assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 20);
        assert_eq!(marked["spec"]["nodeName"], "local-kubelet");
        // The trap is still sleeping: the pod stays.
        std::thread::sleep(Duration::from_millis(1000));
        assert!(!gone(&node, "graceful"), "went before its process exited");
        while !gone(&node, "graceful") {
            assert!(deleted.elapsed() < Duration::from_secs(15), "never went");
            std::thread::sleep(Duration::from_millis(200));
        }
        let took = deleted.elapsed();
        assert!(took >= Duration::from_secs(2), "went after {took:?}");
        let log = std::fs::read_to_string(work.join("log")).unwrap();
        assert_eq!(log, "started\ngot TERM\ndone\n");
        let killing = node.kubectl(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=graceful,reason=Killing",
            "-o",
            "jsonpath={.items[*].message}",
        ]);
        assert_eq!(killing, "Stopping container trap");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_that_ignores_sigterm_is_killed_when_the_grace_period_ends() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        trapping_pod(
            &node,
            "stubborn",
            30,
            "trap 'echo ignored' TERM; while true; do sleep 0.2; done",
        );
        let deleted = Instant::now();
        // The request's grace period wins over the pod's 30 s.
        node.kubectl(&[
            "delete",
            "pod",
            "stubborn",
            "--grace-period=3",
            "--wait=false",
        ]);
        assert_eq!(
            node.pod("stubborn")["metadata"]["deletionGracePeriodSeconds"],
            3
        );
        while !gone(&node, "stubborn") {
            assert!(deleted.elapsed() < Duration::from_secs(15), "never killed");
            std::thread::sleep(Duration::from_millis(200));
        }
        let took = deleted.elapsed();
        assert!(took >= Duration::from_millis(2500), "went after {took:?}");
        // --force --grace-period=0 removes it at once.
        trapping_pod(
            &node,
            "forced",
            30,
            "trap '' TERM; while true; do sleep 0.2; done",
        );
        node.kubectl(&["delete", "pod", "forced", "--force", "--grace-period=0"]);
        assert!(gone(&node, "forced"));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prestop_hook_runs_first_and_the_endpoints_drop_the_pod_at_once() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(
            r#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "tm"},
                "spec": {"selector": {"app": "tm"}, "ports": [{"name": "rpc", "port": 6122}]}}"#,
        );
        node.apply(
            &serde_json::json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tm", "labels": {"app": "tm"}},
                "spec": {
                    "terminationGracePeriodSeconds": 20,
                    "containers": [{
                        "name": "flink-main-container", "image": "flink:2.3.0", "args": ["taskmanager"],
                        "volumeMounts": [{"name": "work", "mountPath": "/work"}],
                        "lifecycle": {"preStop": {"exec": {"command":
                            ["sh", "-c", "echo hook as $(hostname) >> /work/hook; sleep 8"]}}},
                    }],
                    "volumes": [{"name": "work", "emptyDir": {}}],
                },
            })
            .to_string(),
        );
        let addresses = || {
            let endpoints: serde_json::Value = serde_json::from_str(&node.kubectl(&[
                "get", "endpoints", "tm", "-o", "json",
            ]))
            .unwrap();
            endpoints["subsets"][0]["addresses"]
                .as_array()
                .map_or(0, Vec::len)
        };
        node.wait_for("tm", Duration::from_secs(60), |p| {
            (p["status"]["containerStatuses"][0]["state"]["running"].is_object()).then_some(())
        });
        let started = Instant::now();
        while addresses() == 0 {
            assert!(started.elapsed() < Duration::from_secs(10), "no endpoints");
            std::thread::sleep(Duration::from_millis(200));
        }
        let hook = node.pods_dir().join("default/tm/volumes/work/hook");
        assert!(!hook.exists());
        node.kubectl(&["delete", "pod", "tm", "--wait=false"]);
        // Out of the endpoints within the kubelet's next rounds, while the hook holds it. The
        // hook's 8 s leave room for a loaded machine's slow kubectl calls: with 2 s the pod was
        // once gone before the checks below had run.
        let deleted = Instant::now();
        while !hook.exists() || addresses() != 0 {
            assert!(
                deleted.elapsed() < Duration::from_secs(6),
                "no hook run, or a terminating pod left in the endpoints"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(!gone(&node, "tm"));
        assert_eq!(
            std::fs::read_to_string(&hook).unwrap(),
            "hook as tm\n",
            "the hook runs in the container's namespaces"
        );
        assert!(
            node.pod("tm")["status"]["containerStatuses"][0]["state"]["running"].is_object(),
            "SIGTERM waits for the hook"
        );
        while !gone(&node, "tm") {
            assert!(deleted.elapsed() < Duration::from_secs(25), "never went");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
}
