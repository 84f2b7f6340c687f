//! The provider behind a network that drops connections to the API server (issue 23): through a
//! TCP proxy that resets one connection in five (with SO_LINGER 0, so the client sees a reset,
//! not a close), alternately as soon as it is accepted and partway through the answer to a write
//! the server has applied (the provider cannot know it took effect, and asks again), an
//! apply of ten deployments either succeeds with every object of every deployment present in the
//! server and recorded in state as `in sync`, or fails with an error that says which object or
//! which connection, and then the next apply converges and the plan after it is empty. It never
//! reports success with an object missing.
//!
//! What "every object" means is not written down here: one deployment applied straight to the
//! server first shows which objects a deployment has, so the check cannot pass by forgetting one.

use crate::cluster::Cluster;
use crate::harness::{unwrapped, Workspace};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy did, for the test's figures.
#[derive(Default)]
struct Stats {
    accepted: AtomicU32,
    reset_at_accept: AtomicU32,
    reset_mid_response: AtomicU32,
    /// Resets mid-response armed (one per tenth connection) that no write has met yet.
    armed: AtomicU32,
}

/// A TCP proxy on 127.0.0.1 to the API server that resets one connection in five.
struct ResettingProxy {
    addr: SocketAddr,
    stats: Arc<Stats>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ResettingProxy {
    fn start(upstream: SocketAddr) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let counts = stats.clone();
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let n = counts.accepted.fetch_add(1, Ordering::SeqCst) + 1;
                let counts = counts.clone();
                // Deterministic: connections 5, 15, 25, ... are reset as soon as accepted;
                // connections 10, 20, 30, ... each arm one reset partway through the answer to
                // the next write on any connection. Armed rather than kept to the tenth
                // connection itself: a connection that only reads (a plan's provider process)
                // would let the reset go unmade, and the case it stands for is the write.
                if n % 10 == 5 {
                    // Before a byte of TLS: the client's handshake meets a reset, and the
                    // server never hears of the connection.
                    let _ = client.set_zero_linger();
                    drop(client);
                    counts.reset_at_accept.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                if n % 10 == 0 {
                    counts.armed.fetch_add(1, Ordering::SeqCst);
                }
                tokio::spawn(async move {
                    if forward(client, upstream, &counts).await {
                        counts.reset_mid_response.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        ResettingProxy {
            addr,
            stats,
            runtime: Some(runtime),
        }
    }

    /// Connections accepted, reset at accept, reset mid-response, resets armed and unmade.
    fn figures(&self) -> (u32, u32, u32, u32) {
        let s = &self.stats;
        (
            s.accepted.load(Ordering::SeqCst),
            s.reset_at_accept.load(Ordering::SeqCst),
            s.reset_mid_response.load(Ordering::SeqCst),
            s.armed.load(Ordering::SeqCst),
        )
    }
}

impl Drop for ResettingProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The smallest TLS record that holds a write. Measured through this proxy: the client's
/// Finished is 69 bytes, its GETs and LISTs 227 to 344, the apply PATCHes of a deployment's
/// objects 746 to 5713 (the body rides in the same record as the headers).
const WRITE_RECORD: usize = 600;

/// Reads the client's TLS records by their 5-byte headers (type, version, length), which TLS
/// sends in the clear: the proxy cannot read the HTTP inside, but the size of an
/// application-data record tells a request with a body (a write) from one without.
#[derive(Default)]
struct TlsRecords {
    header: Vec<u8>,
    body_left: usize,
}

impl TlsRecords {
    /// Reads `bytes`; whether a write record began in them.
    fn feed(&mut self, mut bytes: &[u8]) -> bool {
        let mut write = false;
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let n = self.body_left.min(bytes.len());
                self.body_left -= n;
                bytes = &bytes[n..];
                continue;
            }
            self.header.push(bytes[0]);
            bytes = &bytes[1..];
            if self.header.len() == 5 {
                let length = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                write |= self.header[0] == 0x17 && length >= WRITE_RECORD;
                self.body_left = length;
                self.header.clear();
            }
        }
        write
    }
}

/// Forwards `client` to `upstream` both ways. When the client sends a write while a reset is
/// armed, the server's next bytes (HTTP/1.1 sends no request before the last answer is read, so
/// they are that write's answer) reach the client only by half, and the client is reset. The
/// server's side is left to finish, unhurried, so the write takes effect: the case where the
/// server applied what the provider never heard about. Returns whether it reset the client.
async fn forward(mut client: TcpStream, upstream: SocketAddr, counts: &Stats) -> bool {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return false;
    };
    let mut from_client = TlsRecords::default();
    let mut cut = false;
    let mut up = vec![0u8; 16 * 1024];
    let mut down = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = client.read(&mut up) => {
                let Ok(n @ 1..) = read else { return false };
                if from_client.feed(&up[..n]) && !cut {
                    cut = counts
                        .armed
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |a| a.checked_sub(1))
                        .is_ok();
                }
                if server.write_all(&up[..n]).await.is_err() {
                    return false;
                }
            }
            read = server.read(&mut down) => {
                let Ok(n @ 1..) = read else { return false };
                if cut {
                    let _ = client.write_all(&down[..n / 2]).await;
                    let _ = client.set_zero_linger();
                    drop(client);
                    // As a server whose client vanished: it finishes what it was asked; stop
                    // once it has been quiet for a second.
                    tokio::spawn(async move {
                        while let Ok(Ok(1..)) =
                            tokio::time::timeout(Duration::from_secs(1), server.read(&mut down))
                                .await
                        {}
                    });
                    return true;
                }
                if client.write_all(&down[..n]).await.is_err() {
                    return false;
                }
            }
        }
    }
}

