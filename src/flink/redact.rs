//! Redaction of the effective configuration shown in Terraform state: a key is sensitive by Flink's
//! own rule (`GlobalConfiguration.isSensitive`: the lower-cased key contains one of its fragments,
//! such as `password`, `secret`, `token`), taken from every supported version's catalogue, plus the
//! S3 access keys.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::options::Catalogue;
use super::versions::FlinkVersion;

/// What a redacted value shows.
pub const REDACTED: &str = "<redacted>";

/// The union of the sensitive-key fragments of every supported version, plus access keys.
pub fn fragments() -> &'static [String] {
    static CELL: OnceLock<Vec<String>> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut all: Vec<String> = FlinkVersion::ALL
            .iter()
            .flat_map(|v| Catalogue::of(*v).sensitive.iter().cloned())
            .chain(["access-key", "access.key"].iter().map(|s| s.to_string()))
            .filter(|s| !s.is_empty() && s != "-")
            .collect();
        all.sort();
        all.dedup();
        all
    })
}

/// Whether `key` holds a secret.
pub fn is_sensitive(key: &str) -> bool {
    let k = key.to_lowercase();
    fragments().iter().any(|f| k.contains(f.as_str()))
}

/// A copy of `config` with every sensitive value replaced by [`REDACTED`].
pub fn redact(config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    config
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if is_sensitive(k) {
                    REDACTED.to_string()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flink_rule() {
        for k in [
            "security.ssl.rest.keystore-password",
            "s3.secret-key",
            "fs.azure.account.key.acct.blob.core.windows.net",
            "metrics.reporter.dd.apikey",
            "pulsar.client.auth-params",
            "some.service-key",
            "security.delegation.token.x",
            "http.basic-auth",
            "security.kerberos.jaas.config",
            "S3.ACCESS-KEY",
            "fs.s3a.access.key",
        ] {
            assert!(is_sensitive(k), "{k}");
        }
        for k in [
            "parallelism.default",
            "s3.endpoint",
            "execution.checkpointing.dir",
        ] {
            assert!(!is_sensitive(k), "{k}");
        }
    }

    #[test]
    fn redacts_values_only() {
        let m: BTreeMap<String, String> = [("a.password", "hunter2"), ("parallelism.default", "2")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = redact(&m);
        assert_eq!(r["a.password"], REDACTED);
        assert_eq!(r["parallelism.default"], "2");
    }
}
