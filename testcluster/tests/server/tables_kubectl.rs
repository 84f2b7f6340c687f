//! Server-side printing through the real kubectl: `kubectl get` and `get -o wide` print the
//! columns a real cluster prints, from the `Table` the server answers, for each served kind; a
//! pod's STATUS is computed as `printPod` does.

use std::path::Path;

fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let (ok, text) = super::kubectl_run(kubeconfig, args);
    assert!(
        ok,
        "kubectl {args:?} failed:
{text}"
    );
    text
}

/// The printed lines with runs of spaces as one and ages (`0s`, `3s`) as `AGE`.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .map(|w| {
                    let age = w.len() > 1
                        && w.ends_with('s')
                        && w[..w.len() - 1].bytes().all(|b| b.is_ascii_digit());
                    if age {
                        "AGE"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

const OBJECTS: &str = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {a: '1', b: '2'}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: x}
---
apiVersion: v1
kind: Service
metadata: {name: rest}
spec: {ports: [{port: 8081}], selector: {app: web}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: flink}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: 'flink:2.3.0'}]}
---
apiVersion: v1
kind: Pod
metadata: {name: crashing}
spec: {containers: [{name: main, image: 'flink:2.3.0'}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: flink}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: flink}
subjects: [{kind: ServiceAccount, name: flink, namespace: default}]
";

#[tokio::test]
async fn kubectl_get_prints_the_real_columns() {
    let server = kube_test_server::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, &server.kubeconfig).unwrap();
    let manifest = dir.path().join("objects.yaml");
    std::fs::write(&manifest, OBJECTS).unwrap();
    tokio::task::spawn_blocking(move || {
        let k = |args: &[&str]| lines(&kubectl(&kc, args));
        kubectl(&kc, &["apply", "-f", manifest.to_str().unwrap()]);
        let status = r#"{"status":{"phase":"Running","podIP":"10.245.0.7","containerStatuses":[{"name":"main","ready":false,"restartCount":4,"image":"flink:2.3.0","imageID":"","state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}}"#;
        kubectl(&kc, &["patch", "pod", "crashing", "--subresource=status", "--type=merge", "-p", status]);

        assert_eq!(k(&["get", "configmap", "conf"]), ["NAME DATA AGE", "conf 2 AGE"]);
        assert_eq!(k(&["get", "secret", "creds"]), ["NAME TYPE DATA AGE", "creds Opaque 1 AGE"]);
        assert_eq!(
            k(&["get", "service", "rest", "-o", "wide"]),
            ["NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR", "rest ClusterIP 10.96.0.2 <none> 8081/TCP AGE app=web"]
        );
        assert_eq!(k(&["get", "sa", "flink"]), ["NAME SECRETS AGE", "flink 0 AGE"]);
        assert_eq!(
            k(&["get", "deploy", "-o", "wide"]),
            ["NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR", "web 0/2 0 0 AGE main flink:2.3.0 app=web"]
        );
        assert_eq!(
            k(&["get", "pods"]),
            ["NAME READY STATUS RESTARTS AGE", "crashing 0/1 CrashLoopBackOff 4 AGE"]
        );
        assert_eq!(
            k(&["get", "pods", "-o", "wide"]),
            ["NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES", "crashing 0/1 CrashLoopBackOff 4 AGE 10.245.0.7 <none> <none> <none>"]
        );
        assert_eq!(
            k(&["get", "rolebinding", "-o", "wide"]),
            ["NAME ROLE AGE USERS GROUPS SERVICEACCOUNTS", "flink Role/flink AGE default/flink"]
        );
        assert_eq!(k(&["get", "ns", "default"]), ["NAME STATUS AGE", "default Active AGE"]);
        // `all` is the category discovery names: pods, services, deployments.
        let all = k(&["get", "all"]);
        assert!(all.contains(&"pod/crashing 0/1 CrashLoopBackOff 4 AGE".to_string()), "{all:?}");
        assert!(all.contains(&"service/rest ClusterIP 10.96.0.2 <none> 8081/TCP AGE".to_string()), "{all:?}");
        assert!(all.contains(&"deployment.apps/web 0/2 0 0 AGE".to_string()), "{all:?}");
        // Across namespaces kubectl adds NAMESPACE from each row's metadata; labels too.
        assert_eq!(
            k(&["get", "cm", "-A", "--show-labels"]),
            ["NAMESPACE NAME DATA AGE LABELS", "default conf 2 AGE <none>"]
        );
    })
    .await
    .unwrap();
}
