//! A user's JSON log layout against the jars each release's image has: for every supported
//! version, `Log4jProbe` logs a line with a `log4j-console.properties` that uses
//! `JsonTemplateLayout` (the ECS template) or log4j-core's `JsonLayout`, on the classpath of
//! that release's `lib/`. The line comes out as JSON exactly where the provider's plan does not
//! warn about the layout (`flink::logging::layout_issues`).

use std::path::Path;
use std::process::Command;

use flink_provider::flink::logging::layout_issues;
use flink_provider::flink::FlinkVersion;

use crate::support::flink_home;

const TEMPLATE_LAYOUT: &str = "rootLogger.level = INFO
rootLogger.appenderRef.console.ref = ConsoleAppender
appender.console.name = ConsoleAppender
appender.console.type = CONSOLE
appender.console.layout.type = JsonTemplateLayout
appender.console.layout.eventTemplateUri = classpath:EcsLayout.json
";

const JACKSON_LAYOUT: &str = "rootLogger.level = INFO
rootLogger.appenderRef.console.ref = ConsoleAppender
appender.console.name = ConsoleAppender
appender.console.type = CONSOLE
appender.console.layout.type = JsonLayout
appender.console.layout.compact = true
appender.console.layout.eventEol = true
";

/// What the probe printed to stdout, logging through `config` with `lib`'s jars.
fn probe(lib: &Path, work: &Path, config: &str) -> String {
    let file = work.join("log4j-console.properties");
    std::fs::write(&file, config).unwrap();
    let out = Command::new("java")
        .arg(format!("-Dlog4j.configurationFile=file:{}", file.display()))
        .arg("-cp")
        .arg(format!("{}/*:{}", lib.display(), work.display()))
        .args(["Log4jProbe", "json-layout"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn logged_json(stdout: &str) -> bool {
    stdout.lines().any(|l| {
        serde_json::from_str::<serde_json::Value>(l)
            .is_ok_and(|j| j.to_string().contains("probe json-layout"))
    })
}

#[test]
fn json_layouts_log_json_exactly_where_the_plan_does_not_warn() {
    let work = std::env::temp_dir().join(format!("realflink-log4j-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let source = work.join("Log4jProbe.java");
    std::fs::write(&source, include_str!("Log4jProbe.java")).unwrap();
    let mut wrong = Vec::new();
    for version in FlinkVersion::ALL {
        let lib = flink_home(version.tested_patch()).join("lib");
        if !work.join("Log4jProbe.class").exists() {
            let javac = Command::new("javac")
                .args(["-nowarn", "-d"])
                .arg(&work)
                .arg("-cp")
                .arg(format!("{}/*", lib.display()))
                .arg(&source)
                .output()
                .unwrap();
            assert!(
                javac.status.success(),
                "javac Log4jProbe: {}",
                String::from_utf8_lossy(&javac.stderr)
            );
        }
        for (name, config) in [
            ("JsonTemplateLayout", TEMPLATE_LAYOUT),
            ("JsonLayout", JACKSON_LAYOUT),
        ] {
            let logs_json = logged_json(&probe(&lib, &work, config));
            let warned = !layout_issues(config, version).is_empty();
            eprintln!("{version} {name}: logs JSON {logs_json}, plan warns {warned}");
            if logs_json == warned {
                wrong.push(format!(
                    "{version} {name}: logs JSON {logs_json}, yet the plan warns {warned}"
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    assert!(wrong.is_empty(), "{wrong:#?}");
}
