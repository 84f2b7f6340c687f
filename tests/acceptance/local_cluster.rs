//! `terraform apply` ends in a running Flink job: on the test server with its local kubelet, a
//! flink_deployment's pods run as real Flink 2.3 processes (the job jar fetched by the provider's
//! init container from a local HTTP server), the job Flink reports runs under the state's
//! `job_id`, `kubectl logs` shows the JobManager's output, `kubectl port-forward` to the REST
//! Service reaches Flink, `kubectl logs -f` follows a TaskManager until it is killed, a killed
//! TaskManager is restarted and counted, and destroy stops it all; an image that cannot be pulled
//! and a job class that does not exist each fail the apply with the reason and the JobManager's
//! last lines, and the apply after fixing them converges; a jar URL that answers 404 fails the apply
//! within seconds naming the init container that fetches it, its exit code and the URL; a container over its memory limit is
//! OOMKilled (a memory cgroup per pod); `FLINK_PROPERTIES` reaches Flink where its configuration is
//! writable and not through a read-only ConfigMap volume. A TLS deployment runs with mutual TLS and is upgraded
//! statefully through the authority's client certificate.

use crate::cluster::Cluster;
use crate::harness::{shared_storage, Workspace, NODE_STORAGE};
use crate::ingress::Ingress;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const JOB: &str = r#"
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

public class Counter {
    public static void main(String[] args) throws Exception {
        // With the arguments "fail-when" and a path, the job throws once that file exists: a
        // job that fails on demand.
        final String failWhen = args.length > 1 && args[0].equals("fail-when") ? args[1] : null;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.enableCheckpointing(2000);
        env.fromSource(new NumberSequenceSource(0, Long.MAX_VALUE), WatermarkStrategy.noWatermarks(), "numbers")
            .filter(x -> {
                if (failWhen != null && x % 100000 == 0 && new java.io.File(failWhen).exists()) {
                    throw new IllegalStateException("the test job fails on purpose");
                }
                return x < 0;
            })
            .print();
        env.execute("counter");
    }
}
"#;

/// The job jar, compiled with javac against the real Flink 2.3.0 jars.
pub(crate) fn job_jar(dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-flink.sh");
    let out = Command::new(&script).arg("2.3.0").output().unwrap();
    assert!(
        out.status.success(),
        "the real Flink 2.3.0 jars are required"
    );
    let home = String::from_utf8(out.stdout).unwrap();
    std::fs::write(dir.join("Counter.java"), JOB).unwrap();
    let classes = dir.join("classes");
    let javac = Command::new("javac")
        .arg("-cp")
        .arg(format!("{}/lib/*", home.trim()))
        .arg("-d")
        .arg(&classes)
        .arg(dir.join("Counter.java"))
        .output()
        .unwrap();
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let jar = dir.join("counter.jar");
    let status = Command::new("jar")
        .arg("cf")
        .arg(&jar)
        .arg("-C")
        .arg(&classes)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    jar
}

/// Serves `bytes` to every GET on all addresses; returns the port.
pub(crate) fn serve(bytes: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.0 200 OK\r\nContent-Type: application/java-archive\r\nContent-Length: {}\r\n\r\n",
                bytes.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&bytes);
        }
    });
    port
}

/// Answers every GET with 404 Not Found, as a file server without the file; returns the port.
fn serve_not_found() -> u16 {
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    });
    port
}

