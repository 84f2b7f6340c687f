//! A stand-in for an ingress with TLS passthrough in front of a Service of the local cluster: a
//! TCP listener on this machine that sends each connection, bytes untouched, to a ready endpoint
//! of the Service (read from its Endpoints at connect time, as an ingress controller follows
//! them), and counts the connections it carried.

use crate::cluster::Cluster;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub(crate) struct Ingress {
    /// `127.0.0.1:<port>`.
    pub address: String,
    carried: Arc<AtomicUsize>,
}

impl Ingress {
    /// Routes to `service` (its port `port`) in the cluster's namespace.
    pub fn start(cluster: &Cluster, service: &str, port: u16) -> Ingress {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let carried = Arc::new(AtomicUsize::new(0));
        let (count, kubeconfig) = (carried.clone(), cluster.kubectl_args());
        let service = service.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let endpoint = endpoint_of(&kubeconfig, &service);
                let Some(backend) = endpoint.and_then(|ip| TcpStream::connect((ip, port)).ok())
                else {
                    continue; // No ready endpoint: the client sees the connection closed.
                };
                count.fetch_add(1, Ordering::SeqCst);
                pipe(client, backend);
            }
        });
        Ingress { address, carried }
    }

    /// Connections carried to the Service so far.
    pub fn carried(&self) -> usize {
        self.carried.load(Ordering::SeqCst)
    }
}

/// The first ready address of the Service's Endpoints.
fn endpoint_of(kubectl: &[String], service: &str) -> Option<String> {
    let out = std::process::Command::new("kubectl")
        .args(kubectl)
        .args([
            "get",
            "endpoints",
            service,
            "-o",
            "jsonpath={.subsets[0].addresses[0].ip}",
        ])
        .output()
        .ok()?;
    let ip = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !ip.is_empty()).then_some(ip)
}

fn pipe(client: TcpStream, backend: TcpStream) {
    let copy = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    };
    copy(client.try_clone().unwrap(), backend.try_clone().unwrap());
    copy(backend, client);
}
