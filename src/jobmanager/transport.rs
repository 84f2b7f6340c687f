//! Flink's REST API over any byte stream (a port-forward to the JobManager pod, or a TCP
//! connection to an explicit REST URL): one request per connection (GET, or POST/PATCH with a JSON
//! body), JSON back. With the deployment's TLS it is mutual TLS (the authority's client
//! certificate) and the JobManager's certificate must chain to the authority and name the
//! deployment's REST Service, whatever host the stream reaches it through; an `https://` URL to an
//! ingress that ends TLS itself is checked against the system's trusted roots.

use super::Error;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
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

/// What the provider talks to at the other end of the stream.
#[derive(Debug, Clone, Copy)]
pub struct Peer<'a> {
    /// The `Host` header (host, and port when not the scheme's).
    pub authority: &'a str,
    /// The host name sent in the TLS handshake (SNI), which TLS-passthrough ingresses route by.
    pub server_name: &'a str,
    /// How the connection is secured.
    pub security: Security<'a>,
}

/// Why a `rest_url` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidUrl(String);

impl InvalidUrl {
    fn new(why: &str) -> Self {
        InvalidUrl(why.to_string())
    }
}

/// An explicit REST URL (`rest_url`): where to connect, and the path the JobManager's routes
/// sit under (an ingress may serve it under a prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestUrl {
    /// `https://`.
    pub https: bool,
    /// Host name or address.
    pub host: String,
    /// Port, the scheme's default when the URL names none.
    pub port: u16,
    /// Path prefix without a trailing slash (empty for the root).
    pub prefix: String,
}

