//! Deployments roll out through ReplicaSets on the local kubelet, as kube-controller-manager does
//! them, seen through the real kubectl (`test/e2e/apps/deployment.go`: "deployment should delete
//! old replica sets", "RecreateDeployment should delete old pods and create new ones",
//! "deployment should support rollover"): `kubectl get rs` lists one ReplicaSet per template with
//! its counts; `rollout history` lists their revisions and `rollout undo` brings the previous one
//! back as the next revision; `rollout status` reads the Deployment's status as on a cluster;
//! `scale` reaches the pods; `describe pod` shows the failed pull; deleting the Deployment takes its ReplicaSets and pods with it.
//! The image cannot be pulled here, so no process runs and nothing becomes ready. Needs root.

use super::kubelet_init::{node, Node};
use std::time::{Duration, Instant};

const MANIFEST: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: default}\n\
spec:\n  replicas: 1\n  strategy: {type: Recreate}\n  selector: {matchLabels: {app: web}}\n  template:\n    \
metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - {name: c, image: 'registry.example/web:1'}\n";

/// Waits up to 20 s until kubectl with `args` prints something `check` accepts.
fn until(node: &Node, args: &[&str], check: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let (_, out) = node.kubectl_try(args, None);
        if check(&out) {
            return out;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "kubectl {args:?}: {out}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// kubectl's arguments for `name desired current` of every ReplicaSet, oldest revision first.
const REPLICA_SETS: &[&str] = &[
    "get",
    "rs",
    "--sort-by=.metadata.annotations.deployment\\.kubernetes\\.io/revision",
    "-o",
    "jsonpath={range .items[*]}{.metadata.name} {.spec.replicas} {.status.replicas}{\"\\n\"}{end}",
];

#[tokio::test(flavor = "multi_thread")]
async fn deployments_roll_out_through_replica_sets_that_kubectl_rollout_reads() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(MANIFEST);
        let printed = until(&node, &["get", "rs"], |o| o.contains("web-"));
        let header: Vec<&str> = printed.lines().next().unwrap_or_default().split_whitespace().collect();
        assert_eq!(header, ["NAME", "DESIRED", "CURRENT", "READY", "AGE"], "{printed}");
        let first = until(&node, &["get", "rs", "-o", "name"], |o| o.starts_with("replicaset.apps/web-"));
        let first = first.trim().trim_start_matches("replicaset.apps/").to_string();
        let pod = until(&node, &["get", "pods", "-o", "name"], |o| o.contains("pod/web-"));
        assert!(pod.trim().starts_with(&format!("pod/{first}-")), "{pod}");
        let described = until(&node, &["describe", pod.trim()], |o| o.contains("Error: ErrImagePull"));
        assert!(described.contains(r#"kubelet            Failed to pull image "registry.example/web:1": "#), "{described}");

        // A new template: a second ReplicaSet, the first kept at 0.
        node.kubectl(&["set", "image", "deployment/web", "c=registry.example/web:2"]);
        let sets = until(&node, &["get", "rs", "-o", "name"], |o| o.lines().count() == 2);
        let second = sets.lines().map(|l| l.trim_start_matches("replicaset.apps/")).find(|n| *n != first).unwrap().to_string();
        until(&node, &["get", "rs", first.as_str(), "-o", "jsonpath={.spec.replicas}"], |o| o == "0");
        let expected = format!("{first} 0 0\n{second} 1 1\n");
        until(&node, REPLICA_SETS, |o| o == expected);
        let history = node.kubectl(&["rollout", "history", "deployment/web"]);
        let revisions: Vec<&str> = history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
        assert_eq!(revisions, ["1", "2"], "{history}");

        // Undo: the first template again, in its own ReplicaSet, as revision 3.
        node.kubectl(&["rollout", "undo", "deployment/web"]);
        until(&node, &["get", "deployment", "web", "-o", "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}"], |o| o == "3");
        until(&node, &["get", "rs", first.as_str(), "-o", "jsonpath={.spec.replicas}/{.status.replicas}"], |o| o == "1/1");
        let image = node.kubectl(&["get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]);
        assert_eq!(image, "registry.example/web:1");
        let history = node.kubectl(&["rollout", "history", "deployment/web"]);
        let revisions: Vec<&str> = history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
        assert_eq!(revisions, ["2", "3"], "{history}");

        // Nothing gets ready (the image cannot be pulled): rollout status says what it waits for.
        let (ok, status) = node.kubectl_try(&["rollout", "status", "deployment/web", "--timeout=2s"], None);
        assert!(!ok, "{status}");
        assert!(status.contains(r#"Waiting for deployment "web" rollout to finish: 0 of 1 updated replicas are available..."#), "{status}");

        node.kubectl(&["scale", "deployment", "web", "--replicas=2"]);
        until(&node, &["get", "rs", first.as_str(), "-o", "jsonpath={.spec.replicas}/{.status.replicas}"], |o| o == "2/2");
        until(&node, &["get", "pods", "-o", "name"], |o| o.lines().filter(|l| l.starts_with(&format!("pod/{first}-"))).count() == 2);
        let everything = node.kubectl(&["get", "all", "-o", "name"]);
        assert!(everything.contains(&format!("replicaset.apps/{first}")), "{everything}");

        node.kubectl(&["delete", "deployment", "web"]);
        until(&node, &["get", "rs,pods", "-o", "name"], |o| !o.contains("web-"));
    })
    .await
    .unwrap();
}
