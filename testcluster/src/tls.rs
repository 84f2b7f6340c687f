//! The server's TLS identity, made at start: a CA, a serving certificate it signs for the
//! listening address and the in-cluster address pods use, a random bearer token, and the kubeconfig that trusts the CA and carries
//! the token.

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The address pods reach the API server at (`KUBERNETES_SERVICE_HOST`): the local kubelet's
/// bridge, which the serving certificate names besides the listening address.
pub const IN_CLUSTER_IP: Ipv4Addr = Ipv4Addr::new(10, 245, 0, 1);

/// What clients need to trust and reach the server.
pub struct Identity {
    /// PEM of the CA.
    pub ca_pem: String,
    /// The bearer token.
    pub token: String,
    /// TLS configuration of the server.
    pub server_config: Arc<rustls::ServerConfig>,
}

/// Why the identity could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A fresh identity for a server listening on `addr`.
pub fn generate(addr: SocketAddr) -> Result<Identity, TlsError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kube-test-server CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key)?;

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_string(),
        "kubernetes".to_string(),
        "kubernetes.default".to_string(),
        "kubernetes.default.svc".to_string(),
        "kubernetes.default.svc.cluster.local".to_string(),
    ])?;
    for ip in [addr.ip(), IpAddr::V4(IN_CLUSTER_IP)] {
        params.subject_alt_names.push(rcgen::SanType::IpAddress(ip));
    }
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let cert = params.signed_by(&key, &issuer)?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), CertificateDer::from(ca.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let token: String = (0..32)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect();
    Ok(Identity {
        ca_pem: ca.pem(),
        token,
        server_config: Arc::new(server_config),
    })
}

/// The kubeconfig for the server at `addr`.
pub fn kubeconfig(addr: SocketAddr, identity: &Identity) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(&identity.ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-test-server\n  cluster:\n    server: https://{addr}\n    certificate-authority-data: {ca}\ncontexts:\n- name: kube-test-server\n  context:\n    cluster: kube-test-server\n    user: kube-test-server\n    namespace: default\ncurrent-context: kube-test-server\nusers:\n- name: kube-test-server\n  user:\n    token: {}\n",
        identity.token
    )
}
