//! Ctrl-C (issue 23): against an API server that stalls every request, or an apply waiting for a
//! job that never starts, one SIGINT to the real terraform CLI's process group (what a terminal's
//! Ctrl-C sends: terraform and the provider both get it) ends an apply and a plan within seconds,
//! with the provider's message, not only a second interrupt ("Two interrupts received ... data
//! loss may have occurred"), and the provider survives the signal to answer. The interrupted
//! apply records the state it reached, and the next apply converges to an empty plan.

use crate::cluster::Cluster;
use crate::harness::{unwrapped, Workspace};
use std::process::Child;
use std::time::{Duration, Instant};

/// Every matching request waits this long before it is served: under the client's own read
/// timeout (30 s), so nothing but the interrupt ends it, and long enough that a provider that
/// ignored the interrupt would keep Terraform waiting for minutes over the deployment's objects.
const STALL: &str = r#"{"delay": {"millis": 25000}}"#;

/// How long Terraform may take to exit after one interrupt. Generous: it is a correctness bound
/// (far below what the stalled requests would take), not a performance figure.
const EXIT_BOUND: Duration = Duration::from_secs(60);

fn deployment(cluster: &Cluster) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "counter" {{
  name          = "counter"
  namespace     = "{ns}"
  flink_version = "2.2"
  wait_for_job  = false
  artifact = {{
    jar_uri     = "https://artifacts.example.com/counter.jar"
    entry_class = "org.example.Counter"
  }}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

/// Sends `signal` to the process group of `child` (started by `spawn_terraform`).
fn signal_group(child: &Child, signal: &str) -> bool {
    std::process::Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .status()
        .is_ok_and(|s| s.success())
}

/// Sends one SIGINT to the process group of `child` (as one Ctrl-C in a terminal does: to
/// terraform and to the provider it started) and waits for it to exit within [`EXIT_BOUND`]; its
/// exit code, its output and how long it took.
fn interrupt_once(mut child: Child) -> (i32, String, Duration) {
    let sent = Instant::now();
    assert!(signal_group(&child, "-INT"));
    loop {
        if child.try_wait().expect("wait for terraform").is_some() {
            break;
        }
        if sent.elapsed() > EXIT_BOUND {
            // The provider too, so that no process outlives the test.
            signal_group(&child, "-KILL");
            let output = child.wait_with_output().expect("terraform output");
            panic!(
                "terraform did not exit within {EXIT_BOUND:?} of one interrupt:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = sent.elapsed();
    let output = child.wait_with_output().expect("terraform output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text, took)
}

/// The interrupted command's output says it was the provider's stop, after one interrupt.
fn assert_interrupted(what: &str, code: i32, text: &str, took: Duration) {
    eprintln!("terraform {what} exited {took:?} after one SIGINT");
    let flat = unwrapped(text);
    assert_ne!(code, 0, "{what} succeeded:\n{text}");
    assert!(
        flat.contains("Interrupted by Terraform (Ctrl-C)"),
        "{what} does not say it was interrupted:\n{text}"
    );
    assert!(
        !flat.contains("Two interrupts received"),
        "{what} needed a second interrupt:\n{text}"
    );
}

#[test]
fn one_ctrl_c_ends_a_stalled_apply_and_plan_and_the_next_apply_converges() {
    let cluster = Cluster::start_with_faults("interrupt");
    let ws = Workspace::new();
    ws.config(&deployment(&cluster));

    // Every write stalls: the first object's apply is in flight when Terraform is interrupted.
    let count = 1000;
    cluster.arm_fault(&format!(
        r#"{{"verb": "patch", "count": {count}, "action": {STALL}}}"#
    ));
    let apply = ws.spawn_terraform(&["apply", "-auto-approve", "-no-color"]);
    cluster.until_fault_taken(count);
    let (code, text, took) = interrupt_once(apply);
    assert_interrupted("apply", code, &text, took);
    assert!(
        unwrapped(&text).contains("the next apply converges from here"),
        "{text}"
    );
    // The create returned the state it reached, which Terraform keeps (tainted).
    let listed = ws.terraform(&["state", "list"]);
    assert!(
        listed.text.contains("flink_deployment.counter"),
        "the interrupted create left no state:\n{}",
        listed.text
    );

    // The server answers again: the next apply converges, and the plan after it is empty.
    cluster.disarm_faults();
    ws.apply();

    // A refresh against a server that stalls every read ends on one interrupt too.
    cluster.arm_fault(&format!(
        r#"{{"verb": "list", "count": {count}, "action": {STALL}}}"#
    ));
    let plan = ws.spawn_terraform(&["plan", "-no-color"]);
    cluster.until_fault_taken(count);
    let (code, text, took) = interrupt_once(plan);
    assert_interrupted("plan", code, &text, took);

    cluster.disarm_faults();
    ws.assert_no_changes();
    ws.destroy();
}

#[test]
fn one_ctrl_c_ends_the_wait_for_a_job_and_keeps_every_object_applied() {
    // No pods run on this server, so the apply waits for a job that never starts: without the
    // interrupt it would wait its whole `wait_timeout` (10 minutes).
    let cluster = Cluster::start_with_faults("interrupt-wait");
    let ws = Workspace::new();
    let waiting = deployment(&cluster).replace("wait_for_job  = false", "wait_for_job  = true");
    ws.config(&waiting);
    let apply = ws.spawn_terraform(&["apply", "-auto-approve", "-no-color"]);
    cluster.until_managed("deployment.apps/flink-counter-taskmanager");
    // Past the last object: the apply is waiting for the job.
    std::thread::sleep(Duration::from_secs(2));
    let (code, text, took) = interrupt_once(apply);
    assert_interrupted("apply", code, &text, took);
    let flat = unwrapped(&text);
    assert!(flat.contains("while waiting for the job to run"), "{text}");
    assert!(
        flat.contains(
            "The objects are applied and recorded in state; the next apply converges from here."
        ),
        "{text}"
    );
    // The state records every object the apply made, and the job as not started yet.
    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["status"], "PENDING", "{values}");
    let objects = values["kubernetes_objects"].as_object().unwrap();
    for object in cluster.managed_objects() {
        let (kind, name) = object.split_once('/').unwrap();
        let recorded = objects.keys().any(|k| {
            k.split_once('/').is_some_and(|(k, n)| {
                n == name && kind.split('.').next() == Some(&k.to_ascii_lowercase())
            })
        });
        assert!(recorded, "{object} is not recorded: {objects:?}");
    }

    // Without the wait, the next apply converges (replacing the tainted create) to an empty plan.
    ws.config(&deployment(&cluster));
    ws.apply();
    ws.destroy();
}
