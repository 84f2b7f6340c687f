//! kube-test-server: a Kubernetes API server for tests, faithful where terraform-provider-flink and
//! its tools depend on one: HTTPS with bearer tokens (the admin's, and pods' ServiceAccounts' under
//! RBAC), discovery for real kubectl, create / get /
//! list with selectors / update with optimistic concurrency / merge, JSON and strategic patches /
//! server-side apply with managedFields and conflicts / delete / deletecollection / watch, the
//! Deployment scale subresource, validation and Pod Security admission with the real server's
//! answers, server-side printing for kubectl, Events, and real `Status` errors. It is a test tool,
//! not the product: the provider never links it.
//!
//! # Layout
//! `tls` (CA, serving certificate, token, kubeconfig) -> `auth` (tokens, RBAC) -> `http` (routing,
//! watch; bodies through `protobuf` when kubectl sends it; answers through `tables` when kubectl
//! asks for a Table) -> `store` (objects, write semantics) -> `defaults` (the v1 defaults, a
//! Service's cluster IP, create-time fields) then `validation` (422) then `podsecurity`
//! (admission), `quantities` (quantities decoded and stored canonical), `empty_fields` (empty lists
//! and maps gone, as the storage round trip drops them), `fields` (managedFields,
//! server-side apply) and `patch` (the other patch types); `events` (what controllers
//! record), `kinds` (the served kinds), `selectors`, `status`, `discovery`; `kubelet`
//! (the local pod runner, with the Deployment, ReplicaSet and endpoints controllers).

pub mod auth;
pub mod defaults;
pub mod discovery;
pub mod empty_fields;
pub mod events;
pub mod faults;
pub mod fields;
pub mod http;
pub mod kinds;
pub mod kubelet;
pub mod logs;
pub mod patch;
pub mod pod_deletion;
pub mod podsecurity;
pub mod portforward;
pub mod portforward_spdy;
pub mod protobuf;
pub mod quantities;
pub mod selectors;
pub mod spdy;
pub mod status;
pub mod store;
pub mod tables;
pub mod tls;
pub mod validation;

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A running server.
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A kubeconfig that reaches it.
    pub kubeconfig: String,
    /// PEM of the CA that signed its serving certificate (what a pod's `ca.crt` holds).
    pub ca_pem: String,
    /// Its state, for tests that look inside.
    pub shared: Arc<http::Shared>,
    acceptor: tokio_rustls::TlsAcceptor,
    runtime: tokio::runtime::Handle,
    stop: tokio::sync::watch::Sender<bool>,
}

impl RunningServer {
    /// Stops accepting connections.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Serves on `listen` too (port 0 picks a free port), with the same identity and objects, as
    /// the `kubernetes` Service's address serves pods in a cluster; returns the address. Callable
    /// from any thread. The serving certificate names [`tls::IN_CLUSTER_IP`] besides the first
    /// listening address.
    pub fn listen_also(&self, listen: &str) -> Result<SocketAddr, StartError> {
        let failed = |e| StartError::Listen(listen.to_string(), e);
        let listener = std::net::TcpListener::bind(listen).map_err(failed)?;
        listener.set_nonblocking(true).map_err(failed)?;
        let addr = listener.local_addr().map_err(failed)?;
        let _entered = self.runtime.enter();
        let listener = TcpListener::from_std(listener).map_err(failed)?;
        self.runtime.spawn(serve(
            listener,
            self.acceptor.clone(),
            self.shared.clone(),
            self.stop.subscribe(),
        ));
        Ok(addr)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding the address failed.
    #[error("listening on {0}: {1}")]
    Listen(String, std::io::Error),
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// How a server is started beyond its address.
#[derive(Debug, Default)]
pub struct Options {
    /// Serve `/testserver/faults`, so tests can make requests fail on demand (see [`faults`]).
    pub faults: bool,
    /// Faults armed from the start.
    pub armed: Vec<faults::Fault>,
}

/// Starts a server on `listen` (port 0 picks a free port) in the current runtime.
pub async fn start(listen: &str) -> Result<RunningServer, StartError> {
    start_with(listen, Options::default()).await
}

/// Starts a server on `listen` with `options`.
pub async fn start_with(listen: &str, options: Options) -> Result<RunningServer, StartError> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| StartError::Listen(listen.to_string(), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Listen(listen.to_string(), e))?;
    let identity = tls::generate(addr)?;
    let kubeconfig = tls::kubeconfig(addr, &identity);
    let shared = Arc::new(http::Shared {
        store: store::Store::new(),
        tokens: auth::Tokens::new(identity.token.clone()),
        address: addr.to_string(),
        requests: Default::default(),
        request_log: Default::default(),
        pods_dir: Default::default(),
        faults: (options.faults || !options.armed.is_empty()).then(|| {
            let faults = faults::Faults::default();
            options.armed.into_iter().for_each(|f| faults.arm(f));
            faults
        }),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let acceptor = tokio_rustls::TlsAcceptor::from(identity.server_config.clone());
    tokio::spawn(serve(listener, acceptor.clone(), shared.clone(), stopped));
    Ok(RunningServer {
        addr,
        kubeconfig,
        ca_pem: identity.ca_pem,
        shared,
        acceptor,
        runtime: tokio::runtime::Handle::current(),
        stop,
    })
}

/// Accepts TLS connections on `listener` and serves the API on them until `stopped`.
async fn serve(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<http::Shared>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _)) = accepted else { continue };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| http::handle(shared.clone(), req));
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
        });
    }
}
