//! The go-plugin handshake of the real binary: refusing to run by hand, the handshake line, the
//! port range, and AutoMTLS that accepts only the client certificate Terraform announced.

use crate::harness::provider_binary;
use rcgen::{CertificateParams, KeyPair};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const COOKIE: (&str, &str) = (
    "TF_PLUGIN_MAGIC_COOKIE",
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
);

struct ClientIdentity {
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

/// A client identity like go-plugin's: a self-signed ECDSA P-521 certificate.
fn client_identity() -> ClientIdentity {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    ClientIdentity {
        cert_pem: cert.pem(),
        cert_der: cert.der().clone(),
        key_der: key.serialize_der(),
    }
}

struct Plugin(Child);

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[derive(Debug)]
struct TrustHandshakeCert(CertificateDer<'static>);

impl ServerCertVerifier for TrustHandshakeCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        assert_eq!(
            end_entity.as_ref(),
            self.0.as_ref(),
            "server presented another certificate"
        );
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &algorithms())
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &algorithms())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms().supported_schemes()
    }
}

fn algorithms() -> rustls::crypto::WebPkiSupportedAlgorithms {
    rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms
}

/// Connects over TLS, optionally with a client identity, and reports whether the server accepted
/// the connection (TLS 1.3 reports a rejected client certificate on the first read).
async fn tls_accepted(
    addr: &str,
    server_cert: CertificateDer<'static>,
    identity: Option<&ClientIdentity>,
) -> bool {
    let builder = ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(TrustHandshakeCert(server_cert)));
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(
                vec![id.cert_der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let Ok(mut tls) = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
    else {
        return false;
    };
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    // The HTTP/2 preface; a server that accepted us answers with its SETTINGS frame.
    if tls
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 9];
    tls.read_exact(&mut buf).await.is_ok()
}

#[test]
fn refuses_to_run_without_terraform() {
    let out = Command::new(provider_binary())
        .env_remove(COOKIE.0)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing may reach stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("plugin for Terraform"), "{stderr}");
}

#[tokio::test]
async fn auto_mtls_accepts_only_the_announced_client() {
    let identity = client_identity();
    let mut child = Command::new(provider_binary())
        .env(COOKIE.0, COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "41000")
        .env("PLUGIN_MAX_PORT", "41999")
        .env("PLUGIN_CLIENT_CERT", &identity.cert_pem)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let plugin = Plugin(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "handshake line: {line:?}");
    assert_eq!(&fields[..3], &["1", "6", "tcp"]);
    assert_eq!(fields[4], "grpc");
    let port: u16 = fields[3].rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        (41000..=41999).contains(&port),
        "port {port} outside PLUGIN_MIN/MAX_PORT"
    );
    use base64::Engine;
    let server_cert = CertificateDer::from(
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(fields[5])
            .unwrap(),
    );

    let addr = fields[3].to_string();
    assert!(tls_accepted(&addr, server_cert.clone(), Some(&identity)).await);
    assert!(
        !tls_accepted(&addr, server_cert.clone(), None).await,
        "no client certificate"
    );
    let stranger = client_identity();
    assert!(
        !tls_accepted(&addr, server_cert, Some(&stranger)).await,
        "a different client"
    );
    drop(plugin);
}

#[test]
fn refuses_protocol_versions_it_does_not_speak() {
    let out = Command::new(provider_binary())
        .env(COOKIE.0, COOKIE.1)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("version 6"));
}

#[test]
fn debug_mode_serves_terraform_through_reattach() {
    let mut child = Command::new(provider_binary())
        .arg("--debug")
        .env_remove(COOKIE.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _plugin = Plugin(child);
    let reattach = BufReader::new(stdout)
        .lines()
        .map(Result::unwrap)
        .find_map(|line| {
            line.trim()
                .strip_prefix("export TF_REATTACH_PROVIDERS='")
                .map(|rest| rest.trim_end_matches('\'').to_string())
        })
        .expect("debug mode prints TF_REATTACH_PROVIDERS");
    let parsed: serde_json::Value = serde_json::from_str(&reattach).unwrap();
    assert_eq!(
        parsed["registry.terraform.io/flinkops/flink"]["ProtocolVersion"],
        6
    );

    let ws = crate::harness::Workspace::new();
    ws.config(
        r#"resource "flink_high_availability" "k8s" {
  name = "debug-ha"
  type = "kubernetes"
}"#,
    );
    let plan = ws.terraform_with_env(
        &["plan", "-no-color", "-detailed-exitcode"],
        &[("TF_REATTACH_PROVIDERS", &reattach)],
    );
    assert_eq!(plan.code, 2, "{}", plan.text);
    assert!(plan.text.contains("1 to add"), "{}", plan.text);
}
