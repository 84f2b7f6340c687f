//! The provider behind a network that drops connections to the API server (issue 23): through a
//! TCP proxy that resets one connection in five (with SO_LINGER 0, so the client sees a reset,
//! not a close), alternately as soon as it is accepted and partway through the first answer, an
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
    /// Connections picked for a reset mid-response that ended (the client closed them) before an
    /// answer came; they count as forwarded, not as reset.
    mid_response_missed: AtomicU32,
}

/// A TCP proxy on 127.0.0.1 to the API server that resets every fifth connection it accepts.
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
                tokio::spawn(async move {
                    // Deterministic: connections 5, 15, 25, ... are reset at once, 10, 20, 30,
                    // ... partway through the first answer, every other one forwarded whole.
                    match (n % 5, (n / 5) % 2) {
                        (0, 1) => {
                            // Before a byte of TLS: the client's handshake meets a reset, and the
                            // server never hears of the connection.
                            let _ = client.set_zero_linger();
                            drop(client);
                            counts.reset_at_accept.fetch_add(1, Ordering::SeqCst);
                        }
                        (0, _) => {
                            if reset_mid_response(client, upstream).await {
                                counts.reset_mid_response.fetch_add(1, Ordering::SeqCst);
                            } else {
                                counts.mid_response_missed.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        _ => {
                            if let Ok(mut server) = TcpStream::connect(upstream).await {
                                let mut client = client;
                                let _ =
                                    tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }
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

    fn figures(&self) -> (u32, u32, u32, u32) {
        let s = &self.stats;
        (
            s.accepted.load(Ordering::SeqCst),
            s.reset_at_accept.load(Ordering::SeqCst),
            s.reset_mid_response.load(Ordering::SeqCst),
            s.mid_response_missed.load(Ordering::SeqCst),
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

/// Counts the TLS records of one direction of a connection by their 5-byte headers (type,
/// version, length), which TLS sends in the clear: the proxy cannot read the HTTP inside, but it
/// can tell when the client has sent its first request.
#[derive(Default)]
struct TlsRecords {
    header: Vec<u8>,
    body_left: usize,
    application_data: u32,
}

impl TlsRecords {
    fn feed(&mut self, mut bytes: &[u8]) {
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
                if self.header[0] == 0x17 {
                    self.application_data += 1;
                }
                self.body_left = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                self.header.clear();
            }
        }
    }
}

/// Forwards `client` to `upstream` until the server has the client's first request and begins
/// to answer; then gives the client half of that chunk and resets it. The server's side is left
/// to finish (read to its end, unhurried), so a write it was sent takes effect: the case where
/// the server applied what the provider never heard about. Returns whether the reset happened.
async fn reset_mid_response(mut client: TcpStream, upstream: SocketAddr) -> bool {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return false;
    };
    let mut from_client = TlsRecords::default();
    let mut up = vec![0u8; 16 * 1024];
    let mut down = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = client.read(&mut up) => {
                let Ok(n @ 1..) = read else { return false };
                from_client.feed(&up[..n]);
                if server.write_all(&up[..n]).await.is_err() {
                    return false;
                }
            }
            read = server.read(&mut down) => {
                let Ok(n @ 1..) = read else { return false };
                // TLS 1.3 (the test server offers it, rustls prefers it): the client's first
                // application-data record is its Finished, the second its first request.
                if from_client.application_data >= 2 {
                    let _ = client.write_all(&down[..n / 2]).await;
                    let _ = client.set_zero_linger();
                    drop(client);
                    // Let the server finish what it was asked, as a server whose client vanished
                    // does; stop once it has been quiet for a second.
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
    for attempt in 1..=3 {
        let before = proxy.figures();
        let logged_before = cluster.request_log().unwrap().len();
        let t = Instant::now();
        let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
        let after = proxy.figures();
        let text = unwrapped(&run.text);
        eprintln!(
            "apply {attempt}: exit {} in {:.1} s; connections {} (reset at accept {}, mid-response \
             {}, mid-response not reached {})",
            run.code,
            t.elapsed().as_secs_f64(),
            after.0 - before.0,
            after.1 - before.1,
            after.2 - before.2,
            after.3 - before.3,
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
         mid-response; {missed} picked for mid-response ended first), {:.1} s",
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
    // Still through the proxy: the plan after the apply reads everything back and is empty.
    ws.assert_no_changes();
    let (connections, at_accept, mid_response, _) = proxy.figures();
    eprintln!(
        "after the plan: {connections} connections, {} reset",
        at_accept + mid_response
    );
}
