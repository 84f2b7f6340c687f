//! TLS material, pure: the certificate authority of `flink_certificate_authority` (a self-signed
//! signing CA and a REST client certificate it signs), and per deployment the self-signed internal
//! certificate and the CA-signed REST certificate with their PKCS#12 keystores and truststores
//! under random passwords. Private keys and passwords never show in `Debug` output.

mod authority;
mod certificate;
mod deployment;
mod stores;

pub use authority::AuthorityMaterial;
pub use certificate::Issued;
pub use deployment::{DeploymentMaterial, DeploymentTlsRequest, Store};

/// Key algorithm of generated certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 with SHA-256.
    #[default]
    EcdsaP256,
    /// RSA 2048 with SHA-256.
    Rsa2048,
    /// RSA 4096 with SHA-256.
    Rsa4096,
}

/// What went wrong making or reading TLS material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Key or certificate generation failed.
    #[error("generating {what} failed: {source}")]
    Generate {
        /// What was generated.
        what: &'static str,
        /// The cause.
        source: rcgen::Error,
    },
    /// A PEM or certificate that does not parse.
    #[error("{what} is not a valid {expected}")]
    Malformed {
        /// Which input.
        what: &'static str,
        /// What it should have been.
        expected: &'static str,
    },
    /// A private key that does not belong to its certificate.
    #[error("the private key of {0} does not belong to its certificate")]
    KeyMismatch(&'static str),
    /// Writing a PKCS#12 store failed.
    #[error("writing the {what} failed: {message}")]
    Store {
        /// Which store.
        what: &'static str,
        /// The cause.
        message: String,
    },
}
