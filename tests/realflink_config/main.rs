//! Real Flink reads our rendered `config.yaml` as we mean it: for Flink 1.20.5 and 2.3.0, render a
//! configuration (blob storage on `file://`, no HA, user keys of several types, a pinned job id),
//! start a real session JobManager on it with the Java options the configuration carries and our
//! `log4j-console.properties`, and compare `GET /jobmanager/config` with every key we rendered
//! (durations, memory sizes, booleans and enums compared by meaning). Missing jars fail the test.
//! `entrypoint_args`: the JobManager's rendered arguments as each version's `standalone-job`
//! parser reads them. `log_layouts`: a JSON log layout loads with each release's jars exactly where
//! the plan does not warn.

// A test binary: a failed setup step should stop the test with its error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use flink_provider::flink::logging::render_log4j_console;
use flink_provider::flink::options::{Catalogue, OptionType};
use flink_provider::flink::render::{render, HighAvailability, ProcessResources, RenderInput};
use flink_provider::flink::values::{duration_nanos, memory_bytes};
use flink_provider::flink::FlinkVersion;

mod entrypoint_args;
mod log_layouts;
mod support;
mod typed;
use support::{flink_home, free_port, http_get, JobManager};
use typed::{assert_typed, assert_value_checks_agree, memory_params};

/// Whether Flink's value means what we rendered, by the option's type.
fn same_meaning(ty: Option<&OptionType>, ours: &str, flinks: &str) -> bool {
    match ty {
        Some(OptionType::Duration) => {
            duration_nanos(ours).is_some() && duration_nanos(ours) == duration_nanos(flinks)
        }
        Some(OptionType::MemorySize) => {
            memory_bytes(ours).is_some() && memory_bytes(ours) == memory_bytes(flinks)
        }
        Some(OptionType::Boolean) | Some(OptionType::Enum { .. }) => {
            ours.eq_ignore_ascii_case(flinks)
        }
        Some(OptionType::Double) => ours.parse::<f64>().ok() == flinks.parse::<f64>().ok(),
        _ => ours == flinks,
    }
}

