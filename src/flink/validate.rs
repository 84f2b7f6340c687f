//! Validation of a user's `flink_configuration` map against the catalogue of a version: unknown keys
//! (with "did you mean"), values of the wrong type, deprecated keys, keys the provider owns, and
//! storage credentials written in plain text.

use std::collections::BTreeMap;

use super::issue::Issue;
use super::options::{Catalogue, OptionStatus};
use super::values::type_mismatch;
use super::versions::FlinkVersion;

/// Keys that identify a deployment: the provider sets them, a user value is an error.
pub const IDENTITY_KEYS: &[&str] = &[
    "high-availability.cluster-id",
    "kubernetes.cluster-id",
    "$internal.pipeline.job-id",
    "$internal.application.id",
];

/// Prefixes under which Flink (or its plugins) reads keys no `ConfigOption` declares: named metric,
/// trace and event reporters, file system plugins (which forward `s3.*`, `fs.<scheme>.*`, `gs.*`
/// to their clients), Hadoop pass-through, container environment variables, SQL gateway endpoints
/// and internal keys. Unknown keys under them are not flagged.
pub const OPEN_PREFIXES: &[&str] = &[
    "metrics.reporter.",
    "traces.reporter.",
    "events.reporter.",
    "$internal.",
    "s3.",
    "s3a.",
    "s3p.",
    "presto.s3.",
    "fs.",
    "gs.",
    "flink.hadoop.",
    "containerized.master.env.",
    "containerized.taskmanager.env.",
    "sql-gateway.endpoint.",
    "external-resource.",
];

/// Prefixes where plugins, connectors and the planner may add keys the catalogue cannot know:
/// an unknown key under them is a warning, not an error.
pub const LENIENT_PREFIXES: &[&str] = &["table.", "state.backend.", "plugin."];

/// Checks every entry of `config` for `version`; the issues come in key order.
pub fn validate(version: FlinkVersion, config: &BTreeMap<String, String>) -> Vec<Issue> {
    let cat = Catalogue::of(version);
    let mut issues = Vec::new();
    for (key, value) in config {
        check(version, cat, key, Some(value), &mut issues);
    }
    issues
}

/// Checks keys whose values Flink gets from elsewhere (a Secret) and the provider never sees:
/// the rules of [`validate`] that need no value (identities, unknown and deprecated keys).
pub fn validate_keys<'a>(
    version: FlinkVersion,
    keys: impl IntoIterator<Item = &'a String>,
) -> Vec<Issue> {
    let cat = Catalogue::of(version);
    let mut issues = Vec::new();
    for key in keys {
        check(version, cat, key, None, &mut issues);
    }
    issues
}

fn check(
    version: FlinkVersion,
    cat: &Catalogue,
    key: &str,
    value: Option<&str>,
    out: &mut Vec<Issue>,
) {
    let preferred = cat.preferred(key);
    if IDENTITY_KEYS.contains(&key) || IDENTITY_KEYS.contains(&preferred) {
        let attribute = match value {
            Some(_) => "flink_configuration",
            None => "flink_configuration_from_secrets",
        };
        out.push(Issue::error(
            key,
            "Key is set by the provider",
            format!(
                "`{key}` identifies the deployment and is always set by the provider (the HA cluster id is \
                 the deployment id, the job id and application id are the provider's per run). Remove it from {attribute}."
            ),
        ));
        return;
    }
    if let Some(warning) = value.and_then(|_| plain_text_secret(key)) {
        out.push(warning);
    }
    let Some(spec) = cat.get(key) else {
        unknown(version, cat, key, out);
        return;
    };
    let Some(value) = value else {
        deprecation(version, key, &spec.status, out);
        // Its value decides whether it needs the RBAC only `high_availability` creates.
        if preferred == "high-availability.type" {
            out.push(Issue::error(
                key,
                "Configure high availability with high_availability",
                format!(
                    "`{key}` cannot come from a Secret: set high_availability to a \
                     flink_high_availability's spec instead."
                ),
            ));
        }
        return;
    };
    if let Some(why) = type_mismatch(&spec.ty, value, cat.iso_durations) {
        out.push(Issue::error(
            key,
            "Invalid value for Flink option",
            format!("`{key}` = {value:?}: {why}."),
        ));
    }
    deprecation(version, key, &spec.status, out);
    if preferred == "high-availability.type" {
        high_availability_type(key, value, out);
    }
}

fn deprecation(version: FlinkVersion, key: &str, status: &OptionStatus, out: &mut Vec<Issue>) {
    match status {
        OptionStatus::DeprecatedKey { replacement } => out.push(Issue::warning(
            key,
            "Deprecated Flink option",
            format!("Flink {version} reads `{key}` as the deprecated name of `{replacement}`; use `{replacement}`."),
        )),
        OptionStatus::Deprecated => out.push(Issue::warning(
            key,
            "Deprecated Flink option",
            format!("`{key}` is deprecated in Flink {version} and may be ignored or removed in a later release."),
        )),
        OptionStatus::Current | OptionStatus::Fallback { .. } => {}
    }
}

