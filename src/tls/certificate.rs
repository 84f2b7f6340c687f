//! One issued certificate with its key: generation of keys and certificates with rcgen, the
//! facts state records (fingerprints, validity), and loading a certificate and key back from PEM
//! with the check that they belong together.

use super::{KeyAlgorithm, TlsError};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, RsaKeySize, PKCS_ECDSA_P256_SHA256,
    PKCS_RSA_SHA256,
};
use sha2::Digest;
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// A certificate and its private key.
#[derive(Clone)]
pub struct Issued {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
    private_key_pem: String,
    private_key_der: Vec<u8>,
    /// SHA-256 of the DER certificate, colon-separated upper-case hex.
    pub fingerprint_sha256: String,
    /// SHA-1 of the DER certificate, as Flink's `security.ssl.internal.cert.fingerprint` pins it.
    pub fingerprint_sha1: String,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// The key algorithm.
    pub algorithm: KeyAlgorithm,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("fingerprint_sha256", &self.fingerprint_sha256)
            .field("not_after", &self.not_after)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// Colon-separated upper-case hex.
pub(super) fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Issued {
    /// The private key, PKCS#8 PEM.
    pub fn private_key_pem(&self) -> &str {
        &self.private_key_pem
    }

    /// The private key, PKCS#8 DER.
    pub fn private_key_der(&self) -> &[u8] {
        &self.private_key_der
    }

    /// Hours between the start and the end of validity (what `validity_period_hours` was).
    pub fn validity_hours(&self) -> i64 {
        let parse = |t: &str| OffsetDateTime::parse(t, &Rfc3339).ok();
        match (parse(&self.not_before), parse(&self.not_after)) {
            // Issued certificates start an hour early for clock skew.
            (Some(from), Some(to)) => ((to - from).whole_minutes() + 30) / 60 - 1,
            _ => 0,
        }
    }

    fn new(der: Vec<u8>, key: &KeyPair, algorithm: KeyAlgorithm) -> Result<Self, TlsError> {
        let (not_before, not_after) = validity_of(&der, "a generated certificate")?;
        Ok(Issued {
            certificate_pem: pem_of("CERTIFICATE", &der),
            fingerprint_sha256: colon_hex(&sha2::Sha256::digest(&der)),
            fingerprint_sha1: colon_hex(&sha1::Sha1::digest(&der)),
            certificate_der: der,
            private_key_pem: key.serialize_pem(),
            private_key_der: key.serialize_der(),
            not_before,
            not_after,
            algorithm,
        })
    }

    /// The SHA-256 fingerprint of a PEM certificate, as [`Issued::fingerprint_sha256`] has it.
    pub fn fingerprint_of_pem(certificate_pem: &str) -> Option<String> {
        pem_contents(certificate_pem, "CERTIFICATE")
            .map(|der| colon_hex(&sha2::Sha256::digest(&der)))
    }

    /// The SHA-256 fingerprint and the end of validity (RFC 3339) of a PEM certificate.
    pub fn facts_of_pem(certificate_pem: &str) -> Option<(String, String)> {
        let der = pem_contents(certificate_pem, "CERTIFICATE")?;
        let (_, not_after) = validity_of(&der, "a certificate").ok()?;
        Some((colon_hex(&sha2::Sha256::digest(&der)), not_after))
    }

    /// A certificate and key from PEM, checked to belong together.
    pub fn from_pems(
        what: &'static str,
        certificate_pem: &str,
        private_key_pem: &str,
    ) -> Result<Self, TlsError> {
        let malformed = |expected| TlsError::Malformed { what, expected };
        let der =
            pem_contents(certificate_pem, "CERTIFICATE").ok_or(malformed("PEM certificate"))?;
        let key = KeyPair::from_pem(private_key_pem).map_err(|_| malformed("PEM private key"))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|_| malformed("X.509 certificate"))?;
        if cert.public_key().raw != key.subject_public_key_info().as_slice() {
            return Err(TlsError::KeyMismatch(what));
        }
        let algorithm = if key.algorithm() == &PKCS_ECDSA_P256_SHA256 {
            KeyAlgorithm::EcdsaP256
        } else if key.public_key_raw().len() > 300 {
            KeyAlgorithm::Rsa4096
        } else {
            KeyAlgorithm::Rsa2048
        };
        Issued::new(der, &key, algorithm)
    }
}

fn pem_of(tag: &str, der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN {tag}-----\n{}\n-----END {tag}-----\n",
        lines.join("\n")
    )
}

fn pem_contents(pem: &str, tag: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let begin = format!("-----BEGIN {tag}-----");
    let end = format!("-----END {tag}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn validity_of(der: &[u8], what: &'static str) -> Result<(String, String), TlsError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|_| TlsError::Malformed {
        what,
        expected: "X.509 certificate",
    })?;
    let validity = cert.validity();
    Ok((
        crate::value::rfc3339(validity.not_before.to_datetime()),
        crate::value::rfc3339(validity.not_after.to_datetime()),
    ))
}

