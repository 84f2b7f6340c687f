//! Concurrent applies (issue 23), with the real terraform CLI on the plain test server: two
//! workspaces applying different deployments in one namespace at the same time both succeed,
//! and neither's next plan shows drift caused by the other; two applies of one workspace at once
//! (Terraform's state lock set aside with `-lock=false`) both succeed over the same objects, and
//! the plan after them is empty. Every object keeps one field manager, the provider's. The
//! applies overlap for certain: a request of the first is held in flight by the test server
//! (a `hold` fault) until the second has finished.

use crate::cluster::Cluster;
use crate::harness::Workspace;
use std::process::Child;

/// The provider's server-side apply field manager.
const FIELD_MANAGER: &str = "terraform-provider-flink";

fn deployment(
    cluster: &Cluster,
    name: &str,
    version: &str,
    parallelism: u32,
    extra: &str,
) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "job" {{
  name          = "{name}"
  namespace     = "{ns}"
  flink_version = "{version}"
  parallelism   = {parallelism}
  wait_for_job  = false
  artifact = {{
    jar_uri     = "https://artifacts.example.com/{name}.jar"
    entry_class = "org.example.Job"
  }}
  {extra}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

/// Workspace A's deployment, at `parallelism`.
fn orders(cluster: &Cluster, parallelism: u32) -> String {
    deployment(cluster, "orders", "2.2", parallelism, "")
}

/// Workspace B's: another version, parallelism, TaskManager count and Flink configuration.
fn payments(cluster: &Cluster) -> String {
    deployment(
        cluster,
        "payments",
        "2.3",
        4,
        r#"task_slots              = 2
  number_of_task_managers = 2
  flink_configuration = {
    "execution.checkpointing.interval" = "30 s"
    "pipeline.max-parallelism"         = "128"
  }"#,
    )
}

/// Waits for terraform started with `spawn_terraform`: its exit code and output.
fn finished(child: Child) -> (i32, String) {
    let output = child.wait_with_output().expect("terraform output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

/// Holds the next server-side apply of `kind` `name` in flight until the faults are disarmed.
fn hold_apply_of(cluster: &Cluster, kind: &str, name: &str) {
    cluster.arm_fault(&format!(
        r#"{{"verb": "patch", "kind": "{kind}", "name": "{name}", "count": 1, "action": "hold"}}"#
    ));
}

/// Runs `first` until the test server holds its request, then `second` to its end while the
/// first is held, then releases the first; both exit codes and outputs.
fn overlapping(
    cluster: &Cluster,
    first: Child,
    second: impl FnOnce() -> Child,
) -> [(i32, String); 2] {
    let mut first = first;
    cluster.until_fault_taken(1);
    let second = finished(second());
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first apply ended before the second did: no overlap"
    );
    cluster.disarm_faults();
    [finished(first), second]
}

fn assert_succeeded_without_conflict(runs: &[(i32, String); 2], who: [&str; 2]) {
    for (who, (code, text)) in who.iter().zip(runs) {
        assert_eq!(*code, 0, "{who}'s apply failed:\n{text}");
        let lower = text.to_lowercase();
        assert!(
            !lower.contains("conflict") && !lower.contains("(409)"),
            "{who}'s apply met a conflict:\n{text}"
        );
    }
}

/// Every object of the provider's in the namespace has the provider's field manager only.
fn assert_one_field_manager_per_object(cluster: &Cluster) {
    let objects = cluster.managed_objects();
    assert!(!objects.is_empty());
    for object in objects {
        let managers = cluster.kubectl(&[
            "get",
            &object,
            "--show-managed-fields",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
        ]);
        let managers: Vec<&str> = managers.split_whitespace().collect();
        assert_eq!(managers, [FIELD_MANAGER], "{object}'s field managers");
    }
}

#[test]
fn overlapping_applies_in_one_namespace_neither_conflict_nor_cause_drift() {
    let cluster = Cluster::start_with_faults("concurrency");
    let (a, b) = (Workspace::new(), Workspace::new());
    a.config(&orders(&cluster, 1));
    b.config(&payments(&cluster));
    let apply = ["apply", "-auto-approve", "-no-color"];

    // A's create is held at its JobManager Deployment, with some of its objects written, while
    // B creates all of its own.
    hold_apply_of(&cluster, "Deployment", "flink-orders-jobmanager");
    let runs = overlapping(&cluster, a.spawn_terraform(&apply), || {
        b.spawn_terraform(&apply)
    });
    assert_succeeded_without_conflict(&runs, ["workspace A", "workspace B"]);
    a.assert_no_changes();
    b.assert_no_changes();
    let objects = cluster.managed_objects();
    for name in ["orders", "payments"] {
        assert!(
            objects.contains(&format!("configmap/flink-{name}-config")),
            "{name}: {objects:?}"
        );
    }
    assert_one_field_manager_per_object(&cluster);

    // Two applies of one workspace at once, the state lock set aside: the second writes the
    // same objects while the first is held at its ConfigMap.
    a.config(&orders(&cluster, 2));
    let unlocked = ["apply", "-auto-approve", "-no-color", "-lock=false"];
    hold_apply_of(&cluster, "ConfigMap", "flink-orders-config");
    let runs = overlapping(&cluster, a.spawn_terraform(&unlocked), || {
        a.spawn_terraform(&unlocked)
    });
    assert_succeeded_without_conflict(&runs, ["the first", "the second"]);
    a.assert_no_changes();
    b.assert_no_changes();
    assert_one_field_manager_per_object(&cluster);
    a.destroy();
    b.destroy();
    assert!(cluster.managed_objects().is_empty());
}
