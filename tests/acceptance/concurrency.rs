//! Concurrent applies (issue 23), with the real terraform CLI on the plain test server: two
//! workspaces applying different deployments in one namespace at the same time both succeed,
//! and neither's next plan shows drift caused by the other; two applies of one workspace at once
//! (Terraform's state lock set aside with `-lock=false`) both succeed over the same objects,
//! which keep one field manager, and the plan after them is empty.

use crate::cluster::Cluster;
use crate::harness::Workspace;
use std::process::Child;

fn deployment(cluster: &Cluster, name: &str, parallelism: u32) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "job" {{
  name          = "{name}"
  namespace     = "{ns}"
  flink_version = "2.2"
  parallelism   = {parallelism}
  wait_for_job  = false
  artifact = {{
    jar_uri     = "https://artifacts.example.com/{name}.jar"
    entry_class = "org.example.Job"
  }}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
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

#[test]
fn concurrent_applies_in_one_namespace_neither_conflict_nor_cause_drift() {
    let cluster = Cluster::start("concurrency");
    let (a, b) = (Workspace::new(), Workspace::new());
    a.config(&deployment(&cluster, "orders", 1));
    b.config(&deployment(&cluster, "payments", 1));
    let apply = ["apply", "-auto-approve", "-no-color"];
    let (first, second) = (a.spawn_terraform(&apply), b.spawn_terraform(&apply));
    for (who, (code, text)) in [("A", finished(first)), ("B", finished(second))] {
        assert_eq!(code, 0, "workspace {who}'s apply failed:\n{text}");
    }
    a.assert_no_changes();
    b.assert_no_changes();
    let objects = cluster.managed_objects();
    for name in ["orders", "payments"] {
        assert!(
            objects.contains(&format!("configmap/flink-{name}-config")),
            "{name}: {objects:?}"
        );
    }

    // Two applies of one workspace at once, the state lock set aside: the same objects,
    // written twice under one field manager, with no conflict.
    a.config(&deployment(&cluster, "orders", 2));
    let unlocked = ["apply", "-auto-approve", "-no-color", "-lock=false"];
    let (first, second) = (a.spawn_terraform(&unlocked), a.spawn_terraform(&unlocked));
    for (which, (code, text)) in [("first", finished(first)), ("second", finished(second))] {
        assert_eq!(code, 0, "the {which} apply failed:\n{text}");
    }
    a.assert_no_changes();
    b.assert_no_changes();
    let managers = cluster.kubectl(&[
        "get",
        "deployment",
        "flink-orders-taskmanager",
        "--show-managed-fields",
        "-o",
        r#"jsonpath={.metadata.managedFields[?(@.operation=="Apply")].manager}"#,
    ]);
    let managers: Vec<&str> = managers.split_whitespace().collect();
    assert_eq!(
        managers.len(),
        1,
        "one applying field manager: {managers:?}"
    );
    a.destroy();
    b.destroy();
    assert!(cluster.managed_objects().is_empty());
}
