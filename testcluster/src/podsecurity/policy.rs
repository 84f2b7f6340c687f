//! A namespace's Pod Security policy from its labels (`api/helpers.go`: `PolicyToEvaluate`,
//! `ParseLevel`, `ParseVersion`): an enforce, a warn and an audit level with a version each,
//! `privileged:latest` where no label says otherwise (kube-apiserver's default configuration).
//! A level that does not parse fails closed for enforce (`restricted`) and open for warn and
//! audit (`privileged`); a version that does not parse is `latest`; both are also reported, for
//! the namespace's own create or update to be refused.

use crate::status::FieldError;
use serde_json::Value as Json;
use std::fmt;

/// `pod-security.kubernetes.io/` and the label names below it.
pub const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// No restrictions.
    Privileged,
    /// Known privilege escalations prevented.
    Baseline,
    /// Current pod hardening best practice.
    Restricted,
}

impl Level {
    fn parse(text: &str) -> Option<Level> {
        match text {
            "privileged" => Some(Level::Privileged),
            "baseline" => Some(Level::Baseline),
            "restricted" => Some(Level::Restricted),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

/// A policy version: `latest`, or `v1.<minor>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// The newest checks, whatever the server's version.
    Latest,
    /// `v1.<minor>`: the checks as they were in that release.
    Minor(u32),
}

impl Version {
    fn parse(text: &str) -> Option<Version> {
        if text == "latest" {
            return Some(Version::Latest);
        }
        let minor = text.strip_prefix("v1.")?;
        // `^v1\.([0-9]|[1-9][0-9]*)$`: no leading zeros.
        let digits = !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit());
        if !digits || (minor.len() > 1 && minor.starts_with('0')) {
            return None;
        }
        minor.parse().ok().map(Version::Minor)
    }

    /// Whether checks introduced in `v1.<minor>` apply at this version.
    pub fn includes(self, minor: u32) -> bool {
        match self {
            Version::Latest => true,
            Version::Minor(m) => m >= minor,
        }
    }
}

/// A level at a version, written `restricted:latest` in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    /// The level.
    pub level: Level,
    /// The version of its checks.
    pub version: Version,
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Version::Latest => write!(f, "{}:latest", self.level.as_str()),
            Version::Minor(m) => write!(f, "{}:v1.{m}", self.level.as_str()),
        }
    }
}

/// What a namespace's labels ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Pods that violate it are refused.
    pub enforce: LevelVersion,
    /// Requests whose pods violate it get a warning.
    pub warn: LevelVersion,
    /// Requests whose pods violate it are annotated in the audit log (this server keeps none).
    pub audit: LevelVersion,
}

const PRIVILEGED: LevelVersion = LevelVersion {
    level: Level::Privileged,
    version: Version::Latest,
};

/// The policy of a namespace object, and the label errors as field errors
/// (`metadata.labels[...]: Invalid value: "x": must be ...`), empty when all parse.
pub fn of_namespace(namespace: &Json) -> (Policy, Vec<FieldError>) {
    let label = |mode: &str, suffix: &str| {
        namespace
            .pointer("/metadata/labels")
            .and_then(|l| l.get(format!("{LABEL_PREFIX}{mode}{suffix}")))
            .and_then(Json::as_str)
    };
    let mut errors = Vec::new();
    let mut resolve = |mode: &str, fail_level: Level| {
        let mut lv = PRIVILEGED;
        if let Some(text) = label(mode, "") {
            lv.level = Level::parse(text).unwrap_or_else(|| {
                errors.push(FieldError::invalid(
                    format!("metadata.labels[{LABEL_PREFIX}{mode}]"),
                    &Json::from(text),
                    "must be one of privileged, baseline, restricted",
                ));
                fail_level
            });
        }
        if let Some(text) = label(mode, "-version") {
            lv.version = Version::parse(text).unwrap_or_else(|| {
                errors.push(FieldError::invalid(
                    format!("metadata.labels[{LABEL_PREFIX}{mode}-version]"),
                    &Json::from(text),
                    "must be \"latest\" or \"v1.x\"",
                ));
                Version::Latest
            });
        }
        lv
    };
    let enforce = resolve("enforce", Level::Restricted);
    let audit = resolve("audit", Level::Privileged);
    let warn = resolve("warn", Level::Privileged);
    (
        Policy {
            enforce,
            warn,
            audit,
        },
        errors,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ns(labels: Json) -> Json {
        json!({"metadata": {"name": "team", "labels": labels}})
    }

    #[test]
    fn unlabelled_namespaces_are_privileged() {
        let (policy, errors) = of_namespace(&json!({"metadata": {"name": "x"}}));
        assert_eq!(policy.enforce.to_string(), "privileged:latest");
        assert_eq!(policy.warn, PRIVILEGED);
        assert!(errors.is_empty());
    }

    #[test]
    fn labels_name_level_and_version() {
        let (policy, errors) = of_namespace(&ns(json!({
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "v1.30",
            "pod-security.kubernetes.io/warn": "baseline",
        })));
        assert!(errors.is_empty());
        assert_eq!(policy.enforce.to_string(), "restricted:v1.30");
        assert_eq!(policy.warn.to_string(), "baseline:latest");
        assert!(policy.enforce.version.includes(30) && !policy.enforce.version.includes(31));
    }

    #[test]
    fn bad_labels_fail_closed_for_enforce_and_open_for_warn() {
        let (policy, errors) = of_namespace(&ns(json!({
            "pod-security.kubernetes.io/enforce": "strict",
            "pod-security.kubernetes.io/warn": "strict",
            "pod-security.kubernetes.io/warn-version": "v1.03",
        })));
        assert_eq!(policy.enforce.level, Level::Restricted);
        assert_eq!(policy.warn.level, Level::Privileged);
        let errors: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.body))
            .collect();
        assert_eq!(
            errors,
            [
                r#"metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted"#,
                r#"metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "strict": must be one of privileged, baseline, restricted"#,
                r#"metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: "v1.03": must be "latest" or "v1.x""#,
            ]
        );
    }
}
