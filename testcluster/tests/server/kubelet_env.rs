//! Environment variables from Secrets on the local kubelet, as `makeEnvironmentVariables` in
//! kubernetes/kubernetes `pkg/kubelet/kubelet_pods.go` builds them: a `secretKeyRef` to a missing
//! Secret leaves the container waiting with `CreateContainerConfigError` and the Secret's
//! NotFound error, one to a missing key with `couldn't find key <key> in Secret <ns>/<name>`;
//! `optional: true` leaves the variable out instead; once the Secret has the key the container
//! starts with its value (the kubelet retries). Init containers show it at no cost. Needs root.

use super::kubelet_init::node;
use std::time::Duration;

fn pod(name: &str, env: serde_json::Value) -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "initContainers": [{
                "name": "probe", "image": "busybox:1.36",
                "command": ["sh", "-c", "echo user=${USER_NAME} optional=${OPTIONAL:-unset}"],
                "env": env,
            }],
            "containers": [{"name": "main", "image": "flink:2.3.0", "args": ["not-an-entrypoint"]}],
        },
    })
    .to_string()
}

fn waiting_message(node: &super::kubelet_init::Node, name: &str, expected: &str) -> String {
    let expected = expected.to_string();
    node.wait_for(name, Duration::from_secs(20), move |p| {
        let w = &p["status"]["initContainerStatuses"][0]["state"]["waiting"];
        let message = w["message"].as_str().unwrap_or_default();
        (w["reason"] == "CreateContainerConfigError" && message == expected)
            .then(|| message.to_string())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_secret_or_key_is_create_container_config_error_until_it_exists() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        let env = serde_json::json!([
            {"name": "USER_NAME", "valueFrom": {"secretKeyRef": {"name": "kafka", "key": "user"}}},
            {"name": "OPTIONAL", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "x", "optional": true}}},
        ]);
        node.apply(&pod("env", env));
        let message = waiting_message(&node, "env", "secret \"kafka\" not found");
        assert_eq!(message, "secret \"kafka\" not found");

        node.kubectl(&["create", "secret", "generic", "kafka", "--from-literal=other=1"]);
        waiting_message(&node, "env", "couldn't find key user in Secret default/kafka");

        node.kubectl(&["delete", "secret", "kafka"]);
        node.kubectl(&["create", "secret", "generic", "kafka", "--from-literal=user=alice"]);
        node.wait_for("env", Duration::from_secs(20), |p| {
            p["status"]["initContainerStatuses"][0]["state"]["terminated"]
                .is_object()
                .then_some(())
        });
        let out = node.kubectl(&["logs", "env", "-c", "probe"]);
        assert!(out.contains("user=alice optional=unset"), "{out}");
    })
    .await
    .unwrap();
}
