//! The Kubernetes cluster an acceptance test runs against: the in-process Kubernetes API test
//! server, or a real cluster when `FLINK_TEST_KUBECONFIG` names its kubeconfig. Each test gets its
//! own namespace, deleted at the end, so tests never see each other's objects and a real cluster is
//! left as it was.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// How long one kubectl run may take before it is killed, in seconds.
const KUBECTL_LIMIT: &str = "180";

/// A cluster with a namespace for one test.
pub struct Cluster {
    /// Kubeconfig path.
    pub kubeconfig: PathBuf,
    /// This test's namespace.
    pub namespace: String,
    _dir: tempfile::TempDir,
    server: Option<kube_test_server::RunningServer>,
    runtime: Option<tokio::runtime::Runtime>,
    kubelet: Option<kube_test_server::kubelet::Kubelet>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Cluster {
    /// A cluster and a fresh namespace `<prefix>-<n>`.
    pub fn start(prefix: &str) -> Self {
        Self::open(prefix, false)
    }

    /// Like [`Cluster::start`], and where the cluster is the test server, with its local kubelet
    /// running pods as real Flink processes (needs root; fails saying why otherwise).
    pub fn start_with_pods(prefix: &str) -> Self {
        Self::open(prefix, true)
    }

    /// Like [`Cluster::start_with_pods`], with custom images known to the local kubelet, each
    /// `NAME=BASE+DIR` as `kube-test-server --image` takes it. A real cluster pulls images from
    /// its registries instead: there the test must skip (`local_pods()` is false).
    pub fn start_with_images(prefix: &str, images: &[String]) -> Self {
        let images = images
            .iter()
            .map(|spec| kube_test_server::kubelet::CustomImage::parse(spec).unwrap())
            .collect();
        Self::open_with(prefix, true, false, images)
    }

    /// A test server with faults on demand ([`Cluster::arm_fault`]) and a fresh namespace. Always
    /// the in-process server, even when `FLINK_TEST_KUBECONFIG` names a real cluster: a real
    /// API server cannot be told to fail.
    pub fn start_with_faults(prefix: &str) -> Self {
        Self::open_with(prefix, false, true, Default::default())
    }

    /// Like [`Cluster::start_with_faults`], with the local kubelet running pods as real Flink
    /// processes.
    pub fn start_with_pods_and_faults(prefix: &str) -> Self {
        Self::open_with(prefix, true, true, Default::default())
    }

    /// Whether pods run on the local kubelet (and so are reachable at their pod IPs).
    pub fn local_pods(&self) -> bool {
        self.kubelet.is_some()
    }

    fn open(prefix: &str, run_pods: bool) -> Self {
        Self::open_with(prefix, run_pods, false, Default::default())
    }

    fn open_with(
        prefix: &str,
        run_pods: bool,
        faults: bool,
        images: std::collections::BTreeMap<String, kube_test_server::kubelet::CustomImage>,
    ) -> Self {
        // Not under /tmp: the pods mount an emptyDir at /tmp, which would hide their own files.
        let mut dir = tempfile::tempdir_in(crate::harness::host_files_dir()).unwrap();
        // To read the pods' files and output after a failure.
        if std::env::var_os("FLINK_TEST_KEEP_PODS").is_some() {
            dir.disable_cleanup(true);
            eprintln!("pods' files kept in {}", dir.path().display());
        }
        let namespace = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let (kubeconfig, server, runtime) = match std::env::var("FLINK_TEST_KUBECONFIG") {
            Ok(path) if !path.is_empty() && !faults => (PathBuf::from(path), None, None),
            _ => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                let server = runtime
                    .block_on(kube_test_server::start_with(
                        "127.0.0.1:0",
                        kube_test_server::Options {
                            faults,
                            ..Default::default()
                        },
                    ))
                    .unwrap();
                let path = dir.path().join("kubeconfig");
                std::fs::write(&path, &server.kubeconfig).unwrap();
                (path, Some(server), Some(runtime))
            }
        };
        let kubelet = match (&server, run_pods) {
            (Some(server), true) => {
                let options = kube_test_server::kubelet::Options {
                    work_dir: dir.path().join("pods"),
                    fetch_script: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("scripts/fetch-flink.sh"),
                    images,
                };
                match kube_test_server::kubelet::Kubelet::start(server, options) {
                    Ok(k) => Some(k),
                    Err(e) => panic!("the local kubelet cannot run pods here: {e}"),
                }
            }
            _ => None,
        };
        let cluster = Cluster {
            kubeconfig,
            namespace,
            _dir: dir,
            server,
            runtime,
            kubelet,
        };
        cluster.kubectl_stdin(
            &["apply", "--server-side", "-f", "-"],
            &format!(
                "{{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{{\"name\":\"{}\"}}}}",
                cluster.namespace
            ),
        );
        cluster
    }

