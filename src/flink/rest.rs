//! Flink's REST API over any byte stream (a port-forward to the JobManager pod, or a TCP
//! connection): one request per connection (GET, or POST/PATCH with a JSON body), JSON back, with mutual TLS when the deployment has TLS
//! (the authority's client certificate, the CA to verify the JobManager, which its REST
//! certificate names as `localhost` among its Service names).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};

/// The client side of REST mutual TLS.
#[derive(Clone)]
pub struct RestTls {
    /// CA certificate that signed the JobManager's REST certificate (PEM).
    pub ca_pem: String,
    /// Client certificate (PEM).
    pub client_certificate_pem: String,
    /// Its private key (PEM).
    pub client_key_pem: String,
}

impl std::fmt::Debug for RestTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RestTls(<client key redacted>)")
    }
}

fn tls_config(tls: &RestTls) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(tls.ca_pem.as_bytes()).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let certificate = CertificateDer::from_pem_slice(tls.client_certificate_pem.as_bytes())
        .map_err(|e| e.to_string())?;
    let key =
        PrivateKeyDer::from_pem_slice(tls.client_key_pem.as_bytes()).map_err(|e| e.to_string())?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_client_auth_cert(vec![certificate], key)
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

/// A request: method, path and an optional JSON body.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// `GET`, `POST` or `PATCH`.
    pub method: &'a str,
    /// Path and query.
    pub path: &'a str,
    /// JSON body.
    pub body: Option<&'a serde_json::Value>,
}

async fn send_plain<S>(stream: S, call: Call<'_>) -> Result<(u16, serde_json::Value), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let Call { method, path, body } = call;
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("accept", "application/json");
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let request = request
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?
        .to_bytes();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Ok((status, json))
}

/// `GET path` on the JobManager behind `stream`: the status code and the JSON body (null when
/// the body is not JSON).
pub async fn get<S>(
    stream: S,
    path: &str,
    tls: Option<&RestTls>,
) -> Result<(u16, serde_json::Value), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let call = Call {
        method: "GET",
        path,
        body: None,
    };
    send(stream, call, tls).await
}

/// `call` on the JobManager behind `stream`: the status code and the JSON body (null when the
/// body is not JSON).
pub async fn send<S>(
    stream: S,
    call: Call<'_>,
    tls: Option<&RestTls>,
) -> Result<(u16, serde_json::Value), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match tls {
        None => send_plain(stream, call).await,
        Some(tls) => {
            let connector = tokio_rustls::TlsConnector::from(tls_config(tls)?);
            let name =
                rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
            let stream = connector
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS handshake with the JobManager: {e}"))?;
            send_plain(stream, call).await
        }
    }
}
