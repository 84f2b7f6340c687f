//! Golden files of rendered configuration: for every supported version, `config.yaml` with and
//! without blob storage, Kubernetes and ZooKeeper HA and Queryable State, plus the logging file,
//! under `tests/golden/flink/`. `UPDATE_GOLDEN=1 cargo test --lib flink::golden` rewrites them;
//! otherwise a mismatch fails with a line diff.

use std::collections::BTreeMap;

use crate::golden::check;

use super::logging::render_log4j_console;
use super::render::{render, HighAvailability, ProcessResources, RenderInput};
use super::versions::FlinkVersion;

fn base(v: FlinkVersion) -> RenderInput {
    let user: BTreeMap<String, String> = [
        ("execution.checkpointing.interval", "30 s"),
        ("taskmanager.memory.managed.fraction", "0.3"),
        ("restart-strategy.type", "fixed-delay"),
        (
            "metrics.reporter.prom.factory.class",
            "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
        ),
        ("pipeline.name", "orders: \"daily\" #1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    RenderInput {
        version: v,
        namespace: "team-a".into(),
        deployment_id: "5c1f1e36-7d0b-4c0e-9d0e-2a0f6f0b1a11".into(),
        job_id: Some("5c1f1e367d0b4c0e9d0e2a0f6f0b1a11".into()),
        user,
        from_secrets: Default::default(),
        parallelism: Some(4),
        task_slots: Some(2),
        jobmanager: ProcessResources {
            memory: Some("1600m".into()),
            cpu: Some(1.0),
        },
        taskmanager: ProcessResources {
            memory: Some("2048m".into()),
            cpu: Some(2.0),
        },
        blob_storage: None,
        high_availability: None,
        queryable_state: false,
        owned: BTreeMap::new(),
    }
}

fn cases(v: FlinkVersion) -> Vec<(&'static str, RenderInput)> {
    let blob = |mut i: RenderInput| {
        i.blob_storage = Some("s3://flink-state/prod".into());
        i
    };
    let mut k8s = blob(base(v));
    k8s.high_availability = Some(HighAvailability::Kubernetes { storage_dir: None });
    let mut zk = blob(base(v));
    zk.high_availability = Some(HighAvailability::ZooKeeper {
        quorum: "zk-0.zk:2181,zk-1.zk:2181".into(),
        path_root: Some("/flink-prod".into()),
        storage_dir: None,
    });
    let mut qs = blob(base(v));
    qs.queryable_state = true;
    vec![
        ("plain", base(v)),
        ("blob", blob(base(v))),
        ("ha-kubernetes", k8s),
        ("ha-zookeeper", zk),
        ("queryable-state", qs),
    ]
}

#[test]
fn golden_config_yaml() {
    let mut failures = Vec::new();
    for v in FlinkVersion::ALL {
        for (name, input) in cases(v) {
            let r = render(&input);
            assert!(!r.has_errors(), "{v} {name}: {:?}", r.issues);
            check(
                "flink",
                &format!("{v}/{name}.config.yaml"),
                &r.config_yaml,
                &mut failures,
            );
        }
    }
    let loggers: BTreeMap<String, String> = [
        ("org.apache.flink.runtime.checkpoint", "DEBUG"),
        ("org.apache.kafka", "WARN"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    check(
        "flink",
        "log4j-console.properties",
        &render_log4j_console("INFO", &loggers).unwrap(),
        &mut failures,
    );
    assert!(
        failures.is_empty(),
        "golden files differ; rerun with UPDATE_GOLDEN=1 if intended:\n{}",
        failures.join("\n")
    );
}

/// Everything we render is a current key of its version (no typo, no deprecated name), except the
/// identities and the HA type the provider owns (validation steers users away from setting those).
#[test]
fn rendered_keys_are_current_in_their_version() {
    use super::validate::{validate, IDENTITY_KEYS};
    for v in FlinkVersion::ALL {
        for (name, input) in cases(v) {
            let config = render(&input).configuration;
            let issues: Vec<_> = validate(v, &config)
                .into_iter()
                .filter(|i| {
                    !IDENTITY_KEYS.contains(&i.key.as_str()) && i.key != "high-availability.type"
                })
                .collect();
            assert!(issues.is_empty(), "{v} {name}: {issues:?}");
        }
    }
}