/// A new key pair.
pub(super) fn generate_key(algorithm: KeyAlgorithm) -> Result<KeyPair, TlsError> {
    let generated = match algorithm {
        KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
        KeyAlgorithm::Rsa2048 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048),
        KeyAlgorithm::Rsa4096 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_4096),
    };
    generated.map_err(|source| TlsError::Generate {
        what: "a key pair",
        source,
    })
}

/// What a certificate is for.
pub(super) enum Role<'a> {
    /// A signing CA.
    Authority,
    /// A client certificate (REST mutual TLS).
    Client,
    /// A server and client certificate with these DNS names (internal mutual TLS).
    Endpoint(&'a [String]),
    /// A server certificate with these DNS names (the REST endpoint).
    Server(&'a [String]),
}

/// Certificate parameters: common name, validity from an hour ago, and the role's extensions.
pub(super) fn params(
    common_name: &str,
    validity: Duration,
    role: Role<'_>,
) -> Result<CertificateParams, TlsError> {
    let names = match role {
        Role::Endpoint(names) | Role::Server(names) => names.to_vec(),
        _ => Vec::new(),
    };
    let mut params = CertificateParams::new(names).map_err(|source| TlsError::Generate {
        what: "certificate parameters",
        source,
    })?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "terraform-provider-flink");
    params.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + validity;
    match role {
        Role::Authority => {
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
        }
        Role::Client => {
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        Role::Endpoint(_) => {
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
        }
        Role::Server(_) => {
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        }
    }
    Ok(params)
}

/// A self-signed certificate for `params` with a new key.
pub(super) fn self_signed(
    params: &CertificateParams,
    algorithm: KeyAlgorithm,
) -> Result<Issued, TlsError> {
    let key = generate_key(algorithm)?;
    let cert = params
        .self_signed(&key)
        .map_err(|source| TlsError::Generate {
            what: "a self-signed certificate",
            source,
        })?;
    Issued::new(cert.der().to_vec(), &key, algorithm)
}

/// A certificate for `params` with a new key, signed by `issuer`.
pub(super) fn signed_by(
    params: &CertificateParams,
    algorithm: KeyAlgorithm,
    issuer: &Issued,
) -> Result<Issued, TlsError> {
    let key = generate_key(algorithm)?;
    let issuer_key =
        KeyPair::from_pem(issuer.private_key_pem()).map_err(|_| TlsError::Malformed {
            what: "the CA key",
            expected: "PEM private key",
        })?;
    let signer = Issuer::from_ca_cert_pem(&issuer.certificate_pem, issuer_key).map_err(|_| {
        TlsError::Malformed {
            what: "the CA certificate",
            expected: "CA certificate",
        }
    })?;
    let cert = params
        .signed_by(&key, &signer)
        .map_err(|source| TlsError::Generate {
            what: "a signed certificate",
            source,
        })?;
    Issued::new(cert.der().to_vec(), &key, algorithm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_checks_the_key_belongs_to_the_certificate() {
        let p = params("x", Duration::hours(48), Role::Client).unwrap();
        let a = self_signed(&p, KeyAlgorithm::EcdsaP256).unwrap();
        let b = self_signed(&p, KeyAlgorithm::EcdsaP256).unwrap();
        let back = Issued::from_pems("a", &a.certificate_pem, a.private_key_pem()).unwrap();
        assert_eq!(back.fingerprint_sha256, a.fingerprint_sha256);
        assert_eq!(back.not_after, a.not_after);
        assert_eq!(back.validity_hours(), 48);
        assert_eq!(back.algorithm, KeyAlgorithm::EcdsaP256);
        assert!(matches!(
            Issued::from_pems("a", &a.certificate_pem, b.private_key_pem()),
            Err(TlsError::KeyMismatch("a"))
        ));
        assert!(matches!(
            Issued::from_pems("a", "nonsense", a.private_key_pem()),
            Err(TlsError::Malformed { .. })
        ));
        assert!(!format!("{a:?}").contains("PRIVATE"));
        assert_eq!(a.fingerprint_sha256.len(), 32 * 3 - 1);
        assert_eq!(a.fingerprint_sha1.len(), 20 * 3 - 1);
    }

    #[test]
    fn rsa_keys_are_recognised() {
        let p = params("x", Duration::hours(1), Role::Client).unwrap();
        let a = self_signed(&p, KeyAlgorithm::Rsa2048).unwrap();
        let back = Issued::from_pems("a", &a.certificate_pem, a.private_key_pem()).unwrap();
        assert_eq!(back.algorithm, KeyAlgorithm::Rsa2048);
    }
}