const COUNT: usize = 10;

fn deployment_block(
    cluster: &Cluster,
    kubeconfig: &std::path::Path,
    count: Option<usize>,
) -> String {
    let (head, name) = match count {
        None => (
            "resource \"flink_deployment\" \"probe\" {".to_string(),
            "\"probe\"".to_string(),
        ),
        Some(n) => (
            format!("resource \"flink_deployment\" \"wc\" {{\n  count         = {n}"),
            "\"wc${count.index}\"".to_string(),
        ),
    };
    format!(
        r#"provider "flink" {{
  kubernetes = {{
    config_path = {kubeconfig:?}
  }}
}}

{head}
  name          = {name}
  namespace     = "{ns}"
  flink_version = "2.2"
  wait_for_job  = false
  artifact = {{
    jar_uri     = "https://artifacts.example.com/counter.jar"
    entry_class = "org.example.Counter"
  }}
}}
"#,
        kubeconfig = kubeconfig.display().to_string(),
        ns = cluster.namespace,
    )
}

/// The `kubernetes_objects` of every resource in state, by address.
fn recorded(
    ws: &Workspace,
) -> std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>> {
    let state = ws.state();
    let resources = state["values"]["root_module"]["resources"]
        .as_array()
        .cloned();
    resources
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let objects = r["values"]["kubernetes_objects"].as_object().cloned();
            (
                r["address"].as_str().unwrap().to_string(),
                objects.unwrap_or_default(),
            )
        })
        .collect()
}

/// Whether the state's `Kind/name` is the cluster's `kind[.group]/name`.
fn same_object(state_key: &str, cluster_name: &str) -> bool {
    match (state_key.split_once('/'), cluster_name.split_once('/')) {
        (Some((kind, name)), Some((resource, other))) => {
            name == other && resource.split('.').next() == Some(&kind.to_ascii_lowercase())
        }
        _ => false,
    }
}

