//! PKCS#12 keystores (a key with its chain) and truststores (trusted certificates only, marked
//! with the attribute Java needs to treat them as trust anchors), and the random passwords that
//! lock them.

use super::certificate::Issued;
use super::TlsError;
use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
use rand::distr::{Alphanumeric, SampleString};

/// PBKDF2 rounds: the passwords are random 32-character strings, so key stretching adds nothing
/// but time; Java's own default for PKCS#12 is 10 000.
const ITERATIONS: u32 = 2048;

/// A random password for a store.
pub fn password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

fn certificate(issued: &Issued, what: &'static str) -> Result<Certificate, TlsError> {
    Certificate::from_der(&issued.certificate_der).map_err(|e| TlsError::Store {
        what,
        message: e.to_string(),
    })
}

fn write(store: &KeyStore, password: &str, what: &'static str) -> Result<Vec<u8>, TlsError> {
    store
        .writer(password)
        .encryption_iterations(ITERATIONS)
        .mac_iterations(ITERATIONS)
        .write()
        .map_err(|e| TlsError::Store {
            what,
            message: e.to_string(),
        })
}

/// A keystore with `leaf`'s key and the chain `leaf`, then `chain`.
pub fn keystore(
    alias: &str,
    leaf: &Issued,
    chain: &[&Issued],
    password: &str,
    what: &'static str,
) -> Result<Vec<u8>, TlsError> {
    let key = PrivateKey::from_der(leaf.private_key_der()).map_err(|e| TlsError::Store {
        what,
        message: e.to_string(),
    })?;
    let mut certs = vec![certificate(leaf, what)?];
    for c in chain {
        certs.push(certificate(c, what)?);
    }
    let local_key_id = leaf.fingerprint_sha1.replace(':', "").into_bytes();
    let mut store = KeyStore::new();
    store.add_entry(
        alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, certs)),
    );
    write(&store, password, what)
}

/// A truststore trusting each of `trusted` under its alias.
pub fn truststore(
    trusted: &[(&str, &Issued)],
    password: &str,
    what: &'static str,
) -> Result<Vec<u8>, TlsError> {
    let mut store = KeyStore::new();
    for (alias, issued) in trusted {
        store.add_entry(
            alias,
            KeyStoreEntry::Certificate(certificate(issued, what)?),
        );
    }
    write(&store, password, what)
}
