//! State follows identity in S3 (issue 23), with the real terraform CLI on the plain test server
//! and a real S3-protocol server that checks signatures (s3s-fs): a deployment created in the
//! blob-storage directories an earlier deployment of its namespace and name left is planned to
//! start from the newest completed snapshot there, found through the signed listing with the
//! keys of the blob storage's Secret; a snapshot directory without `_metadata` is passed over;
//! and the apply checks the `_metadata` of the snapshot it restores from before it writes
//! anything.

use crate::cluster::Cluster;
use crate::harness::{unwrapped, Workspace};
use crate::verify::{s3_server_at, S3Server};
use std::time::{Duration, SystemTime};

const BUCKET: &str = "state";

/// The blob storage, and with `deployment` (its extra lines) `ns/orders` in its layout.
fn config(cluster: &Cluster, endpoint: &str, deployment: Option<&str>) -> String {
    let resource = deployment.map(|extra| {
        format!(
            r#"
resource "flink_deployment" "orders" {{
  name          = "orders"
  namespace     = "{ns}"
  flink_version = "2.3"
  wait_for_job  = false
  artifact = {{
    jar_uri     = "https://artifacts.example.com/orders.jar"
    entry_class = "org.example.Orders"
  }}
  blob_storage = flink_blob_storage.state.spec
  {extra}
}}
"#,
            ns = cluster.namespace,
        )
    });
    format!(
        r#"{provider}
resource "flink_blob_storage" "state" {{
  name              = "state"
  namespace         = "{ns}"
  base_uri          = "s3://{BUCKET}/flink"
  endpoint          = "{endpoint}"
  path_style_access = true
  access_key        = "flink-state"
  secret_key        = "state-secret"
}}
{deployment}"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
        deployment = resource.unwrap_or_default(),
    )
}

/// The key prefix (in the bucket) of `ns/orders`'s directories under the blob storage's layout.
fn deployment_prefix(namespace: &str) -> String {
    let id = flink_provider::resources::deployment_id(namespace, "orders");
    format!("flink/flink-jobs/namespaces/{namespace}/deployments/{id}")
}

/// A completed snapshot (its `_metadata`, and a state file) at `prefix`, `minutes` after a fixed
/// instant. The contents need not be Flink's: only the listing is read at plan.
fn complete(s3: &S3Server, prefix: &str, minutes: u64) {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000 + 60 * minutes);
    s3.put_at(BUCKET, &format!("{prefix}/state-file"), b"state", at);
    s3.put_at(BUCKET, &format!("{prefix}/_metadata"), b"metadata", at);
}

/// The planned value of `last_savepoint` as the plan prints it, if any.
fn planned_last_savepoint(plan: &str) -> Option<String> {
    plan.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("+ last_savepoint"))
        .map(|rest| {
            rest.trim_start_matches([' ', '='])
                .trim_matches('"')
                .to_string()
        })
}

