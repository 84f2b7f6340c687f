//! Container probes as a kubelet runs them (`pkg/kubelet/prober/worker.go` and `prober.go`,
//! checked by `test/e2e/common/node/container_probe.go`): a worker per probe and container run,
//! from the node (here: this machine, through the pods' bridge, so NetworkPolicies never stop
//! them, as Kubernetes promises for the node's own traffic). `startupProbe` runs first; until it
//! succeeds the container is not `started`, and readiness and liveness wait. Readiness starts
//! failed (not ready until a probe succeeds `successThreshold` times in a row), liveness and
//! startup start succeeded; `failureThreshold` failures in a row make it failed. A failed
//! liveness or startup probe has the kubelet kill the container, which then restarts as its
//! pod's `restartPolicy` says. Each failure is a `Unhealthy` Event, worded as the kubelet's
//! (`Readiness probe failed: dial tcp 10.245.0.7:8081: connect: connection refused`).
//!
//! Handlers: `tcpSocket` (a connect within `timeoutSeconds`), `httpGet` (HTTP or HTTPS without
//! certificate checks, as the kubelet's; a status from 200 to 399 is a success) and `exec` (the
//! command in the container's namespaces, its exit code; killed at `timeoutSeconds`). Ports may
//! be named after the container's `ports`. A `grpc` probe fails with a message saying the local
//! kubelet does not run it.

use serde_json::Value as Json;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which probe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Startup,
    Readiness,
    Liveness,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Startup, Kind::Readiness, Kind::Liveness];

    /// Its field in a container spec.
    pub fn field(self) -> &'static str {
        match self {
            Kind::Startup => "startupProbe",
            Kind::Readiness => "readinessProbe",
            Kind::Liveness => "livenessProbe",
        }
    }

    /// As the kubelet's messages name it.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Readiness => "Readiness",
            Kind::Liveness => "Liveness",
        }
    }
}

/// What a probe does.
#[derive(Debug, Clone, PartialEq)]
enum Handler {
    Exec(Vec<String>),
    Tcp(u16),
    Http {
        https: bool,
        port: u16,
        path: String,
        host: Option<String>,
        headers: Vec<(String, String)>,
    },
    Unsupported(String),
}

/// One probe of a container, with the API server's defaults.
#[derive(Debug, Clone, PartialEq)]
struct Spec {
    kind: Kind,
    handler: Handler,
    initial_delay: Duration,
    period: Duration,
    timeout: Duration,
    success_threshold: u32,
    failure_threshold: u32,
}

fn seconds(probe: &Json, field: &str, default: u64) -> Duration {
    Duration::from_secs(probe[field].as_u64().unwrap_or(default))
}