fn check_version(version: FlinkVersion) {
    let home = flink_home(version.tested_patch());
    let lib = home.join("lib");
    let work = std::env::temp_dir().join(format!(
        "realflink-config-{}-{}",
        version.tested_patch(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&work);
    let conf = work.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    let (rest_port, rpc_port) = (free_port(), free_port());

    let user: BTreeMap<String, String> = [
        ("execution.checkpointing.interval", "10 s"),
        ("taskmanager.memory.managed.size", "256 mb"),
        ("jobmanager.execution.attempts-history-size", "20"),
        ("rest.flamegraph.enabled", "TRUE"),
        ("execution.checkpointing.mode", "at_least_once"),
        ("web.refresh-interval", "5min"),
        ("kubernetes.jobmanager.labels", "team:data,tier:gold"),
        ("pipeline.name", "orders: \"daily\" #1 on"),
        ("rest.address", "127.0.0.1"),
        ("rest.bind-address", "127.0.0.1"),
        ("rest.port", &rest_port.to_string()),
        ("jobmanager.rpc.address", "127.0.0.1"),
        ("jobmanager.bind-host", "127.0.0.1"),
        ("jobmanager.rpc.port", &rpc_port.to_string()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let input = RenderInput {
        version,
        namespace: "team-a".into(),
        deployment_id: "dep-realflink".into(),
        job_id: Some("0123456789abcdef0123456789abcdef".into()),
        user,
        from_secrets: Default::default(),
        parallelism: Some(3),
        task_slots: Some(2),
        jobmanager: ProcessResources {
            memory: Some("1600m".into()),
            cpu: Some(0.5),
        },
        taskmanager: ProcessResources {
            memory: Some("1728m".into()),
            cpu: Some(1.0),
        },
        blob_storage: Some(format!("file://{}", work.join("blobs").display())),
        high_availability: None,
        queryable_state: false,
        owned: BTreeMap::new(),
    };
    let rendered = render(&input);
    assert!(!rendered.has_errors(), "{version}: {:?}", rendered.issues);
    std::fs::write(conf.join("config.yaml"), &rendered.config_yaml).unwrap();
    let log4j = render_log4j_console("INFO", &BTreeMap::new()).unwrap();
    std::fs::write(conf.join("log4j-console.properties"), log4j).unwrap();

    assert_typed(version, &lib, &work, &conf, &rendered.configuration);
    memory_params(&home, &conf, version);

    let opens_key = ["env.java.default-opts.all", "env.java.opts.all"]
        .into_iter()
        .find(|k| rendered.configuration.contains_key(*k));
    let opens: Vec<String> = opens_key
        .map(|k| {
            rendered.configuration[k]
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    assert!(
        opens.iter().any(|o| o.starts_with("--add-opens")),
        "{version}: no Java module options rendered"
    );
    let log = work.join("jobmanager.out");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new("java")
        .arg("-Xmx512m")
        .args(&opens)
        .arg(format!(
            "-Dlog.file={}",
            work.join("jobmanager.log").display()
        ))
        .arg(format!(
            "-Dlog4j.configurationFile=file:{}",
            conf.join("log4j-console.properties").display()
        ))
        .arg("-cp")
        .arg(format!("{}/*", lib.display()))
        .arg("org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint")
        .arg("--configDir")
        .arg(&conf)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let mut jm = JobManager { child, log };

    let deadline = Instant::now() + Duration::from_secs(90);
    let body = loop {
        if let Some(status) = jm.child.try_wait().unwrap() {
            panic!(
                "{version}: JobManager exited with {status} (config rejected?):\n{}",
                jm.log_tail()
            );
        }
        match http_get(rest_port, "/jobmanager/config") {
            Ok((200, body)) => break body,
            _ if Instant::now() > deadline => panic!(
                "{version}: REST API did not answer in 90 s:\n{}",
                jm.log_tail()
            ),
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    };
    let entries: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let flink: BTreeMap<String, String> = entries
        .iter()
        .filter_map(|e| {
            Some((
                e["key"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect();
    let cat = Catalogue::of(version);
    let mut wrong = Vec::new();
    for (key, ours) in &rendered.configuration {
        match flink.get(key) {
            None => wrong.push(format!("{key}: missing (we rendered {ours:?})")),
            Some(theirs) if !same_meaning(cat.get(key).map(|s| &s.ty), ours, theirs) => {
                wrong.push(format!("{key}: Flink read {theirs:?}, we meant {ours:?}"))
            }
            Some(_) => {}
        }
    }
    eprintln!(
        "{version}: Flink read all {} rendered keys as meant, e.g.:",
        rendered.configuration.len()
    );
    for k in [
        "execution.checkpointing.interval",
        "taskmanager.memory.managed.size",
        "execution.checkpointing.mode",
        "pipeline.name",
        "$internal.pipeline.job-id",
    ] {
        eprintln!(
            "  {k}: ours {:?}, Flink {:?}",
            rendered.configuration.get(k),
            flink.get(k)
        );
    }
    assert!(
        wrong.is_empty(),
        "{version}: Flink misread {} keys:\n{}\n--- JobManager log tail ---\n{}",
        wrong.len(),
        wrong.join("\n"),
        jm.log_tail()
    );
    let file_log = std::fs::read_to_string(work.join("jobmanager.log")).unwrap_or_default();
    assert!(
        file_log.contains("StandaloneSessionClusterEntrypoint"),
        "{version}: our log4j-console.properties wrote no log file:\n{}",
        jm.log_tail()
    );
    drop(jm);
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn flink_reads_rendered_config_yaml_as_meant() {
    let handles: Vec<_> = [FlinkVersion::V1_20, FlinkVersion::V2_3]
        .into_iter()
        .map(|v| (v, std::thread::spawn(move || check_version(v))))
        .collect();
    let failed: Vec<String> = handles
        .into_iter()
        .filter_map(|(v, h)| h.join().err().map(|_| v.to_string()))
        .collect();
    assert!(
        failed.is_empty(),
        "real Flink check failed for {failed:?} (see the panics above)"
    );
}

/// Every supported version reads the full configuration (blob storage, ZooKeeper HA, Queryable
/// State, typed user keys) through its typed getters, and its launch scripts accept the memory.
#[test]
fn every_version_reads_the_full_configuration_typed() {
    for version in FlinkVersion::ALL {
        let home = flink_home(version.tested_patch());
        let work = std::env::temp_dir().join(format!(
            "realflink-typed-{}-{}",
            version.tested_patch(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&work);
        let conf = work.join("conf");
        std::fs::create_dir_all(&conf).unwrap();
        let mut user: BTreeMap<String, String> = [
            ("execution.checkpointing.interval", "1min"),
            ("taskmanager.memory.managed.fraction", "0.25"),
            ("restart-strategy.type", "fixed-delay"),
            ("restart-strategy.fixed-delay.attempts", "5"),
            ("execution.checkpointing.mode", "EXACTLY_ONCE"),
            ("metrics.reporter.prom.port", "9249"),
            ("containerized.master.env.TZ", "UTC"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if Catalogue::of(version).iso_durations {
            user.insert("execution.checkpointing.timeout".into(), "PT10M".into());
        }
        let input = RenderInput {
            version,
            namespace: "team-a".into(),
            deployment_id: "dep-typed".into(),
            job_id: Some("fedcba9876543210fedcba9876543210".into()),
            user,
            from_secrets: Default::default(),
            parallelism: Some(8),
            task_slots: Some(4),
            jobmanager: ProcessResources {
                memory: Some("2 gb".into()),
                cpu: Some(1.0),
            },
            taskmanager: ProcessResources {
                memory: Some("4096m".into()),
                cpu: Some(2.5),
            },
            blob_storage: Some(format!("file://{}", work.join("blobs").display())),
            high_availability: Some(HighAvailability::ZooKeeper {
                quorum: "127.0.0.1:2181".into(),
                path_root: None,
                storage_dir: None,
            }),
            queryable_state: true,
            owned: BTreeMap::new(),
        };
        let rendered = render(&input);
        assert!(!rendered.has_errors(), "{version}: {:?}", rendered.issues);
        std::fs::write(conf.join("config.yaml"), &rendered.config_yaml).unwrap();
        assert_typed(
            version,
            &home.join("lib"),
            &work,
            &conf,
            &rendered.configuration,
        );
        memory_params(&home, &conf, version);
        assert_value_checks_agree(version, &home.join("lib"), &work);
        let _ = std::fs::remove_dir_all(&work);
    }
}
