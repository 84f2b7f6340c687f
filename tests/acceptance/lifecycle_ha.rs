//! The stateful lifecycle with ZooKeeper HA on, on the local cluster: a real ZooKeeper that the
//! pods reach, Flink's HA data and savepoints under a file:// blob storage. Flink remembers a job
//! that ended (its job result store) and keeps checkpoint pointers per job id in ZooKeeper, so
//! each run the provider starts must be a new job: a STATEFUL upgrade and a resume after
//! SUSPENDED both run a job with a new id that restores from exactly the provider's savepoint,
//! where a pinned id would come back FINISHED.

use crate::cluster::Cluster;
use crate::harness::{shared_storage, Workspace, NODE_STORAGE};
use crate::lifecycle::{assert_runs_restored_from, counter, job_id, savepoints, HOST};
use crate::local_cluster::{job_jar, serve, wait_for};
use crate::zookeeper_server::ZooKeeper;
use std::time::Duration;

fn with_zookeeper_ha(
    cluster: &Cluster,
    jar_port: u16,
    quorum: &str,
    blob: &str,
    state: &str,
    parallelism: u32,
) -> String {
    let platform = format!(
        r#"{provider}
resource "flink_blob_storage" "state" {{
  name      = "state"
  namespace = "{ns}"
  base_uri  = "{blob}"
}}

resource "flink_high_availability" "zk" {{
  name      = "zk"
  namespace = "{ns}"
  type      = "zookeeper"
  zookeeper = {{
    quorum = ["{quorum}"]
  }}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    );
    let settings = format!(
        "blob_storage      = flink_blob_storage.state.spec
  high_availability = flink_high_availability.zk.spec
  {NODE_STORAGE}"
    );
    platform + &counter(cluster, jar_port, state, parallelism, &settings)
}

#[test]
fn with_zookeeper_ha_every_run_is_a_new_job_restored_from_the_providers_savepoint() {
    let cluster = Cluster::start_with_pods("lifecycle-ha");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let work = shared_storage();
    let zookeeper = ZooKeeper::start(work.path(), "0.0.0.0");
    let quorum = zookeeper.quorum_at(HOST);
    let jar_port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let blob = format!("file://{}/blob", work.path().display());
    let config = |state: &str, parallelism: u32| {
        with_zookeeper_ha(&cluster, jar_port, &quorum, &blob, state, parallelism)
    };
    let ws = Workspace::new();

    ws.config(&config("RUNNING", 1));
    ws.apply();
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["status"], "RUNNING");
    let id = values["id"].as_str().unwrap().to_string();
    let first_run = job_id(&ws);
    // Flink's leadership under <path_root>/<deployment id>: HA is really on.
    let leader = format!("/flink/{id}/leader/");
    wait_for("Flink's leader znodes", Duration::from_secs(60), || {
        zookeeper
            .znodes("/flink")
            .iter()
            .any(|z| z.starts_with(&leader))
            .then_some(())
    });

    // A STATEFUL upgrade: a new run, restored from the upgrade savepoint.
    ws.config(&config("RUNNING", 2));
    let (changes, plan) = ws.plan();
    assert!(changes);
    assert!(plan.contains("~ job_id "), "{plan}");
    ws.apply();
    let upgraded_run = job_id(&ws);
    assert_ne!(upgraded_run, first_run, "an upgrade starts a new run");
    let taken = savepoints(&ws);
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_runs_restored_from(&ws, &cluster, &taken[0].0);

    // SUSPENDED, then RUNNING: the resumed job runs (not FINISHED under its old id) from the
    // suspend savepoint.
    ws.config(&config("SUSPENDED", 2));
    ws.apply();
    assert_eq!(
        ws.resource_values("flink_deployment.counter")["status"],
        "SUSPENDED"
    );
    assert_eq!(job_id(&ws), upgraded_run, "a suspended job keeps its id");
    ws.config(&config("RUNNING", 2));
    ws.apply();
    let taken = savepoints(&ws);
    assert_eq!(taken.len(), 2, "{taken:?}");
    assert_eq!(taken[1].1, "SUSPEND");
    assert_ne!(job_id(&ws), upgraded_run, "a resume starts a new run");
    assert_runs_restored_from(&ws, &cluster, &taken[1].0);

    // Destroy takes a final savepoint; Flink cleaned every run's HA data before its JobManager
    // went (the provider waits for the run's application to end), so no job is left in
    // ZooKeeper for a deployment created again under this name.
    ws.config(&config("RUNNING", 2));
    let destroyed = ws.destroy();
    assert!(destroyed.contains("Final savepoint taken"), "{destroyed}");
    let znodes = zookeeper.znodes("/flink");
    let left: Vec<&String> = ["jobs", "execution-plans", "applications"]
        .iter()
        .flat_map(|dir| {
            let prefix = format!("/flink/{id}/{dir}/");
            znodes.iter().filter(move |z| z.starts_with(&prefix))
        })
        .collect();
    assert!(left.is_empty(), "HA data of ended runs: {left:?}");
}
