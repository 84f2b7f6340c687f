//! `terraform destroy` from every state the cluster can be in, with the real terraform CLI and
//! kubectl. Each case puts the cluster in one state, then destroy must exit 0 and leave nothing
//! labelled by the provider. A plan in such a state shows warnings, never an error, since
//! Terraform starts every destroy with a normal plan (with the configuration) to refresh. A
//! resource is gone only when none of its objects is left: one whose main objects were deleted by
//! hand stays in state, its plan recreates them, and destroy removes what is left.
//!
//! The plain test server runs no pods, so its deployments are never running (status PENDING):
//! the states of a running job are on the local cluster, at the end: a job without a savepoint
//! directory, a crash-looping JobManager, a FAILED job, a REST API refusing connections (with a
//! flink_savepoint that cannot be disposed of), and Flink's HA ConfigMaps deleted by hand.

use crate::cluster::Cluster;
use crate::harness::{shared_storage, unwrapped, Workspace, NODE_STORAGE};
use crate::kubernetes_ha::{ha_config_maps, with_kubernetes_ha};
use crate::lifecycle::{counter, job_state, local_path};
use crate::local_cluster::{job_jar, serve, wait_for};
use std::time::Duration;

/// An authority, Kubernetes HA, blob storage and a deployment using all three, with
/// `deployment` (extra attributes) in its block. No pods run on the plain server, so the
/// deployment does not wait for its job.
pub fn platform(cluster: &Cluster, deployment: &str) -> String {
    format!(
        r#"{provider}
resource "flink_certificate_authority" "ca" {{
  name      = "platform"
  namespace = "{ns}"
}}

resource "flink_high_availability" "k8s" {{
  name        = "k8s"
  namespace   = "{ns}"
  type        = "kubernetes"
  storage_dir = "s3://state-bucket/ha"
}}

resource "flink_blob_storage" "state" {{
  name       = "state"
  namespace  = "{ns}"
  base_uri   = "s3://state-bucket/flink"
  access_key = "AKIAEXAMPLE"
  secret_key = "not-a-real-secret"
}}

resource "flink_deployment" "job" {{
  name              = "job"
  namespace         = "{ns}"
  flink_version     = "2.3"
  wait_for_job      = false
  high_availability = flink_high_availability.k8s.spec
  artifact = {{
    jar_uri = "https://artifacts.example.com/job.jar"
  }}
  tls = {{
    enabled   = true
    authority = flink_certificate_authority.ca.spec
  }}
  {deployment}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

/// The deployment with blob storage (so a savepoint directory) and parallelism `parallelism`.
fn with_blob_storage(cluster: &Cluster, parallelism: u32) -> String {
    platform(
        cluster,
        &format!("blob_storage = flink_blob_storage.state.spec\n  parallelism  = {parallelism}"),
    )
}

/// Applies `config` on a fresh plain server; the cluster and workspace.
fn applied(prefix: &str, config: impl Fn(&Cluster) -> String) -> (Cluster, Workspace) {
    let cluster = Cluster::start(prefix);
    let ws = Workspace::new();
    ws.config(&config(&cluster));
    ws.apply();
    assert!(
        !cluster.managed_objects().is_empty(),
        "the platform created objects"
    );
    (cluster, ws)
}

/// `terraform plan` must not fail in the cluster's state; its output, unwrapped.
fn plan_succeeds(ws: &Workspace) -> String {
    let run = ws.terraform(&["plan", "-no-color"]);
    assert_eq!(run.code, 0, "plan failed:\n{}", run.text);
    unwrapped(&run.text)
}

/// `terraform destroy` exits 0, state is empty and nothing labelled by the provider is left.
fn destroy_leaves_nothing(cluster: &Cluster, ws: &Workspace) -> String {
    let text = ws.destroy();
    assert_eq!(
        cluster.managed_objects(),
        Vec::<String>::new(),
        "left on the server after destroy:\n{text}"
    );
    text
}

/// A refresh keeps `address` in state, `because` some of its objects are left.
fn refresh_keeps(ws: &Workspace, address: &str, because: &str) {
    let run = ws.terraform(&["apply", "-refresh-only", "-auto-approve", "-no-color"]);
    assert_eq!(run.code, 0, "{}", run.text);
    let listed = ws.terraform(&["state", "list"]);
    assert!(
        listed.text.lines().any(|l| l.trim() == address),
        "{because}: {}",
        listed.text
    );
}

/// Deletes every object of the kinds `kinds` labelled as owned by `owner_name` (a resource name).
fn delete_owned(cluster: &Cluster, kinds: &str, owner_name: &str) {
    cluster.kubectl(&[
        "delete",
        kinds,
        "-l",
        &format!(
            "app.kubernetes.io/managed-by=terraform-provider-flink,flink.flinkops.io/owner-name={owner_name}"
        ),
    ]);
}

#[test]
fn destroy_after_each_kind_of_the_deployments_objects_was_deleted_by_hand() {
    for kind in [
        "configmaps",
        "deployments",
        "services",
        "serviceaccounts",
        "secrets",
        "roles",
        "rolebindings",
    ] {
        let (cluster, ws) = applied(&format!("destroy-{kind}"), |c| with_blob_storage(c, 1));
        delete_owned(&cluster, kind, "job");
        let plan = plan_succeeds(&ws);
        assert!(
            plan.contains("flink_deployment.job will be updated in-place"),
            "{kind} deleted: the deployment stays and its objects are recreated:\n{plan}"
        );
        destroy_leaves_nothing(&cluster, &ws);
    }
}

#[test]
fn a_deployment_whose_main_objects_were_deleted_stays_until_none_is_left() {
    let (cluster, ws) = applied("destroy-partial", |c| with_blob_storage(c, 1));
    delete_owned(&cluster, "deployments,configmaps", "job");
    refresh_keeps(
        &ws,
        "flink_deployment.job",
        "its ServiceAccount and Services are still its own",
    );
    let plan = plan_succeeds(&ws);
    assert!(plan.contains("ConfigMap/flink-job-config"), "{plan}");
    ws.apply();
    destroy_leaves_nothing(&cluster, &ws);
}

#[test]
fn destroy_after_every_object_in_the_namespace_was_deleted() {
    let (cluster, ws) = applied("destroy-all", |c| with_blob_storage(c, 1));
    cluster.kubectl(&[
        "delete",
        "configmaps,secrets,services,serviceaccounts,roles,rolebindings,deployments",
        "--all",
    ]);
    plan_succeeds(&ws);
    destroy_leaves_nothing(&cluster, &ws);
}

#[test]
fn destroy_after_the_tls_secret_was_deleted_while_no_job_runs() {
    // No savepoint directory: new TLS material needs new pods, and no job runs to lose state.
    let (cluster, ws) = applied("destroy-tls", |c| platform(c, ""));
    cluster.kubectl(&["delete", "secret", "flink-job-tls"]);
    let plan = plan_succeeds(&ws);
    assert!(
        plan.contains("No savepoint directory") && plan.contains("The job is not running"),
        "a warning, not an error: {plan}"
    );
    destroy_leaves_nothing(&cluster, &ws);
}

#[test]
fn destroy_after_the_certificate_authority_was_deleted_first() {
    let (cluster, ws) = applied("destroy-ca", |c| with_blob_storage(c, 1));
    delete_owned(&cluster, "secrets", "platform");
    plan_succeeds(&ws);
    destroy_leaves_nothing(&cluster, &ws);
}

#[test]
fn destroy_after_the_blob_storage_secret_and_the_ha_config_map_were_deleted() {
    let (cluster, ws) = applied("destroy-refs", |c| with_blob_storage(c, 1));
    delete_owned(&cluster, "secrets", "state");
    delete_owned(&cluster, "configmaps", "k8s");
    plan_succeeds(&ws);
    destroy_leaves_nothing(&cluster, &ws);
}

#[test]
fn destroy_with_a_pending_change_that_would_need_a_savepoint_directory() {
    // Kubernetes HA, no savepoint directory, parallelism changed in place; then SUSPENDED.
    let (cluster, ws) = applied("destroy-change", |c| platform(c, "parallelism = 1"));
    ws.config(&platform(&cluster, "parallelism = 2"));
    let plan = plan_succeeds(&ws);
    assert!(plan.contains("No savepoint directory"), "{plan}");
    destroy_leaves_nothing(&cluster, &ws);

    let (cluster, ws) = applied("destroy-suspend", |c| platform(c, ""));
    ws.config(&platform(&cluster, "state = \"SUSPENDED\""));
    let plan = plan_succeeds(&ws);
    assert!(
        plan.contains("No savepoint directory") && plan.contains("(SUSPEND"),
        "{plan}"
    );
    destroy_leaves_nothing(&cluster, &ws);
}

#[test]
fn the_other_resources_are_destroyed_after_their_objects_were_deleted() {
    let (cluster, ws) = applied("destroy-others", |c| with_blob_storage(c, 1));
    delete_owned(&cluster, "configmaps", "state");
    refresh_keeps(
        &ws,
        "flink_blob_storage.state",
        "its Secret is still its own",
    );
    delete_owned(&cluster, "configmaps,secrets", "state");
    delete_owned(&cluster, "configmaps", "k8s");
    plan_succeeds(&ws);
    destroy_leaves_nothing(&cluster, &ws);
}

#[test]
fn a_stateful_deployment_without_a_savepoint_directory_is_warned_at_create() {
    let cluster = Cluster::start("destroy-warn");
    let ws = Workspace::new();
    ws.config(&platform(&cluster, ""));
    let plan = plan_succeeds(&ws);
    assert!(
        plan.contains("No savepoint directory")
            && plan.contains("first upgrade or suspend while the job runs will fail"),
        "{plan}"
    );
    ws.config(&with_blob_storage(&cluster, 1));
    let plan = plan_succeeds(&ws);
    assert!(!plan.contains("No savepoint directory"), "{plan}");
}

/// On the local cluster: a running job without a savepoint directory. A change that needs a
/// savepoint warns at plan and fails at apply with nothing changed; destroy cancels the job
/// without a savepoint and says so. Then a JobManager that cannot start (its jar is not there):
/// destroy still goes through.
#[test]
fn destroy_a_running_job_without_a_savepoint_directory_and_a_crash_looping_one() {
    let cluster = Cluster::start_with_pods("destroy-running");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let work = tempfile::tempdir().unwrap();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let ws = Workspace::new();
    let config = |parallelism| {
        cluster.provider_block() + &counter(&cluster, port, "RUNNING", parallelism, "")
    };
    ws.config(&config(1));
    let created = unwrapped(&ws.apply());
    assert!(created.contains("No savepoint directory"), "{created}");
    assert_eq!(
        ws.resource_values("flink_deployment.counter")["status"],
        "RUNNING"
    );

    ws.config(&config(2));
    let plan = plan_succeeds(&ws);
    assert!(
        plan.contains("No savepoint directory") && plan.contains("apply will fail"),
        "{plan}"
    );
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    let said = unwrapped(&run.text);
    assert!(
        said.contains("No savepoint directory")
            && said.contains("Nothing was changed and the job keeps running"),
        "{}",
        run.text
    );
    assert_eq!(
        ws.resource_values("flink_deployment.counter")["parallelism"],
        1,
        "state keeps what runs"
    );

    let destroyed = unwrapped(&destroy_leaves_nothing(&cluster, &ws));
    assert!(
        destroyed.contains("was cancelled without a savepoint")
            && destroyed.contains("the deployment has no savepoint directory"),
        "{destroyed}"
    );

    // A JobManager whose artifact cannot be fetched never runs: destroy does not wait for it.
    let closed = std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let broken = counter(&cluster, closed, "RUNNING", 1, "wait_for_job = false");
    let ws = Workspace::new();
    ws.config(&(cluster.provider_block() + &broken));
    ws.apply();
    std::thread::sleep(std::time::Duration::from_secs(5));
    plan_succeeds(&ws);
    destroy_leaves_nothing(&cluster, &ws);
}

/// The file whose existence makes the test job fail (the `fail-when` argument of its main).
const FAIL_TRIGGER: &str = "fail-now";

/// `flink_deployment.counter` with a savepoint directory on the node, Flink's restart strategy
/// `none` (a failure ends the job), the job failing once `<work>/fail-now` exists, and `extra`
/// in its block; with a `flink_savepoint` whose destroy disposes of it.
fn failing_on_demand(
    cluster: &Cluster,
    jar_port: u16,
    work: &std::path::Path,
    extra: &str,
) -> String {
    let settings = format!(
        r#"flink_configuration = {{
    "execution.checkpointing.savepoint-dir" = "file://{dir}/savepoints"
    "restart-strategy.type"                 = "none"
  }}
  {NODE_STORAGE}
  {extra}"#,
        dir = work.display()
    );
    let deployment = counter(cluster, jar_port, "RUNNING", 1, &settings).replace(
        r#"entry_class = "Counter""#,
        &format!(
            r#"entry_class = "Counter"
    main_args   = ["fail-when", "{}"]"#,
            work.join(FAIL_TRIGGER).display()
        ),
    );
    format!(
        r#"{provider}{deployment}
resource "flink_savepoint" "snap" {{
  namespace          = flink_deployment.counter.namespace
  deployment         = flink_deployment.counter.name
  dispose_on_destroy = true
}}
"#,
        provider = cluster.provider_block(),
    )
}

/// A local cluster, storage its pods can write, and the port the test job's jar is served at.
fn local_job(prefix: &str) -> (Cluster, tempfile::TempDir, u16) {
    let cluster = Cluster::start_with_pods(prefix);
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let work = shared_storage();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    (cluster, work, port)
}

/// On the local cluster: a job that FAILED in Flink. The plan shows it and runs it again; destroy
/// says no final savepoint was taken, and the flink_savepoint is disposed of through the
/// JobManager that outlived its job.
#[test]
fn destroy_a_failed_job_and_its_savepoint() {
    let (cluster, work, port) = local_job("destroy-failed");
    let ws = Workspace::new();
    ws.config(&failing_on_demand(&cluster, port, work.path(), ""));
    ws.apply();
    ws.assert_no_changes();
    let values = ws.resource_values("flink_deployment.counter");
    let (id, job) = (
        values["id"].as_str().unwrap().to_string(),
        values["job_id"].as_str().unwrap().to_string(),
    );
    let location = ws.resource_values("flink_savepoint.snap")["location"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        local_path(&location).join("_metadata").exists(),
        "{location}"
    );

    std::fs::write(work.path().join(FAIL_TRIGGER), "").unwrap();
    wait_for("the job to fail", Duration::from_secs(60), || {
        job_state(&cluster, &id, &job).filter(|s| s == "FAILED")
    });
    let plan = plan_succeeds(&ws);
    assert!(plan.contains(r#""FAILED" -> "RUNNING""#), "{plan}");

    let destroyed = unwrapped(&destroy_leaves_nothing(&cluster, &ws));
    assert!(
        destroyed.contains("ended as FAILED, so no final savepoint was taken"),
        "{destroyed}"
    );
    assert!(
        !local_path(&location).exists(),
        "disposed of through the JobManager: {location}\n{destroyed}"
    );
}

/// On the local cluster: a running job whose REST API refuses connections (`rest_url` at a closed
/// port). Destroy cannot ask for a final savepoint nor dispose of the flink_savepoint; it says
/// both, keeps the savepoint's files, and removes every object.
#[test]
fn destroy_when_the_rest_api_refuses_connections() {
    let (cluster, work, port) = local_job("destroy-refused");
    let ws = Workspace::new();
    ws.config(&failing_on_demand(&cluster, port, work.path(), ""));
    ws.apply();
    let location = ws.resource_values("flink_savepoint.snap")["location"]
        .as_str()
        .unwrap()
        .to_string();

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = format!("rest_url = \"http://127.0.0.1:{closed}\"\n  wait_for_job = false");
    ws.config(&failing_on_demand(&cluster, port, work.path(), &refused));
    ws.apply();
    ws.assert_no_changes();
    assert_eq!(
        ws.resource_values("flink_deployment.counter")["status"],
        "UNREACHABLE"
    );

    let destroyed = unwrapped(&destroy_leaves_nothing(&cluster, &ws));
    assert!(
        destroyed.contains("did not answer")
            && destroyed.contains("If its job was running, its current state is not kept"),
        "{destroyed}"
    );
    assert!(
        destroyed.contains("The savepoint's files were kept") && destroyed.contains(&location),
        "{destroyed}"
    );
    assert!(
        local_path(&location).join("_metadata").exists(),
        "{location}"
    );
}

/// On the local cluster: Kubernetes HA, with Flink's own HA ConfigMaps deleted by hand while the
/// job runs. Plan and destroy go through, and no HA ConfigMap of the deployment is left.
#[test]
fn destroy_after_flinks_ha_config_maps_were_deleted() {
    let (cluster, work, port) = local_job("destroy-ha-data");
    let blob = format!("file://{}/blob", work.path().display());
    let ws = Workspace::new();
    ws.config(&with_kubernetes_ha(&cluster, port, &blob));
    ws.apply();
    ws.assert_no_changes();
    let id = ws.resource_values("flink_deployment.counter")["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for("Flink's HA ConfigMaps", Duration::from_secs(60), || {
        Some(()).filter(|_| !ha_config_maps(&cluster, &id).is_empty())
    });
    cluster.kubectl(&[
        "delete",
        "configmaps",
        "-l",
        &format!("app={id},type=flink-native-kubernetes"),
    ]);
    plan_succeeds(&ws);
    destroy_leaves_nothing(&cluster, &ws);
    assert_eq!(
        ha_config_maps(&cluster, &id),
        Vec::<serde_json::Value>::new()
    );
}
