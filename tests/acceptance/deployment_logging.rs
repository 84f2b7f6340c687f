//! A whole log4j file on flink_deployment with the real terraform CLI and kubectl: the file lands
//! in the ConfigMap as written, a kubectl edit of it shows as drift and apply restores it, a
//! changed file rolls the pods, and import reads the file back from the ConfigMap (the inputs
//! annotation holds only its digest) with an empty plan; the plan errors on `logging`.

use crate::cluster::Cluster;
use crate::harness::Workspace;

/// A team's file of about 1.5 KiB (JSON console, rolling file): past what the inputs annotation
/// records as it is.
const FILE: &str = include_str!("../golden/deployment/log4j-file.properties");

fn config(cluster: &Cluster) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "logs" {{
  name          = "logs"
  namespace     = "{ns}"
  flink_version = "2.3"
  wait_for_job  = false
  artifact      = {{ jar_uri = "https://artifacts.example.com/job.jar" }}
  logging = {{
    log4j_properties = file("${{path.module}}/log4j.properties")
  }}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

fn workspace(cluster: &Cluster, file: &str) -> Workspace {
    let ws = Workspace::new();
    ws.config(&config(cluster));
    std::fs::write(ws.path().join("log4j.properties"), file).unwrap();
    ws
}

fn config_map_file(cluster: &Cluster) -> String {
    cluster.kubectl(&[
        "get",
        "configmap",
        "flink-logs-config",
        "-o",
        "jsonpath={.data.log4j-console\\.properties}",
    ])
}

fn rollout_hash(cluster: &Cluster) -> String {
    cluster.kubectl(&[
        "get",
        "deployment",
        "flink-logs-taskmanager",
        "-o",
        "jsonpath={.spec.template.metadata.annotations.flink\\.flinkops\\.io/rollout-hash}",
    ])
}

#[test]
fn a_log4j_file_is_applied_drifts_rolls_the_pods_and_imports() {
    let cluster = Cluster::start("logging");
    let ns = cluster.namespace.clone();
    let ws = workspace(&cluster, FILE);
    ws.apply();
    ws.assert_no_changes();
    assert_eq!(config_map_file(&cluster), FILE);
    let inputs = cluster.kubectl(&[
        "get",
        "configmap",
        "flink-logs-config",
        "-o",
        "jsonpath={.metadata.annotations.flink\\.flinkops\\.io/inputs}",
    ]);
    assert!(
        inputs.contains("\"log4j_properties_sha256\":\""),
        "{inputs}"
    );
    assert!(!inputs.contains("JsonTemplateLayout"), "{inputs}");

    // A hand edit of the file shows in the plan, and apply puts the file back.
    cluster.kubectl(&[
        "patch",
        "configmap",
        "flink-logs-config",
        "-p",
        r#"{"data":{"log4j-console.properties":"rootLogger.level = DEBUG\n"}}"#,
    ]);
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(
        plan.contains("changed outside Terraform: data.log4j-console.properties"),
        "{plan}"
    );
    ws.apply();
    assert_eq!(config_map_file(&cluster), FILE);
    ws.assert_no_changes();

    // A changed file rolls the pods, as a level change does.
    let before = rollout_hash(&cluster);
    let changed = FILE.replace("logger.kafka.level = WARN", "logger.kafka.level = ERROR");
    std::fs::write(ws.path().join("log4j.properties"), &changed).unwrap();
    let (changes, plan) = ws.plan();
    assert!(
        changes && plan.contains("logger.kafka.level = ERROR"),
        "{plan}"
    );
    ws.apply();
    ws.assert_no_changes();
    assert_ne!(rollout_hash(&cluster), before);
    assert_eq!(config_map_file(&cluster), changed);

    // Import finds the file in the ConfigMap by its digest: nothing to change.
    let importer = workspace(&cluster, &changed);
    let imported = importer.import("flink_deployment.logs", &format!("{ns}/logs"));
    assert!(imported.contains("Import successful"), "{imported}");
    importer.assert_no_changes();
    let values = importer.resource_values("flink_deployment.logs");
    assert_eq!(values["logging"]["log4j_properties"], changed.as_str());

    ws.destroy();
    assert!(cluster.managed_objects().is_empty());
}

fn plan_error(logging: &str) -> String {
    let ws = Workspace::new();
    ws.config(&format!(
        r#"resource "flink_deployment" "x" {{
  name          = "x"
  flink_version = "2.3"
  artifact      = {{ jar_uri = "https://example.com/job.jar" }}
  logging       = {logging}
}}"#
    ));
    ws.plan_error()
}

#[test]
fn a_log4j_file_with_levels_or_a_bad_escape_fails_the_plan_on_logging() {
    let out =
        plan_error(r#"{ log4j_properties = "rootLogger.level = INFO\n", root_level = "DEBUG" }"#);
    assert!(
        out.contains("logging.root_level conflicts with logging.log4j_properties"),
        "{out}"
    );
    assert!(out.contains("Drop root_level"), "{out}");
    let out = plan_error(
        r#"{ log4j_properties = "rootLogger.level = INFO\nappender.c.layout.pattern = \\u00 %m%n\n" }"#,
    );
    assert!(out.contains("Logging file is not Java properties"), "{out}");
    assert!(out.contains("Line 2: malformed Unicode escape"), "{out}");
}
