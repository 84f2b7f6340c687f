//! Pod templates on the local cluster, under Pod Security `restricted`: a template pasted as
//! HCL adds a sidecar and a shared volume to both roles and an init container to the JobManager
//! only; the job runs, every container's log is readable with `kubectl logs -c`, a sidecar changed
//! by hand shows in the plan and apply puts it back. A template value that contradicts what the
//! provider renders, or a field Kubernetes does not have, fails the plan on its path inside the
//! template.

use crate::cluster::Cluster;
use crate::harness::{unwrapped, Workspace};
use crate::lifecycle::counter;
use crate::local_cluster::{job_jar, pod, serve, wait_for};
use std::time::Duration;

/// A sidecar that says it is up and keeps running, a volume it shares with Flink's container,
/// and for the JobManager an init container that writes into that volume first. Stateless, as
/// restoring the hand-edited sidecar rolls the pods like any change.
const TEMPLATES: &str = r#"
  upgrade_strategy = "STATELESS"
  pod_template = {
    metadata = { labels = { team = "data" } }
    spec = {
      containers = [
        {
          name    = "log-shipper"
          image   = "busybox:1.36"
          command = ["sh", "-c", "echo sidecar-up; while true; do sleep 5; done"]
          resources = {
            requests = { cpu = "50m", memory = "32Mi" }
            limits   = { cpu = "50m", memory = "32Mi" }
          }
          volumeMounts = [{ name = "shared", mountPath = "/shared" }]
        },
        {
          name         = "flink-main-container"
          volumeMounts = [{ name = "shared", mountPath = "/shared" }]
        },
      ]
      volumes = [{ name = "shared", emptyDir = {} }]
    }
  }
  jobmanager_pod_template = {
    spec = {
      initContainers = [{
        name         = "wait-for-schema"
        image        = "busybox:1.36"
        command      = ["sh", "-c", "echo schema ready > /shared/ready; echo schema ready"]
        volumeMounts = [{ name = "shared", mountPath = "/shared" }]
      }]
    }
  }"#;

fn names(pod: &serde_json::Value, list: &str) -> Vec<String> {
    pod["spec"][list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}

#[test]
fn a_pod_template_adds_a_sidecar_volumes_and_an_init_container_and_its_drift_shows() {
    let cluster = Cluster::start_with_pods("local-template");
    assert!(cluster.local_pods(), "this test needs the local kubelet");
    cluster.kubectl(&[
        "label",
        "namespace",
        &cluster.namespace,
        "pod-security.kubernetes.io/enforce=restricted",
    ]);
    let work = tempfile::tempdir().unwrap();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    let ws = Workspace::new();

    // A field no PodTemplateSpec has (checked when Terraform validates), then a value the
    // provider owns (checked once the pods are rendered): plan errors on their paths.
    for (template, path, summary) in [
        (
            r#"pod_template = { spec = { priorityClass = "high" } }"#,
            "pod_template.spec.priorityClass",
            "Unknown pod template field",
        ),
        (
            r#"pod_template = { spec = { containers = [{ name = "flink-main-container", image = "my/flink:1" }] } }"#,
            "pod_template.spec.containers[0].image",
            "is set by the provider",
        ),
    ] {
        ws.config(&(cluster.provider_block() + &counter(&cluster, port, "RUNNING", 1, template)));
        let text = unwrapped(&ws.plan_error());
        assert!(
            text.contains(summary) && text.contains(&format!("{path}:")),
            "{text}"
        );
    }

    ws.config(&(cluster.provider_block() + &counter(&cluster, port, "RUNNING", 1, TEMPLATES)));
    ws.apply();
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["status"], "RUNNING", "{values}");
    let id = values["id"].as_str().unwrap().to_string();

    let jobmanager = pod(&cluster, "jobmanager", &id);
    let taskmanager = pod(&cluster, "taskmanager", &id);
    assert_eq!(
        names(&jobmanager, "containers"),
        ["flink-main-container", "log-shipper"]
    );
    assert_eq!(
        names(&taskmanager, "containers"),
        ["flink-main-container", "log-shipper"]
    );
    assert!(names(&jobmanager, "initContainers").contains(&"wait-for-schema".to_string()));
    assert!(!names(&taskmanager, "initContainers").contains(&"wait-for-schema".to_string()));
    assert_eq!(taskmanager["metadata"]["labels"]["team"], "data");
    let jm = jobmanager["metadata"]["name"].as_str().unwrap().to_string();
    let tm = taskmanager["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    for (pod_name, container, says) in [
        (&jm, "wait-for-schema", "schema ready"),
        (&jm, "log-shipper", "sidecar-up"),
        (&tm, "log-shipper", "sidecar-up"),
    ] {
        let logs = wait_for(
            &format!("{container}'s log in {pod_name}"),
            Duration::from_secs(60),
            || {
                let (_, out) = cluster.kubectl_try(&[
                    "-n",
                    &cluster.namespace,
                    "logs",
                    pod_name,
                    "-c",
                    container,
                ]);
                out.contains(says).then_some(out)
            },
        );
        assert!(logs.contains(says), "{logs}");
    }
    // Ready follows the containers' readiness probes, which may answer a moment after the job
    // runs (as on a cluster).
    wait_for(
        "both TaskManager containers ready",
        Duration::from_secs(60),
        || {
            let statuses = pod(&cluster, "taskmanager", &id)["status"]["containerStatuses"].clone();
            statuses
                .as_array()
                .is_some_and(|s| s.len() == 2 && s.iter().all(|c| c["ready"] == true))
                .then_some(())
        },
    );

    // A sidecar changed by hand: the plan names the field, the apply puts it back.
    cluster.kubectl(&[
        "patch",
        "deployment",
        "flink-counter-taskmanager",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/template/spec/containers/1/image","value":"busybox:1.37"}]"#,
    ]);
    let (changes, plan) = ws.plan();
    assert!(changes, "drift not shown:\n{plan}");
    assert!(
        plan.contains("spec.template.spec.containers[1].image"),
        "{plan}"
    );
    ws.apply();
    let image = cluster.kubectl(&[
        "get",
        "deployment",
        "flink-counter-taskmanager",
        "-o",
        "jsonpath={.spec.template.spec.containers[1].image}",
    ]);
    assert_eq!(image.trim(), "busybox:1.36");

    ws.destroy();
}
