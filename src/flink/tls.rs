//! The SSL keys of a TLS-enabled deployment, per Flink version: internal connectivity (always
//! mutual, trusting only the deployment's own certificate) and the REST endpoint with mutual
//! authentication, keystores and truststores as PKCS#12 files under one directory. Passwords and
//! the pinned fingerprint are not configuration-file material: they are returned separately, as
//! dynamic properties (`-Dkey=value`) whose values the caller supplies from a Secret.

use super::options::Catalogue;
use super::FlinkVersion;
use std::collections::BTreeMap;

/// The internal keystore's file name inside the TLS directory.
pub const INTERNAL_KEYSTORE: &str = "internal.keystore.p12";
/// The internal truststore's file name.
pub const INTERNAL_TRUSTSTORE: &str = "internal.truststore.p12";
/// The REST keystore's file name.
pub const REST_KEYSTORE: &str = "rest.keystore.p12";
/// The REST truststore's file name.
pub const REST_TRUSTSTORE: &str = "rest.truststore.p12";

/// Cipher suites that work with both ECDSA and RSA keys on Java 17 (Flink's default list has only
/// `TLS_RSA_WITH_AES_128_CBC_SHA`, which an ECDSA certificate cannot serve).
const ALGORITHMS: &str = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";

/// The keys Flink reads from the configuration file, with `dir` the mounted store directory.
/// Keys a version does not know (e.g. the `*-type` keys before 1.20) are left out.
pub fn ssl_configuration(version: FlinkVersion, dir: &str) -> BTreeMap<String, String> {
    let cat = Catalogue::of(version);
    let mut keys = BTreeMap::new();
    let mut put = |key: &str, value: String| {
        if cat.get(key).is_some() {
            keys.insert(key.to_string(), value);
        }
    };
    for side in ["internal", "rest"] {
        put(&format!("security.ssl.{side}.enabled"), "true".into());
        put(
            &format!("security.ssl.{side}.keystore"),
            format!("{dir}/{side}.keystore.p12"),
        );
        put(
            &format!("security.ssl.{side}.truststore"),
            format!("{dir}/{side}.truststore.p12"),
        );
        put(
            &format!("security.ssl.{side}.keystore-type"),
            "PKCS12".into(),
        );
        put(
            &format!("security.ssl.{side}.truststore-type"),
            "PKCS12".into(),
        );
    }
    put("security.ssl.rest.authentication-enabled", "true".into());
    put("security.ssl.algorithms", ALGORITHMS.into());
    // Trust is the deployment's own certificate (pinned): peers are reached by pod IP, which
    // no certificate names.
    put("security.ssl.verify-hostname", "false".into());
    keys
}

/// The keys set as dynamic properties, with the value each gets: `internal_password` and
/// `rest_password` as the caller wants them to appear (e.g. `$(ENV_VAR)` references), and the
/// internal certificate's SHA-1 fingerprint when known.
pub fn ssl_dynamic_properties(
    internal_password: &str,
    rest_password: &str,
    internal_fingerprint_sha1: Option<&str>,
) -> Vec<(String, String)> {
    let mut properties = Vec::new();
    for (side, password) in [("internal", internal_password), ("rest", rest_password)] {
        for key in ["keystore-password", "key-password", "truststore-password"] {
            properties.push((format!("security.ssl.{side}.{key}"), password.to_string()));
        }
    }
    if let Some(fingerprint) = internal_fingerprint_sha1 {
        properties.push((
            "security.ssl.internal.cert.fingerprint".to_string(),
            fingerprint.to_string(),
        ));
    }
    properties
}

/// Every key TLS owns, in the configuration file or as a dynamic property: the user's values for
/// them are overridden.
pub fn ssl_owned_keys(version: FlinkVersion) -> Vec<String> {
    let mut keys: Vec<String> = ssl_configuration(version, "").into_keys().collect();
    keys.extend(
        ssl_dynamic_properties("", "", Some(""))
            .into_iter()
            .map(|(k, _)| k),
    );
    // The generic keys that the internal/rest ones refine.
    keys.extend(
        [
            "security.ssl.enabled",
            "security.ssl.keystore",
            "security.ssl.truststore",
            "security.ssl.keystore-password",
            "security.ssl.key-password",
            "security.ssl.truststore-password",
        ]
        .iter()
        .filter(|k| Catalogue::of(version).get(k).is_some())
        .map(|k| k.to_string()),
    );
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_version() {
        let old = ssl_configuration(FlinkVersion::V1_19, "/tls");
        assert_eq!(
            old["security.ssl.internal.keystore"],
            "/tls/internal.keystore.p12"
        );
        assert_eq!(old["security.ssl.rest.authentication-enabled"], "true");
        assert!(!old.contains_key("security.ssl.internal.keystore-type"));
        let new = ssl_configuration(FlinkVersion::V2_3, "/tls");
        assert_eq!(new["security.ssl.rest.truststore-type"], "PKCS12");
        assert!(!new.contains_key("security.ssl.enabled"));
        assert!(ssl_owned_keys(FlinkVersion::V1_20).contains(&"security.ssl.enabled".to_string()));
        assert!(!ssl_owned_keys(FlinkVersion::V2_0).contains(&"security.ssl.enabled".to_string()));
        let dynamic = ssl_dynamic_properties("$(A)", "$(B)", Some("AA:BB"));
        assert!(dynamic.contains(&(
            "security.ssl.rest.truststore-password".to_string(),
            "$(B)".to_string()
        )));
        assert_eq!(dynamic.len(), 7);
    }
}
