//! Renders `log4j-console.properties` (log4j2 properties, the file the official image's JobManager
//! and TaskManagers read) from a root level and per-logger levels: console output for
//! `kubectl logs` and Flink's rolling log file for the web UI, like the distribution's default.
//! A user's whole file is taken as written, after the checks [`check_log4j_properties`] can make
//! without running log4j: that Java's `Properties.load` reads it at all.

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

/// The input a user's whole file is reported on.
pub const LOG4J_PROPERTIES_KEY: &str = "log4j_properties";

/// The findings on a user's `log4j-console.properties`. log4j2 reads the file with
/// `java.util.Properties.load(InputStream)`, which takes any text but a malformed `\uXXXX`
/// escape (an `IllegalArgumentException` that leaves Flink on log4j's default configuration) and
/// reads bytes as ISO-8859-1; the file's name, not its content, makes log4j parse it as
/// properties, so an XML or JSON log4j configuration would be read as nonsense keys. Lines are
/// counted as a text editor counts them.
pub fn check_log4j_properties(text: &str) -> Vec<Issue> {
    let mut issues = Vec::new();
    let error = |line: usize, summary: &str, detail: String| {
        Issue::error(
            LOG4J_PROPERTIES_KEY,
            summary,
            format!("Line {line}: {detail}"),
        )
    };
    let mut first_entry = true;
    let mut non_ascii = None;
    let mut continued = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let content = if continued {
            line.trim_start()
        } else {
            let trimmed = line.trim_start_matches([' ', '\t', '\x0c']);
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
                continue;
            }
            if first_entry {
                first_entry = false;
                let format = if trimmed.starts_with('<') {
                    Some("XML")
                } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
                    Some("JSON")
                } else {
                    None
                };
                if let Some(format) = format {
                    issues.push(error(
                        number,
                        "Logging file is not Java properties",
                        format!(
                            "this looks like a log4j {format} configuration, but Flink's images \
                             read conf/log4j-console.properties as Java properties (the file's \
                             name decides). Write it in log4j2's properties format \
                             (rootLogger.level = INFO, appender.console.type = Console, ...)."
                        ),
                    ));
                    return issues;
                }
            }
            trimmed
        };
        if let Some(problem) = escape_problem(content) {
            issues.push(error(
                number,
                "Logging file is not Java properties",
                format!(
                    "{problem}; Java's Properties.load rejects the whole file, and log4j falls \
                     back to its default configuration (errors only, to the console). Write a \
                     Unicode escape as \\u followed by four hexadecimal digits, or a literal \
                     backslash as \\\\."
                ),
            ));
        }
        if non_ascii.is_none() && !content.is_ascii() {
            non_ascii = Some(number);
        }
        // A line ending in an odd number of backslashes continues on the next one.
        let backslashes = content.chars().rev().take_while(|c| *c == '\\').count();
        continued = backslashes % 2 == 1;
    }
    if let Some(line) = non_ascii {
        issues.push(Issue::warning(
            LOG4J_PROPERTIES_KEY,
            "Logging file is read as ISO-8859-1",
            format!(
                "Line {line}: log4j reads the file as ISO-8859-1 bytes, and Kubernetes mounts it \
                 as UTF-8, so characters beyond ASCII come out garbled in patterns and names. Write them as \\uXXXX escapes."
            ),
        ));
    }
    issues
}

/// The findings on the layouts a user's file names against the jars of `version`'s image
/// (measured with each release's `lib/`, `tests/realflink_config`): log4j-core's `JsonLayout`
/// needs Jackson, which Flink keeps shaded, so it fails on every release; `JsonTemplateLayout`
/// comes in `log4j-layout-template-json`, which `lib/` has from Flink 2.1 on. Either way log4j
/// drops the appender and the pods log nothing through it, so the plan warns (a custom image
/// may add the jars).
pub fn layout_issues(text: &str, version: super::FlinkVersion) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some((key, value)) = line.split_once(['=', ':']) else {
            continue;
        };
        let key = key.trim();
        let layout = value.trim();
        if !(key.starts_with("appender.") && key.ends_with(".layout.type")) {
            continue;
        }
        let appender = key
            .strip_prefix("appender.")
            .and_then(|k| k.strip_suffix(".layout.type"))
            .unwrap_or_default();
        let missing = if layout.eq_ignore_ascii_case("JsonLayout") {
            Some((
                "Jackson (jackson-databind), which no Flink image has in lib/ (Flink shades its own)",
                "Use JsonTemplateLayout (eventTemplateUri = classpath:EcsLayout.json) on Flink 2.1 or later",
            ))
        } else if layout.eq_ignore_ascii_case("JsonTemplateLayout")
            && version < super::FlinkVersion::V2_1
        {
            Some((
                "the jar log4j-layout-template-json, which Flink's lib/ has only from 2.1 on",
                "Use Flink 2.1 or later",
            ))
        } else {
            None
        };
        if let Some((needs, instead)) = missing {
            issues.push(Issue::warning(
                LOG4J_PROPERTIES_KEY,
                format!("{layout} cannot load in Flink {version}'s image"),
                format!(
                    "Line {}: the appender {appender:?} uses {layout}, which needs {needs}.                      log4j then drops the appender, and the pods log nothing through it.                      {instead}, add the jar to lib/ in an image of your own, or use a                      PatternLayout.",
                    index + 1
                ),
            ));
        }
    }
    issues
}

