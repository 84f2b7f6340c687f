//! Pods of several app containers on the local kubelet, seen through the real kubectl as on a
//! cluster (`test/e2e/common/node/pods.go`, `container_restart.go`): every app container runs,
//! each with its own status, log and restarts, sharing the pod's emptyDir volumes; the pod is
//! Ready, and `kubectl get pod` counts `2/2`, only while all of them run; a sidecar that keeps
//! failing restarts with back-off on its own while the other keeps running; a Flink container's
//! log file is what a sidecar beside it tails. Needs root.

use super::kubelet_init::{node, Node};
use std::time::{Duration, Instant};

/// A pod of busybox-style app containers, (name, shell script) each, sharing an emptyDir at
/// /shared; the first is the pod's default container for kubectl.
fn pod(name: &str, containers: &[(&str, &str)]) -> String {
    let containers: Vec<serde_json::Value> = containers
        .iter()
        .map(|(n, script)| {
            serde_json::json!({
                "name": n, "image": "busybox:1.36", "command": ["sh", "-c", script],
                "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
            })
        })
        .collect();
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name,
            "annotations": {"kubectl.kubernetes.io/default-container": containers[0]["name"]},
        },
        "spec": {
            "terminationGracePeriodSeconds": 10,
            "containers": containers,
            "volumes": [{"name": "shared", "emptyDir": {}}],
        },
    })
    .to_string()
}

fn condition<'a>(pod: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    pod["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind))
        .unwrap_or(&serde_json::Value::Null)
}

/// `kubectl get pod` columns READY and STATUS.
fn ready_and_status(node: &Node, name: &str) -> (String, String) {
    let row = node.kubectl(&["get", "pod", name, "--no-headers"]);
    let cells: Vec<&str> = row.split_whitespace().collect();
    (cells[1].to_string(), cells[2].to_string())
}

/// Deletes `name` as a user would, waiting as kubectl waits; how long that took.
fn delete(node: &Node, name: &str) -> Duration {
    let began = Instant::now();
    node.kubectl(&["delete", "pod", name, "--timeout=60s"]);
    let (ok, text) = node.kubectl_try(&["get", "pod", name], None);
    assert!(!ok && text.contains("not found"), "{text}");
    began.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_app_container_runs_with_its_own_status_and_log() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(&pod(
            "sidecars",
            &[
                (
                    "main",
                    "echo main-up; until test -s /shared/beat; do sleep 0.2; done; \
                     echo saw-beat; while true; do sleep 1; done",
                ),
                (
                    "sidecar",
                    "echo sidecar-up; while true; do date >> /shared/beat; sleep 1; done",
                ),
            ],
        ));
        let running = node.wait_for("sidecars", Duration::from_secs(30), |p| {
            (condition(p, "Ready")["status"] == "True").then(|| p.clone())
        });
        assert_eq!(running["status"]["phase"], "Running");
        assert_eq!(condition(&running, "ContainersReady")["status"], "True");
        let statuses = running["status"]["containerStatuses"].as_array().unwrap();
        let names: Vec<&str> = statuses
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["main", "sidecar"]);
        for s in statuses {
            assert!(s["state"]["running"].is_object(), "{s}");
            assert_eq!(s["ready"], true, "{s}");
            assert_eq!(s["restartCount"], 0, "{s}");
        }
        assert_eq!(
            ready_and_status(&node, "sidecars"),
            ("2/2".into(), "Running".into())
        );

        // Each container's own log; the main one saw what the sidecar wrote to the shared volume.
        assert_eq!(
            node.kubectl(&["logs", "sidecars", "-c", "sidecar"]),
            "sidecar-up\n"
        );
        let started = Instant::now();
        while !node
            .kubectl(&["logs", "sidecars", "-c", "main"])
            .contains("saw-beat")
        {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "main never saw a beat"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        // kubectl picks the annotated default container; the API server itself wants a name.
        assert!(node.kubectl(&["logs", "sidecars"]).starts_with("main-up\n"));
        let (ok, refused) = node.kubectl_try(
            &[
                "get",
                "--raw",
                "/api/v1/namespaces/default/pods/sidecars/log",
            ],
            None,
        );
        assert!(!ok, "{refused}");
        assert!(
            refused.contains(
                "a container name must be specified for pod sidecars, choose one of: [main sidecar]"
            ),
            "{refused}"
        );

        let described = node.kubectl(&["describe", "pod", "sidecars"]);
        for line in ["Started container main", "Started container sidecar"] {
            assert!(described.contains(line), "{line:?} in:\n{described}");
        }
        // Neither traps SIGTERM: the deletion ends well within the grace period.
        let took = delete(&node, "sidecars");
        assert!(took < Duration::from_secs(10), "took {took:?}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_sidecar_restarts_on_its_own_and_the_pod_is_not_ready() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(&pod(
            "crashing",
            &[
                ("main", "echo main-up; while true; do sleep 1; done"),
                ("sidecar", "echo once; exit 1"),
            ],
        ));
        let crashed = node.wait_for("crashing", Duration::from_secs(30), |p| {
            let sidecar = &p["status"]["containerStatuses"][1];
            (sidecar["restartCount"].as_u64() >= Some(1)).then(|| p.clone())
        });
        let statuses = &crashed["status"]["containerStatuses"];
        let sidecar = &statuses[1];
        assert_eq!(sidecar["name"], "sidecar");
        assert_eq!(
            sidecar["lastState"]["terminated"]["exitCode"], 1,
            "{sidecar}"
        );
        assert_eq!(
            sidecar["lastState"]["terminated"]["reason"], "Error",
            "{sidecar}"
        );
        assert_eq!(
            sidecar["state"]["waiting"]["reason"], "CrashLoopBackOff",
            "{sidecar}"
        );
        assert_eq!(sidecar["ready"], false);
        let main = &statuses[0];
        assert!(main["state"]["running"].is_object(), "{main}");
        assert_eq!(
            (main["ready"].clone(), main["restartCount"].clone()),
            (true.into(), 0.into())
        );
        assert_eq!(crashed["status"]["phase"], "Running");
        for kind in ["ContainersReady", "Ready"] {
            let c = condition(&crashed, kind);
            assert_eq!(c["status"], "False", "{c}");
            assert_eq!(c["reason"], "ContainersNotReady", "{c}");
            assert_eq!(
                c["message"], "containers with unready status: [sidecar]",
                "{c}"
            );
        }
        assert_eq!(
            ready_and_status(&node, "crashing"),
            ("1/2".into(), "CrashLoopBackOff".into())
        );
        assert_eq!(
            node.kubectl(&["logs", "crashing", "-c", "sidecar"]),
            "once\n"
        );
        let described = node.kubectl(&["describe", "pod", "crashing"]);
        assert!(
            described
                .contains("Back-off restarting failed container sidecar in pod crashing_default"),
            "{described}"
        );

        // After its back-off (10 s) it runs again, and fails again: restartCount 2.
        node.wait_for("crashing", Duration::from_secs(30), |p| {
            (p["status"]["containerStatuses"][1]["restartCount"].as_u64() >= Some(2)).then_some(())
        });
        assert_eq!(
            node.kubectl(&["logs", "crashing", "-c", "sidecar", "--previous"]),
            "once\n"
        );
        let main = &node.pod("crashing")["status"]["containerStatuses"][0];
        assert_eq!(
            main["restartCount"], 0,
            "the main container kept running: {main}"
        );
        delete(&node, "crashing");
    })
    .await
    .unwrap();
}

