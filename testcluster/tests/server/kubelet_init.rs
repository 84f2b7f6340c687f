//! Init containers on the local kubelet, seen through the real kubectl as on a cluster
//! (`test/e2e/common/node/init_container.go`): they run in order, each to completion, before the
//! app container; a failing one is restarted with back-off and its status, `kubectl logs -c` and
//! `kubectl logs --previous` show each run; with restartPolicy Never it fails the pod. Needs root
//! (the kubelet's namespaces).

use std::path::Path;
use std::time::{Duration, Instant};

/// A server with its local kubelet, and a kubeconfig file for kubectl.
pub(crate) struct Node {
    pub kubeconfig: std::path::PathBuf,
    pods_dir: std::path::PathBuf,
    _kubelet: kube_test_server::kubelet::Kubelet,
    _server: kube_test_server::RunningServer,
    _dir: tempfile::TempDir,
}

pub(crate) async fn node() -> Node {
    let server = kube_test_server::start("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, &server.kubeconfig).unwrap();
    let options = kube_test_server::kubelet::Options {
        work_dir: dir.path().join("pods"),
        fetch_script: Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-flink.sh"),
        images: Default::default(),
    };
    let kubelet = kube_test_server::kubelet::Kubelet::start(&server, options)
        .expect("the local kubelet needs root");
    Node {
        kubeconfig,
        pods_dir: dir.path().join("pods"),
        _kubelet: kubelet,
        _server: server,
        _dir: dir,
    }
}

impl Node {
    /// Where the kubelet keeps its pods' directories (`<namespace>/<pod>/`).
    pub fn pods_dir(&self) -> &Path {
        &self.pods_dir
    }

    /// kubectl's output, and whether it succeeded.
    pub fn kubectl_try(&self, args: &[&str], stdin: Option<&str>) -> (bool, String) {
        use std::io::Write;
        let mut child = crate::kubectl_command(&self.kubeconfig)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the real kubectl must be installed for these tests");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(input);
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    pub fn kubectl(&self, args: &[&str]) -> String {
        let (ok, text) = self.kubectl_try(args, None);
        assert!(ok, "kubectl {args:?} failed:\n{text}");
        text
    }

    pub fn apply(&self, manifest: &str) {
        let (ok, text) = self.kubectl_try(&["apply", "--server-side", "-f", "-"], Some(manifest));
        assert!(ok, "{text}");
    }

    pub fn pod(&self, name: &str) -> serde_json::Value {
        serde_json::from_str(&self.kubectl(&["get", "pod", name, "-o", "json"])).unwrap()
    }

    /// Waits up to `limit` for `check` on the pod to give something.
    pub fn wait_for<T>(
        &self,
        name: &str,
        limit: Duration,
        mut check: impl FnMut(&serde_json::Value) -> Option<T>,
    ) -> T {
        let started = Instant::now();
        loop {
            let pod = self.pod(name);
            if let Some(t) = check(&pod) {
                return t;
            }
            assert!(
                started.elapsed() < limit,
                "gave up after {limit:?}: {:#}",
                pod["status"]
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn condition<'a>(pod: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    pod["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind))
        .unwrap_or(&serde_json::Value::Null)
}

/// A pod whose init containers run `init` (name, shell script) over a shared emptyDir at /work,
/// and whose app container is a Flink image given an entrypoint this kubelet refuses (so that it
/// is seen to be reached, at no cost).
fn pod(name: &str, policy: &str, init: &[(&str, &str)]) -> String {
    let init: Vec<serde_json::Value> = init
        .iter()
        .map(|(n, script)| {
            serde_json::json!({
                "name": n, "image": "busybox:1.36", "command": ["sh", "-c", script],
                "volumeMounts": [{"name": "work", "mountPath": "/work"}],
            })
        })
        .collect();
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {
            "restartPolicy": policy,
            "initContainers": init,
            "containers": [{"name": "run1", "image": "flink:2.3.0", "args": ["not-an-entrypoint"]}],
            "volumes": [{"name": "work", "emptyDir": {}}],
        },
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn init_containers_run_in_order_before_the_app_container() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(&pod(
            "ordered",
            "Always",
            &[
                ("init1", "sleep 1; echo one > /work/order; echo init1 ran"),
                (
                    "init2",
                    "test -f /work/order && echo two >> /work/order && cat /work/order",
                ),
            ],
        ));
        // While init1 runs: Pending, not initialized, the app container PodInitializing.
        let early = node.wait_for("ordered", Duration::from_secs(20), |p| {
            p["status"]["initContainerStatuses"][0]["state"]["running"]
                .is_object()
                .then(|| p.clone())
        });
        assert_eq!(early["status"]["phase"], "Pending");
        assert_eq!(
            condition(&early, "Initialized")["reason"],
            "ContainersNotInitialized"
        );
        assert_eq!(
            condition(&early, "Initialized")["message"],
            "containers with incomplete status: [init1 init2]"
        );
        assert_eq!(
            early["status"]["initContainerStatuses"][1]["state"]["waiting"]["reason"],
            "PodInitializing"
        );
        assert_eq!(
            early["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "PodInitializing"
        );
        // Both done, in order: initialized, and the app container's turn came.
        let done = node.wait_for("ordered", Duration::from_secs(30), |p| {
            (condition(p, "Initialized")["status"] == "True").then(|| p.clone())
        });
        for init in done["status"]["initContainerStatuses"].as_array().unwrap() {
            assert_eq!(init["state"]["terminated"]["exitCode"], 0, "{init}");
            assert_eq!(init["state"]["terminated"]["reason"], "Completed", "{init}");
            assert_eq!(init["ready"], true, "{init}");
            assert_eq!(init["restartCount"], 0, "{init}");
        }
        let main = node.wait_for("ordered", Duration::from_secs(20), |p| {
            let waiting = &p["status"]["containerStatuses"][0]["state"]["waiting"];
            (waiting["reason"] != "PodInitializing").then(|| waiting.clone())
        });
        assert_eq!(main["reason"], "RunContainerError", "{main}");
        assert_eq!(
            node.kubectl(&["logs", "ordered", "-c", "init2"]),
            "one\ntwo\n"
        );
        assert_eq!(
            node.kubectl(&["logs", "ordered", "-c", "init1"]),
            "init1 ran\n"
        );
        let (ok, refused) = node.kubectl_try(&["logs", "ordered", "-c", "nope"], None);
        assert!(
            !ok && refused.contains("container nope is not valid for pod ordered"),
            "{refused}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_init_container_backs_off_and_keeps_the_app_container_waiting() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(&pod(
            "failing",
            "Always",
            &[("fetch", "n=$(cat /work/n 2>/dev/null || echo 0); echo run $n; echo $((n+1)) > /work/n; exit 8")],
        ));
        let first = node.wait_for("failing", Duration::from_secs(20), |p| {
            let s = &p["status"]["initContainerStatuses"][0];
            (s["restartCount"] == 1).then(|| p.clone())
        });
        let fetch = &first["status"]["initContainerStatuses"][0];
        assert_eq!(fetch["state"]["waiting"]["reason"], "CrashLoopBackOff", "{fetch}");
        assert_eq!(fetch["lastState"]["terminated"]["exitCode"], 8, "{fetch}");
        assert_eq!(fetch["lastState"]["terminated"]["reason"], "Error", "{fetch}");
        assert_eq!(fetch["ready"], false);
        assert_eq!(first["status"]["phase"], "Pending");
        assert_eq!(
            first["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "PodInitializing"
        );
        // The log of a container waiting out its back-off is its last run's.
        assert_eq!(node.kubectl(&["logs", "failing", "-c", "fetch"]), "run 0\n");
        let (ok, none) = node.kubectl_try(&["logs", "failing", "-c", "fetch", "--previous"], None);
        assert!(!ok && none.contains("previous terminated container \"fetch\""), "{none}");
        let (ok, waiting) = node.kubectl_try(&["logs", "failing"], None);
        assert!(
            !ok && waiting.contains("container \"run1\" in pod \"failing\" is waiting to start: PodInitializing"),
            "{waiting}"
        );
        // After the 10 s back-off it runs again: its previous run's log is kept apart.
        node.wait_for("failing", Duration::from_secs(30), |p| {
            (p["status"]["initContainerStatuses"][0]["restartCount"] == 2).then_some(())
        });
        assert_eq!(node.kubectl(&["logs", "failing", "-c", "fetch"]), "run 1\n");
        assert_eq!(
            node.kubectl(&["logs", "failing", "-c", "fetch", "--previous"]),
            "run 0\n"
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_init_container_fails_a_pod_that_never_restarts() {
    let node = node().await;
    tokio::task::spawn_blocking(move || {
        node.apply(&pod(
            "never",
            "Never",
            &[("init1", "true"), ("init2", "echo failing; exit 3")],
        ));
        let failed = node.wait_for("never", Duration::from_secs(30), |p| {
            (p["status"]["phase"] == "Failed").then(|| p.clone())
        });
        let init = &failed["status"]["initContainerStatuses"];
        assert_eq!(init[0]["state"]["terminated"]["exitCode"], 0);
        assert_eq!(init[1]["state"]["terminated"]["exitCode"], 3);
        assert_eq!(init[1]["state"]["terminated"]["reason"], "Error");
        assert_eq!(init[1]["restartCount"], 0);
        assert_eq!(
            condition(&failed, "Initialized")["message"],
            "containers with incomplete status: [init2]"
        );
        assert_eq!(
            failed["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "PodInitializing"
        );
        // It stays so: nothing runs again.
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(
            node.pod("never")["status"]["initContainerStatuses"][1]["restartCount"],
            0
        );
        assert_eq!(node.kubectl(&["logs", "never", "-c", "init2"]), "failing\n");
    })
    .await
    .unwrap();
}
