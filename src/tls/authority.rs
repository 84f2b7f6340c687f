//! The certificate authority: a self-signed signing CA and the REST client certificate it signs,
//! generated once and loaded back from the PEMs kept in its Kubernetes Secret.

use super::certificate::{params, self_signed, signed_by, Issued, Role};
use super::{KeyAlgorithm, TlsError};
use time::Duration;

/// The authority's certificates and keys.
#[derive(Debug, Clone)]
pub struct AuthorityMaterial {
    /// The key algorithm of both.
    pub algorithm: KeyAlgorithm,
    /// The signing CA.
    pub ca: Issued,
    /// The REST client certificate, signed by the CA.
    pub client: Issued,
}

impl AuthorityMaterial {
    /// A new authority named `label` (e.g. `<namespace>/<name>`) valid for `validity`.
    pub fn generate(
        algorithm: KeyAlgorithm,
        validity: Duration,
        label: &str,
    ) -> Result<Self, TlsError> {
        let ca = self_signed(
            &params(
                &format!("Flink signing CA {label}"),
                validity,
                Role::Authority,
            )?,
            algorithm,
        )?;
        let client = signed_by(
            &params(
                &format!("Flink REST client {label}"),
                validity,
                Role::Client,
            )?,
            algorithm,
            &ca,
        )?;
        Ok(AuthorityMaterial {
            algorithm,
            ca,
            client,
        })
    }

    /// The authority kept as PEMs, each key checked against its certificate.
    pub fn from_pems(
        ca_certificate: &str,
        ca_key: &str,
        client_certificate: &str,
        client_key: &str,
    ) -> Result<Self, TlsError> {
        let ca = Issued::from_pems("the CA certificate", ca_certificate, ca_key)?;
        let client = Issued::from_pems("the client certificate", client_certificate, client_key)?;
        Ok(AuthorityMaterial {
            algorithm: ca.algorithm,
            ca,
            client,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_certificate_is_signed_by_the_ca_and_round_trips() {
        let a = AuthorityMaterial::generate(KeyAlgorithm::EcdsaP256, Duration::hours(24), "ns/x")
            .unwrap();
        let (_, client) = x509_parser::parse_x509_certificate(&a.client.certificate_der).unwrap();
        let (_, ca) = x509_parser::parse_x509_certificate(&a.ca.certificate_der).unwrap();
        assert_eq!(client.issuer(), ca.subject());
        assert!(client.verify_signature(Some(ca.public_key())).is_ok());
        assert!(ca.is_ca());
        let back = AuthorityMaterial::from_pems(
            &a.ca.certificate_pem,
            a.ca.private_key_pem(),
            &a.client.certificate_pem,
            a.client.private_key_pem(),
        )
        .unwrap();
        assert_eq!(back.ca.fingerprint_sha256, a.ca.fingerprint_sha256);
        assert!(AuthorityMaterial::from_pems(
            &a.ca.certificate_pem,
            a.client.private_key_pem(),
            &a.client.certificate_pem,
            a.client.private_key_pem(),
        )
        .is_err());
    }
}
