//! Unit tests of [`super`]: unknown keys, open prefixes, types, deprecations, identities, secrets.

use super::*;

fn run(v: FlinkVersion, pairs: &[(&str, &str)]) -> Vec<Issue> {
    validate(
        v,
        &pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn unknown_key_with_suggestion() {
    let i = run(FlinkVersion::V2_3, &[("parallelism.defualt", "4")]);
    assert_eq!(i.len(), 1);
    assert!(i[0].is_error());
    assert!(
        i[0].detail.contains("Did you mean `parallelism.default`?"),
        "{}",
        i[0].detail
    );
    let far = run(FlinkVersion::V2_3, &[("completely.made.up.key", "x")]);
    assert!(far[0].is_error() && !far[0].detail.contains("Did you mean"));
}

#[test]
fn open_prefixes_pass() {
    let i = run(
        FlinkVersion::V1_20,
        &[
            (
                "metrics.reporter.prom.factory.class",
                "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
            ),
            ("metrics.reporter.prom.port", "9249"),
            ("s3.endpoint", "http://minio:9000"),
            ("fs.s3a.path.style.access", "true"),
            ("containerized.master.env.FOO", "bar"),
            ("kubernetes.jobmanager.labels", "team:data,tier:1"),
            ("env.java.opts.taskmanager", "-XX:+UseG1GC"),
        ],
    );
    assert!(i.is_empty(), "{i:?}");
    assert!(!run(FlinkVersion::V2_3, &[("table.exec.made-up", "1")])[0].is_error());
}

#[test]
fn wrong_types() {
    let i = run(
        FlinkVersion::V2_3,
        &[
            ("execution.checkpointing.interval", "often"),
            ("taskmanager.memory.managed.size", "1 gigabyte"),
            ("parallelism.default", "four"),
            ("rest.flamegraph.enabled", "yes"),
            ("execution.checkpointing.mode", "twice"),
        ],
    );
    assert_eq!(i.len(), 5, "{i:?}");
    assert!(i.iter().all(Issue::is_error));
    let ok = run(
        FlinkVersion::V2_3,
        &[
            ("execution.checkpointing.interval", "10 s"),
            ("taskmanager.memory.managed.size", "1 gb"),
            ("parallelism.default", "4"),
            ("execution.checkpointing.mode", "AT_LEAST_ONCE"),
        ],
    );
    assert!(ok.is_empty(), "{ok:?}");
}

#[test]
fn deprecated_names_replacement() {
    let i = run(
        FlinkVersion::V2_3,
        &[("state.checkpoints.dir", "file:///tmp/c")],
    );
    assert_eq!(i[0].severity, super::super::Severity::Warning);
    assert!(i[0].detail.contains("`execution.checkpointing.dir`"));
    assert!(run(
        FlinkVersion::V1_19,
        &[("state.checkpoints.dir", "file:///tmp/c")]
    )
    .is_empty());
    // Gone in 2.x: an unknown key there, a deprecated one in 1.x.
    let gone = &run(FlinkVersion::V2_0, &[("security.ssl.enabled", "true")])[0];
    assert!(
        gone.is_error() && gone.detail.contains("exists in Flink 1.19, 1.20 only"),
        "{}",
        gone.detail
    );
    assert!(!run(FlinkVersion::V1_20, &[("security.ssl.enabled", "true")])[0].is_error());
}

#[test]
fn identities_and_secrets() {
    for k in IDENTITY_KEYS
        .iter()
        .chain(["high-availability.zookeeper.path.namespace"].iter())
    {
        let i = run(FlinkVersion::V2_3, &[(k, "x")]);
        assert!(
            i.len() == 1 && i[0].is_error() && i[0].summary.contains("provider"),
            "{k}: {i:?}"
        );
    }
    for k in [
        "s3.secret-key",
        "s3.access-key",
        "fs.s3a.secret.key",
        "s3.access.key",
    ] {
        let i = run(FlinkVersion::V2_3, &[(k, "x")]);
        assert!(
            i.len() == 1 && !i[0].is_error() && i[0].detail.contains("flink_blob_storage"),
            "{k}: {i:?}"
        );
    }
}

#[test]
fn bounded_distance_agrees_with_the_full_one() {
    let words = [
        "",
        "a",
        "ab",
        "execution.checkpointing.interval",
        "execution.checkpointing.intervall",
        "state.backend",
        "state.backend.type",
        "no.such.option-17",
    ];
    for a in words {
        for b in words {
            for limit in 0..6 {
                let full = edit_distance(a, b);
                let expected = (full <= limit).then_some(full);
                assert_eq!(
                    distance_within(a, b, limit),
                    expected,
                    "{a:?} {b:?} {limit}"
                );
            }
        }
    }
}

#[test]
fn distance() {
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("", "ab"), 2);
    assert_eq!(edit_distance("same", "same"), 0);
}

#[test]
fn hand_made_high_availability() {
    let i = run(
        FlinkVersion::V2_3,
        &[("high-availability", "vvp-kubernetes")],
    );
    assert!(
        i.iter()
            .any(|x| x.is_error() && x.summary.contains("high_availability")),
        "{i:?}"
    );
    let i = run(
        FlinkVersion::V1_20,
        &[("high-availability.type", "kubernetes")],
    );
    assert!(i.len() == 1 && i[0].is_error(), "{i:?}");
    let i = run(
        FlinkVersion::V1_20,
        &[("high-availability.type", "ZOOKEEPER")],
    );
    assert!(i.len() == 1 && !i[0].is_error(), "{i:?}");
    assert!(run(FlinkVersion::V1_20, &[("high-availability.type", "NONE")]).is_empty());
}