/// What `Properties.load` rejects in one line: a `\u` not followed by four hexadecimal digits.
fn escape_problem(line: &str) -> Option<String> {
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            continue;
        }
        // Besides `\u`, an escaped character stands for itself (or \t, \n, \r, \f).
        if chars.next() == Some('u') {
            let digits: String = chars
                .clone()
                .take(4)
                .take_while(char::is_ascii_hexdigit)
                .collect();
            if digits.len() < 4 {
                return Some(format!("malformed Unicode escape \\u{digits}"));
            }
            for _ in 0..4 {
                chars.next();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_layouts_are_warned_of_where_the_image_lacks_their_jars() {
        use crate::flink::FlinkVersion;
        let template = "appender.console.type = Console\n\
                        appender.console.layout.type = JsonTemplateLayout\n";
        assert!(layout_issues(template, FlinkVersion::V2_1).is_empty());
        let old = layout_issues(template, FlinkVersion::V1_20);
        assert_eq!(old.len(), 1, "{old:?}");
        assert!(
            old[0]
                .detail
                .starts_with("Line 2: the appender \"console\""),
            "{old:?}"
        );
        assert!(old[0].detail.contains("from 2.1 on"), "{old:?}");
        let jackson = layout_issues(
            "appender.json.layout.type: JsonLayout\n",
            FlinkVersion::V2_3,
        );
        assert_eq!(jackson.len(), 1);
        assert!(
            jackson[0].detail.contains("jackson-databind"),
            "{jackson:?}"
        );
        assert!(layout_issues(
            "appender.c.layout.type = PatternLayout\n",
            FlinkVersion::V1_19
        )
        .is_empty());
    }

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

    #[test]
    fn a_users_file_is_checked_as_java_reads_it() {
        let good = "# JSON logs\nrootLogger.level = INFO\nrootLogger.appenderRef.c.ref = C\n\
                    appender.c.name = C\nappender.c.type = Console\n\
                    appender.c.layout.type = JsonTemplateLayout\n\
                    appender.c.layout.eventTemplateUri = classpath:EcsLayout.json\n\
                    logger.a.name = org.apache.flink\\\n    .runtime\nlogger.a.level = DEBUG\n\
                    path = C:\\\\logs\\u00e9\n";
        assert_eq!(check_log4j_properties(good), []);
        let bad = "rootLogger.level = INFO\n\n# \\uZZ in a comment is fine\n\
                   appender.c.layout.pattern = %d \\u12 %m%n\n";
        let [issue] = check_log4j_properties(bad).try_into().unwrap();
        assert!(issue.is_error());
        assert_eq!(issue.key, LOG4J_PROPERTIES_KEY);
        assert!(
            issue
                .detail
                .starts_with("Line 4: malformed Unicode escape \\u12"),
            "{}",
            issue.detail
        );
        // A continuation line is part of the entry before it, even when it starts like a comment.
        let continued = "a = x\\\n  # \\uXYZW\n";
        assert!(check_log4j_properties(continued)[0]
            .detail
            .starts_with("Line 2:"));
    }

    #[test]
    fn xml_or_json_logging_files_are_refused_and_non_ascii_warned() {
        for text in [
            "<?xml version=\"1.0\"?>\n<Configuration status=\"WARN\">\n",
            "# comment\n\n{\"configuration\": {}}\n",
        ] {
            let [issue] = check_log4j_properties(text).try_into().unwrap();
            assert!(
                issue.is_error() && issue.detail.contains("properties format"),
                "{issue:?}"
            );
        }
        let [warning] = check_log4j_properties("a = ok\nappender.c.layout.pattern = → %m%n\n")
            .try_into()
            .unwrap();
        assert!(!warning.is_error());
        assert!(warning.detail.starts_with("Line 2:"), "{}", warning.detail);
    }
}
