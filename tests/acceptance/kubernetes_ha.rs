//! Kubernetes HA on the local cluster, as on a real one: the deployment's pods reach the API server
//! in-cluster (the `kubernetes` Service's environment and the mounted ServiceAccount token) as the
//! deployment's own ServiceAccount, so Flink's fabric8 client works only within the provider's
//! Role (the test server enforces RBAC for ServiceAccount tokens). Flink elects its JobManager and
//! keeps its HA ConfigMaps under the labels it gives them; a JobManager killed by hand comes back
//! and recovers the same job from its HA data; destroy removes those ConfigMaps.

use crate::cluster::Cluster;
use crate::harness::{shared_storage, Workspace, NODE_STORAGE};
use crate::lifecycle::{counter, job_id, job_state, rest_address};
use crate::local_cluster::{http_get, job_jar, jvm_of, pod, serve, wait_for};
use std::process::Command;
use std::time::Duration;

/// The annotation fabric8's leader election writes on Flink's leader ConfigMap.
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

pub(crate) fn with_kubernetes_ha(cluster: &Cluster, jar_port: u16, blob: &str) -> String {
    let platform = format!(
        r#"{provider}
resource "flink_blob_storage" "state" {{
  name      = "state"
  namespace = "{ns}"
  base_uri  = "{blob}"
}}

resource "flink_high_availability" "k8s" {{
  name      = "k8s"
  namespace = "{ns}"
  type      = "kubernetes"
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    );
    let settings = format!(
        "blob_storage      = flink_blob_storage.state.spec
  high_availability = flink_high_availability.k8s.spec
  {NODE_STORAGE}"
    );
    platform + &counter(cluster, jar_port, "RUNNING", 1, &settings)
}

/// Flink's HA ConfigMaps of deployment `id` (by the labels Flink gives them).
pub(crate) fn ha_config_maps(cluster: &Cluster, id: &str) -> Vec<serde_json::Value> {
    let text = cluster.kubectl(&[
        "get",
        "configmaps",
        "-l",
        &format!("app={id},type=flink-native-kubernetes"),
        "-o",
        "json",
    ]);
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    list["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn with_kubernetes_ha_flink_elects_its_leader_as_the_deployments_service_account() {
    let cluster = Cluster::start_with_pods("k8s-ha");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    let work = shared_storage();
    let jar_port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let blob = format!("file://{}/blob", work.path().display());
    let ws = Workspace::new();
    ws.config(&with_kubernetes_ha(&cluster, jar_port, &blob));
    ws.apply();
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["status"], "RUNNING");
    let id = values["id"].as_str().unwrap().to_string();
    let run = job_id(&ws);
    ws.assert_no_changes();

    // Flink's own leader ConfigMap, labelled as Flink labels it, names the JobManager leader.
    let leader = wait_for("Flink's leader ConfigMap", Duration::from_secs(60), || {
        ha_config_maps(&cluster, &id).into_iter().find(|cm| {
            cm["metadata"]["annotations"][LEADER_ANNOTATION]
                .as_str()
                .is_some_and(|record| record.contains("holderIdentity"))
        })
    });
    let leader_name = leader["metadata"]["name"].as_str().unwrap().to_string();
    assert!(leader_name.starts_with(&id), "{leader_name}");

    // Every request from the pods was one of the deployment's two ServiceAccounts', and RBAC
    // allowed it: the JobManager's leads and writes, the TaskManagers' only read.
    if let Some(log) = cluster.request_log() {
        let account = |component: &str| {
            format!(
                "as system:serviceaccount:{}:flink-counter-{component}",
                cluster.namespace
            )
        };
        let (jobmanager, taskmanager) = (account("jobmanager"), account("taskmanager"));
        let from_pods: Vec<&String> = log.iter().filter(|l| l.contains(" as ")).collect();
        assert!(
            from_pods.iter().any(|l| l.ends_with(&jobmanager)),
            "no request as the JobManager's ServiceAccount:\n{log:#?}"
        );
        assert!(
            from_pods.iter().any(|l| l.ends_with(&taskmanager)),
            "no request as the TaskManagers' ServiceAccount:\n{log:#?}"
        );
        eprintln!(
            "{} requests from the pods, e.g.:\n{}",
            from_pods.len(),
            from_pods
                .iter()
                .take(12)
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
        let refused: Vec<&&String> = from_pods
            .iter()
            .filter(|l| {
                !(l.ends_with(&jobmanager) || l.ends_with(&taskmanager))
                    || l.contains("-> 401")
                    || l.contains("-> 403")
            })
            .collect();
        assert!(refused.is_empty(), "{refused:#?}");
    }

    // A JobManager killed by hand comes back, and Flink recovers the same job from the latest
    // checkpoint its HA services recorded.
    let checkpoints = |cluster: &Cluster| {
        let body = http_get(
            &rest_address(cluster, &id)?,
            &format!("/jobs/{run}/checkpoints"),
        )?;
        serde_json::from_str::<serde_json::Value>(&body).ok()
    };
    wait_for("a completed checkpoint", Duration::from_secs(60), || {
        (checkpoints(&cluster)?["counts"]["completed"].as_u64()? >= 1).then_some(())
    });
    let jobmanager = pod(&cluster, "jobmanager", &id);
    let jm_name = jobmanager["metadata"]["name"].as_str().unwrap().to_string();
    let pid = jvm_of(&jm_name, "ClusterEntryPoint");
    let killed = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
    assert!(killed.success(), "no JobManager process of {jm_name}");
    wait_for("the JobManager restart", Duration::from_secs(60), || {
        let p = pod(&cluster, "jobmanager", &id);
        let status = &p["status"]["containerStatuses"][0];
        (status["restartCount"].as_u64()? >= 1 && status["state"]["running"].is_object())
            .then_some(())
    });
    wait_for("the recovered job to run", Duration::from_secs(180), || {
        (job_state(&cluster, &id, &run)? == "RUNNING").then_some(())
    });
    let restored = wait_for(
        "the job to report its restore",
        Duration::from_secs(60),
        || {
            checkpoints(&cluster)?["latest"]["restored"]
                .as_object()
                .cloned()
        },
    );
    assert_eq!(
        restored["is_savepoint"], false,
        "recovered from a checkpoint: {restored:?}"
    );
    ws.assert_no_changes();

    // Destroy removes Flink's HA ConfigMaps with the deployment.
    ws.destroy();
    let left = ha_config_maps(&cluster, &id);
    assert!(
        left.is_empty(),
        "{:?}",
        left.iter()
            .map(|c| &c["metadata"]["name"])
            .collect::<Vec<_>>()
    );
}