    /// The provider block that points at this cluster.
    pub fn provider_block(&self) -> String {
        format!(
            "provider \"flink\" {{\n  kubernetes = {{\n    config_path = {:?}\n  }}\n}}\n",
            self.kubeconfig.display().to_string()
        )
    }

    /// The arguments that point a kubectl run elsewhere (another thread) at this cluster and
    /// this test's namespace.
    pub fn kubectl_args(&self) -> Vec<String> {
        vec![
            "--kubeconfig".into(),
            self.kubeconfig.display().to_string(),
            "-n".into(),
            self.namespace.clone(),
        ]
    }

    /// kubectl against this cluster, killed after [`KUBECTL_LIMIT`] seconds (exit 124): a
    /// kubectl waiting for what the cluster never reports fails its test with what it printed
    /// instead of holding the run until CI gives up.
    fn kubectl_command(&self) -> Command {
        let mut command = Command::new("timeout");
        command
            .args(["--kill-after=5", KUBECTL_LIMIT, "kubectl"])
            .env("KUBECONFIG", &self.kubeconfig);
        command
    }

    /// Runs kubectl; returns (success, stdout+stderr).
    pub fn kubectl_try(&self, args: &[&str]) -> (bool, String) {
        let out = self
            .kubectl_command()
            .args(args)
            .output()
            .expect("the real kubectl must be on PATH for the acceptance tests");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// Starts a long-running kubectl in this test's namespace (`logs -f`, `port-forward`), its
    /// output piped.
    pub fn spawn_kubectl(&self, args: &[&str]) -> std::process::Child {
        Command::new("kubectl")
            .env("KUBECONFIG", &self.kubeconfig)
            .args(["-n", self.namespace.as_str()])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the real kubectl must be on PATH for the acceptance tests")
    }

    /// `kubectl port-forward <target> :<port>` running, and the local address it listens on.
    pub fn port_forward(&self, target: &str, port: u16) -> (std::process::Child, String) {
        use std::io::BufRead;
        let mut child = self.spawn_kubectl(&["port-forward", target, &format!(":{port}")]);
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        // "Forwarding from 127.0.0.1:<local> -> <port>"
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let local = first
            .split_whitespace()
            .find(|w| w.starts_with("127.0.0.1:"))
            .map(String::from);
        std::thread::spawn(move || lines.for_each(drop));
        match local {
            Some(local) => (child, local),
            None => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "kubectl port-forward {target} did not start: {first}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }

    /// Runs kubectl in this test's namespace and asserts it succeeded.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.namespace.as_str()];
        all.extend_from_slice(args);
        let (ok, text) = self.kubectl_try(&all);
        assert!(ok, "kubectl {args:?} failed:\n{text}");
        text
    }

    /// Creates an object from its JSON (or YAML) manifest in this test's namespace, as a person
    /// would with `kubectl apply`.
    pub fn kubectl_apply(&self, manifest: &str) {
        self.kubectl_stdin(
            &[
                "-n",
                &self.namespace,
                "apply",
                "--server-side",
                "--field-manager=test",
                "-f",
                "-",
            ],
            manifest,
        );
    }

    /// Runs kubectl with `input` on its stdin and asserts it succeeded.
    pub fn kubectl_stdin(&self, args: &[&str], input: &str) {
        use std::io::Write;
        let mut child = self
            .kubectl_command()
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the real kubectl must be on PATH for the acceptance tests");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// API requests per `verb resource` since the last call, when the cluster is the in-process
    /// test server (a real cluster does not count them for us).
    pub fn take_request_counts(&self) -> Option<std::collections::BTreeMap<String, u64>> {
        let server = self.server.as_ref()?;
        let mut counts = server.shared.requests.lock().unwrap();
        Some(std::mem::take(&mut *counts))
    }

    /// The test server's log of API requests (`METHOD path -> status [as user]`), oldest first,
    /// when the cluster is the in-process test server.
    pub fn request_log(&self) -> Option<Vec<String>> {
        let server = self.server.as_ref()?;
        let log = server.shared.request_log.lock().unwrap();
        Some(log.iter().cloned().collect())
    }

    /// Arms a fault on the test server (started by [`Cluster::start_with_faults`]) through its
    /// `/testserver/faults` endpoint, with the real kubectl as any client would: `fault` is its
    /// JSON form, e.g. `{"verb": "patch", "kind": "ConfigMap", "count": 2, "action": {"status":
    /// {"code": 503}}}` (testcluster's `faults.rs` says what each field means).
    pub fn arm_fault(&self, fault: &str) {
        let file = self._dir.path().join("fault.json");
        std::fs::write(&file, fault).unwrap();
        let (ok, out) = self.kubectl_try(&[
            "create",
            "--raw",
            "/testserver/faults",
            "-f",
            file.to_str().unwrap(),
        ]);
        assert!(
            ok,
            "arming the fault {fault} failed (a server with faults?): {out}"
        );
    }

    /// Disarms every fault still armed.
    pub fn disarm_faults(&self) {
        let (ok, out) = self.kubectl_try(&["delete", "--raw", "/testserver/faults"]);
        assert!(ok, "{out}");
    }

    /// The faults still armed (their JSON), empty once every armed fault was spent.
    pub fn armed_faults(&self) -> serde_json::Value {
        let (ok, out) = self.kubectl_try(&["get", "--raw", "/testserver/faults"]);
        assert!(ok, "{out}");
        serde_json::from_str(&out).unwrap()
    }

    /// Waits until the one fault armed with `count` took a request (for a stalled fault: one is
    /// in flight now). A fault that took its last request is no longer listed.
    pub fn until_fault_taken(&self, count: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let armed = self.armed_faults();
            let spent = armed.as_array().is_some_and(Vec::is_empty);
            if spent || armed[0]["count"].as_u64().is_some_and(|left| left < count) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no request met the fault: {armed}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Waits until `object` (as [`Cluster::managed_objects`] names it) exists.
    pub fn until_managed(&self, object: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !self.managed_objects().iter().any(|o| o == object) {
            assert!(
                std::time::Instant::now() < deadline,
                "{object} was never applied"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Names (`kind/name`) of every object in the namespace carrying the provider's label.
    pub fn managed_objects(&self) -> Vec<String> {
        let text = self.kubectl(&[
            "get",
            "configmaps,secrets,services,serviceaccounts,roles,rolebindings,deployments,networkpolicies,ingresses",
            "-l",
            "app.kubernetes.io/managed-by=terraform-provider-flink",
            "-o",
            "name",
        ]);
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("No resources"))
            .map(String::from)
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.server.is_none() {
            let _ = self.kubectl_try(&["delete", "namespace", &self.namespace, "--wait=false"]);
        }
        // Pod processes stop before the server goes.
        drop(self.kubelet.take());
        if let Some(server) = self.server.take() {
            server.stop();
            drop(server);
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
