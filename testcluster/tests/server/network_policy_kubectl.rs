//! NetworkPolicy ingress on the local kubelet, as a network plugin enforces it
//! (`test/e2e/network/netpol/network_policy.go`: "should enforce policy to allow traffic only from
//! a pod in a different namespace based on PodSelector and NamespaceSelector", "should allow
//! ingress access on one named port"): real connections between pods' network namespaces, policies
//! made and deleted with the real kubectl. Needs root and nftables.

use super::kubelet_init::{node, Node};
use std::time::{Duration, Instant};

/// A pod whose init container runs `script` (with this machine's tools) and keeps running, with
/// an emptyDir at /work; its app container never starts, at no cost.
fn pod(node: &Node, namespace: &str, name: &str, labels: serde_json::Value, script: &str) {
    node.apply(
        &serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "initContainers": [{
                    "name": "run", "image": "busybox:1.36", "command": ["sh", "-c", script],
                    "volumeMounts": [{"name": "work", "mountPath": "/work"}],
                }],
                "containers": [{"name": "main", "image": "flink:2.3.0", "args": ["taskmanager"],
                    "ports": [{"name": "web-alt", "containerPort": 8081}]}],
                "volumes": [{"name": "work", "emptyDir": {}}],
            },
        })
        .to_string(),
    );
}

/// A client that tries `address` on 8080 and 8081 every few tenths of a second and writes what it
/// found to /work/state, e.g. `8080=open 8081=closed`.
fn prober(node: &Node, namespace: &str, name: &str, labels: serde_json::Value, address: &str) {
    let probe = format!(
        "import socket\n\
         def state(port):\n\
         \x20   s = socket.socket(); s.settimeout(0.5)\n\
         \x20   try:\n\
         \x20       s.connect(('{address}', port)); return 'open'\n\
         \x20   except OSError:\n\
         \x20       return 'closed'\n\
         \x20   finally:\n\
         \x20       s.close()\n\
         print(' '.join(f'{{p}}={{state(p)}}' for p in (8080, 8081)))\n"
    );
    std::fs::create_dir_all(node.pods_dir()).unwrap();
    let script_file = node.pods_dir().join(format!("{namespace}-{name}.py"));
    std::fs::write(&script_file, probe).unwrap();
    pod(
        node,
        namespace,
        name,
        labels,
        &format!(
            "while true; do python3 {} > /work/state.new && mv /work/state.new /work/state; sleep 0.2; done",
            script_file.display()
        ),
    );
}

/// Waits until what pod `namespace/name` sees is `expected`.
fn sees(node: &Node, namespace: &str, name: &str, expected: &str) {
    let state = node
        .pods_dir()
        .join(namespace)
        .join(name)
        .join("volumes/work/state");
    let started = Instant::now();
    loop {
        let seen = std::fs::read_to_string(&state).unwrap_or_default();
        if seen.trim() == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{namespace}/{name} sees {seen:?}, not {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn connects(address: &str, port: u16) -> bool {
    let target = format!("{address}:{port}").parse().unwrap();
    std::net::TcpStream::connect_timeout(&target, Duration::from_millis(500)).is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_admit_only_the_peers_and_ports_they_name() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.kubectl(&["create", "namespace", "other"]);
        let labels = node.kubectl(&["get", "namespace", "other", "-o", "jsonpath={.metadata.labels}"]);
        assert!(
            labels.contains(r#""kubernetes.io/metadata.name":"other""#),
            "the API server labels every namespace with its name: {labels}"
        );
        pod(
            &node,
            "default",
            "web",
            serde_json::json!({"app": "web"}),
            "python3 -m http.server 8080 --bind 0.0.0.0 & python3 -m http.server 8081 --bind 0.0.0.0",
        );
        let address = node.wait_for("web", Duration::from_secs(20), |p| {
            p["status"]["initContainerStatuses"][0]["state"]["running"]
                .is_object()
                .then(|| p["status"]["podIP"].as_str().map(String::from))
                .flatten()
        });
        prober(&node, "default", "friend", serde_json::json!({"role": "friend"}), &address);
        prober(&node, "default", "bystander", serde_json::json!({"role": "other"}), &address);
        prober(&node, "other", "stranger", serde_json::json!({"role": "friend"}), &address);
        for (ns, name) in [("default", "friend"), ("default", "bystander"), ("other", "stranger")] {
            sees(&node, ns, name, "8080=open 8081=open");
        }

        // 8080 from the friend pods of this namespace; the named port 8081 from namespace other.
        node.apply(
            r#"{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                  "ingress": [
                    {"from": [{"podSelector": {"matchLabels": {"role": "friend"}}}], "ports": [{"port": 8080}]},
                    {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}],
                     "ports": [{"port": "web-alt"}]}
                  ]}}"#,
        );
        sees(&node, "default", "friend", "8080=open 8081=closed");
        sees(&node, "default", "bystander", "8080=closed 8081=closed");
        sees(&node, "other", "stranger", "8080=closed 8081=open");
        // The node itself still reaches the pod, as port-forwards do.
        assert!(connects(&address, 8080) && connects(&address, 8081));

        // A policy that selects the pod and allows nothing isolates it; deleting them opens it.
        node.apply(
            r#"{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "deny", "namespace": "default"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}"#,
        );
        node.kubectl(&["delete", "networkpolicy", "web"]);
        sees(&node, "default", "friend", "8080=closed 8081=closed");
        sees(&node, "other", "stranger", "8080=closed 8081=closed");
        node.kubectl(&["delete", "networkpolicy", "deny"]);
        for (ns, name) in [("default", "friend"), ("default", "bystander"), ("other", "stranger")] {
            sees(&node, ns, name, "8080=open 8081=open");
        }
    })
    .await
    .unwrap();
}