/// A Flink TaskManager (no JobManager to find: it keeps trying) writing its log to an emptyDir,
/// and a sidecar tailing that log to its own output, as log shippers run beside Flink.
#[tokio::test(flavor = "multi_thread")]
async fn a_sidecar_tails_the_log_of_the_flink_container_beside_it() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        let log4j = "rootLogger.level = INFO\n\
                     rootLogger.appenderRef.file.ref = File\n\
                     appender.file.name = File\n\
                     appender.file.type = File\n\
                     appender.file.fileName = ${sys:log.file}\n\
                     appender.file.layout.type = PatternLayout\n\
                     appender.file.layout.pattern = %-5p %c{1} - %m%n\n";
        let config = "jobmanager.rpc.address: localhost\n\
                      taskmanager.memory.process.size: 1g\n";
        node.apply(
            &serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flink-config"},
                "data": {"config.yaml": config, "log4j-console.properties": log4j},
            })
            .to_string(),
        );
        node.apply(
            &serde_json::json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tailed"},
                "spec": {
                    "containers": [
                        {
                            "name": "flink-main-container", "image": "flink:2.3.0",
                            "args": ["taskmanager"],
                            "resources": {"limits": {"memory": "1200Mi"}},
                            "volumeMounts": [
                                {"name": "conf", "mountPath": "/opt/flink/conf"},
                                {"name": "log", "mountPath": "/opt/flink/log"},
                            ],
                        },
                        {
                            "name": "log-tailer", "image": "busybox:1.36",
                            "command": ["sh", "-c", "exec tail -n +1 -F /flink-log/flink.log"],
                            "resources": {"limits": {"memory": "32Mi"}},
                            "volumeMounts": [{"name": "log", "mountPath": "/flink-log"}],
                        },
                    ],
                    "volumes": [
                        {"name": "conf", "configMap": {"name": "flink-config"}},
                        {"name": "log", "emptyDir": {}},
                    ],
                },
            })
            .to_string(),
        );
        node.wait_for("tailed", Duration::from_secs(60), |p| {
            (condition(p, "Ready")["status"] == "True").then_some(())
        });
        assert_eq!(
            ready_and_status(&node, "tailed"),
            ("2/2".into(), "Running".into())
        );
        let started = Instant::now();
        loop {
            let (_, tailed) = node.kubectl_try(&["logs", "tailed", "-c", "log-tailer"], None);
            if tailed.contains("Starting TaskManager") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the sidecar never showed Flink's log:\n{tailed}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        let pod = node.pod("tailed");
        for s in pod["status"]["containerStatuses"].as_array().unwrap() {
            assert_eq!(s["restartCount"], 0, "{s}");
        }
        delete(&node, "tailed");
    })
    .await
    .unwrap();
}
