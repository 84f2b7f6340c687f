//! Starting the plugin the way Terraform's go-plugin client expects: check the magic cookie and
//! the protocol version, listen on 127.0.0.1 (within PLUGIN_MIN_PORT..PLUGIN_MAX_PORT), set up
//! AutoMTLS, print the one handshake line on stdout, and serve until Terraform says Shutdown.
//! `--debug` instead serves in reattach mode and prints the TF_REATTACH_PROVIDERS value.

use super::autotls::{self, ServerIdentity};
use super::goplugin::{Broker, Controller, Stdio};
use super::proto::plugin::{
    grpc_broker_server::GrpcBrokerServer, grpc_controller_server::GrpcControllerServer,
    grpc_stdio_server::GrpcStdioServer,
};
use super::proto::tfplugin6::provider_server::ProviderServer;
use super::service::ProviderService;
use crate::provider::Provider;
use base64::Engine;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
const CORE_PROTOCOL_VERSION: u32 = 1;
const PROTOCOL_VERSION: u32 = 6;
const PROVIDER_ADDRESS: &str = "registry.terraform.io/flinkops/flink";
/// Terraform state can be large; gRPC's 4 MiB default would cut big plans off.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// How the binary was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeMode {
    /// Launched by Terraform (go-plugin handshake).
    Terraform,
    /// Started by hand with `--debug`: reattach mode.
    Debug,
}

/// Why the provider could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Started by hand, not by Terraform.
    #[error(
        "This binary is a plugin for Terraform. It is not meant to be run directly: add the \
         provider flinkops/flink to a Terraform configuration and run terraform. To debug it, \
         start it with --debug and follow what it prints."
    )]
    NotLaunchedByTerraform,
    /// Terraform asked for protocol versions this provider does not speak.
    #[error("Terraform offers plugin protocol versions {0}; this provider speaks version 6 (Terraform 1.0 or newer).")]
    UnsupportedProtocol(String),
    /// PLUGIN_MIN_PORT/PLUGIN_MAX_PORT are not numbers, or no port in range is free.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(String),
    /// AutoMTLS setup failed.
    #[error(transparent)]
    Tls(#[from] autotls::AutoTlsError),
    /// The gRPC server stopped with an error.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Writing the handshake line failed.
    #[error("writing the handshake: {0}")]
    Handshake(#[from] std::io::Error),
    /// SIGINT could not be taken away from its default.
    #[error("listening for interrupt signals: {0}")]
    Signals(std::io::Error),
}

/// Serves the provider until Terraform shuts it down (or, in debug mode, until interrupted).
pub async fn serve(mode: ServeMode, provider: Arc<Provider>) -> Result<(), ServeError> {
    if mode == ServeMode::Terraform {
        check_launched_by_terraform()?;
        ignore_interrupts()?;
    }
    let listener = listen().await?;
    let addr = listener.local_addr()?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);

    let client_cert = std::env::var("PLUGIN_CLIENT_CERT")
        .ok()
        .filter(|c| !c.is_empty());
    let (incoming, server_cert) = match (mode, client_cert) {
        (ServeMode::Terraform, Some(pem)) => {
            let identity = ServerIdentity::generate()?;
            let config = autotls::server_config(&pem, &identity)?;
            let incoming = accept_tls(listener, TlsAcceptor::from(Arc::new(config)));
            (incoming, Some(identity.certificate))
        }
        _ => (accept_plain(listener), None),
    };

    match mode {
        ServeMode::Terraform => print_handshake(addr, server_cert.as_deref())?,
        ServeMode::Debug => print_reattach(addr)?,
    }

    let signal = shutdown_signal(mode, shutdown_rx.clone());
    router(provider, shutdown_tx, shutdown_rx)
        .await
        .serve_with_incoming_shutdown(incoming, signal)
        .await?;
    Ok(())
}

/// Takes SIGINT away from its default (ending the process). A Ctrl-C in a terminal reaches the
/// whole foreground process group, the provider with Terraform: Terraform handles it and asks
/// the provider to stop over gRPC (StopProvider), then waits for the state of the operations in
/// flight. A provider that died of the signal instead lost that state ("The plugin encountered
/// an error"). go-plugin's `Serve` eats interrupts the same way, for the same reason.
fn ignore_interrupts() -> Result<(), ServeError> {
    let mut interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(ServeError::Signals)?;
    tokio::spawn(async move {
        while interrupts.recv().await.is_some() {
            tracing::debug!("interrupt signal ignored: terraform stops the provider over gRPC");
        }
    });
    Ok(())
}

