//! flink_blob_storage against a cluster with the real terraform CLI: objects created, drift made
//! by the real kubectl shown and restored, write-only secrets kept out of state, ConfigMaps and
//! logs, import with an empty plan after, destroy leaving nothing labelled.

use crate::cluster::Cluster;
use crate::harness::Workspace;

const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";

fn config(cluster: &Cluster, base_uri: &str) -> String {
    format!(
        r#"{provider}
variable "secret_key" {{
  type      = string
  sensitive = true
  ephemeral = true
}}

resource "flink_blob_storage" "s3" {{
  name                  = "shared"
  namespace             = "{ns}"
  base_uri              = "{base_uri}"
  access_key            = "AKIAEXAMPLE"
  secret_key_wo         = var.secret_key
  secret_key_wo_version = 1
  endpoint              = "http://minio.storage:9000"
  path_style_access     = true
}}

output "spec" {{
  value = flink_blob_storage.s3.spec
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

fn workspace(cluster: &Cluster, base_uri: &str) -> Workspace {
    let ws = Workspace::new();
    ws.config(&config(cluster, base_uri));
    std::fs::write(
        ws.path().join("terraform.tfvars"),
        format!("secret_key = \"{SECRET}\"\n"),
    )
    .unwrap();
    ws
}

#[test]
fn converges_secret_and_config_map_and_restores_drift() {
    let cluster = Cluster::start("blob");
    let ws = workspace(&cluster, "s3://flink-state/prod");
    let log = ws.path().join("trace.log");
    let apply = ws.terraform_with_env(
        &["apply", "-auto-approve", "-no-color"],
        &[("TF_LOG", "trace"), ("TF_LOG_PATH", log.to_str().unwrap())],
    );
    assert_eq!(apply.code, 0, "{}", apply.text);
    ws.assert_no_changes();

    let cm = cluster.kubectl(&[
        "get",
        "configmap",
        "flink-blob-storage-shared",
        "-o",
        "json",
    ]);
    assert!(cm.contains("s3://flink-state/prod"), "{cm}");
    assert!(
        !cm.contains(SECRET) && !cm.contains("AKIAEXAMPLE"),
        "credentials in a ConfigMap:\n{cm}"
    );
    let secret_key = cluster.kubectl(&[
        "get",
        "secret",
        "flink-blob-storage-shared",
        "-o",
        "jsonpath={.data.secret_key}",
    ]);
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(secret_key.trim())
        .unwrap();
    assert_eq!(
        decoded,
        SECRET.as_bytes(),
        "the write-only key reaches the Secret"
    );

    let state = ws.terraform(&["show", "-json", "-no-color"]).text;
    assert!(
        !state.contains(SECRET),
        "the write-only secret key is in the state"
    );
    let trace = std::fs::read_to_string(&log).unwrap();
    assert!(
        trace.contains("flink_blob_storage"),
        "TF_LOG=trace captured nothing"
    );
    assert!(
        !trace.contains(SECRET),
        "the secret key is in the trace log"
    );

    // Drift by the real kubectl: an edited ConfigMap and a deleted Secret.
    cluster.kubectl(&[
        "patch",
        "configmap",
        "flink-blob-storage-shared",
        "-p",
        r#"{"data":{"base_uri":"s3://somewhere-else"}}"#,
    ]);
    cluster.kubectl(&[
        "delete",
        "secret",
        "flink-blob-storage-shared",
        "--wait=false",
    ]);
    let (changes, plan) = ws.plan();
    assert!(changes, "drift not shown:\n{plan}");
    assert!(
        plan.contains(r#"~ base_uri"#) && plan.contains("s3://somewhere-else"),
        "{plan}"
    );
    let secret_line = plan
        .lines()
        .find(|l| l.contains("\"Secret/flink-blob-storage-shared\""))
        .unwrap_or_default();
    assert!(
        secret_line.contains(r#""deleted outside Terraform" -> "in sync""#),
        "{plan}"
    );
    assert!(
        plan.contains(r#""changed outside Terraform: data.base_uri" -> "in sync""#),
        "{plan}"
    );
    ws.apply();
    let restored = cluster.kubectl(&[
        "get",
        "secret",
        "flink-blob-storage-shared",
        "-o",
        "jsonpath={.data.secret_key}",
    ]);
    assert_eq!(restored.trim(), secret_key.trim());

    // A value changed by another field manager shows up even though Terraform never stored it.
    cluster.kubectl(&[
        "patch",
        "secret",
        "flink-blob-storage-shared",
        "-p",
        r#"{"data":{"secret_key":"b3RoZXI="}}"#,
    ]);
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(
        plan.contains("changed outside Terraform by kubectl-patch"),
        "{plan}"
    );
    ws.apply();

    ws.destroy();
    assert!(
        cluster.managed_objects().is_empty(),
        "{:?}",
        cluster.managed_objects()
    );
}

#[test]
fn import_reconstructs_a_state_with_an_empty_plan() {
    let cluster = Cluster::start("blob-import");
    let creator = workspace(&cluster, "s3://flink-state/imported");
    creator.apply();

    let importer = workspace(&cluster, "s3://flink-state/imported");
    importer.config(
        &config(&cluster, "s3://flink-state/imported").replace("secret_key_wo_version = 1\n", ""),
    );
    importer.import(
        "flink_blob_storage.s3",
        &format!("{}/shared", cluster.namespace),
    );
    importer.assert_no_changes();
    let values = importer.resource_values("flink_blob_storage.s3");
    assert_eq!(values["base_uri"], "s3://flink-state/imported");
    assert_eq!(values["spec"]["secret"], "flink-blob-storage-shared");

    let missing = importer.terraform(&[
        "import",
        "-no-color",
        "flink_blob_storage.other",
        &format!("{}/absent", cluster.namespace),
    ]);
    assert_ne!(missing.code, 0);
}

#[test]
fn s3_settings_on_other_schemes_are_errors() {
    let ws = Workspace::new();
    ws.config(
        r#"resource "flink_blob_storage" "gs" {
  name       = "gs"
  base_uri   = "gs://bucket/flink"
  access_key = "AK"
  secret_key = "SK"
}"#,
    );
    let out = ws.plan_error();
    assert!(out.contains("S3 setting on a non-S3 base URI"), "{out}");
    assert!(out.contains("access_key = \"AK\""), "{out}");
}

#[test]
fn malformed_base_uri_is_an_error_on_base_uri() {
    let ws = Workspace::new();
    ws.config(
        r#"resource "flink_blob_storage" "x" {
  name     = "x"
  base_uri = "s3://bucket/prefix/"
}"#,
    );
    let out = ws.plan_error();
    assert!(out.contains("Invalid base URI"), "{out}");
    assert!(out.contains("Remove the trailing `/`"), "{out}");
}
