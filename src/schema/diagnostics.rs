//! Diagnostics: errors and warnings with a summary, a detail that says what to do, and the path of
//! the attribute that caused them. Every failure a user can cause ends up as one of these.

use std::fmt;

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// The diagnostics with each kind bounded: past [`SUMMARISE_PAST`] of one kind (severity and
    /// summary, quoted values aside) the first [`SHOWN_PER_KIND`] stay as they are and one more
    /// counts the rest and names them, on the path they share. Terraform's cost grows with the
    /// number of diagnostics far faster than ours (5,000 unknown keys took a plan over 300 s),
    /// and nobody reads the 5,000th.
    pub fn summarised(self) -> Diagnostics {
        let mut counts: std::collections::HashMap<(Severity, String), usize> = Default::default();
        for d in &self.0 {
            *counts.entry((d.severity, kind_of(&d.summary))).or_default() += 1;
        }
        if counts.values().all(|n| *n <= SUMMARISE_PAST) {
            return self;
        }
        // Each summarised kind's place: after its last diagnostic shown, as an index into `rest`.
        let mut out: Vec<Result<Diagnostic, usize>> = Vec::new();
        let mut rest: Vec<((Severity, String), Vec<Diagnostic>)> = Vec::new();
        let mut seen: std::collections::HashMap<(Severity, String), usize> = Default::default();
        for d in self.0 {
            let kind = (d.severity, kind_of(&d.summary));
            if counts[&kind] <= SUMMARISE_PAST {
                out.push(Ok(d));
                continue;
            }
            let n = seen.entry(kind.clone()).or_default();
            *n += 1;
            if *n <= SHOWN_PER_KIND {
                out.push(Ok(d));
                if *n == SHOWN_PER_KIND {
                    out.push(Err(rest.len()));
                    rest.push((kind, Vec::new()));
                }
            } else if let Some((_, list)) = rest.iter_mut().find(|(k, _)| *k == kind) {
                list.push(d);
            }
        }
        let mut summaries: Vec<Option<Diagnostic>> = rest
            .into_iter()
            .map(|(_, list)| Some(summary_of(list)))
            .collect();
        Diagnostics(
            out.into_iter()
                .filter_map(|d| match d {
                    Ok(d) => Some(d),
                    Err(i) => summaries.get_mut(i).and_then(Option::take),
                })
                .collect(),
        )
    }
}

/// Diagnostics of one kind shown one by one before the rest are summarised.
pub const SHOWN_PER_KIND: usize = 20;
/// Diagnostics of one kind reported one by one when there are no more than this.
pub const SUMMARISE_PAST: usize = 30;
/// How much of the summarised diagnostics' paths the summary lists.
const LISTED_BYTES: usize = 2000;

/// The kind of a summary: the summary with every double-quoted part (a value, a key) blanked, so
/// that `Invalid label key "a"` and `Invalid label key "b"` are one kind.
fn kind_of(summary: &str) -> String {
    let mut kind = String::with_capacity(summary.len());
    let mut quoted = false;
    let mut escaped = false;
    for c in summary.chars() {
        match (quoted, c) {
            (true, '\\') if !escaped => escaped = true,
            (true, '"') if !escaped => {
                quoted = false;
                kind.push_str("…\"");
            }
            (true, _) => escaped = false,
            (false, '"') => {
                quoted = true;
                kind.push('"');
            }
            (false, c) => kind.push(c),
        }
    }
    kind
}

