//! Pod Security admission through the real kubectl: a namespace labelled `enforce=restricted`
//! refuses a privileged root pod with kube-apiserver's message and admits a hardened one;
//! `warn=restricted` admits with the warning kubectl prints; pods the local kubelet would create
//! for a Deployment are refused the same way, which the Deployment's `ReplicaFailure` condition
//! and its ReplicaSet's `FailedCreate` Event show.

use std::path::Path;

fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    super::kubectl_run(kubeconfig, args)
}

const NAMESPACES: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: strict
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: v1
kind: Namespace
metadata:
  name: lenient
  labels: {pod-security.kubernetes.io/warn: restricted}
";

const ROOT_POD: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: root}
spec:
  containers:
  - name: c
    image: nginx
    securityContext: {privileged: true, runAsUser: 0}
";

const HARDENED_POD: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: hardened}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: nginx
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
";

const VIOLATIONS: &str = r#"privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), runAsUser=0 (container "c" must not set runAsUser=0), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test]
async fn kubectl_sees_enforce_refuse_and_warn_admit() {
    let server = kube_test_server::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, &server.kubeconfig).unwrap();
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let k = |args: &[&str]| kubectl(&kc, args);
        let (ns, root, hardened) = (
            write(&d, "ns.yaml", NAMESPACES),
            write(&d, "root.yaml", ROOT_POD),
            write(&d, "hardened.yaml", HARDENED_POD),
        );
        assert!(k(&["apply", "-f", &ns]).0);

        let (ok, out) = k(&["apply", "-n", "strict", "-f", &root]);
        assert!(!ok, "{out}");
        let refused = format!(
            "Error from server (Forbidden): error when creating \"{root}\": pods \"root\" is forbidden: violates PodSecurity \"restricted:latest\": {VIOLATIONS}"
        );
        assert_eq!(out.trim(), refused);
        let (ok, out) = k(&["apply", "-n", "strict", "-f", &hardened]);
        assert!(ok && out.trim() == "pod/hardened created", "{out}");

        let (ok, out) = k(&["apply", "-n", "lenient", "-f", &root]);
        assert!(ok, "{out}");
        let warned = format!("Warning: would violate PodSecurity \"restricted:latest\": {VIOLATIONS}");
        assert!(out.contains(&warned), "{out}");
        assert!(out.contains("pod/root created"), "{out}");

        // Tightening `lenient` warns about the pod already there; a level that does not parse is
        // refused as the real server refuses it.
        let (ok, out) = k(&["label", "ns", "lenient", "pod-security.kubernetes.io/enforce=baseline"]);
        assert!(ok, "{out}");
        assert!(out.contains(r#"Warning: existing pods in namespace "lenient" violate the new PodSecurity enforce level "baseline:latest""#), "{out}");
        assert!(out.contains("Warning: root: privileged"), "{out}");
        let (ok, out) = k(&["label", "ns", "lenient", "--overwrite", "pod-security.kubernetes.io/enforce=strict"]);
        assert!(!ok);
        assert!(out.contains(r#"The Namespace "lenient" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted"#), "{out}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn pods_the_kubelet_creates_are_refused_and_the_deployment_says_so() {
    let server = kube_test_server::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = kube_test_server::kubelet::Options {
        work_dir: dir.path().join("pods"),
        fetch_script: Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-flink.sh"),
        images: Default::default(),
    };
    let _kubelet = kube_test_server::kubelet::Kubelet::start(&server, options)
        .unwrap_or_else(|e| panic!("the local kubelet cannot run pods here: {e}"));
    let kc = dir.path().join("kubeconfig");
    std::fs::write(&kc, &server.kubeconfig).unwrap();
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let k = |args: &[&str]| kubectl(&kc, args);
        let manifest = write(
            &d,
            "web.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: strict\n  labels: {pod-security.kubernetes.io/enforce: restricted, pod-security.kubernetes.io/warn: restricted}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: strict}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - {name: c, image: nginx, securityContext: {privileged: true, runAsUser: 0}}\n",
        );
        let (ok, out) = k(&["apply", "-f", &manifest]);
        assert!(ok, "{out}");
        // The Deployment is admitted with the warn level's warning: only pods are enforced.
        assert!(out.contains(&format!("Warning: would violate PodSecurity \"restricted:latest\": {VIOLATIONS}")), "{out}");
        let jsonpath = r#"jsonpath={.status.conditions[?(@.type=="ReplicaFailure")].reason}: {.status.conditions[?(@.type=="ReplicaFailure")].message}"#;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let condition = loop {
            let (_, out) = k(&["get", "deploy", "web", "-n", "strict", "-o", jsonpath]);
            if out.starts_with("FailedCreate: ") || std::time::Instant::now() > deadline {
                break out;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        assert!(condition.starts_with(r#"FailedCreate: pods "web-"#), "{condition}");
        assert!(condition.ends_with(&format!(" is forbidden: violates PodSecurity \"restricted:latest\": {VIOLATIONS}")), "{condition}");
        let (_, pods) = k(&["get", "pods", "-n", "strict", "-o", "name"]);
        assert_eq!(pods.trim(), "", "no pod was admitted");

        // As on a cluster: the ReplicaSet controller's Event is about the ReplicaSet, and the
        // Deployment shows its condition and the scaling of that ReplicaSet.
        let selector = "involvedObject.kind=ReplicaSet,reason=FailedCreate";
        let (ok, events) = k(&["get", "events", "-n", "strict", "--field-selector", selector, "-o", "jsonpath={.items[0].type} {.items[0].message}"]);
        assert!(ok, "{events}");
        assert!(events.starts_with(r#"Warning Error creating: pods "web-"#), "{events}");
        assert!(events.contains(VIOLATIONS), "{events}");
        let (_, printed) = k(&["get", "events", "-n", "strict"]);
        let header: Vec<&str> = printed.lines().next().unwrap_or_default().split_whitespace().collect();
        assert_eq!(header, ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], "{printed}");
        let line = |reason: &str| {
            let found = printed.lines().find(|l| l.split_whitespace().nth(2) == Some(reason));
            found.map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")).unwrap_or_default()
        };
        assert!(line("FailedCreate").starts_with(r#"Warning FailedCreate replicaset/web-"#), "{printed}");
        assert!(line("FailedCreate").contains(r#" Error creating: pods "web-"#), "{printed}");
        assert!(line("ScalingReplicaSet").starts_with("Normal ScalingReplicaSet deployment/web Scaled up replica set web-"), "{printed}");
        let (ok, described) = k(&["describe", "deployment", "web", "-n", "strict"]);
        assert!(ok, "{described}");
        assert!(described.contains("ReplicaFailure   True    FailedCreate"), "{described}");
        assert!(described.contains("NewReplicaSet:     web-"), "{described}");
        assert!(described.contains("Normal  ScalingReplicaSet  "), "{described}");
        assert!(described.contains("deployment-controller  Scaled up replica set web-"), "{described}");
        let (_, rs) = k(&["describe", "replicasets", "-n", "strict"]);
        assert!(rs.contains(r#"replicaset-controller  Error creating: pods "web-"#), "{rs}");
    })
    .await
    .unwrap();
}
