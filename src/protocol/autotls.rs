//! go-plugin's AutoMTLS: Terraform hands the provider its client certificate (PLUGIN_CLIENT_CERT);
//! the provider answers with a fresh self-signed server certificate in the handshake line, and
//! accepts exactly that one client certificate, nothing else. Terraform's certificate is ECDSA
//! P-521, so the TLS stack must verify P-521 signatures (aws-lc-rs does; ring does not).

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use std::sync::Arc;

/// The provider's own certificate for one run.
pub struct ServerIdentity {
    /// DER certificate, as printed (base64) in the handshake line.
    pub certificate: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

/// Why the TLS setup failed.
#[derive(Debug, thiserror::Error)]
pub enum AutoTlsError {
    /// PLUGIN_CLIENT_CERT is not a PEM certificate.
    #[error("PLUGIN_CLIENT_CERT holds no PEM certificate: {0}")]
    ClientCertificate(String),
    /// Generating the server certificate failed.
    #[error("generating the server certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls rejected the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

impl ServerIdentity {
    /// Generates a self-signed certificate for `localhost`, the name Terraform verifies.
    pub fn generate() -> Result<Self, AutoTlsError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "terraform-provider-flink");
        // Terraform trusts this certificate as its own root, as go-plugin's servers do.
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.self_signed(&key)?;
        Ok(ServerIdentity {
            certificate: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }
}

/// The crypto provider every TLS endpoint of the protocol uses.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A server configuration that requires the one client certificate Terraform announced.
pub fn server_config(
    client_cert_pem: &str,
    identity: &ServerIdentity,
) -> Result<ServerConfig, AutoTlsError> {
    let client = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
        .map_err(|e| AutoTlsError::ClientCertificate(e.to_string()))?;
    let provider = crypto_provider();
    let verifier = Arc::new(PinnedClient {
        certificate: client.into_owned(),
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![identity.certificate.clone()],
            PrivateKeyDer::Pkcs8(identity.key.clone_key()),
        )?;
    // gRPC runs over HTTP/2, and Terraform's gRPC client insists on negotiating it.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Accepts exactly one certificate, byte for byte, and checks the handshake signatures made with
/// its key. go-plugin's client certificates are self-signed CAs, which a WebPKI verifier would
/// reject as end-entity certificates, so pinning is both stricter and the only thing that works.
#[derive(Debug)]
struct PinnedClient {
    certificate: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.certificate.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_accepts_only_the_pinned_certificate() {
        let pinned = ServerIdentity::generate().unwrap();
        let other = ServerIdentity::generate().unwrap();
        let verifier = PinnedClient {
            certificate: pinned.certificate.clone(),
            algorithms: crypto_provider().signature_verification_algorithms,
        };
        assert!(verifier.client_auth_mandatory());
        assert!(verifier
            .verify_client_cert(&pinned.certificate, &[], UnixTime::now())
            .is_ok());
        assert!(verifier
            .verify_client_cert(&other.certificate, &[], UnixTime::now())
            .is_err());
        assert!(verifier
            .supported_verify_schemes()
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }
}