/// One diagnostic standing for `list` (all of one kind): their count, their paths (or
/// summaries) truncated, on the path they all share.
fn summary_of(list: Vec<Diagnostic>) -> Diagnostic {
    let severity = list.first().map_or(Severity::Error, |d| d.severity);
    let kind = list
        .first()
        .map(|d| kind_of(&d.summary))
        .unwrap_or_default();
    let shared = list
        .iter()
        .map(|d| d.path.clone().unwrap_or_default())
        .reduce(|a, b| {
            AttributePath(
                a.0.into_iter()
                    .zip(b.0)
                    .take_while(|(x, y)| x == y)
                    .map(|(x, _)| x)
                    .collect(),
            )
        })
        .filter(|p| !p.0.is_empty());
    let mut listed = String::new();
    let mut named = 0;
    for d in &list {
        let name = match &d.path {
            Some(p) if !p.0.is_empty() => p.to_string(),
            _ => d.summary.clone(),
        };
        if listed.len() + name.len() > LISTED_BYTES {
            break;
        }
        if !listed.is_empty() {
            listed.push_str(", ");
        }
        listed.push_str(&name);
        named += 1;
    }
    let unnamed = list.len() - named;
    let tail = if unnamed > 0 {
        format!(", and {unnamed} more")
    } else {
        String::new()
    };
    Diagnostic {
        severity,
        summary: format!("{kind}: {} more", list.len()),
        detail: format!(
            "{} more like the {SHOWN_PER_KIND} above, not shown one by one: {listed}{tail}. \
             Fix the ones above, and the same applies to these.",
            list.len()
        ),
        path: shared,
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

    fn unknown_keys(n: usize) -> Diagnostics {
        let mut diags = Diagnostics::default();
        for i in 0..n {
            diags.attribute_error(
                AttributePath::root("flink_configuration").key(&format!("unknown.key-{i}")),
                "Unknown Flink option",
                format!("Flink 2.3 defines no option `unknown.key-{i}`."),
            );
        }
        diags
    }

    #[test]
    fn few_diagnostics_stay_as_they_are() {
        let diags = unknown_keys(SUMMARISE_PAST);
        assert_eq!(diags.clone().summarised(), diags);
    }

    #[test]
    fn many_of_one_kind_are_bounded_and_counted() {
        for n in [SUMMARISE_PAST + 1, 1_000, 5_000] {
            let mut diags = unknown_keys(n);
            diags.warning("Other", "kept");
            let out = diags.summarised();
            assert_eq!(out.0.len(), SHOWN_PER_KIND + 2, "{n}");
            let summary = &out.0[SHOWN_PER_KIND];
            assert_eq!(
                summary.summary,
                format!("Unknown Flink option: {} more", n - SHOWN_PER_KIND)
            );
            assert_eq!(
                summary.path,
                Some(AttributePath::root("flink_configuration"))
            );
            assert!(summary.detail.contains(&format!(
                "flink_configuration[\"unknown.key-{SHOWN_PER_KIND}\"]"
            )));
            assert!(
                summary.detail.len() < LISTED_BYTES + 300,
                "{}",
                summary.detail.len()
            );
            assert!(out.0[..SHOWN_PER_KIND]
                .iter()
                .all(|d| d.summary == "Unknown Flink option"));
            assert_eq!(out.0[SHOWN_PER_KIND + 1].summary, "Other");
        }
        let detail = &unknown_keys(5_000).summarised().0[SHOWN_PER_KIND].detail;
        assert!(detail.ends_with(" more. Fix the ones above, and the same applies to these."));
    }

    #[test]
    fn kinds_ignore_quoted_values() {
        assert_eq!(
            kind_of("Invalid label key \"a b\""),
            "Invalid label key \"…\""
        );
        assert_eq!(kind_of(r#"Invalid "a\"b" here"#), "Invalid \"…\" here");
        let mut diags = Diagnostics::default();
        for i in 0..100 {
            diags.attribute_error(
                AttributePath::root("pod")
                    .attr("labels")
                    .key(&format!("bad {i}")),
                format!("Invalid label key \"bad {i}\""),
                "d",
            );
        }
        let out = diags.summarised();
        assert_eq!(out.0.len(), SHOWN_PER_KIND + 1);
        assert_eq!(
            out.0[SHOWN_PER_KIND].summary,
            "Invalid label key \"…\": 80 more"
        );
        assert_eq!(
            out.0[SHOWN_PER_KIND].path.as_ref().unwrap().to_string(),
            "pod.labels"
        );
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
