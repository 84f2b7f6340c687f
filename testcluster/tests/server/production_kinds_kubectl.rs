//! The kinds a hardened production deployment is made of, through the real kubectl: a
//! PersistentVolumeClaim is bound at once and `kubectl get pvc` shows its volume, capacity and
//! access modes; NetworkPolicy, Ingress, PodDisruptionBudget and EndpointSlice are served with
//! their discovery and printed with the real columns. On the local kubelet a claim's volume is a
//! directory that outlives the pod that wrote it (`test/e2e/storage`'s "should store data"). The
//! kubelet part needs root.

use super::kubelet_init::node;
use std::time::Duration;

const OBJECTS: &str = r#"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: rocksdb}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: jobmanager}
spec:
  podSelector: {matchLabels: {component: jobmanager}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {component: taskmanager}}}]}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ui}
spec:
  ingressClassName: nginx
  rules: [{host: flink.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: rest, port: {number: 8081}}}}]}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: taskmanagers}
spec:
  minAvailable: 1
  selector: {matchLabels: {component: taskmanager}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: rest-abc12, labels: {kubernetes.io/service-name: rest}}
addressType: IPv4
ports: [{name: rest, port: 8081, protocol: TCP}]
endpoints: [{addresses: [10.0.0.5]}]
"#;

fn rows(printed: &str) -> Vec<Vec<String>> {
    printed
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn production_kinds_are_served_and_printed_and_a_claim_is_bound_at_once() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        let (ok, out) = node.kubectl_try(&["apply", "-f", "-"], Some(OBJECTS));
        assert!(ok, "{out}");
        let uid = node.kubectl(&["get", "pvc", "rocksdb", "-o", "jsonpath={.metadata.uid}"]);
        let pvc = rows(&node.kubectl(&["get", "pvc"]));
        assert_eq!(pvc[0], ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]);
        assert_eq!(&pvc[1][..6], ["rocksdb", "Bound", &format!("pvc-{uid}"), "1Gi", "RWO", "<unset>"]);
        let expected: [(&str, &[&str], &[&str]); 4] = [
            ("netpol", &["NAME", "POD-SELECTOR", "AGE"], &["jobmanager", "component=jobmanager"]),
            ("ingress", &["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"], &["ui", "nginx", "flink.example.com", "80"]),
            ("pdb", &["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"], &["taskmanagers", "1", "N/A", "0"]),
            ("endpointslices", &["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], &["rest-abc12", "IPv4", "8081", "10.0.0.5"]),
        ];
        for (kind, header, cells) in expected {
            let printed = rows(&node.kubectl(&["get", kind]));
            assert_eq!(printed[0], header, "{kind}");
            assert_eq!(&printed[1][..cells.len()], cells, "{kind}");
        }

        // A pod writes to the claim and goes; what it wrote stays with the claim's volume.
        node.apply(
            &serde_json::json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer"},
                "spec": {
                    "restartPolicy": "Never",
                    "initContainers": [{"name": "write", "image": "busybox:1.36",
                        "command": ["sh", "-c", "echo state > /data/file"],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                    "containers": [{"name": "main", "image": "registry.example/none:1"}],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "rocksdb"}}],
                },
            })
            .to_string(),
        );
        node.wait_for("writer", Duration::from_secs(20), |p| {
            (p["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0).then_some(())
        });
        node.kubectl(&["delete", "pod", "writer"]);
        let file = node.pods_dir().join("_persistent-volumes").join(format!("pvc-{uid}")).join("file");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "state\n");
    })
    .await
    .unwrap();
}