fn count(probe: &Json, field: &str, default: u32) -> u32 {
    probe[field]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// A port as a probe gives it: a number, or the name of one of the container's ports.
fn port(container: &Json, value: &Json) -> Result<u16, String> {
    if let Some(n) = value.as_u64() {
        return u16::try_from(n).map_err(|_| format!("invalid port {n}"));
    }
    let name = value.as_str().unwrap_or_default();
    if let Ok(n) = name.parse::<u16>() {
        return Ok(n);
    }
    container["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| format!("couldn't find port: {name} in container"))
}

fn handler(container: &Json, probe: &Json) -> Handler {
    let checked = |r: Result<Handler, String>| r.unwrap_or_else(Handler::Unsupported);
    if let Some(command) = probe["exec"]["command"].as_array() {
        return Handler::Exec(
            command
                .iter()
                .filter_map(Json::as_str)
                .map(str::to_string)
                .collect(),
        );
    }
    if probe["tcpSocket"].is_object() {
        return checked(port(container, &probe["tcpSocket"]["port"]).map(Handler::Tcp));
    }
    let http = &probe["httpGet"];
    if http.is_object() {
        return checked(port(container, &http["port"]).map(|port| {
            Handler::Http {
                https: http["scheme"] == "HTTPS",
                port,
                path: http["path"].as_str().unwrap_or("/").to_string(),
                host: http["host"].as_str().map(str::to_string),
                headers: http["httpHeaders"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| Some((h["name"].as_str()?.into(), h["value"].as_str()?.into())))
                    .collect(),
            }
        }));
    }
    if probe["grpc"].is_object() {
        return Handler::Unsupported("gRPC probes are not run by the local kubelet".into());
    }
    Handler::Unsupported("a probe needs exec, tcpSocket, httpGet or grpc".into())
}

/// The probes `container` declares, in the order the kubelet starts their workers.
fn specs(container: &Json) -> Vec<Spec> {
    Kind::ALL
        .into_iter()
        .filter(|kind| container[kind.field()].is_object())
        .map(|kind| {
            let probe = &container[kind.field()];
            Spec {
                kind,
                handler: handler(container, probe),
                initial_delay: seconds(probe, "initialDelaySeconds", 0),
                period: seconds(probe, "periodSeconds", 10).max(Duration::from_secs(1)),
                timeout: seconds(probe, "timeoutSeconds", 1).max(Duration::from_secs(1)),
                success_threshold: count(probe, "successThreshold", 1),
                failure_threshold: count(probe, "failureThreshold", 3),
            }
        })
        .collect()
}

/// Where a probe goes: the pod's address, and the container's process and environment for
/// `exec`.
#[derive(Debug, Clone)]
pub struct Target {
    pub address: IpAddr,
    pub pid: Option<u32>,
    pub env: Vec<(String, String)>,
}

/// What the workers of one container run report.
#[derive(Default)]
struct Results {
    started: AtomicBool,
    ready: AtomicBool,
    /// The liveness or startup probe that failed its threshold, which has the container killed.
    failed: Mutex<Option<Kind>>,
    unhealthy: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// The probes of one run of a container; its workers stop when it is dropped.
pub struct ContainerProbes {
    results: Arc<Results>,
}

impl ContainerProbes {
    /// Starts a worker for each probe `container` declares, against `target`.
    pub fn start(container: &Json, target: &Target) -> Self {
        let specs = specs(container);
        let results = Arc::new(Results::default());
        let has = |kind| specs.iter().any(|s| s.kind == kind);
        results
            .started
            .store(!has(Kind::Startup), Ordering::Relaxed);
        results
            .ready
            .store(!has(Kind::Readiness), Ordering::Relaxed);
        for spec in specs {
            let results = results.clone();
            let target = target.clone();
            std::thread::spawn(move || work(&spec, &target, &results));
        }
        ContainerProbes { results }
    }

    /// Whether its startup probe succeeded (or it has none): the status's `started`.
    pub fn started(&self) -> bool {
        self.results.started.load(Ordering::Relaxed)
    }

    /// Whether it is ready: started, and its readiness probe (if any) succeeding.
    pub fn ready(&self) -> bool {
        self.started() && self.results.ready.load(Ordering::Relaxed)
    }

    /// A liveness or startup probe that failed `failureThreshold` times, once.
    pub fn take_failed(&self) -> Option<Kind> {
        self.results.failed.lock().ok()?.take()
    }

    /// The messages of the `Unhealthy` Events since last asked.
    pub fn take_unhealthy(&self) -> Vec<String> {
        self.results
            .unhealthy
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

impl Drop for ContainerProbes {
    fn drop(&mut self) {
        // Not joined: a worker may be inside a probe's timeout; it sees the flag after it.
        self.results.stop.store(true, Ordering::Relaxed);
    }
}

/// Sleeps `d`, or less once `results` is stopped; `false` when stopped.
fn pause(results: &Results, d: Duration) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if results.stop.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
    !results.stop.load(Ordering::Relaxed)
}

/// One probe's worker (`worker.go`, `doProbe`).
fn work(spec: &Spec, target: &Target, results: &Results) {
    if !pause(results, spec.initial_delay) {
        return;
    }
    let (mut successes, mut failures) = (0u32, 0u32);
    loop {
        let started = results.started.load(Ordering::Relaxed);
        let skip = match spec.kind {
            // Its job is done once the container started.
            Kind::Startup if started => return,
            Kind::Startup => false,
            _ => !started,
        };
        if !skip {
            match probe(&spec.handler, target, spec.timeout) {
                Ok(()) => {
                    failures = 0;
                    successes += 1;
                    if successes >= spec.success_threshold {
                        match spec.kind {
                            Kind::Startup => results.started.store(true, Ordering::Relaxed),
                            Kind::Readiness => results.ready.store(true, Ordering::Relaxed),
                            Kind::Liveness => {}
                        }
                    }
                }
                Err(output) => {
                    successes = 0;
                    failures += 1;
                    if let Ok(mut m) = results.unhealthy.lock() {
                        m.push(format!("{} probe failed: {output}", spec.kind.word()));
                    }
                    if failures >= spec.failure_threshold {
                        match spec.kind {
                            Kind::Readiness => results.ready.store(false, Ordering::Relaxed),
                            kind => {
                                if let Ok(mut f) = results.failed.lock() {
                                    *f = Some(kind);
                                }
                                // The container is killed; this run's worker is done.
                                return;
                            }
                        }
                    }
                }
            }
        }
        if !pause(results, spec.period) {
            return;
        }
    }
}

/// Runs `handler` once: `Ok` on success, else the output the kubelet would report.
fn probe(handler: &Handler, target: &Target, timeout: Duration) -> Result<(), String> {
    match handler {
        Handler::Tcp(port) => connect(target.address, *port, timeout).map(drop),
        Handler::Http {
            https,
            port,
            path,
            host,
            headers,
        } => http_get(
            target,
            *https,
            *port,
            path,
            host.as_deref(),
            headers,
            timeout,
        ),
        Handler::Exec(command) => exec(command, target, timeout),
        Handler::Unsupported(why) => Err(why.clone()),
    }
}

fn connect(address: IpAddr, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    let to = SocketAddr::new(address, port);
    TcpStream::connect_timeout(&to, timeout).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => "i/o timeout".into(),
            _ => e.to_string(),
        };
        format!("dial tcp {to}: {why}")
    })
}

/// The kubelet's `httpGet`: `User-Agent: kube-probe/<version>`, no redirects followed, 200-399.
fn http_get(
    target: &Target,
    https: bool,
    port: u16,
    path: &str,
    host: Option<&str>,
    headers: &[(String, String)],
    timeout: Duration,
) -> Result<(), String> {
    let address = host
        .and_then(|h| h.parse::<IpAddr>().ok())
        .unwrap_or(target.address);
    let scheme = if https { "https" } else { "http" };
    let url = format!("{scheme}://{}{path}", SocketAddr::new(address, port));
    let get = |e: String| format!("Get \"{url}\": {e}");
    let stream = connect(address, port, timeout).map_err(get)?;
    let deadline = Some(timeout);
    let _ = stream.set_read_timeout(deadline);
    let _ = stream.set_write_timeout(deadline);
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\n",
        SocketAddr::new(address, port)
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    let head = if https {
        tls_exchange(stream, address, request.as_bytes())
    } else {
        exchange(stream, request.as_bytes())
    }
    .map_err(get)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| get("malformed HTTP response".into()))?;
    if (200..400).contains(&status) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {status}"))
    }
}

