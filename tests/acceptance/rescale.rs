//! In-place rescaling with a real Flink job on the local cluster: under `in_place_rescaling`, a
//! change of `parallelism` alone is planned as "Rescaled in place" and applied through Flink's
//! adaptive scheduler. The job keeps its id and its JobManager pod, no savepoint is taken, Flink
//! runs the new parallelism (`/jobs/<id>`) after restarting the tasks from a checkpoint, and the
//! TaskManagers follow `number_of_task_managers`. The restart's length in Flink's timestamps is
//! printed, not asserted.

use crate::cluster::Cluster;
use crate::harness::{shared_storage, Workspace, NODE_STORAGE};
use crate::lifecycle::{counter, job_id, rest_address, savepoints};
use crate::local_cluster::{http_get, job_jar, pod, serve, wait_for};
use serde_json::Value as Json;
use std::time::Duration;

fn config(cluster: &Cluster, port: u16, directory: &str, parallelism: u32) -> String {
    let settings = format!(
        r#"in_place_rescaling = true
  flink_configuration = {{
    "execution.checkpointing.savepoint-dir" = "{directory}"
    "execution.checkpointing.dir"           = "{directory}-checkpoints"
  }}
  {NODE_STORAGE}"#
    );
    cluster.provider_block() + &counter(cluster, port, "RUNNING", parallelism, &settings)
}

fn rest_json(cluster: &Cluster, id: &str, path: &str) -> Option<Json> {
    serde_json::from_str(&http_get(&rest_address(cluster, id)?, path)?).ok()
}

fn task_managers(cluster: &Cluster, id: &str) -> usize {
    cluster
        .kubectl(&[
            "get",
            "pods",
            "-l",
            &format!("flink.flinkops.io/deployment-id={id},component=taskmanager"),
            "-o",
            "name",
        ])
        .lines()
        .count()
}

/// How long the rescale's restart took as Flink's timestamps show it: from the new execution
/// graph's CREATED (the adaptive scheduler builds one per rescale; the job's status stays
/// RUNNING, so there is no RESTARTING time) to its last subtask RUNNING, in Flink's
/// milliseconds. The old tasks' cancel before it is not in Flink's answers.
fn restart_downtime(cluster: &Cluster, id: &str, job: &str) -> Option<u64> {
    let detail = rest_json(cluster, id, &format!("/jobs/{job}"))?;
    let restarting = detail["timestamps"]["CREATED"]
        .as_u64()
        .filter(|t| *t > 0)?;
    let mut running = 0;
    for vertex in detail["vertices"].as_array()? {
        let vertex_id = vertex["id"].as_str()?;
        let times = rest_json(
            cluster,
            id,
            &format!("/jobs/{job}/vertices/{vertex_id}/subtasktimes"),
        )?;
        for subtask in times["subtasks"].as_array()? {
            running = running.max(subtask["timestamps"]["RUNNING"].as_u64()?);
        }
    }
    running.checked_sub(restarting)
}

#[test]
fn a_parallelism_change_alone_rescales_the_running_job_in_place() {
    let cluster = Cluster::start_with_pods("rescale");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let work = shared_storage();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let directory = format!("file://{}/savepoints", work.path().display());
    let ws = Workspace::new();

    ws.config(&config(&cluster, port, &directory, 1));
    ws.apply();
    ws.assert_no_changes();
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["status"], "RUNNING");
    assert_eq!(
        values["effective_flink_configuration"]["jobmanager.scheduler"],
        "adaptive"
    );
    let id = values["id"].as_str().unwrap().to_string();
    let run = job_id(&ws);
    let jobmanager = pod(&cluster, "jobmanager", &id)["metadata"]["name"].clone();

    for (from, to) in [(1, 2), (2, 1)] {
        ws.config(&config(&cluster, port, &directory, to));
        let (changes, plan) = ws.plan();
        assert!(changes, "{plan}");
        assert!(plan.contains("Rescaled in place"), "{plan}");
        assert!(
            plan.contains(&format!("from parallelism {from} to {to}")),
            "{plan}"
        );
        assert!(!plan.contains("~ job_id"), "the job id stays: {plan}");
        ws.apply();
        ws.assert_no_changes();

        assert_eq!(job_id(&ws), run, "the same run goes on");
        assert_eq!(
            pod(&cluster, "jobmanager", &id)["metadata"]["name"],
            jobmanager,
            "the JobManager kept running"
        );
        assert!(savepoints(&ws).is_empty(), "no savepoint was taken");
        let detail = rest_json(&cluster, &id, &format!("/jobs/{run}")).unwrap();
        assert_eq!(detail["state"], "RUNNING", "{detail}");
        for vertex in detail["vertices"].as_array().unwrap() {
            assert_eq!(vertex["parallelism"], to, "{detail}");
        }
        // Flink restarted the tasks from a checkpoint, not a savepoint.
        let checkpoints = rest_json(&cluster, &id, &format!("/jobs/{run}/checkpoints")).unwrap();
        let restored = &checkpoints["latest"]["restored"];
        assert_eq!(restored["is_savepoint"], false, "{checkpoints}");
        assert!(restored["id"].as_u64().is_some(), "{checkpoints}");
        wait_for(
            "the TaskManagers to follow number_of_task_managers",
            Duration::from_secs(60),
            || (task_managers(&cluster, &id) == to as usize).then_some(()),
        );
        match restart_downtime(&cluster, &id, &run) {
            Some(ms) => println!(
                "rescale {from} -> {to}: {ms} ms from the new execution graph to every task RUNNING (Flink's timestamps)"
            ),
            None => println!("rescale {from} -> {to}: no restart timestamps from Flink"),
        }
    }
    ws.destroy();
}