pub(crate) fn http_get(address: &str, path: &str) -> Option<String> {
    let mut s =
        std::net::TcpStream::connect_timeout(&address.parse().ok()?, Duration::from_secs(2))
            .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

pub(crate) fn pod(cluster: &Cluster, component: &str, deployment_id: &str) -> serde_json::Value {
    let text = cluster.kubectl(&[
        "get",
        "pods",
        "-l",
        &format!("component={component},flink.flinkops.io/deployment-id={deployment_id}"),
        "-o",
        "json",
    ]);
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    list["items"][0].clone()
}

pub(crate) fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn apply_runs_a_real_flink_job_that_survives_a_taskmanager_crash() {
    let cluster = Cluster::start_with_pods("local");
    assert!(
        cluster.local_pods(),
        "this test reaches pods at their IPs: it needs the local kubelet"
    );
    let work = tempfile::tempdir().unwrap();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let ws = Workspace::new();
    ws.config(&format!(
        r#"{provider}
resource "flink_deployment" "counter" {{
  name          = "counter"
  namespace     = "{ns}"
  flink_version = "2.3"
  artifact = {{
    jar_uri     = "http://10.245.0.1:{port}/counter.jar"
    entry_class = "Counter"
  }}
  resources = {{
    jobmanager  = {{ memory = "1024m" }}
    taskmanager = {{ memory = "1024m" }}
  }}
}}

"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    ));
    // Apply waits until Flink runs the job.
    ws.apply();
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(
        values["status"], "RUNNING",
        "apply returned before the job ran"
    );
    let (id, job_id) = (
        values["id"].as_str().unwrap().to_string(),
        values["job_id"].as_str().unwrap().to_string(),
    );

    // The JobManager pod becomes Ready with an address, and Flink runs the job under our id.
    let jobmanager = wait_for("a Ready JobManager pod", Duration::from_secs(120), || {
        let p = pod(&cluster, "jobmanager", &id);
        let ready = p["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        ready.then_some(p)
    });
    let address = format!("{}:8081", jobmanager["status"]["podIP"].as_str().unwrap());
    let running = || {
        let body = http_get(&address, "/jobs/overview")?;
        let overview: serde_json::Value = serde_json::from_str(&body).ok()?;
        overview["jobs"]
            .as_array()?
            .iter()
            .find(|j| j["state"] == "RUNNING")
            .map(|j| j["jid"].as_str().unwrap_or_default().to_string())
    };
    let jid = wait_for("the job to run", Duration::from_secs(180), running);
    assert_eq!(jid, job_id, "Flink runs the job under the state's job_id");
    ws.assert_no_changes();

    // The deployment's NetworkPolicy: a pod of its namespace reaches the REST API only, a pod of
    // another namespace nothing, while the job's own pods keep talking (it runs).
    let ip = jobmanager["status"]["podIP"].as_str().unwrap();
    assert_eq!(
        reachable_from(&cluster, &cluster.namespace, ip),
        "8081=open 6123=closed 6124=closed"
    );
    let elsewhere = format!("{}-other", cluster.namespace);
    cluster.kubectl(&["create", "namespace", &elsewhere]);
    let from_elsewhere = reachable_from(&cluster, &elsewhere, ip);
    cluster.kubectl(&["delete", "namespace", &elsewhere, "--wait=false"]);
    assert_eq!(from_elsewhere, "8081=closed 6123=closed 6124=closed");
    // Refresh asks Flink through a port-forward to the JobManager pod.
    let refresh = ws.terraform(&["apply", "-refresh-only", "-auto-approve", "-no-color"]);
    assert_eq!(refresh.code, 0, "{}", refresh.text);
    assert_eq!(
        ws.resource_values("flink_deployment.counter")["status"],
        "RUNNING"
    );

    // kubectl logs reads the JobManager's output.
    let name = jobmanager["metadata"]["name"].as_str().unwrap();
    let logs = cluster.kubectl(&["logs", name, "--tail", "500"]);
    assert!(
        logs.contains("StandaloneApplicationClusterEntryPoint"),
        "{logs}"
    );
    // kubectl port-forward to the REST Service reaches Flink, as a user opens the web UI.
    let (mut forward, local) = cluster.port_forward("service/flink-counter-rest", 8081);
    let overview = http_get(&local, "/jobs/overview").unwrap_or_default();
    assert!(overview.contains(&job_id), "{overview}");
    let _ = forward.kill();
    let _ = forward.wait();

    // A crashed TaskManager is restarted, counted, and the job runs again.
    let taskmanager = pod(&cluster, "taskmanager", &id);
    let tm_name = taskmanager["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    // kubectl logs -f follows the TaskManager until its container stops.
    let following = cluster.spawn_kubectl(&["logs", "-f", &tm_name]);
    // The TaskManager JVM whose hostname (its pod's UTS namespace) is the pod's name.
    let pids = Command::new("pgrep")
        .args(["-f", "TaskManagerRunner"])
        .output()
        .unwrap();
    let pid = String::from_utf8_lossy(&pids.stdout)
        .lines()
        .find(|pid| {
            Command::new("nsenter")
                .args(["-t", pid, "-u", "hostname"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == tm_name)
        })
        .map(String::from);
    let pid = pid.unwrap_or_else(|| panic!("no TaskManager process of {tm_name}"));
    let killed = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    assert!(
        killed.success(),
        "the TaskManager process {pid} of {tm_name}"
    );
    wait_for("the TaskManager restart", Duration::from_secs(60), || {
        let p = pod(&cluster, "taskmanager", &id);
        let status = &p["status"]["containerStatuses"][0];
        (status["restartCount"].as_u64()? >= 1 && status["state"]["running"].is_object())
            .then_some(())
    });
    let follower = following.id();
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(following.wait_with_output());
    });
    let Ok(Ok(followed)) = ended.recv_timeout(Duration::from_secs(60)) else {
        let _ = Command::new("kill").arg(follower.to_string()).status();
        panic!("kubectl logs -f went on after the container stopped");
    };
    let followed = String::from_utf8_lossy(&followed.stdout);
    assert!(followed.contains("TaskExecutor"), "{followed}");
    wait_for("the job to run again", Duration::from_secs(180), || {
        let body = http_get(&address, "/overview")?;
        let overview: serde_json::Value = serde_json::from_str(&body).ok()?;
        (overview["taskmanagers"] == 1 && running().is_some()).then_some(())
    });

    // Deleting the JobManager's pod gives Flink its SIGTERM: the pod is Terminating while Flink
    // shuts down, and its log says it was asked to.
    cluster.kubectl(&["delete", "pod", name, "--wait=false"]);
    let ns = cluster.namespace.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let shutdown = loop {
        let (listed, row) = cluster.kubectl_try(&["-n", &ns, "get", "pod", name, "--no-headers"]);
        let status = row.split_whitespace().nth(2).unwrap_or("gone").to_string();
        let (_, log) = cluster.kubectl_try(&["-n", &ns, "logs", name]);
        if listed && status == "Terminating" && log.contains("RECEIVED SIGNAL 15: SIGTERM") {
            break log;
        }
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        assert!(
            listed && Instant::now() < deadline,
            "the JobManager pod never showed Terminating with Flink's SIGTERM in its log: \
             statuses {seen:?}, log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        shutdown.contains("Shutting down as requested"),
        "{shutdown}"
    );
    wait_for(
        "the deleted JobManager pod to go",
        Duration::from_secs(60),
        || {
            let (listed, _) = cluster.kubectl_try(&["-n", &ns, "get", "pod", name]);
            (!listed).then_some(())
        },
    );

    ws.destroy();
    wait_for("the pods to go", Duration::from_secs(30), || {
        let left = cluster.kubectl(&["get", "pods", "-o", "name"]);
        left.trim().is_empty().then_some(())
    });
    // The kubelet stops a deleted pod's processes (TERM, then KILL after 5 s).
    wait_for("the pod processes to stop", Duration::from_secs(30), || {
        let processes = Command::new("pgrep").args(["-f", &tm_name]).output().ok()?;
        processes.stdout.is_empty().then_some(())
    });
}

/// A TLS client trusting `ca_pem`, presenting `client` (certificate and key PEM) if given.
/// What a pod in `namespace` that is none of the deployment's finds open at `ip` on the REST, RPC
/// and blob ports, e.g. `8081=open 6123=closed 6124=closed`: an init container probes them with
/// busybox's `nc -z`.
fn reachable_from(cluster: &Cluster, namespace: &str, ip: &str) -> String {
    let probe = format!(
        "for port in 8081 6123 6124; do if nc -z -w 2 {ip} $port; then echo $port=open; \
         else echo $port=closed; fi; done"
    );
    let name = "network-probe";
    let manifest = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": true, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{
                "name": "probe", "image": "busybox:1.36", "command": ["sh", "-c", probe],
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
            }],
            "containers": [{
                "name": "done", "image": "busybox:1.36", "command": ["true"],
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
            }],
        },
    });
    cluster.kubectl_stdin(
        &["apply", "--server-side", "--field-manager=test", "-f", "-"],
        &manifest.to_string(),
    );
    let log = wait_for("the network probe", Duration::from_secs(60), || {
        let (_, pod) = cluster.kubectl_try(&["-n", namespace, "get", "pod", name, "-o", "json"]);
        let pod: serde_json::Value = serde_json::from_str(&pod).ok()?;
        pod["status"]["initContainerStatuses"][0]["state"]["terminated"]
            .is_object()
            .then_some(())?;
        let (ok, log) = cluster.kubectl_try(&["-n", namespace, "logs", name, "-c", "probe"]);
        ok.then_some(log)
    });
    cluster.kubectl(&["delete", "pod", name, "-n", namespace, "--wait=false"]);
    log.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn tls_client(ca_pem: &str, client: Option<(&str, &str)>) -> std::sync::Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    std::sync::Arc::new(match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// `GET path` over TLS (server name `localhost`, which the REST certificate names).
fn https_get(
    config: std::sync::Arc<rustls::ClientConfig>,
    address: &str,
    path: &str,
) -> Result<String, String> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut connection = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut socket = std::net::TcpStream::connect_timeout(
        &address
            .parse()
            .map_err(|e: std::net::AddrParseError| e.to_string())?,
        Duration::from_secs(2),
    )
    .map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut tls = rustls::Stream::new(&mut connection, &mut socket);
    write!(tls, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    tls.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf).to_string();
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .ok_or_else(|| format!("no HTTP response: {text}"))
}

fn secret_value(cluster: &Cluster, secret: &str, key: &str) -> String {
    use base64::Engine;
    let encoded = cluster.kubectl(&[
        "get",
        "secret",
        secret,
        "-o",
        &format!("jsonpath={{.data.{}}}", key.replace('.', "\\.")),
    ]);
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .unwrap(),
    )
    .unwrap()
}

