//! Diagnostics: errors and warnings with a summary, a detail that says what to do, and the path of
//! the attribute that caused them. Every failure a user can cause ends up as one of these.

use std::fmt;

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Stops the operation.
    Error,
    /// Shown, does not stop.
    Warning,
}

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// An attribute of an object.
    Attribute(String),
    /// A key of a map.
    Key(String),
    /// An index of a list.
    Index(i64),
}

/// The path to an attribute, e.g. `zookeeper.quorum[1]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The path of a top-level attribute.
    pub fn root(name: &str) -> Self {
        AttributePath(vec![PathStep::Attribute(name.to_string())])
    }
    /// This path, then an attribute.
    pub fn attr(&self, name: &str) -> Self {
        self.with(PathStep::Attribute(name.to_string()))
    }
    /// This path, then a map key.
    pub fn key(&self, key: &str) -> Self {
        self.with(PathStep::Key(key.to_string()))
    }
    /// This path, then a list index.
    pub fn index(&self, index: usize) -> Self {
        self.with(PathStep::Index(i64::try_from(index).unwrap_or(i64::MAX)))
    }
    fn with(&self, step: PathStep) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        AttributePath(steps)
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => write!(f, "{name}")?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::Key(key) => write!(f, "[{key:?}]")?,
                PathStep::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// An error or warning for the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// One line.
    pub summary: String,
    /// What happened and what to do.
    pub detail: String,
    /// The attribute at fault, if one is.
    pub path: Option<AttributePath>,
}

/// The diagnostics of one operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Adds an error.
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Error, summary, detail, None);
    }
    /// Adds an error on an attribute.
    pub fn attribute_error(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Severity::Error, summary, detail, Some(path));
    }
    /// Adds a warning.
    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Severity::Warning, summary, detail, None);
    }
    /// Adds a warning on an attribute.
    pub fn attribute_warning(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Severity::Warning, summary, detail, Some(path));
    }
    fn push(
        &mut self,
        severity: Severity,
        summary: impl Into<String>,
        detail: impl Into<String>,
        path: Option<AttributePath>,
    ) {
        self.0.push(Diagnostic {
            severity,
            summary: summary.into(),
            detail: detail.into(),
            path,
        });
    }
    /// Whether any error was added.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    /// Appends another set.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_terraform_addresses() {
        let path = AttributePath::root("zookeeper").attr("quorum").index(1);
        assert_eq!(path.to_string(), "zookeeper.quorum[1]");
        let key = AttributePath::root("flink_configuration").key("a.b");
        assert_eq!(key.to_string(), "flink_configuration[\"a.b\"]");
    }

    #[test]
    fn errors_are_counted_warnings_are_not() {
        let mut diags = Diagnostics::default();
        diags.warning("w", "d");
        assert!(!diags.has_errors());
        diags.attribute_error(AttributePath::root("x"), "e", "d");
        assert!(diags.has_errors());
    }
}
