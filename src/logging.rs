//! Structured logs on stderr in go-plugin's JSON line format (`@level`, `@message`, `@timestamp`,
//! `@module` and fields), so Terraform shows them with their level under `TF_LOG`. The level comes
//! from `TF_LOG_PROVIDER_FLINK`, else `TF_LOG_PROVIDER`, else `TF_LOG`. Values of resources are
//! never logged, so no secret can reach a log line.

use std::io::Write;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{filter::LevelFilter, Layer};

/// Installs the stderr logger; safe to call once per process.
pub fn init() {
    let level = ["TF_LOG_PROVIDER_FLINK", "TF_LOG_PROVIDER", "TF_LOG"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
        .map_or(LevelFilter::WARN, |v| level_filter(&v));
    // Only this crate logs at the requested level: the HTTP, TLS and Kubernetes client crates stay
    // at warnings, so request bodies (which can carry Secret data) never reach a log line.
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(LevelFilter::WARN.min(level))
        .with_target("flink_provider", level);
    let _ = tracing_subscriber::registry()
        .with(HclogLayer.with_filter(filter))
        .try_init();
}

fn level_filter(setting: &str) -> LevelFilter {
    match setting.to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => LevelFilter::TRACE,
        "DEBUG" => LevelFilter::DEBUG,
        "INFO" => LevelFilter::INFO,
        "WARN" => LevelFilter::WARN,
        "ERROR" => LevelFilter::ERROR,
        "OFF" => LevelFilter::OFF,
        _ => LevelFilter::TRACE,
    }
}

struct HclogLayer;

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let line = hclog_line(event, now_rfc3339());
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{line}");
    }
}

/// The time in hclog's JSON layout (Go's `2006-01-02T15:04:05.000000Z07:00`): go-plugin parses a
/// plugin's line as a log entry, at its level, only when `@timestamp` has exactly this form; any
/// other line (nanoseconds, as RFC 3339 formatting gives) it passes on as raw text at DEBUG, so
/// `TF_LOG=info` showed none of the provider's lines (seen with Terraform 1.11.4).
fn now_rfc3339() -> String {
    const LAYOUT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(LAYOUT)
        .unwrap_or_default()
}

fn hclog_line(event: &Event<'_>, timestamp: String) -> String {
    let meta = event.metadata();
    let mut fields = FieldCollector(serde_json::Map::new());
    event.record(&mut fields);
    let mut line = fields.0;
    let message = line.remove("message").unwrap_or_default();
    line.insert("@level".into(), level_name(*meta.level()).into());
    line.insert("@message".into(), message);
    line.insert("@module".into(), "provider.flink".into());
    line.insert("@timestamp".into(), timestamp.into());
    serde_json::Value::Object(line).to_string()
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

struct FieldCollector(serde_json::Map<String, serde_json::Value>);

impl Visit for FieldCollector {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    struct Capture(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Capture {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            self.0.lock().unwrap().push(hclog_line(event, "T".into()));
        }
    }

    #[test]
    fn lines_are_hclog_json() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Capture(lines.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(resource = "flink_deployment", "applied");
        });
        let line: serde_json::Value = serde_json::from_str(&lines.lock().unwrap()[0]).unwrap();
        assert_eq!(line["@level"], "info");
        assert_eq!(line["@message"], "applied");
        assert_eq!(line["@module"], "provider.flink");
        assert_eq!(line["resource"], "flink_deployment");
    }

    #[test]
    fn timestamps_have_hclogs_microseconds() {
        let stamp = now_rfc3339();
        let (seconds, fraction) = stamp.split_once('.').unwrap();
        assert_eq!(seconds.len(), "2006-01-02T15:04:05".len(), "{stamp}");
        assert_eq!(fraction.len(), "000000Z".len(), "{stamp}");
        assert!(fraction.ends_with('Z'), "{stamp}");
    }

    #[test]
    fn terraform_levels_map() {
        assert_eq!(level_filter("debug"), LevelFilter::DEBUG);
        assert_eq!(level_filter("JSON"), LevelFilter::TRACE);
        assert_eq!(level_filter("off"), LevelFilter::OFF);
    }
}
