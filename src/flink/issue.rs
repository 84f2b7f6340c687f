//! The one finding type of this module: a problem with a configuration key, its severity, a summary
//! and a detail that says what to do. The resource layer maps it to a Terraform diagnostic on
//! `flink_configuration["key"]` (or on the attribute named by `key` when it is not a Flink key).

/// How bad an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The plan cannot go on.
    Error,
    /// The plan goes on; the user should look.
    Warning,
}

/// A finding about one configuration key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The Flink configuration key concerned, or, for findings that are not about one key, the
    /// input they concern: `blob_storage`, `high_availability`, `queryable_state` (render) and
    /// `root_level` or a logger name (logging).
    pub key: String,
    /// Error or warning.
    pub severity: Severity,
    /// One line.
    pub summary: String,
    /// What happened and what to do.
    pub detail: String,
}

impl Issue {
    /// An error on `key`.
    pub fn error(key: &str, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
        }
    }

    /// A warning on `key`.
    pub fn warning(key: &str, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            severity: Severity::Warning,
            summary: summary.into(),
            detail: detail.into(),
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