fn check_launched_by_terraform() -> Result<(), ServeError> {
    if std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
        return Err(ServeError::NotLaunchedByTerraform);
    }
    if let Ok(versions) = std::env::var("PLUGIN_PROTOCOL_VERSIONS") {
        let offered = versions.split(',').map(str::trim);
        if !offered.clone().any(|v| v == PROTOCOL_VERSION.to_string()) {
            return Err(ServeError::UnsupportedProtocol(versions));
        }
    }
    Ok(())
}

async fn listen() -> Result<TcpListener, ServeError> {
    let port = |key: &str| -> Result<Option<u16>, ServeError> {
        match std::env::var(key) {
            Ok(v) if !v.is_empty() => v
                .parse()
                .map(Some)
                .map_err(|_| ServeError::Listen(format!("{key}={v} is not a port number"))),
            _ => Ok(None),
        }
    };
    let (min, max) = (port("PLUGIN_MIN_PORT")?, port("PLUGIN_MAX_PORT")?);
    let range = match (min, max) {
        (None, None) => 0..=0,
        (min, max) => min.unwrap_or(1)..=max.unwrap_or(u16::MAX),
    };
    for candidate in range.clone() {
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", candidate)).await {
            return Ok(listener);
        }
    }
    Err(ServeError::Listen(format!(
        "no free port between {} and {}",
        range.start(),
        range.end()
    )))
}

fn print_handshake(addr: SocketAddr, cert: Option<&[u8]>) -> Result<(), ServeError> {
    let cert = cert
        .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    let line = format!("{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|tcp|{addr}|grpc|{cert}\n");
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(line.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn print_reattach(addr: SocketAddr) -> Result<(), ServeError> {
    let reattach = serde_json::json!({
        PROVIDER_ADDRESS: {
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": "tcp", "String": addr.to_string() }
        }
    });
    let text = format!(
        "Provider started in debug mode. To attach Terraform, run in another shell:\n\n\
         \texport TF_REATTACH_PROVIDERS='{reattach}'\n\n\
         then terraform plan/apply as usual. Stop the provider with Ctrl-C.\n"
    );
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

async fn router(
    provider: Arc<Provider>,
    shutdown_tx: watch::Sender<bool>,
    shutdown_rx: watch::Receiver<bool>,
) -> tonic::transport::server::Router {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    // go-plugin's client checks the health of the service named "plugin".
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;
    let provider_server = ProviderServer::new(ProviderService::new(provider))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(GrpcControllerServer::new(Controller {
            shutdown: shutdown_tx,
        }))
        .add_service(GrpcStdioServer::new(Stdio {
            shutdown: shutdown_rx.clone(),
        }))
        .add_service(GrpcBrokerServer::new(Broker {
            shutdown: shutdown_rx,
        }))
        .add_service(provider_server)
}

async fn shutdown_signal(mode: ServeMode, mut shutdown: watch::Receiver<bool>) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    let interrupt = async {
        if mode == ServeMode::Debug {
            let _ = tokio::signal::ctrl_c().await;
        } else {
            // Terraform handles Ctrl-C itself and then asks the provider to stop over gRPC.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = shutdown.wait_for(|stop| *stop) => {}
        () = terminate => {}
        () = interrupt => {}
    }
    tracing::debug!("provider shutting down");
}

/// A connection as the gRPC server takes it.
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Turns Nagle's algorithm off, as Go (Terraform's side) does on its end: a gRPC answer goes out
/// in several small writes (HTTP/2 headers, data, trailers), and with Nagle on each write after
/// the first waits for the ACK of the one before, which Terraform's kernel delays by up to 40 ms.
fn no_delay(stream: &TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY not set");
    }
}

type Incoming = tokio_stream::wrappers::ReceiverStream<Result<Conn, std::io::Error>>;

fn accept_plain(listener: TcpListener) -> Incoming {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            no_delay(&stream);
            if tx.send(Ok(Conn::Plain(stream))).await.is_err() {
                break;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// Accepts TLS connections; each handshake runs on its own task so a stalled peer cannot block
/// the others, and a failed handshake is logged and dropped.
fn accept_tls(listener: TcpListener, acceptor: TlsAcceptor) -> Incoming {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            no_delay(&stream);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match acceptor.accept(stream).await {
                    Ok(tls) => {
                        let _ = tx.send(Ok(Conn::Tls(Box::new(tls)))).await;
                    }
                    Err(e) => tracing::warn!(%peer, error = %e, "rejected TLS connection"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Serves the provider's gRPC services in process on a loopback port, without TLS.
    pub async fn serve_in_process(provider: Arc<Provider>) -> (SocketAddr, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let router = router(provider, tx.clone(), rx.clone()).await;
        tokio::spawn(async move {
            let mut rx = rx;
            router
                .serve_with_incoming_shutdown(accept_plain(listener), async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
        });
        (addr, tx)
    }
}
