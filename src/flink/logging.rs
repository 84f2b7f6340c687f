//! Renders `log4j-console.properties` (log4j2 properties, the file the official image's JobManager
//! and TaskManagers read) from a root level and per-logger levels: console output for
//! `kubectl logs` and Flink's rolling log file for the web UI, like the distribution's default.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::issue::Issue;

/// log4j2 level names.
pub const LEVELS: &[&str] = &[
    "OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL",
];

/// The normalised level (upper case) or an issue on `key`.
fn level(key: &str, value: &str) -> Result<&'static str, Issue> {
    LEVELS
        .iter()
        .copied()
        .find(|l| l.eq_ignore_ascii_case(value.trim()))
        .ok_or_else(|| {
            Issue::error(
                key,
                "Invalid log level",
                format!(
                    "{value:?} is no log level; use one of {}.",
                    LEVELS.join(", ")
                ),
            )
        })
}

fn valid_logger_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._$-".contains(c))
}

/// The properties text for `root_level` and `loggers` (logger name -> level), or the issues found.
pub fn render_log4j_console(
    root_level: &str,
    loggers: &BTreeMap<String, String>,
) -> Result<String, Vec<Issue>> {
    let mut issues = Vec::new();
    let root = level("root_level", root_level)
        .map_err(|e| issues.push(e))
        .ok();
    let mut lines = Vec::new();
    for (name, lvl) in loggers {
        if !valid_logger_name(name) {
            issues.push(Issue::error(
                name,
                "Invalid logger name",
                format!("{name:?} is no logger name: use a Java package or class name."),
            ));
            continue;
        }
        if let Ok(l) = level(name, lvl).map_err(|e| issues.push(e)) {
            lines.push((name.as_str(), l));
        }
    }
    let (Some(root), true) = (root, issues.is_empty()) else {
        return Err(issues);
    };
    let mut s = String::from(
        "# Rendered by terraform-provider-flink.\n\
         monitorInterval = 30\n\
         rootLogger.level = ",
    );
    s.push_str(root);
    s.push_str(
        "\nrootLogger.appenderRef.console.ref = ConsoleAppender\n\
         rootLogger.appenderRef.rolling.ref = RollingFileAppender\n\n\
         # Noisy libraries, as in Flink's default.\n\
         logger.pekko.name = org.apache.pekko\nlogger.pekko.level = INFO\n\
         logger.kafka.name = org.apache.kafka\nlogger.kafka.level = INFO\n\
         logger.hadoop.name = org.apache.hadoop\nlogger.hadoop.level = WARN\n\
         logger.zookeeper.name = org.apache.zookeeper\nlogger.zookeeper.level = INFO\n\
         logger.shaded_zookeeper.name = org.apache.flink.shaded.zookeeper3\nlogger.shaded_zookeeper.level = INFO\n\
         logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline\nlogger.netty.level = OFF\n",
    );
    if !lines.is_empty() {
        s.push_str("\n# User loggers.\n");
    }
    for (i, (name, l)) in lines.iter().enumerate() {
        let _ = write!(
            s,
            "logger.user{i}.name = {name}\nlogger.user{i}.level = {l}\n"
        );
    }
    s.push_str(
        "\nappender.console.name = ConsoleAppender\n\
         appender.console.type = CONSOLE\n\
         appender.console.layout.type = PatternLayout\n\
         appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n\n\n\
         appender.rolling.name = RollingFileAppender\n\
         appender.rolling.type = RollingFile\n\
         appender.rolling.append = true\n\
         appender.rolling.fileName = ${sys:log.file}\n\
         appender.rolling.filePattern = ${sys:log.file}.%i\n\
         appender.rolling.layout.type = PatternLayout\n\
         appender.rolling.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n\n\
         appender.rolling.policies.type = Policies\n\
         appender.rolling.policies.size.type = SizeBasedTriggeringPolicy\n\
         appender.rolling.policies.size.size = 100MB\n\
         appender.rolling.policies.startup.type = OnStartupTriggeringPolicy\n\
         appender.rolling.strategy.type = DefaultRolloverStrategy\n\
         appender.rolling.strategy.max = ${env:MAX_LOG_FILE_NUMBER:-10}\n",
    );
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_levels_in_order() {
        let loggers: BTreeMap<String, String> = [
            ("org.apache.flink.runtime", "debug"),
            ("com.example", "WARN"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = render_log4j_console("info", &loggers).unwrap();
        assert!(s.contains("rootLogger.level = INFO\n"));
        assert!(s.contains("logger.user0.name = com.example\nlogger.user0.level = WARN\n"));
        assert!(s.contains(
            "logger.user1.name = org.apache.flink.runtime\nlogger.user1.level = DEBUG\n"
        ));
        assert_eq!(s, render_log4j_console("INFO", &loggers).unwrap());
    }

    #[test]
    fn rejects_bad_levels_and_names() {
        let loggers: BTreeMap<String, String> = [("a b", "INFO"), ("ok.logger", "LOUD")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let e = render_log4j_console("verbose", &loggers).unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e
            .iter()
            .any(|i| i.key == "root_level" && i.detail.contains("DEBUG")));
    }
}
