//! flink_deployment with the real terraform CLI and kubectl: create, in-place updates, replace,
//! drift of every kind of owned object shown and restored, import with an empty plan, destroy
//! leaving nothing labelled; and each plan error and warning read from `terraform plan`.

use crate::cluster::Cluster;
use crate::harness::Workspace;

fn deployment(cluster: &Cluster, namespace: &str, parallelism: u32, interval: &str) -> String {
    format!(
        r#"{provider}
resource "flink_blob_storage" "state" {{
  name      = "state"
  namespace = "{ns}"
  base_uri  = "s3://flink-state/acceptance"
}}

resource "flink_deployment" "wordcount" {{
  name          = "wordcount"
  namespace     = "{namespace}"
  flink_version = "2.2"
  wait_for_job  = false
  artifact = {{
    jar_uri     = "https://artifacts.example.com/wordcount.jar"
    entry_class = "org.example.WordCount"
    main_args   = ["--input", "s3://in"]
  }}
  parallelism = {parallelism}
  task_slots  = 2
  flink_configuration = {{
    "execution.checkpointing.interval" = "{interval}"
  }}
  blob_storage = flink_blob_storage.state.spec
  annotations = {{
    "flink.queryable-state.enabled" = "true"
  }}
  pod = {{
    labels = {{ team = "streaming" }}
  }}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

#[test]
fn lifecycle_drift_import_and_destroy() {
    let cluster = Cluster::start("deploy");
    let ns = cluster.namespace.clone();
    let ws = Workspace::new();
    ws.config(&deployment(&cluster, &ns, 4, "10 s"));
    let (_, plan) = ws.plan();
    // Derived values are known at plan: reviewers see the directories and ids.
    assert!(plan.contains("execution.checkpointing.dir"), "{plan}");
    assert!(plan.contains("Queryable State is deprecated"), "{plan}");
    ws.apply();

    let values = ws.resource_values("flink_deployment.wordcount");
    let job_id = values["job_id"].as_str().unwrap().to_string();
    assert_eq!(job_id.len(), 32);
    assert_eq!(values["number_of_task_managers"], 2);
    let image = values["image"].as_str().unwrap();
    assert!(
        image.starts_with("flink:2.2.") && image.ends_with("-java17"),
        "{image}"
    );
    let config = cluster.kubectl(&[
        "get",
        "configmap",
        "flink-wordcount-config",
        "-o",
        "jsonpath={.data.config\\.yaml}",
    ]);
    assert!(
        config.contains(&format!("\"$internal.pipeline.job-id\": \"{job_id}\"")),
        "{config}"
    );
    assert!(
        config.contains("queryable-state.enable: \"true\""),
        "{config}"
    );
    let qs_service = format!("job-{job_id}-taskmanager");
    let port = cluster.kubectl(&[
        "get",
        "service",
        &qs_service,
        "-o",
        "jsonpath={.spec.ports[0].port}",
    ]);
    assert_eq!(port.trim(), "9069");
    let tm_replicas = cluster.kubectl(&[
        "get",
        "deployment",
        "flink-wordcount-taskmanager",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(tm_replicas.trim(), "2");

    // In place: parallelism and flink_configuration.
    ws.config(&deployment(&cluster, &ns, 6, "30 s"));
    let (_, plan) = ws.plan();
    assert!(plan.contains("1 to change, 0 to destroy"), "{plan}");
    ws.apply();
    let config = cluster.kubectl(&[
        "get",
        "configmap",
        "flink-wordcount-config",
        "-o",
        "jsonpath={.data.config\\.yaml}",
    ]);
    assert!(
        config.contains("execution.checkpointing.interval: \"30 s\""),
        "{config}"
    );
    assert!(config.contains("parallelism.default: \"6\""), "{config}");
    let tm_replicas = cluster.kubectl(&[
        "get",
        "deployment",
        "flink-wordcount-taskmanager",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(tm_replicas.trim(), "3");
    // New pods for the job: a new run, with its own job id and Queryable State Service.
    let upgraded = ws.resource_values("flink_deployment.wordcount")["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(upgraded, job_id, "an upgrade starts a new run");
    cluster.kubectl(&["get", "service", &format!("job-{upgraded}-taskmanager")]);
    let (old_service_left, _) = cluster.kubectl_try(&["get", "service", &qs_service]);
    assert!(
        !old_service_left,
        "the old run's Queryable State Service is gone"
    );
    let qs_service = format!("job-{upgraded}-taskmanager");

    // Drift by the real kubectl: scale the TaskManagers, edit the ConfigMap, delete the QS Service.
    cluster.kubectl(&[
        "scale",
        "deployment",
        "flink-wordcount-taskmanager",
        "--replicas=7",
    ]);
    cluster.kubectl(&[
        "patch",
        "configmap",
        "flink-wordcount-config",
        "-p",
        r#"{"data":{"config.yaml":"parallelism.default: \"1\"\n"}}"#,
    ]);
    cluster.kubectl(&["delete", "service", &qs_service, "--wait=false"]);
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    for expected in [
        "\"Deployment/flink-wordcount-taskmanager\"",
        "changed outside Terraform: spec.replicas",
        "changed outside Terraform: data.config.yaml",
        "deleted outside Terraform",
    ] {
        assert!(plan.contains(expected), "missing {expected:?} in:\n{plan}");
    }
    ws.apply();
    let tm_replicas = cluster.kubectl(&[
        "get",
        "deployment",
        "flink-wordcount-taskmanager",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(tm_replicas.trim(), "3");
    cluster.kubectl(&["get", "service", &qs_service]);

    // Import into another workspace: the state comes back with an empty plan.
    let importer = Workspace::new();
    importer.config(&deployment(&cluster, &ns, 6, "30 s"));
    importer.import("flink_blob_storage.state", &format!("{ns}/state"));
    let imported = importer.import("flink_deployment.wordcount", &format!("{ns}/wordcount"));
    assert!(imported.contains("Import successful"), "{imported}");
    importer.assert_no_changes();

    ws.destroy();
    assert!(
        cluster.managed_objects().is_empty(),
        "{:?}",
        cluster.managed_objects()
    );
}

#[test]
fn namespace_change_replaces() {
    let cluster = Cluster::start("deploy-ns");
    let ns = cluster.namespace.clone();
    let ws = Workspace::new();
    ws.config(&deployment(&cluster, &ns, 1, "10 s"));
    ws.apply();
    ws.config(&deployment(&cluster, "default", 1, "10 s"));
    let (_, plan) = ws.plan();
    assert!(plan.contains("must be replaced"), "{plan}");
    assert!(plan.contains("# forces replacement"), "{plan}");
    ws.destroy();
}

fn plan_error_for(body: &str) -> String {
    let ws = Workspace::new();
    ws.config(body);
    ws.plan_error()
}

fn plan_output_for(body: &str) -> String {
    let ws = Workspace::new();
    ws.config(body);
    ws.plan().1
}

fn with(extra: &str) -> String {
    format!(
        r#"resource "flink_deployment" "x" {{
  name          = "x"
  flink_version = "2.3"
  artifact      = {{ jar_uri = "https://example.com/job.jar" }}
{extra}
}}"#
    )
}

#[test]
fn unknown_flink_version_is_an_error_on_flink_version() {
    let out = plan_error_for(&with("").replace("\"2.3\"", "\"1.12\""));
    assert!(out.contains("Unsupported Flink version"), "{out}");
    assert!(out.contains("flink_version = \"1.12\""), "{out}");
}

#[test]
fn malformed_memory_is_an_error_on_the_memory() {
    let out = plan_error_for(&with(
        r#"  resources = { jobmanager = { memory = "lots" } }"#,
    ));
    assert!(out.contains("Invalid memory size"), "{out}");
    assert!(out.contains("resources.jobmanager.memory"), "{out}");
}

#[test]
fn non_positive_cpu_is_an_error_on_the_cpu() {
    let out = plan_error_for(&with(r#"  resources = { taskmanager = { cpu = 0 } }"#));
    assert!(out.contains("Invalid cpu 0"), "{out}");
    assert!(out.contains("resources.taskmanager.cpu"), "{out}");
}

#[test]
fn parallelism_below_one_is_an_error() {
    let out = plan_error_for(&with("  parallelism = 0"));
    assert!(out.contains("Invalid number 0"), "{out}");
    assert!(out.contains("parallelism = 0"), "{out}");
}

#[test]
fn a_negative_pod_user_is_an_error_on_run_as_user() {
    let out = plan_error_for(&with("  pod = { run_as_user = -1 }"));
    assert!(out.contains("Invalid number -1"), "{out}");
    assert!(
        out.contains("pod.run_as_user: Use an integer of at least 0"),
        "{out}"
    );
}

#[test]
fn identity_keys_are_errors_naming_the_key() {
    let out = plan_error_for(&with(
        r#"  flink_configuration = { "high-availability.cluster-id" = "mine" }"#,
    ));
    assert!(out.contains("high-availability.cluster-id"), "{out}");
    assert!(
        out.contains("flink_configuration[\"high-availability.cluster-id\"]"),
        "{out}"
    );
}

/// The errors of a failed plan, each from its summary on.
fn errors_of(out: &str) -> Vec<&str> {
    out.split("Error: ").skip(1).collect()
}

fn has_error(out: &str, summary: &str, path: &str) -> bool {
    errors_of(out)
        .iter()
        .any(|d| d.starts_with(summary) && d.contains(path))
}

#[test]
fn secret_references_are_checked_as_the_api_server_checks_them() {
    // Validation fails before any plan, so these come on their own.
    let out = plan_error_for(&with(
        r#"  flink_configuration = { "fs.x.password" = "plain" }
  flink_configuration_from_secrets = {
    "fs.x.password"        = { secret = "kafka", key = "password" }
    "fs.bad-name.password" = { secret = "Kafka_Credentials", key = "password" }
    "fs.bad-key.password"  = { secret = "kafka", key = "pass/word" }
  }"#,
    ));
    let secrets = "flink_configuration_from_secrets";
    assert!(
        has_error(
            &out,
            "Flink key set twice",
            &format!("{secrets}[\"fs.x.password\"]")
        ),
        "{out}"
    );
    assert!(
        out.replace('\n', " ")
            .contains("both in flink_configuration and in flink_configuration_from_secrets"),
        "{out}"
    );
    assert!(
        has_error(
            &out,
            "Invalid Kubernetes name \"Kafka_Credentials\"",
            &format!("{secrets}[\"fs.bad-name.password\"].secret")
        ),
        "{out}"
    );
    assert!(
        has_error(
            &out,
            "Invalid Secret key \"pass/word\"",
            &format!("{secrets}[\"fs.bad-key.password\"].key")
        ),
        "{out}"
    );
    assert_eq!(errors_of(&out).len(), 3, "{out}");
}

#[test]
fn flink_keys_from_secrets_follow_the_rules_of_flink_configuration() {
    let out = plan_error_for(&with(
        r#"  flink_configuration_from_secrets = {
    "execution.checkpointing.intervall" = { secret = "kafka", key = "interval" }
    "kubernetes.cluster-id"             = { secret = "kafka", key = "id" }
    "rest.port"                         = { secret = "kafka", key = "port" }
    "fs.acme.password"                  = { secret = "kafka", key = "password" }
  }"#,
    ));
    let secrets = "flink_configuration_from_secrets";
    assert!(
        has_error(
            &out,
            "Unknown Flink option",
            &format!("{secrets}[\"execution.checkpointing.intervall\"]")
        ),
        "{out}"
    );
    // Terraform wraps the detail, so the words are checked apart.
    assert!(out.contains("Did you mean"), "{out}");
    assert!(out.contains("`execution.checkpointing.interval`?"), "{out}");
    assert!(
        has_error(
            &out,
            "Key is set by the provider",
            &format!("{secrets}[\"kubernetes.cluster-id\"]")
        ),
        "{out}"
    );
    assert!(
        has_error(
            &out,
            "Key is set by the provider",
            &format!("{secrets}[\"rest.port\"]")
        ),
        "{out}"
    );
    assert_eq!(errors_of(&out).len(), 3, "only the three: {out}");
}

#[test]
fn unknown_keys_suggest_the_closest_option() {
    let out = plan_error_for(&with(
        r#"  flink_configuration = { "execution.checkpointing.intervall" = "10 s" }"#,
    ));
    assert!(out.contains("execution.checkpointing.interval"), "{out}");
    assert!(out.to_lowercase().contains("did you mean"), "{out}");
}

#[test]
fn values_of_the_wrong_type_are_errors() {
    let out = plan_error_for(&with(
        r#"  flink_configuration = { "execution.checkpointing.interval" = "often" }"#,
    ));
    assert!(
        out.contains("flink_configuration[\"execution.checkpointing.interval\"]"),
        "{out}"
    );
}

#[test]
fn deprecated_keys_and_plain_secrets_warn() {
    let out = plan_output_for(&with(
        r#"  flink_configuration = {
    "state.checkpoints.dir" = "s3://b/c"
    "s3.secret-key"         = "plain"
  }"#,
    ));
    assert!(out.contains("Warning"), "{out}");
    assert!(out.contains("state.checkpoints.dir"), "{out}");
    assert!(out.contains("s3.secret-key"), "{out}");
    assert!(out.contains("flink_blob_storage"), "{out}");
}

#[test]
fn tls_without_an_authority_is_an_error_on_the_setting_that_turned_it_on() {
    let out = plan_error_for(&with(
        r#"  annotations = { "flink.security.ssl.enabled" = "true" }"#,
    ));
    assert!(out.contains("TLS needs a certificate authority"), "{out}");
    assert!(
        out.contains("annotations[\"flink.security.ssl.enabled\"]"),
        "{out}"
    );
    let out = plan_error_for(&with("  tls = { enabled = true }"));
    assert!(out.contains("TLS needs a certificate authority"), "{out}");
    assert!(out.contains("tls.authority"), "{out}");
}

/// A new user's mistakes in the Kubernetes-facing values, in one plan: each an error on its
/// attribute, with what Kubernetes allows.
#[test]
fn kubernetes_values_are_checked_at_plan_on_their_paths() {
    let ws = Workspace::new();
    ws.config(
        r#"resource "flink_deployment" "x" {
  name          = "a-name-that-is-longer-than-any-service-name-allows"
  flink_version = "2.3.99"
  image         = ""
  artifact      = { jar_uri = "http://" }
  pod = {
    labels          = { "bad label!" = "v", team = "has space" }
    env             = { "1 bad=name" = "x", GOOD_NAME = "y" }
    node_selector   = { "disktype" = "ssd!" }
    service_account = "Flink_SA"
    tolerations     = [{ key = "dedicated", operator = "Maybe", value = "flink" }]
  }
}"#,
    );
    let out = crate::harness::unwrapped(&ws.plan_error());
    for expected in [
        "Name too long for Kubernetes (50 characters)",
        "shorten it by 4",
        "Flink 2.3.99 was never released: the 2.3 releases are 2.3.0",
        r#"Invalid image """#,
        "Malformed artifact URL \"http://\"",
        r#"Invalid label key "bad label!""#,
        r#"pod.labels["bad label!"]: Kubernetes would refuse it: name part must consist of alphanumeric characters"#,
        r#"Invalid value of label "team""#,
        r#"Invalid environment variable name "1 bad=name""#,
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
        r#"pod.node_selector["disktype"]"#,
        r#"Invalid Kubernetes name "Flink_SA""#,
        r#"Unsupported toleration operator "Maybe""#,
        r#"pod.tolerations[0].operator: Kubernetes takes "Equal", "Exists""#,
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains("GOOD_NAME"), "{out}");
}

/// Past a few dozen diagnostics of one kind, Terraform gets the first 20 and one that counts
/// the rest: 5,000 of them took a plan over 300 s.
#[test]
fn many_unknown_keys_are_summarised() {
    let keys: Vec<String> = (0..200)
        .map(|i| format!("    \"no.such.option-{i}\" = \"v\""))
        .collect();
    let out = plan_error_for(&with(&format!(
        "  flink_configuration = {{\n{}\n  }}",
        keys.join("\n")
    )));
    assert_eq!(
        out.matches("Error: Unknown Flink option\n").count(),
        20,
        "{out}"
    );
    let out = crate::harness::unwrapped(&out);
    assert!(
        out.contains("Error: Unknown Flink option: 180 more"),
        "{out}"
    );
    assert!(
        out.contains(r#"180 more like the 20 above, not shown one by one: flink_configuration["no.such.option-"#),
        "{out}"
    );
}

/// A 1 MB `flink_configuration` value reaches the ConfigMap's `config.yaml` while the inputs the
/// provider records stay far below the API server's 256 KiB of annotations, and import brings
/// the value back from `config.yaml` for an empty plan.
#[test]
fn a_megabyte_configuration_value_applies_and_imports() {
    let cluster = Cluster::start("bigvalue");
    let ns = cluster.namespace.clone();
    let body = format!(
        r#"{provider}
resource "flink_deployment" "big" {{
  name          = "big"
  namespace     = "{ns}"
  flink_version = "2.3"
  wait_for_job  = false
  artifact      = {{ jar_uri = "https://artifacts.example.com/job.jar" }}
  flink_configuration = {{
    "pipeline.name" = "{value}"
  }}
}}
"#,
        provider = cluster.provider_block(),
        value = "n".repeat(1_000_000),
    );
    let ws = Workspace::new();
    ws.config(&body);
    ws.apply();
    let annotation = cluster.kubectl(&[
        "get",
        "configmap",
        "flink-big-config",
        "-o",
        "jsonpath={.metadata.annotations.flink\\.flinkops\\.io/inputs}",
    ]);
    assert!(
        annotation.contains("\"flink_configuration_sha256\""),
        "{annotation}"
    );
    assert!(annotation.len() < 16 * 1024, "{} bytes", annotation.len());
    let config = cluster.kubectl(&[
        "get",
        "configmap",
        "flink-big-config",
        "-o",
        "jsonpath={.data.config\\.yaml}",
    ]);
    assert!(
        config.contains(&"n".repeat(1_000_000)),
        "the value is in config.yaml"
    );

    let importer = Workspace::new();
    importer.config(&body);
    let imported = importer.import("flink_deployment.big", &format!("{ns}/big"));
    assert!(imported.contains("Import successful"), "{imported}");
    importer.assert_no_changes();
    ws.destroy();
}

/// The NetworkPolicy's client CIDRs and the blob storage's namespace, checked at plan: each error
/// on its attribute, saying what to write instead.
#[test]
fn network_policy_cidrs_and_the_blob_storage_namespace_are_checked_at_plan() {
    let ws = Workspace::new();
    ws.config(
        r#"resource "flink_deployment" "x" {
  name          = "orders"
  namespace     = "team-a"
  flink_version = "2.3"
  artifact      = { jar_uri = "https://repo.example.com/job.jar" }
  network_policy = {
    rest_from_cidrs = ["10.0.0.0/8", "10.1.2.3/16", "fd00::/8"]
  }
  blob_storage = {
    name              = "state"
    namespace         = "platform"
    base_uri          = "s3://state/flink"
    config_map        = "flink-blob-storage-state"
    secret            = "flink-blob-storage-state"
    endpoint          = null
    region            = null
    path_style_access = null
  }
}"#,
    );
    let out = crate::harness::unwrapped(&ws.plan_error());
    for expected in [
        "Invalid CIDR",
        r#"network_policy.rest_from_cidrs[1]: "10.1.2.3/16" has bits set past its prefix: write "10.1.0.0/16"."#,
        "Blob storage credentials in another namespace",
        r#"keeps its credentials in Secret "flink-blob-storage-state" of namespace "platform""#,
        r#"Declare a flink_blob_storage in namespace "team-a""#,
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert_eq!(out.matches("Invalid CIDR").count(), 1, "{out}");
}

/// Quantities as a real API server stores them (it writes `2048Mi` back as `2Gi`): a memory that
/// is a whole number of GiB, and a pod template's `0.5` cpu and `1024Mi` request, read back as
/// applied, so the plan after apply and after import is empty; and a template value that is no
/// quantity is a plan error on its path.
#[test]
fn quantities_read_back_as_the_api_server_stores_them() {
    let cluster = Cluster::start("quantities");
    let ns = cluster.namespace.clone();
    let body = |request: &str| {
        format!(
            r#"{provider}
resource "flink_deployment" "sized" {{
  name          = "sized"
  namespace     = "{ns}"
  flink_version = "2.3"
  wait_for_job  = false
  artifact      = {{ jar_uri = "https://artifacts.example.com/job.jar" }}
  resources = {{
    jobmanager  = {{ memory = "2048m", cpu = 1 }}
    taskmanager = {{ memory = "4 gb", cpu = 2 }}
  }}
  taskmanager_pod_template = {{
    spec = {{
      containers = [{{
        name      = "flink-main-container"
        resources = {{ requests = {{ cpu = 0.5, memory = "{request}" }} }}
      }}]
    }}
  }}
}}
"#,
            provider = cluster.provider_block(),
        )
    };
    let ws = Workspace::new();
    ws.config(&body("1 gb"));
    let error = ws.plan_error();
    assert!(
        error.contains("Invalid quantity \"1 gb\"")
            && error.contains("quantities must match the regular expression"),
        "{error}"
    );
    ws.config(&body("1024Mi"));
    ws.apply();
    let limits = |deployment: &str| {
        cluster.kubectl(&[
            "get",
            "deployment",
            deployment,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].resources}",
        ])
    };
    let jobmanager: serde_json::Value =
        serde_json::from_str(&limits("flink-sized-jobmanager")).unwrap();
    assert_eq!(jobmanager["limits"]["memory"], "2Gi", "{jobmanager}");
    let taskmanager: serde_json::Value =
        serde_json::from_str(&limits("flink-sized-taskmanager")).unwrap();
    assert_eq!(
        taskmanager["requests"],
        serde_json::json!({"cpu": "500m", "memory": "1Gi"}),
        "{taskmanager}"
    );
    assert_eq!(taskmanager["limits"]["memory"], "4Gi", "{taskmanager}");

    let importer = Workspace::new();
    importer.config(&body("1024Mi"));
    importer.import("flink_deployment.sized", &format!("{ns}/sized"));
    importer.assert_no_changes();
    ws.destroy();
}