fn secure(cluster: &Cluster, port: u16, savepoints: &str, parallelism: u32) -> String {
    secure_at(cluster, port, savepoints, parallelism, "")
}

fn secure_at(
    cluster: &Cluster,
    port: u16,
    savepoints: &str,
    parallelism: u32,
    rest_url: &str,
) -> String {
    let rest_url = if rest_url.is_empty() {
        String::new()
    } else {
        format!("rest_url = {rest_url:?}")
    };
    format!(
        r#"{provider}
resource "flink_certificate_authority" "ca" {{
  name      = "platform"
  namespace = "{ns}"
}}

resource "flink_deployment" "secure" {{
  name          = "secure"
  namespace     = "{ns}"
  flink_version = "2.3"
  artifact = {{
    jar_uri     = "http://10.245.0.1:{port}/counter.jar"
    entry_class = "Counter"
  }}
  parallelism = {parallelism}
  resources = {{
    jobmanager  = {{ memory = "1024m" }}
    taskmanager = {{ memory = "1024m" }}
  }}
  flink_configuration = {{
    "execution.checkpointing.savepoint-dir" = "{savepoints}"
  }}
  tls = {{
    enabled   = true
    authority = flink_certificate_authority.ca.spec
  }}
  {NODE_STORAGE}
  {rest_url}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

#[test]
fn tls_deployment_runs_with_mutual_tls_from_its_mounted_secret() {
    let cluster = Cluster::start_with_pods("local-tls");
    assert!(cluster.local_pods(), "this test reaches pods at their IPs");
    let work = shared_storage();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let ws = Workspace::new();
    let savepoints = format!("file://{}/savepoints", work.path().display());
    ws.config(&secure(&cluster, port, &savepoints, 1));
    ws.apply();
    let id = ws.resource_values("flink_deployment.secure")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let jobmanager = wait_for("a Ready JobManager pod", Duration::from_secs(120), || {
        let p = pod(&cluster, "jobmanager", &id);
        p["status"]["podIP"].as_str()?;
        p["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
            .then_some(p)
    });
    let ready_at = Instant::now();
    let address = format!("{}:8081", jobmanager["status"]["podIP"].as_str().unwrap());
    let ca = secret_value(&cluster, "flink-platform-ca", "ca.crt");
    let (cert, key) = (
        secret_value(&cluster, "flink-platform-ca", "client.crt"),
        secret_value(&cluster, "flink-platform-ca", "client.key"),
    );
    let trusted = tls_client(&ca, Some((&cert, &key)));
    // The TaskManager registered over internal TLS and the job runs; REST answers the
    // authority's client certificate.
    let overview = wait_for(
        "a TaskManager and a running job over TLS",
        Duration::from_secs(180),
        || {
            let body = https_get(trusted.clone(), &address, "/overview").ok()?;
            let overview: serde_json::Value = serde_json::from_str(&body).ok()?;
            (overview["taskmanagers"] == 1 && overview["jobs-running"] == 1).then_some(overview)
        },
    );
    assert_eq!(overview["jobs-failed"], 0, "{overview}");
    // The provider reaches the same API through a port-forward with the authority's certificate.
    let refresh = ws.terraform(&["apply", "-refresh-only", "-auto-approve", "-no-color"]);
    assert_eq!(refresh.code, 0, "{}", refresh.text);
    assert_eq!(
        ws.resource_values("flink_deployment.secure")["status"],
        "RUNNING"
    );
    probes_pass_quietly(&cluster, &id, ready_at);
    // Without a client certificate, or over plain HTTP, REST does not answer.
    let anonymous = https_get(tls_client(&ca, None), &address, "/overview");
    assert!(
        anonymous.is_err(),
        "served a client without a certificate: {anonymous:?}"
    );
    let plain = http_get(&address, "/overview");
    assert!(
        plain.as_deref().is_none_or(|b| !b.contains("taskmanagers")),
        "served plain HTTP: {plain:?}"
    );
    // No password reached the pod spec: the JobManager got them from the Secret.
    let spec = cluster.kubectl(&["get", "deployment", "flink-secure-jobmanager", "-o", "json"]);
    let password = secret_value(&cluster, "flink-secure-tls", "rest.password");
    assert!(!spec.contains(&password));

    // A stateful upgrade over mutual TLS: the provider stops the job with a savepoint through
    // the authority's client certificate, and the new job restores from it.
    ws.config(&secure(&cluster, port, &savepoints, 2));
    ws.apply();
    let values = ws.resource_values("flink_deployment.secure");
    assert_eq!(values["status"], "RUNNING");
    assert_eq!(values["savepoints"][0]["reason"], "UPGRADE");
    let location = values["last_savepoint"].as_str().unwrap().to_string();
    let job_id = values["job_id"].as_str().unwrap().to_string();
    let restored = wait_for("the restore over TLS", Duration::from_secs(120), || {
        let ip = pod(&cluster, "jobmanager", &id)["status"]["podIP"]
            .as_str()?
            .to_string();
        let body = https_get(
            trusted.clone(),
            &format!("{ip}:8081"),
            &format!("/jobs/{job_id}/checkpoints"),
        )
        .ok()?;
        let checkpoints: serde_json::Value = serde_json::from_str(&body).ok()?;
        checkpoints["latest"]["restored"]["external_path"]
            .as_str()
            .map(String::from)
    });
    let trimmed = |p: &str| {
        p.trim_start_matches("file:")
            .trim_start_matches('/')
            .to_string()
    };
    assert_eq!(trimmed(&restored), trimmed(&location));

    // At an explicit REST URL (an ingress passing TLS through to the Service) instead of a
    // port-forward: the URL's host is an address the certificate does not name, and the
    // provider still checks it as issued for the REST Service. A plain http URL cannot work.
    let ingress = Ingress::start(&cluster, "flink-secure-rest", 8081);
    let plain_url = format!("http://{}", ingress.address);
    ws.config(&secure_at(&cluster, port, &savepoints, 2, &plain_url));
    let error = ws.plan_error();
    assert!(
        error.contains("rest_url must be https with TLS on"),
        "{error}"
    );
    let url = format!("https://{}", ingress.address);
    ws.config(&secure_at(&cluster, port, &savepoints, 1, &url));
    ws.apply();
    let values = ws.resource_values("flink_deployment.secure");
    assert_eq!(values["status"], "RUNNING");
    assert_eq!(values["savepoints"][1]["reason"], "UPGRADE", "{values}");
    assert!(
        ingress.carried() > 0,
        "the savepoint and the status went through the ingress"
    );
    let destroyed = ws.destroy();
    assert!(destroyed.contains("Final savepoint taken"), "{destroyed}");
}

/// The provider's probes on deployment `id`'s pods (TCP connects to ports that speak TLS) have
/// run, liveness included (it probes every 10 s), and pass: both pods started and ready, no
/// `Unhealthy` Event but the startup probe's while the JVM opened its port, and nothing in
/// Flink's logs about the probes' connections that never start a handshake.
fn probes_pass_quietly(cluster: &Cluster, id: &str, ready_at: Instant) {
    std::thread::sleep(Duration::from_secs(12).saturating_sub(ready_at.elapsed()));
    for component in ["jobmanager", "taskmanager"] {
        let p = pod(cluster, component, id);
        let name = p["metadata"]["name"].as_str().unwrap();
        let status = &p["status"]["containerStatuses"][0];
        assert_eq!(
            (
                &status["started"],
                &status["ready"],
                &status["restartCount"]
            ),
            (&true.into(), &true.into(), &0.into()),
            "{name}: {status:#}"
        );
        let events = cluster.kubectl(&[
            "get",
            "events",
            "--field-selector",
            &format!("involvedObject.name={name},reason=Unhealthy"),
            "-o",
            "jsonpath={.items[*].message}",
        ]);
        assert!(
            !events.contains("Readiness probe failed") && !events.contains("Liveness probe failed"),
            "{name}: {events}"
        );
        let logs = cluster.kubectl(&["logs", name, "-c", "flink-main-container"]);
        // A probe never sends a ClientHello, so a client that sent no certificate is not one
        // (seen now and then from another client in this test, probes or not).
        let noisy: Vec<&str> = logs
            .lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                (l.contains("handshake")
                    || l.contains("notsslrecord")
                    || l.contains("sslexception"))
                    && !l.contains("empty client certificate chain")
            })
            .collect();
        assert!(noisy.is_empty(), "{name}: {noisy:#?}");
    }
}

fn failing(cluster: &Cluster, port: u16, image: Option<&str>, class: &str) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "broken" {{
  name          = "broken"
  namespace     = "{ns}"
  flink_version = "2.3"
  {image}
  artifact = {{
    jar_uri     = "http://10.245.0.1:{port}/counter.jar"
    entry_class = "{class}"
  }}
  resources = {{
    jobmanager  = {{ memory = "1024m" }}
    taskmanager = {{ memory = "1024m" }}
  }}
  wait_timeout = "4 min"
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
        image = image.map(|i| format!("image = {i:?}")).unwrap_or_default(),
    )
}

#[test]
fn a_rollout_that_cannot_run_fails_the_apply_with_its_reason_and_logs() {
    let cluster = Cluster::start_with_pods("local-fail");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let work = tempfile::tempdir().unwrap();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let ws = Workspace::new();

    // An image this machine cannot pull.
    ws.config(&failing(
        &cluster,
        port,
        Some("registry.example.com/not-flink:1.0"),
        "Counter",
    ));
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    assert!(
        run.text.contains("The Flink job did not start"),
        "{}",
        run.text
    );
    assert!(run.text.contains("ErrImagePull"), "{}", run.text);
    // What was created is in state, status saying why.
    assert_eq!(
        ws.resource_values("flink_deployment.broken")["status"],
        "ErrImagePull"
    );

    // The right image, but a job class that does not exist: the JobManager's last lines say so.
    ws.config(&failing(&cluster, port, None, "NoSuchJob"));
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    assert!(run.text.contains("CrashLoopBackOff"), "{}", run.text);
    assert!(
        run.text.contains("Last lines of flink-broken-jobmanager-"),
        "{}",
        run.text
    );
    assert!(run.text.contains("NoSuchJob"), "{}", run.text);

    // The JobManager fine, its TaskManagers never starting (an init container of theirs fails):
    // the job would wait for slots until wait_timeout; the apply names the TaskManager at once.
    let taskmanagers_fail = failing(&cluster, port, None, "Counter").replace(
        "  wait_timeout = \"4 min\"",
        r#"  wait_timeout = "4 min"
  taskmanager_pod_template = {
    spec = {
      initContainers = [{
        name    = "check-disk"
        image   = "busybox:1.36"
        command = ["sh", "-c", "echo no scratch disk for this TaskManager; exit 3"]
      }]
    }
  }"#,
    );
    ws.config(&taskmanagers_fail);
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    let text = run.text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("the deployment cannot run: Init:")
            && text.contains("in the TaskManager pod flink-broken-taskmanager-"),
        "{}",
        run.text
    );
    assert!(
        text.contains("the init container check-disk failed with exit code 3"),
        "{}",
        run.text
    );
    assert!(
        text.contains("no scratch disk for this TaskManager"),
        "{}",
        run.text
    );

    // Fixed: the next apply converges to a running job.
    ws.config(&failing(&cluster, port, None, "Counter"));
    ws.apply();
    assert_eq!(
        ws.resource_values("flink_deployment.broken")["status"],
        "RUNNING"
    );
    ws.destroy();
}

#[test]
fn a_jar_that_cannot_be_downloaded_fails_the_apply_naming_the_init_container() {
    let cluster = Cluster::start_with_pods("local-404");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let port = serve_not_found();
    let ws = Workspace::new();
    ws.config(&failing(&cluster, port, None, "Counter"));
    let started = Instant::now();
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    let took = started.elapsed();
    assert_ne!(run.code, 0, "{}", run.text);
    // Terraform wraps the diagnostic's lines.
    let text = run.text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Given up on the pod's verdict, not waited out (wait_timeout is 4 min).
    assert!(
        text.contains("the deployment cannot run: Init:"),
        "{}",
        run.text
    );
    eprintln!("the failed download failed the apply after {took:?}");
    // wget's exit code for a server error (8 for GNU wget, which stands in for busybox here).
    assert!(
        text.contains("the init container fetch-artifacts failed with exit code 8"),
        "{}",
        run.text
    );
    assert!(
        text.contains("fetch-artifacts in flink-broken-jobmanager-"),
        "{}",
        run.text
    );
    // Its last log line names the URL (wget itself is quiet).
    assert!(
        text.contains(&format!(
            "fetch-artifacts: cannot download http://10.245.0.1:{port}/counter.jar (wget exit code 8)"
        )),
        "{}",
        run.text
    );
    assert!(
        ws.resource_values("flink_deployment.broken")["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("Init:")),
        "{}",
        ws.resource_values("flink_deployment.broken")
    );
    // The pod as a kubelet shows it: the failure in initContainerStatuses only.
    let deployment_id = ws.resource_values("flink_deployment.broken")["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let jobmanager = pod(&cluster, "jobmanager", &deployment_id);
    let status = &jobmanager["status"];
    let fetch = &status["initContainerStatuses"][0];
    assert_eq!(fetch["name"], "fetch-artifacts", "{status:#}");
    assert_eq!(
        fetch["lastState"]["terminated"]["exitCode"], 8,
        "{status:#}"
    );
    assert_eq!(
        fetch["state"]["waiting"]["reason"], "CrashLoopBackOff",
        "{status:#}"
    );
    let main = &status["containerStatuses"][0];
    assert_eq!(
        main["state"]["waiting"]["reason"], "PodInitializing",
        "{status:#}"
    );
    assert_eq!(main["restartCount"], 0, "{status:#}");
    assert_eq!(status["phase"], "Pending", "{status:#}");
    // What kubectl shows for it: the init container's failure, not the main container's.
    let row = cluster.kubectl(&[
        "get",
        "pods",
        "-l",
        &format!("component=jobmanager,flink.flinkops.io/deployment-id={deployment_id}"),
        "--no-headers",
    ]);
    let shown = row.split_whitespace().nth(2).unwrap_or_default();
    assert!(
        ["Init:Error", "Init:CrashLoopBackOff"].contains(&shown),
        "STATUS {shown:?} in {row}"
    );
    ws.destroy();
}

#[test]
fn a_container_over_its_memory_limit_is_oom_killed() {
    let cluster = Cluster::start_with_pods("local-oom");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    // A TaskManager whose JVM alone needs more than the pod may use.
    cluster.kubectl_apply(
        r#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "greedy"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "greedy"}},
              "template": {"metadata": {"labels": {"app": "greedy"}}, "spec": {"containers": [{
                "name": "flink-main-container", "image": "flink:2.3.0", "args": ["taskmanager"],
                "resources": {"limits": {"memory": "48Mi"}}}]}}}}"#,
    );
    let terminated = wait_for("an OOM kill", Duration::from_secs(120), || {
        let pods = cluster.kubectl(&["get", "pods", "-l", "app=greedy", "-o", "json"]);
        let pods: serde_json::Value = serde_json::from_str(&pods).ok()?;
        let status = &pods["items"][0]["status"]["containerStatuses"][0];
        let last = &status["lastState"]["terminated"];
        (last["reason"] == "OOMKilled").then(|| (last.clone(), status["restartCount"].clone()))
    });
    assert_eq!(terminated.0["exitCode"], 137, "{terminated:?}");
    assert!(terminated.1.as_u64() >= Some(1), "{terminated:?}");
    cluster.kubectl(&["delete", "deployment", "greedy"]);
}

/// A session JobManager Deployment of the official image with `FLINK_PROPERTIES` setting the REST
/// port, its configuration from ConfigMap `flink-config` either mounted as is (read-only) or
/// copied by an init container into a writable emptyDir (the way to let the image's entrypoint
/// write into it).
fn jobmanager_with_properties(name: &str, writable: bool) -> String {
    let (volumes, mounts, init) = if writable {
        (
            r#"[{"name": "template", "configMap": {"name": "flink-config"}}, {"name": "conf", "emptyDir": {}}]"#,
            r#"[{"name": "template", "mountPath": "/opt/flink/conf-template"}, {"name": "conf", "mountPath": "/opt/flink/conf"}]"#,
            // An init container sees only its own volumeMounts, as on a cluster.
            r#"[{"name": "copy-config", "image": "busybox", "command": ["cp", "/opt/flink/conf-template/config.yaml", "/opt/flink/conf/"],
                 "volumeMounts": [{"name": "template", "mountPath": "/opt/flink/conf-template"}, {"name": "conf", "mountPath": "/opt/flink/conf"}]}]"#,
        )
    } else {
        (
            r#"[{"name": "conf", "configMap": {"name": "flink-config"}}]"#,
            r#"[{"name": "conf", "mountPath": "/opt/flink/conf"}]"#,
            "[]",
        )
    };
    format!(
        r#"{{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {{"name": "{name}"}},
            "spec": {{"replicas": 1, "selector": {{"matchLabels": {{"app": "{name}"}}}},
              "template": {{"metadata": {{"labels": {{"app": "{name}"}}}}, "spec": {{
                "volumes": {volumes}, "initContainers": {init},
                "containers": [{{"name": "flink-main-container", "image": "flink:2.3.0",
                  "args": ["jobmanager"], "volumeMounts": {mounts},
                  "env": [{{"name": "FLINK_PROPERTIES", "value": "rest.port: 8089\n"}}]}}]}}}}}}}}"#
    )
}

