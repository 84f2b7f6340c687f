//! Terraform's `timeouts` convention (`timeouts = { create = "30m", update = "1h" }`, with Go
//! durations as terraform-plugin-framework-timeouts reads them): the attribute, and the deadline
//! an operation's waits stay within. A wait's own setting (e.g. `savepoint_timeout`) still bounds
//! it; whichever ends first ends it, and the message names that one.

use crate::schema::{Attribute, Validator};
use crate::value::{Attr, Value};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// `timeouts`, per operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeouts {
    #[serde(default)]
    pub create: Attr<String>,
    #[serde(default)]
    pub update: Attr<String>,
    #[serde(default)]
    pub delete: Attr<String>,
}

/// The operations a `timeouts` attribute can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// The `timeouts` attribute; `what` says what each operation includes.
pub fn attribute(what: &str) -> Attribute {
    let operation = |name: &'static str| {
        Attribute::string(name)
            .optional()
            .validate(Validator::Custom {
                doc: "A Go duration such as `30m`, `1h30m` or `90s`.",
                check: duration_check,
            })
            .description(format!(
                "How long `{name}` may take in all (a Go duration such as `30m` or `1h30m`). No \
                 limit beyond the waits' own when unset."
            ))
    };
    Attribute::single_nested(
        "timeouts",
        vec![
            operation("create"),
            operation("update"),
            operation("delete"),
        ],
    )
    .optional()
    .apply_setting()
    .description(format!(
        "Terraform's operation timeouts. Each bounds its whole operation: {what}. When one runs \
         out, the operation fails, saying which, and what was applied stays recorded in state. \
         Ctrl-C in Terraform ends the operation the same way within seconds, whatever is left."
    ))
}

/// A Go duration (`time.ParseDuration`): a sequence of decimal numbers with units `ns`, `us`
/// (`µs`), `ms`, `s`, `m`, `h`, e.g. `1h30m`, `1.5h`, `90s`. No sign: a timeout cannot be negative.
pub fn go_duration(text: &str) -> Option<Duration> {
    const UNITS: &[(&str, f64)] = &[
        ("ns", 1e-9),
        ("us", 1e-6),
        ("µs", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
    ];
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut seconds = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (_, scale) = UNITS.iter().find(|(u, _)| *u == &rest[..unit_len])?;
        seconds += number * scale;
        rest = &rest[unit_len..];
    }
    (!text.is_empty() && seconds.is_finite()).then(|| Duration::from_secs_f64(seconds))
}

fn duration_check(value: &Value) -> Result<(), (String, String)> {
    match value.as_str() {
        Some(v) if go_duration(v).is_none() => Err((
            format!("Invalid timeout {v:?}"),
            "Give a Go duration, e.g. 30m, 1h30m or 90s.".into(),
        )),
        _ => Ok(()),
    }
}

/// The end of an operation: set here from `timeouts`, carried down by the work of the operation.
pub use crate::deadline::Deadline;

impl Deadline {
    /// The deadline of `operation` under `timeouts`, counted from now.
    pub fn start(timeouts: &Attr<Timeouts>, operation: Operation) -> Deadline {
        let text = timeouts.known().and_then(|t| match operation {
            Operation::Create => t.create.known(),
            Operation::Update => t.update.known(),
            Operation::Delete => t.delete.known(),
        });
        let end = text.and_then(|text| {
            let duration = go_duration(text)?;
            Some(Deadline::at(
                Instant::now() + duration,
                format!("timeouts.{} = {text:?}", operation.name()),
            ))
        });
        end.unwrap_or_default()
    }

    /// A wait bounded by its own setting (`step`, named `step_name`) and by what is left.
    pub fn limit(&self, step: Duration, step_name: &str) -> Limit {
        let duration = self.cap(step);
        let name = match self.setting() {
            Some(setting) if duration < step => setting.to_string(),
            _ => step_name.to_string(),
        };
        Limit { duration, name }
    }
}

/// How long a wait may take, and the setting that says so: the JobManager client's own type.
pub use crate::jobmanager::Limit;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_read_as_terraform_reads_them() {
        assert_eq!(go_duration("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(go_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "30", "10 min", "m", "1x", "-5m", "1h 30m"] {
            assert_eq!(go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_nearer_end_bounds_a_wait_and_names_itself() {
        let timeouts = Attr::Known(Timeouts {
            update: Attr::Known("2m".into()),
            ..Timeouts::default()
        });
        let update = Deadline::start(&timeouts, Operation::Update);
        let short = update.limit(Duration::from_secs(60), "savepoint_timeout");
        assert_eq!(
            short,
            Limit::of(Duration::from_secs(60), "savepoint_timeout")
        );
        let long = update.limit(Duration::from_secs(600), "wait_timeout");
        assert_eq!(long.name, "timeouts.update = \"2m\"");
        assert!(
            long.duration <= Duration::from_secs(120) && long.duration > Duration::from_secs(110)
        );
        let create = Deadline::start(&timeouts, Operation::Create);
        assert_eq!(
            create.limit(Duration::from_secs(600), "wait_timeout").name,
            "wait_timeout"
        );
    }
}
