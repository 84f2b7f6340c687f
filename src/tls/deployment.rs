//! The TLS material of one deployment, as Ververica Platform provisions it: a self-signed
//! certificate for internal connectivity (JobManager and TaskManagers present and trust the same
//! one: always mutual), and a REST certificate signed by the authority's CA; PKCS#12 keystores
//! and truststores for both. The REST truststore holds only the authority's client certificate,
//! so exactly that certificate passes REST mutual authentication.

use super::certificate::{params, self_signed, signed_by, Issued, Role};
use super::stores::{keystore, password, truststore};
use super::{AuthorityMaterial, KeyAlgorithm, TlsError};
use std::fmt;
use time::Duration;

/// What to issue for a deployment.
#[derive(Debug, Clone)]
pub struct DeploymentTlsRequest {
    /// A label for the certificates' common names, e.g. `<namespace>/<name>`.
    pub label: String,
    /// DNS names of the JobManager Services (the REST certificate's SANs).
    pub dns_names: Vec<String>,
    /// Key algorithm.
    pub algorithm: KeyAlgorithm,
    /// Validity of both certificates.
    pub validity: Duration,
}

/// A PKCS#12 file and the password that opens it.
#[derive(Clone)]
pub struct Store {
    /// The PKCS#12 bytes.
    pub bytes: Vec<u8>,
    /// Its password (also the key's).
    pub password: String,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Store({} bytes, password <redacted>)", self.bytes.len())
    }
}

/// Everything a TLS-enabled deployment mounts.
#[derive(Debug, Clone)]
pub struct DeploymentMaterial {
    /// The internal certificate.
    pub internal: Issued,
    /// The REST certificate.
    pub rest: Issued,
    /// SHA-256 fingerprint of the CA that signed the REST certificate.
    pub authority_fingerprint_sha256: String,
    /// Internal keystore (the internal key and certificate).
    pub internal_keystore: Store,
    /// Internal truststore (the internal certificate).
    pub internal_truststore: Store,
    /// REST keystore (the REST key, its certificate and the CA).
    pub rest_keystore: Store,
    /// REST truststore (the authority's client certificate).
    pub rest_truststore: Store,
}

/// Issues a deployment's certificates and stores with `authority`.
pub fn issue(
    authority: &AuthorityMaterial,
    request: &DeploymentTlsRequest,
) -> Result<DeploymentMaterial, TlsError> {
    let internal = self_signed(
        &params(
            &format!("Flink internal {}", request.label),
            request.validity,
            Role::Endpoint(&request.dns_names),
        )?,
        request.algorithm,
    )?;
    let rest = signed_by(
        &params(
            &format!("Flink REST {}", request.label),
            request.validity,
            Role::Server(&request.dns_names),
        )?,
        request.algorithm,
        &authority.ca,
    )?;
    let internal_password = password();
    let rest_password = password();
    let store = |bytes: Vec<u8>, password: &String| Store {
        bytes,
        password: password.clone(),
    };
    Ok(DeploymentMaterial {
        internal_keystore: store(
            keystore(
                "internal",
                &internal,
                &[],
                &internal_password,
                "internal keystore",
            )?,
            &internal_password,
        ),
        internal_truststore: store(
            truststore(
                &[("internal", &internal)],
                &internal_password,
                "internal truststore",
            )?,
            &internal_password,
        ),
        rest_keystore: store(
            keystore(
                "rest",
                &rest,
                &[&authority.ca],
                &rest_password,
                "REST keystore",
            )?,
            &rest_password,
        ),
        rest_truststore: store(
            truststore(
                &[("client", &authority.client)],
                &rest_password,
                "REST truststore",
            )?,
            &rest_password,
        ),
        authority_fingerprint_sha256: authority.ca.fingerprint_sha256.clone(),
        internal,
        rest,
    })
}

impl DeploymentMaterial {
    /// Issues with `authority`; see [`issue`].
    pub fn issue(
        authority: &AuthorityMaterial,
        request: &DeploymentTlsRequest,
    ) -> Result<Self, TlsError> {
        issue(authority, request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};

    #[test]
    fn stores_hold_what_flink_needs() {
        let authority =
            AuthorityMaterial::generate(KeyAlgorithm::EcdsaP256, Duration::hours(24), "ns/ca")
                .unwrap();
        let m = issue(
            &authority,
            &DeploymentTlsRequest {
                label: "ns/orders".into(),
                dns_names: vec!["flink-orders-rest.ns.svc".into()],
                algorithm: KeyAlgorithm::EcdsaP256,
                validity: Duration::hours(24),
            },
        )
        .unwrap();
        let (_, rest) = x509_parser::parse_x509_certificate(&m.rest.certificate_der).unwrap();
        let (_, ca) = x509_parser::parse_x509_certificate(&authority.ca.certificate_der).unwrap();
        assert!(rest.verify_signature(Some(ca.public_key())).is_ok());
        let sans = rest.subject_alternative_name().unwrap().unwrap().value;
        assert_eq!(sans.general_names.len(), 1);

        let open = |s: &Store| {
            KeyStore::from_pkcs12(&s.bytes, &s.password, Pkcs12ImportPolicy::Strict).unwrap()
        };
        let (_, chain) = open(&m.rest_keystore)
            .private_key_chain()
            .map(|(a, c)| (a.to_string(), c.clone()))
            .unwrap();
        assert_eq!(chain.certs().len(), 2);
        assert_eq!(chain.certs()[0].as_der(), m.rest.certificate_der.as_slice());
        let trust = open(&m.rest_truststore);
        match trust.entry("client") {
            Some(KeyStoreEntry::Certificate(c)) => {
                assert_eq!(c.as_der(), authority.client.certificate_der.as_slice())
            }
            other => panic!("{other:?}"),
        }
        assert!(open(&m.internal_keystore).private_key_chain().is_some());
        assert!(open(&m.internal_truststore).entry("internal").is_some());
        assert_ne!(m.internal_keystore.password, m.rest_keystore.password);
        assert!(!format!("{m:?}").contains(&m.rest_keystore.password));
    }
}