#[test]
fn a_create_in_a_predecessors_s3_directories_starts_from_its_newest_complete_snapshot() {
    let s3 = s3_server_at("127.0.0.1", "flink-state", "state-secret", BUCKET);
    let cluster = Cluster::start("s3-predecessor");
    let ws = Workspace::new();
    // The blob storage first: its Secret holds the keys the plan lists the bucket with.
    ws.config(&config(&cluster, &s3.endpoint, None));
    ws.apply();
    ws.config(&config(&cluster, &s3.endpoint, Some("")));

    let prefix = deployment_prefix(&cluster.namespace);
    let uri = |key: &str| format!("s3://{BUCKET}/{prefix}/{key}");

    // Nothing under the layout yet: the job starts without state, and the lookup worked.
    let (changes, plan) = ws.plan();
    assert!(changes);
    let text = unwrapped(&plan);
    assert!(
        !text.contains("Cannot look for the state of an earlier deployment"),
        "the signed listing failed: {text}"
    );
    assert!(
        !text.contains("Starts from the state of an earlier deployment"),
        "{text}"
    );
    assert_eq!(planned_last_savepoint(&plan).as_deref(), None, "{plan}");

    // A savepoint directory without `_metadata` (one that never completed) is no state.
    let unfinished = "savepoints/savepoint-0a1b2c-ffffffffffff";
    s3.put_at(
        BUCKET,
        &format!("{prefix}/{unfinished}/state-file"),
        b"state",
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000 + 600),
    );
    let (_, plan) = ws.plan();
    let text = unwrapped(&plan);
    assert!(
        !text.contains("Starts from the state of an earlier deployment"),
        "{text}"
    );
    assert_eq!(planned_last_savepoint(&plan), None, "{plan}");

    // The predecessor's final savepoint, and an older one: the newest completed one is named,
    // the unfinished one newer than both passed over.
    let older = "savepoints/savepoint-0a1b2c-111111111111";
    let newest = "savepoints/savepoint-0a1b2c-222222222222";
    complete(&s3, &format!("{prefix}/{older}"), 1);
    complete(&s3, &format!("{prefix}/{newest}"), 2);
    let (changes, plan) = ws.plan();
    assert!(changes);
    let text = unwrapped(&plan);
    assert!(
        text.contains("Starts from the state of an earlier deployment"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "The job starts from the savepoint {}",
            uri(newest)
        )),
        "{text}"
    );
    assert!(
        text.contains("it stops the apply before anything changes"),
        "what a store changed by apply means: {text}"
    );
    assert_eq!(
        planned_last_savepoint(&plan),
        Some(uri(newest)),
        "plan shows where the job restores from: {plan}"
    );

    // A retained checkpoint completed after it (two levels down, `<job id>/chk-<n>`) is newer
    // state under the default LATEST_STATE; the unfinished chk-8 is not.
    let checkpoint = "checkpoints/0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d/chk-7";
    complete(&s3, &format!("{prefix}/{checkpoint}"), 3);
    s3.put_at(
        BUCKET,
        &format!("{prefix}/checkpoints/0a1b2c3d0a1b2c3d0a1b2c3d0a1b2c3d/chk-8/state-file"),
        b"state",
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000 + 600),
    );
    let (_, plan) = ws.plan();
    let text = unwrapped(&plan);
    assert!(
        text.contains(&format!(
            "The job starts from the retained checkpoint {}",
            uri(checkpoint)
        )),
        "{text}"
    );
    assert_eq!(planned_last_savepoint(&plan), Some(uri(checkpoint)));

    // The plan saved, the checkpoint's `_metadata` goes before the apply (Flink subsumed it).
    // Terraform plans again at apply, and that plan, which lists the store afresh, no longer
    // finds it: Terraform stops the apply on the changed last_savepoint, before anything is
    // written. (Terraform calls that an inconsistent final plan; the store changed under it.)
    let saved = ws.terraform(&["plan", "-no-color", "-out=restore.tfplan"]);
    assert_eq!(saved.code, 0, "{}", saved.text);
    s3.remove(BUCKET, &format!("{prefix}/{checkpoint}/_metadata"));
    let run = ws.terraform(&["apply", "-no-color", "restore.tfplan"]);
    assert_ne!(run.code, 0, "{}", run.text);
    let text = unwrapped(&run.text);
    assert!(
        text.contains("invalid new value for .last_savepoint"),
        "{text}"
    );
    let written = |cluster: &Cluster| {
        let objects = cluster.managed_objects();
        objects
            .iter()
            .any(|o| o.contains("orders"))
            .then_some(objects)
    };
    assert_eq!(
        written(&cluster),
        None,
        "nothing of the deployment was written"
    );

    // `initial_savepoint_path` wins over what the directories hold, and the apply checks its
    // `_metadata` through the store: the unfinished savepoint is refused, nothing written.
    let initial = format!("initial_savepoint_path = \"{}\"", uri(unfinished));
    ws.config(&config(&cluster, &s3.endpoint, Some(&initial)));
    let (_, plan) = ws.plan();
    let text = unwrapped(&plan);
    assert!(
        !text.contains("Starts from the state of an earlier deployment"),
        "{text}"
    );
    assert_eq!(planned_last_savepoint(&plan), None, "{plan}");
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    let text = unwrapped(&run.text);
    assert!(text.contains("The state to restore from is gone"), "{text}");
    assert!(
        text.contains(&format!("{} has no _metadata", uri(unfinished))),
        "{text}"
    );
    assert!(text.contains("initial_savepoint_path"), "{text}");
    assert_eq!(
        written(&cluster),
        None,
        "nothing of the deployment was written"
    );

    // Without it, the job starts from the newest complete savepoint (the checkpoint is gone),
    // and Flink is told so.
    ws.config(&config(&cluster, &s3.endpoint, Some("")));
    ws.apply();
    let values = ws.resource_values("flink_deployment.orders");
    assert_eq!(values["last_savepoint"], uri(newest), "{values}");
    assert_eq!(values["savepoints"][0]["reason"], "FOUND_SAVEPOINT");
    // Flink reads where it restores from in its configuration (execution.state-recovery.path
    // in 2.x), which the ConfigMap carries.
    let flink_config = cluster.kubectl(&["get", "configmap", "flink-orders-config", "-o", "json"]);
    let flink_config: serde_json::Value = serde_json::from_str(&flink_config).unwrap();
    let restore = format!("execution.state-recovery.path: \"{}\"", uri(newest));
    assert!(
        flink_config["data"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(_, file)| file.as_str().is_some_and(|f| f.contains(&restore))),
        "{restore} in {flink_config}"
    );
    ws.destroy();
    assert!(cluster.managed_objects().is_empty());
}

#[test]
fn savepoints_at_the_root_of_a_bucket_are_found() {
    let s3 = s3_server_at("127.0.0.1", "flink-state", "state-secret", BUCKET);
    let cluster = Cluster::start("s3-predecessor-root");
    let ws = Workspace::new();
    ws.config(&config(&cluster, &s3.endpoint, None));
    ws.apply();
    // A savepoint directory that is a whole bucket: Flink writes `s3://savepoints/savepoint-…`.
    // (s3s-fs also lists keys under the prefix "/", which AWS S3 does not: that the listing
    // asks for none is the unit test `a_whole_bucket_is_listed_without_a_prefix`'s.)
    let savepoint = "savepoint-0a1b2c-333333333333";
    complete(&s3, &format!("../savepoints/{savepoint}"), 1);
    let root =
        r#"flink_configuration = { "execution.checkpointing.savepoint-dir" = "s3://savepoints" }"#;
    ws.config(&config(&cluster, &s3.endpoint, Some(root)));
    let (_, plan) = ws.plan();
    let text = unwrapped(&plan);
    assert!(
        !text.contains("Cannot look for the state of an earlier deployment"),
        "{text}"
    );
    assert_eq!(
        planned_last_savepoint(&plan),
        Some(format!("s3://savepoints/{savepoint}")),
        "{plan}"
    );
}
