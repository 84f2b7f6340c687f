//! Golden files of rendered configuration: for every supported version, `config.yaml` with and
//! without blob storage, Kubernetes and ZooKeeper HA and Queryable State, plus the logging file,
//! under `tests/golden/flink/`. `UPDATE_GOLDEN=1 cargo test --lib flink::golden` rewrites them;
//! otherwise a mismatch fails with a line diff.

use std::collections::BTreeMap;
use std::path::PathBuf;

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

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/flink")
}

/// Compares `actual` with the golden file `rel`, or rewrites it under `UPDATE_GOLDEN=1`.
fn check(rel: &str, actual: &str, failures: &mut Vec<String>) {
    let path = golden_dir().join(rel);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        failures.push(format!(
            "{rel} differs (- golden, + rendered):\n{}",
            diff(&expected, actual)
        ));
    }
}

/// A line diff (longest common subsequence), changed lines only.
fn diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        }
    }
    out
}

#[test]
fn golden_config_yaml() {
    let mut failures = Vec::new();
    for v in FlinkVersion::ALL {
        for (name, input) in cases(v) {
            let r = render(&input);
            assert!(!r.has_errors(), "{v} {name}: {:?}", r.issues);
            check(
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

#[test]
fn diff_is_readable() {
    assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), "+ x\n- b\n");
}
