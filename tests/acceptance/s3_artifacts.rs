//! A job jar in S3, fetched with the blob storage's credentials, on the local cluster against a
//! real S3-protocol server that checks signatures (s3s-fs): the init container
//! `fetch-s3-artifacts` copies `s3://jobs/counter.jar` with the keys of the blob storage's Secret
//! at its endpoint, path-style, and the JobManager starts on it; with a wrong secret key the
//! apply fails within seconds naming the init container and the store's refusal; without blob
//! storage the plan says what the jar needs.

use crate::cluster::Cluster;
use crate::harness::Workspace;
use crate::lifecycle::HOST;
use crate::local_cluster::{job_jar, pod, wait_for};
use crate::verify::s3_server_at;
use std::time::{Duration, Instant};

/// The blob storage with `secret_key` and a deployment of `s3://jobs/counter.jar`; the apply
/// waits for the job when `wait` (and so fails when the pods cannot start).
fn config(cluster: &Cluster, endpoint: &str, secret_key: &str, wait: bool) -> String {
    format!(
        r#"{provider}
resource "flink_blob_storage" "jobs" {{
  name              = "jobs"
  namespace         = "{ns}"
  base_uri          = "s3://state/flink"
  endpoint          = "{endpoint}"
  path_style_access = true
  access_key        = "flink-reader"
  secret_key        = "{secret_key}"
}}

resource "flink_deployment" "counter" {{
  name          = "counter"
  namespace     = "{ns}"
  flink_version = "2.3"
  # The local cluster's Flink has no S3 file system for state: a job that runs is not waited for.
  wait_for_job  = {wait}
  artifact = {{
    jar_uri     = "s3://jobs/counter.jar"
    entry_class = "Counter"
  }}
  blob_storage = flink_blob_storage.jobs.spec
  resources = {{
    jobmanager  = {{ memory = "1024m" }}
    taskmanager = {{ memory = "1024m" }}
  }}
  wait_timeout = "4 min"
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

/// The state of the JobManager pod's init container `fetch-s3-artifacts`.
fn fetcher_state(cluster: &Cluster, id: &str) -> serde_json::Value {
    pod(cluster, "jobmanager", id)["status"]["initContainerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == "fetch-s3-artifacts")
        .map(|s| s["state"].clone())
        .unwrap_or_default()
}

#[test]
fn an_s3_jar_is_fetched_with_the_blob_storages_credentials() {
    let cluster = Cluster::start_with_pods("local-s3-jar");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let s3 = s3_server_at(HOST, "flink-reader", "correct-secret", "jobs");
    let work = tempfile::tempdir().unwrap();
    s3.put(
        "jobs",
        "counter.jar",
        &std::fs::read(job_jar(work.path())).unwrap(),
    );

    let ws = Workspace::new();
    // Without blob storage there are no credentials to copy with: a plan error on the jar.
    let without = config(&cluster, &s3.endpoint, "wrong-secret", true)
        .replace("  blob_storage = flink_blob_storage.jobs.spec\n", "");
    ws.config(&without);
    let text = ws
        .plan_error()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("An s3:// artifact needs blob_storage") && text.contains("artifact.jar_uri"),
        "{text}"
    );

    ws.config(&config(&cluster, &s3.endpoint, "wrong-secret", true));
    let started = Instant::now();
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    eprintln!(
        "the refused copy failed the apply after {:?}",
        started.elapsed()
    );
    assert_ne!(run.code, 0, "{}", run.text);
    let text = run.text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("fetch-s3-artifacts"), "{}", run.text);
    assert!(
        text.contains("cannot copy s3://jobs/counter.jar") && text.contains("403"),
        "the store's refusal: {}",
        run.text
    );

    ws.config(&config(&cluster, &s3.endpoint, "correct-secret", false));
    ws.apply();
    let id = ws.resource_values("flink_deployment.counter")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let copied = wait_for(
        "fetch-s3-artifacts to complete",
        Duration::from_secs(120),
        || {
            let state = fetcher_state(&cluster, &id);
            state["terminated"].is_object().then_some(state)
        },
    );
    assert_eq!(copied["terminated"]["exitCode"], 0, "{copied}");
    let started = wait_for(
        "the JobManager's container to start",
        Duration::from_secs(120),
        || {
            let jobmanager = pod(&cluster, "jobmanager", &id);
            let main = jobmanager["status"]["containerStatuses"][0].clone();
            (main["state"]["running"].is_object() || main["lastState"]["terminated"].is_object())
                .then_some(main)
        },
    );
    eprintln!("the JobManager started on the copied jar: {started}");
    ws.destroy();
}