#[test]
fn flink_properties_reach_flink_only_where_its_configuration_is_writable() {
    let cluster = Cluster::start_with_pods("local-properties");
    assert!(cluster.local_pods(), "this test reaches pods at their IPs");
    cluster.kubectl_apply(
        r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flink-config"},
            "data": {"config.yaml": "jobmanager.memory.process.size: 1024m\nrest.port: 8081\n"}}"#,
    );
    cluster.kubectl_apply(&jobmanager_with_properties("writable", true));
    cluster.kubectl_apply(&jobmanager_with_properties("mounted", false));
    let address = |app: &str| {
        let pods = cluster.kubectl(&["get", "pods", "-l", &format!("app={app}"), "-o", "json"]);
        let pods: serde_json::Value = serde_json::from_str(&pods).ok()?;
        pods["items"][0]["status"]["podIP"]
            .as_str()
            .map(String::from)
    };
    // Copied into an emptyDir, the configuration takes the image's settings and FLINK_PROPERTIES.
    wait_for(
        "REST on 8089 of the writable one",
        Duration::from_secs(120),
        || {
            http_get(&format!("{}:8089", address("writable")?), "/overview")
                .filter(|body| body.contains("taskmanagers"))
        },
    );
    // A ConfigMap volume is read-only: the entrypoint cannot write into it, Flink keeps 8081.
    wait_for(
        "REST on 8081 of the mounted one",
        Duration::from_secs(120),
        || {
            http_get(&format!("{}:8081", address("mounted")?), "/overview")
                .filter(|body| body.contains("taskmanagers"))
        },
    );
    let mounted = address("mounted").unwrap();
    assert!(
        http_get(&format!("{mounted}:8089"), "/overview").is_none(),
        "FLINK_PROPERTIES reached a read-only configuration"
    );
    let pod = cluster.kubectl(&["get", "pods", "-l", "app=mounted", "-o", "name"]);
    let log = cluster.kubectl(&["logs", pod.trim(), "--tail", "2000"]);
    assert!(log.contains("/opt/flink/conf is read-only"), "{log}");
    cluster.kubectl(&["delete", "deployment", "writable", "mounted"]);
}

/// The pid of the JVM running `class` in pod `pod_name` (its UTS namespace's hostname).
pub(crate) fn jvm_of(pod_name: &str, class: &str) -> String {
    let pids = Command::new("pgrep").args(["-f", class]).output().unwrap();
    String::from_utf8_lossy(&pids.stdout)
        .lines()
        .find(|pid| {
            Command::new("nsenter")
                .args(["-t", pid, "-u", "hostname"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == pod_name)
        })
        .map(String::from)
        .unwrap_or_else(|| panic!("no {class} process of {pod_name}"))
}