/// HA set by hand: VVP's `vvp-kubernetes` does not exist in Apache Flink, and Kubernetes HA needs
/// the per-deployment RBAC only `high_availability` creates.
fn high_availability_type(key: &str, value: &str, out: &mut Vec<Issue>) {
    let v = value.trim().to_ascii_lowercase();
    if v == "vvp-kubernetes" || v == "kubernetes" {
        out.push(Issue::error(
            key,
            "Configure Kubernetes HA with high_availability",
            format!(
                "`{key}` = {value:?} needs a ServiceAccount, Role and RoleBinding per deployment, which the \
                 provider creates only for `high_availability` (a flink_high_availability with type = \
                 \"kubernetes\"). Remove the key and set high_availability instead."
            ),
        ));
    } else if v == "zookeeper" {
        out.push(Issue::warning(
            key,
            "Prefer high_availability for ZooKeeper HA",
            format!(
                "`{key}` = {value:?} works, but a flink_high_availability with type = \"zookeeper\" also \
                 derives the storage directory from blob storage and is shared by many deployments."
            ),
        ));
    }
}

fn unknown(version: FlinkVersion, cat: &Catalogue, key: &str, out: &mut Vec<Issue>) {
    if OPEN_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return;
    }
    let hint = match did_you_mean(cat, key) {
        Some(k) => format!(" Did you mean `{k}`?"),
        None => String::new(),
    };
    let elsewhere: Vec<&str> = FlinkVersion::ALL
        .iter()
        .filter(|v| Catalogue::of(**v).get(key).is_some())
        .map(|v| v.minor())
        .collect();
    let hint = if elsewhere.is_empty() {
        hint
    } else {
        format!(
            " It exists in Flink {} only: see the release notes for its successor.{hint}",
            elsewhere.join(", ")
        )
    };
    let detail = format!("Flink {version} defines no option `{key}`.{hint}");
    if LENIENT_PREFIXES.iter().any(|p| key.starts_with(p)) {
        out.push(Issue::warning(
            key,
            "Unknown Flink option",
            format!("{detail} A plugin or connector may read it; check the spelling."),
        ));
    } else {
        out.push(Issue::error(
            key,
            "Unknown Flink option",
            format!("{detail} Check the spelling and the Flink version."),
        ));
    }
}

/// The closest known key when it is close enough to be a typo (edit distance at most a third of the
/// key's length, and at most 4).
pub fn did_you_mean(cat: &Catalogue, key: &str) -> Option<String> {
    let length = key.chars().count();
    let limit = (length / 3).clamp(1, 4);
    cat.options
        .iter()
        .filter(|(_, s)| {
            matches!(
                s.status,
                OptionStatus::Current | OptionStatus::Fallback { .. }
            )
        })
        // The distance is at least the difference in length: most options need no comparing,
        // which keeps thousands of unknown keys cheap.
        .filter(|(k, _)| k.chars().count().abs_diff(length) <= limit)
        .filter_map(|(k, _)| Some((distance_within(key, k, limit)?, k)))
        .min()
        .map(|(_, k)| k.clone())
}

/// The Levenshtein distance of `a` and `b` when it is at most `limit`: stops at the first row
/// whose every entry exceeds it, since later rows never shrink.
fn distance_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        if cur.iter().all(|d| *d > limit) {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()]).filter(|d| *d <= limit)
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A warning for S3 credentials written into the configuration (which lands in a ConfigMap).
fn plain_text_secret(key: &str) -> Option<Issue> {
    let k = key.to_lowercase();
    let storage = [
        "s3.",
        "s3a.",
        "s3p.",
        "presto.s3.",
        "fs.s3a.",
        "fs.s3.",
        "fs.oss.",
        "fs.azure.",
        "gs.",
    ];
    let credential = [
        "access-key",
        "secret-key",
        "access.key",
        "secret.key",
        "accesskey",
        "secretkey",
        "account.key",
    ];
    if storage.iter().any(|p| k.starts_with(p)) && credential.iter().any(|c| k.contains(c)) {
        return Some(Issue::warning(
            key,
            "Storage credential in plain text",
            format!(
                "`{key}` would be written into the deployment's ConfigMap and Terraform state in plain text. \
                 Configure the credentials on a flink_blob_storage resource instead: it keeps them in a \
                 Kubernetes Secret, or name a Secret in flink_configuration_from_secrets."
            ),
        ));
    }
    None
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