/// Writes `request`, reads the status line.
fn exchange(mut stream: impl Read + Write, request: &[u8]) -> Result<String, String> {
    stream.write_all(request).map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while head.len() < 1024 && !head.ends_with(b"\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// The same over TLS, the server's certificate not checked (as the kubelet's `InsecureSkipVerify`).
fn tls_exchange(stream: TcpStream, address: IpAddr, request: &[u8]) -> Result<String, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(address.into());
    let connection =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    exchange(rustls::StreamOwned::new(connection, stream), request)
}

/// Accepts every server certificate, checking only the handshake's signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The kubelet's `exec`: the command in the container's namespaces with its environment; its
/// output is the failure's message.
fn exec(command: &[String], target: &Target, timeout: Duration) -> Result<(), String> {
    let Some(pid) = target.pid else {
        return Err("container not running".into());
    };
    let mut child = super::container_process::exec_in(pid, command, &target.env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("command \"{}\" timed out", command.join(" ")));
            }
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(text.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::net::TcpListener;

    fn local() -> Target {
        Target {
            address: IpAddr::from([127, 0, 0, 1]),
            pid: None,
            env: Vec::new(),
        }
    }

    #[test]
    fn defaults_and_named_ports_are_the_api_servers() {
        let container = json!({
            "ports": [{"name": "rest", "containerPort": 8081}],
            "readinessProbe": {"tcpSocket": {"port": "rest"}},
            "livenessProbe": {"httpGet": {"port": 9, "path": "/healthz"}, "periodSeconds": 3,
                              "failureThreshold": 5},
        });
        let declared = specs(&container);
        assert_eq!(declared.len(), 2);
        assert_eq!(declared[0].kind, Kind::Readiness);
        assert_eq!(declared[0].handler, Handler::Tcp(8081));
        assert_eq!(
            (
                declared[0].period,
                declared[0].timeout,
                declared[0].failure_threshold
            ),
            (Duration::from_secs(10), Duration::from_secs(1), 3)
        );
        assert_eq!(declared[1].period, Duration::from_secs(3));
        assert_eq!(declared[1].failure_threshold, 5);
        let unknown = json!({"livenessProbe": {"tcpSocket": {"port": "nope"}}});
        assert_eq!(
            specs(&unknown)[0].handler,
            Handler::Unsupported("couldn't find port: nope in container".into())
        );
    }

    #[test]
    fn tcp_and_http_probes_answer_as_the_kubelets_do() {
        let timeout = Duration::from_secs(1);
        // Never accepted: the kernel completes the handshake, which is all a tcpSocket probe asks.
        let listening = TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = Handler::Tcp(listening.local_addr().unwrap().port());
        assert_eq!(probe(&tcp, &local(), timeout), Ok(()));
        drop(listening);
        assert!(probe(&tcp, &local(), timeout)
            .unwrap_err()
            .ends_with(": connect: connection refused"));

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            for status in ["204 No Content", "503 Service Unavailable"] {
                let (mut s, _) = listener.accept().unwrap();
                let mut request = [0u8; 512];
                let n = s.read(&mut request).unwrap();
                let text = String::from_utf8_lossy(&request[..n]).into_owned();
                assert!(text.starts_with("GET /ready HTTP/1.1\r\n"), "{text}");
                assert!(text.contains("User-Agent: kube-probe/"), "{text}");
                assert!(text.contains("X-Probe: yes"), "{text}");
                s.write_all(format!("HTTP/1.1 {status}\r\n\r\n").as_bytes())
                    .unwrap();
            }
        });
        let http = Handler::Http {
            https: false,
            port,
            path: "/ready".into(),
            host: None,
            headers: vec![("X-Probe".into(), "yes".into())],
        };
        assert_eq!(probe(&http, &local(), timeout), Ok(()));
        assert_eq!(
            probe(&http, &local(), timeout),
            Err("HTTP probe failed with statuscode: 503".into())
        );
        server.join().unwrap();
        assert_eq!(
            probe(&http, &local(), timeout),
            Err(format!(
                "Get \"http://127.0.0.1:{port}/ready\": dial tcp 127.0.0.1:{port}: connect: connection refused"
            ))
        );
    }

    fn wait_until(what: &str, ok: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ok() {
            assert!(Instant::now() < deadline, "never {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn readiness_waits_for_startup_and_liveness_fails_after_its_threshold() {
        // A free port, closed again: nothing listens until the container "opens" it below, so
        // the probes cannot pass before the first assertion, however fast they run.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let container = json!({
            "startupProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1},
            "readinessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1},
            "livenessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1,
                              "failureThreshold": 2},
        });
        let probes = ContainerProbes::start(&container, &local());
        assert!(
            !probes.ready(),
            "not ready before a readiness probe succeeded"
        );
        assert!(!probes.started(), "not started before its port opened");
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        wait_until("started", || probes.started());
        wait_until("ready", || probes.ready());
        drop(listener);
        wait_until("failed", || {
            probes
                .results
                .failed
                .lock()
                .unwrap()
                .as_ref()
                .is_some_and(|kind| *kind == Kind::Liveness)
        });
        assert_eq!(probes.take_failed(), Some(Kind::Liveness));
        let unhealthy = probes.take_unhealthy();
        assert!(
            unhealthy
                .iter()
                .any(|m| m.starts_with("Liveness probe failed: dial tcp 127.0.0.1:")),
            "{unhealthy:?}"
        );
        assert!(
            unhealthy
                .iter()
                .any(|m| m.starts_with("Readiness probe failed: ")),
            "{unhealthy:?}"
        );
        wait_until("unready", || !probes.ready());
    }

    #[test]
    fn a_container_with_no_probes_is_started_and_ready_at_once() {
        let probes = ContainerProbes::start(&json!({"name": "c"}), &local());
        assert!(probes.started() && probes.ready());
        assert_eq!(probes.take_failed(), None);
    }
}
