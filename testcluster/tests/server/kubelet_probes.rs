//! Probes on the local kubelet, seen through the real kubectl as on a cluster
//! (`test/e2e/common/node/container_probe.go`): a container is not `started` until its startup
//! probe succeeds and not Ready until its readiness probe does, its pod's Ready condition and
//! `kubectl get pod`'s READY follow, and so do its Services' endpoints (`notReadyAddresses` until
//! Ready, unless a Service publishes not-ready addresses), each failed probe is an `Unhealthy` Event in the kubelet's
//! words, and a failed liveness probe has the container killed and restarted. Needs root.

use super::kubelet_init::{node, Node};
use std::time::Duration;

fn condition<'a>(pod: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    pod["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind))
        .unwrap_or(&serde_json::Value::Null)
}

/// The messages of the pod's Events with `reason`.
fn events(node: &Node, pod: &str, reason: &str) -> Vec<String> {
    let list: serde_json::Value = serde_json::from_str(&node.kubectl(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name={pod},reason={reason}"),
        "-o",
        "json",
    ]))
    .unwrap();
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect()
}

/// A pod whose container serves HTTP on 8080 only after `delay` seconds (python's http.server
/// on this machine's tools), probed as given, with an emptyDir at /shared.
fn pod(name: &str, delay: u32, probes: serde_json::Value) -> String {
    let mut container = serde_json::json!({
        "name": "web", "image": "busybox:1.36",
        "command": ["sh", "-c", format!(
            "rm -f /shared/dead; sleep {delay}; exec python3 -m http.server 8080 --bind 0.0.0.0"
        )],
        "ports": [{"name": "http", "containerPort": 8080}],
        "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
    });
    for (k, v) in probes.as_object().unwrap() {
        container[k] = v.clone();
    }
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "terminationGracePeriodSeconds": 5,
            "containers": [container],
            "volumes": [{"name": "shared", "emptyDir": {}}],
        },
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_only_once_started_and_its_readiness_probe_succeeds() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(&pod(
            "probed",
            4,
            serde_json::json!({
                "startupProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 1,
                                 "failureThreshold": 60},
                "readinessProbe": {"httpGet": {"port": 8080, "path": "/"}, "periodSeconds": 1},
            }),
        ));
        for (service, publish) in [("web", false), ("peers", true)] {
            node.apply(
                &serde_json::json!({
                    "apiVersion": "v1", "kind": "Service", "metadata": {"name": service},
                    "spec": {"selector": {"app": "probed"}, "ports": [{"port": 8080}],
                             "publishNotReadyAddresses": publish},
                })
                .to_string(),
            );
        }
        let starting = node.wait_for("probed", Duration::from_secs(30), |p| {
            (p["status"]["containerStatuses"][0]["state"]["running"].is_object()).then(|| p.clone())
        });
        // Unready: a Service lists it under notReadyAddresses, one that publishes not-ready
        // addresses routes to it already.
        let ip = starting["status"]["podIP"].as_str().unwrap().to_string();
        // Null until the endpoints controller wrote the Endpoints.
        let subsets = |service: &str| -> serde_json::Value {
            let (_, out) = node.kubectl_try(&["get", "endpoints", service, "-o", "json"], None);
            serde_json::from_str::<serde_json::Value>(&out).unwrap_or_default()["subsets"].clone()
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while subsets("peers")[0]["addresses"][0]["ip"] != ip.as_str() {
            assert!(std::time::Instant::now() < deadline, "{}", subsets("peers"));
            std::thread::sleep(Duration::from_millis(200));
        }
        let web = subsets("web");
        assert_eq!(web[0]["notReadyAddresses"][0]["ip"], ip.as_str(), "{web}");
        assert!(web[0]["addresses"].is_null(), "{web}");
        let status = &starting["status"]["containerStatuses"][0];
        assert_eq!(status["started"], false, "{status:#}");
        assert_eq!(status["ready"], false, "{status:#}");
        assert_eq!(
            condition(&starting, "Ready")["message"],
            "containers with unready status: [web]"
        );
        let row = node.kubectl(&["get", "pod", "probed", "--no-headers"]);
        assert_eq!(row.split_whitespace().nth(1), Some("0/1"), "{row}");

        let ready = node.wait_for("probed", Duration::from_secs(30), |p| {
            (condition(p, "Ready")["status"] == "True").then(|| p.clone())
        });
        let status = &ready["status"]["containerStatuses"][0];
        assert_eq!(
            (&status["started"], &status["ready"]),
            (&true.into(), &true.into())
        );
        assert_eq!(status["restartCount"], 0);
        let row = node.kubectl(&["get", "pod", "probed", "--no-headers"]);
        assert_eq!(row.split_whitespace().nth(1), Some("1/1"), "{row}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while subsets("web")[0]["addresses"][0]["ip"] != ip.as_str() {
            assert!(std::time::Instant::now() < deadline, "{}", subsets("web"));
            std::thread::sleep(Duration::from_millis(200));
        }
        let unhealthy = events(&node, "probed", "Unhealthy");
        assert!(
            unhealthy.iter().any(|m| m
                == &format!(
                    "Startup probe failed: dial tcp {ip}:8080: connect: connection refused"
                )),
            "{unhealthy:?}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_liveness_probe_kills_and_restarts_the_container() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(&pod(
            "alive",
            0,
            serde_json::json!({
                // As on a cluster, a probe may run before the container's first command (the
                // restarted run's `rm`), and an exec probe past `timeoutSeconds` fails: the delay
                // and timeout leave a loaded machine room for both.
                "livenessProbe": {"exec": {"command": ["sh", "-c", "echo checking; test ! -e /shared/dead"]},
                                  "periodSeconds": 1, "failureThreshold": 2,
                                  "initialDelaySeconds": 1, "timeoutSeconds": 5},
            }),
        ));
        node.wait_for("alive", Duration::from_secs(30), |p| {
            (condition(p, "Ready")["status"] == "True").then_some(())
        });
        // The local cluster has no `kubectl exec`: the emptyDir is written from the node.
        std::fs::write(node.pods_dir().join("default/alive/volumes/shared/dead"), "").unwrap();
        let restarted = node.wait_for("alive", Duration::from_secs(60), |p| {
            let status = &p["status"]["containerStatuses"][0];
            (status["restartCount"] == 1 && status["state"]["running"].is_object())
                .then(|| p.clone())
        });
        let status = &restarted["status"]["containerStatuses"][0];
        assert!(
            status["lastState"]["terminated"]["exitCode"].as_i64().unwrap() != 0,
            "{status:#}"
        );
        assert_eq!(
            events(&node, "alive", "Killing"),
            ["Container web failed liveness probe, will be restarted"]
        );
        let unhealthy = events(&node, "alive", "Unhealthy");
        assert_eq!(unhealthy, ["Liveness probe failed: checking"], "{unhealthy:?}");
        // The new run removed the file: it stays alive.
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(node.pod("alive")["status"]["containerStatuses"][0]["restartCount"], 1);
    })
    .await
    .unwrap();
}