impl RestUrl {
    /// Reads an `http://` or `https://` URL without query or credentials; what is wrong with it
    /// otherwise, said for the `rest_url` attribute's diagnostic.
    pub fn parse(text: &str) -> Result<RestUrl, InvalidUrl> {
        let uri: hyper::Uri = text
            .parse()
            .map_err(|e| InvalidUrl(format!("not a URL ({e})")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(InvalidUrl::new(
                    "the URL must start with http:// or https://",
                ))
            }
        };
        let authority = uri
            .authority()
            .ok_or(InvalidUrl::new("the URL names no host"))?;
        if authority.as_str().contains('@') {
            return Err(InvalidUrl::new("the URL must not carry credentials"));
        }
        if uri.query().is_some() {
            return Err(InvalidUrl::new("the URL must not have a query"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(InvalidUrl::new("the URL names no host"));
        }
        Ok(RestUrl {
            https,
            host: host.to_string(),
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// The `Host` header for it.
    pub fn authority(&self) -> String {
        match (self.https, self.port) {
            (true, 443) | (false, 80) => self.host.clone(),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

/// How a REST connection is secured.
#[derive(Debug, Clone, Copy)]
pub enum Security<'a> {
    /// Plain http.
    Plain,
    /// The deployment's REST mutual TLS.
    Mutual {
        /// The authority's CA and client certificate.
        credentials: &'a RestTls,
        /// The name the JobManager's certificate must carry.
        verify_as: &'a str,
    },
    /// https to something with a publicly trusted certificate for `host` (an ingress ending TLS).
    Public,
}

impl std::fmt::Debug for RestTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RestTls(<client key redacted>)")
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Checks the server's certificate as the authority issued it for `name`, whatever name the
/// handshake was addressed to.
#[derive(Debug)]
struct IssuedFor {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for IssuedFor {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _addressed_to: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A certificate, key or TLS setting that cannot be used.
fn credentials(e: impl std::fmt::Display) -> Error {
    Error::Credentials(e.to_string())
}

fn mutual_config(tls: &RestTls, verify_as: &str) -> Result<Arc<rustls::ClientConfig>, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::PrivateKeyDer;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(tls.ca_pem.as_bytes()).map_err(credentials)?)
        .map_err(credentials)?;
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(credentials)?;
    let name = ServerName::try_from(verify_as.to_string()).map_err(credentials)?;
    let certificate = CertificateDer::from_pem_slice(tls.client_certificate_pem.as_bytes())
        .map_err(credentials)?;
    let key = PrivateKeyDer::from_pem_slice(tls.client_key_pem.as_bytes()).map_err(credentials)?;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(credentials)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(IssuedFor {
            inner: verifier,
            name,
        }))
        .with_client_auth_cert(vec![certificate], key)
        .map_err(credentials)?;
    Ok(Arc::new(config))
}

fn public_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(Error::Credentials(
            "no trusted root certificates found on this machine for https".into(),
        ));
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(credentials)?
        .with_root_certificates(roots)
        .with_no_client_auth();
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

async fn send_plain<S>(
    stream: S,
    call: Call<'_>,
    host: &str,
) -> Result<(u16, serde_json::Value), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // HTTP/1's handshake sends nothing: a failure of it leaves the request unsent.
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| Error::NotConnected(format!("HTTP handshake: {e}")))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let Call { method, path, body } = call;
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .header("accept", "application/json");
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let request = request
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| Error::Unreachable(format!("{method} {path}: {e}")))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| Error::Unreachable(format!("{method} {path}: {e}")))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| Error::Unreachable(format!("{method} {path}: {e}")))?
        .to_bytes();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    Ok((status, json))
}

/// A failed TLS handshake: the request was not sent. A connection that dropped during it can be
/// made again ([`Error::NotConnected`]); a certificate or protocol the two sides refused
/// (rustls reports those as invalid data) would be refused again ([`Error::Unreachable`]).
fn handshake_failed(server_name: &str, error: &std::io::Error) -> Error {
    let message = format!("TLS handshake with {server_name}: {error}");
    match error.kind() {
        std::io::ErrorKind::InvalidData => Error::Unreachable(message),
        _ => Error::NotConnected(message),
    }
}

/// `call` on the JobManager behind `stream`: the status code and the JSON body (null when the
/// body is not JSON). A failure before the request went out is [`Error::NotConnected`].
pub async fn send<S>(
    stream: S,
    call: Call<'_>,
    peer: Peer<'_>,
) -> Result<(u16, serde_json::Value), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = match peer.security {
        Security::Plain => return send_plain(stream, call, peer.authority).await,
        Security::Mutual {
            credentials,
            verify_as,
        } => mutual_config(credentials, verify_as)?,
        Security::Public => public_config()?,
    };
    let name = ServerName::try_from(peer.server_name.to_string())
        .map_err(|e| Error::Credentials(format!("server name {}: {e}", peer.server_name)))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| handshake_failed(peer.server_name, &e))?;
    send_plain(stream, call, peer.authority).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rest_url_gives_where_to_connect_and_the_prefix() {
        let url = RestUrl::parse("https://flink.example.com/orders/").unwrap();
        assert_eq!(
            url,
            RestUrl {
                https: true,
                host: "flink.example.com".into(),
                port: 443,
                prefix: "/orders".into(),
            }
        );
        assert_eq!(url.authority(), "flink.example.com");
        let local = RestUrl::parse("http://10.0.0.7:8081").unwrap();
        assert_eq!((local.port, local.prefix.as_str()), (8081, ""));
        assert_eq!(local.authority(), "10.0.0.7:8081");
        assert!(RestUrl::parse("ftp://x").is_err());
        assert_eq!(
            RestUrl::parse("flink-orders-rest:8081")
                .unwrap_err()
                .to_string(),
            "the URL must start with http:// or https://"
        );
        assert!(RestUrl::parse("https://user:pw@x/").is_err());
        assert!(RestUrl::parse("https://x/?a=b").is_err());
    }

    fn mutual() -> RestTls {
        let authority = crate::tls::AuthorityMaterial::generate(
            crate::tls::KeyAlgorithm::EcdsaP256,
            time::Duration::hours(1),
            "ns/ca",
        )
        .unwrap();
        RestTls {
            ca_pem: authority.ca.certificate_pem.clone(),
            client_certificate_pem: authority.client.certificate_pem.clone(),
            client_key_pem: authority.client.private_key_pem().to_string(),
        }
    }

    const STOP: Call<'static> = Call {
        method: "POST",
        path: "/jobs/x/stop",
        body: None,
    };

    /// What the far end of a stream does before it goes: reads the request (or the TLS
    /// handshake's first message), then answers `answer` and closes.
    async fn far_end(answer: &'static [u8]) -> tokio::io::DuplexStream {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (near, mut far) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let mut buffer = [0u8; 4096];
            let _ = far.read(&mut buffer).await;
            let _ = far.write_all(answer).await;
        });
        near
    }

    #[tokio::test]
    async fn a_connection_lost_before_the_request_went_out_says_so_and_after_it_does_not() {
        let tls = mutual();
        let peer = |security| Peer {
            authority: "localhost",
            server_name: "localhost",
            security,
        };
        let security = Security::Mutual {
            credentials: &tls,
            verify_as: "flink-x-rest.ns.svc",
        };
        // Dropped during the TLS handshake: the request never went out.
        let error = send(far_end(b"").await, STOP, peer(security))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::NotConnected(_)), "{error:?}");
        // Something that does not speak TLS: a handshake tried again would fail again.
        let error = send(
            far_end(b"HTTP/1.1 400 Bad Request\r\n\r\n").await,
            STOP,
            peer(security),
        )
        .await
        .unwrap_err();
        assert!(matches!(error, Error::Unreachable(_)), "{error:?}");
        // Read, then dropped without an answer: Flink may have acted on the request.
        let error = send(far_end(b"").await, STOP, peer(Security::Plain))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Unreachable(_)), "{error:?}");
        // The answer, for contrast.
        let answered = send(
            far_end(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}").await,
            STOP,
            peer(Security::Plain),
        )
        .await
        .unwrap();
        assert_eq!(answered, (202, serde_json::json!({})));
    }
}