#[test]
fn an_apply_through_a_proxy_resetting_one_connection_in_five_never_loses_an_object() {
    // Always the in-process server: the proxy's address must be one its certificate names.
    let cluster = Cluster::start_with_faults("resets");

    // One deployment straight to the server: which objects a deployment has, in the server and
    // in state, with its name as "probe".
    let reference = Workspace::new();
    reference.config(&deployment_block(&cluster, &cluster.kubeconfig, None));
    reference.apply();
    let probe_objects: BTreeSet<String> = cluster.managed_objects().into_iter().collect();
    let probe_state: BTreeSet<String> = recorded(&reference)["flink_deployment.probe"]
        .keys()
        .cloned()
        .collect();
    assert!(
        probe_objects.len() >= 4 && probe_objects.iter().all(|o| o.contains("probe")),
        "{probe_objects:?}"
    );
    assert_eq!(
        probe_objects.len(),
        probe_state.len(),
        "{probe_objects:?} {probe_state:?}"
    );
    let expected = |i: usize| -> (BTreeSet<String>, BTreeSet<String>) {
        let name = format!("wc{i}");
        (
            probe_objects
                .iter()
                .map(|o| o.replace("probe", &name))
                .collect(),
            probe_state
                .iter()
                .map(|o| o.replace("probe", &name))
                .collect(),
        )
    };

    // The provider's kubeconfig: the server's credentials and CA, the proxy's address.
    let kubeconfig = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
    let server: SocketAddr = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://"))
        .unwrap()
        .parse()
        .unwrap();
    let proxy = ResettingProxy::start(server);
    let dir = tempfile::tempdir().unwrap();
    let proxied = dir.path().join("kubeconfig");
    std::fs::write(
        &proxied,
        kubeconfig.replace(
            &format!("https://{server}"),
            &format!("https://{}", proxy.addr),
        ),
    )
    .unwrap();

    let ws = Workspace::new();
    ws.config(&deployment_block(&cluster, &proxied, Some(COUNT)));
    let started = Instant::now();
    let mut outcomes = Vec::new();
    let mut converged = false;
    let mut served_twice = 0;
    for attempt in 1..=3 {
        let before = proxy.figures();
        let logged_before = cluster.request_log().unwrap().len();
        let t = Instant::now();
        let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
        let after = proxy.figures();
        let text = unwrapped(&run.text);
        eprintln!(
            "apply {attempt}: exit {} in {:.1} s; connections {} (reset at accept {}, mid-response \
             {}; resets armed and unmade now {})",
            run.code,
            t.elapsed().as_secs_f64(),
            after.0 - before.0,
            after.1 - before.1,
            after.2 - before.2,
            after.3,
        );
        // Writes the server served more than once in this apply: a retry after a lost answer
        // (or, as reads are not counted, a write whose answer the reset cut off).
        let served = cluster.request_log().unwrap();
        let mut writes = std::collections::BTreeMap::<&str, u32>::new();
        for line in &served[logged_before.min(served.len())..] {
            if let Some(path) = line.strip_prefix("PATCH ") {
                *writes
                    .entry(path.split(" -> ").next().unwrap())
                    .or_default() += 1;
            }
        }
        let again: Vec<_> = writes.iter().filter(|(_, n)| **n > 1).collect();
        served_twice += again.len();
        eprintln!(
            "apply {attempt}: the server served {} requests, {} writes, {} of them more than once: \
             {again:?}",
            served.len() - logged_before.min(served.len()),
            writes.values().sum::<u32>(),
            again.len(),
        );
        let present: BTreeSet<String> = cluster.managed_objects().into_iter().collect();
        if run.code == 0 {
            // Success: every object of every deployment is in the server and in sync in state.
            let recorded = recorded(&ws);
            for i in 0..COUNT {
                let (objects, keys) = expected(i);
                let missing: Vec<_> = objects.difference(&present).collect();
                assert!(
                    missing.is_empty(),
                    "apply {attempt} succeeded, yet {missing:?} are missing"
                );
                let state = &recorded[&format!("flink_deployment.wc[{i}]")];
                let state_keys: BTreeSet<String> = state.keys().cloned().collect();
                assert_eq!(state_keys, keys, "wc{i}'s kubernetes_objects");
                assert!(
                    state.values().all(|v| v == "in sync"),
                    "wc{i} after a successful apply: {state:?}"
                );
            }
            outcomes.push(format!("apply {attempt}: succeeded"));
            converged = true;
            break;
        }
        // Failure: the error says what failed (an object and its verb, or the connection).
        let errors: Vec<&str> = text.split("Error: ").skip(1).collect();
        assert!(
            !errors.is_empty(),
            "apply {attempt} failed without an error:\n{}",
            run.text
        );
        for error in &errors {
            let names_object = (0..COUNT).any(|i| {
                expected(i)
                    .1
                    .iter()
                    .any(|k| error.contains(k.split('/').nth(1).unwrap()))
            });
            let names_cause = [
                "connection",
                "reset",
                "tries over",
                "broken pipe",
                "handshake",
            ]
            .iter()
            .any(|w| error.to_ascii_lowercase().contains(w));
            assert!(
                names_object || names_cause,
                "apply {attempt}: an unclear error: {error}"
            );
        }
        eprintln!("apply {attempt} failed: {}", errors.join(" | "));
        outcomes.push(format!("apply {attempt}: failed: {}", errors.join(" | ")));
        // Even failed, the state claims no object in sync that the server does not have.
        for (address, objects) in recorded(&ws) {
            for (key, value) in objects {
                if value == "in sync" {
                    assert!(
                        present.iter().any(|o| same_object(&key, o)),
                        "apply {attempt} failed and state says {address}'s {key} is in sync, but \
                         the server has no such object"
                    );
                }
            }
        }
    }
    let (connections, at_accept, mid_response, missed) = proxy.figures();
    eprintln!(
        "{}; in all {connections} connections, {} reset ({at_accept} at accept, {mid_response} \
         mid-response; {missed} armed and unmade), {:.1} s",
        outcomes.join("; "),
        at_accept + mid_response,
        started.elapsed().as_secs_f64()
    );
    assert!(converged, "three applies did not converge: {outcomes:#?}");
    // The resets happened: a proxy that forwarded everything would prove nothing.
    assert!(
        at_accept >= 1 && mid_response >= 1,
        "{connections} connections, {at_accept} + {mid_response} reset"
    );
    // A write's answer was cut off after the server applied it: the provider cannot have known it
    // took effect, so it sent it again (within one apply; across a failed apply the next one's
    // writes would hide it).
    if outcomes.len() == 1 {
        assert!(
            served_twice >= 1,
            "no write was sent again after its answer was lost"
        );
    }
    // Still through the proxy: the plan after the apply reads everything back and is empty.
    ws.assert_no_changes();
    let (connections, at_accept, mid_response, _) = proxy.figures();
    eprintln!(
        "after the plan: {connections} connections, {} reset",
        at_accept + mid_response
    );
}
