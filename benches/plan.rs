//! Plan benchmark: `terraform plan` (with refresh) over N flink_deployment resources against the
//! Kubernetes API test server, next to the same plan over N `terraform_data` resources (Terraform's
//! own floor, no provider) and over N `flink_high_availability` resources (the provider's smallest
//! resource: eight top-level attributes, one ConfigMap; the floor of any resource a provider
//! serves), all measured in the same run. Also prints the apply time, the API requests per
//! deployment during one refresh (counted by the test server) and the provider's peak resident
//! memory during the plan.
//!
//! The apply is set against `kubectl apply --server-side` of the same objects (read back from the
//! server after the provider's apply, one kubectl invocation per deployment, into a fresh
//! namespace), the way a script without the provider would create them.
//!
//! Run with `cargo bench --bench plan`; `PLAN_SIZES=10,100,300` picks N (default 10,100) and
//! `PLAN_RUNS` the plans per size (default 3).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    clippy::print_stdout
)]

#[allow(dead_code)]
#[path = "../tests/acceptance/harness.rs"]
mod harness;

use harness::Workspace;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The provider block, then `resource(i)` for i in 0..n.
fn configuration(n: usize, kubeconfig: &str, resource: impl Fn(usize) -> String) -> String {
    let provider = format!(
        "provider \"flink\" {{\n  kubernetes = {{\n    config_path = {kubeconfig:?}\n  }}\n}}\n"
    );
    (0..n).map(resource).fold(provider, |text, r| text + &r)
}

fn deployments(n: usize, kubeconfig: &str) -> String {
    configuration(n, kubeconfig, |i| {
        format!(
        "resource \"flink_deployment\" \"d{i}\" {{\n  name          = \"job-{i}\"\n  flink_version = \"2.3\"\n  wait_for_job  = false\n  artifact      = {{ jar_uri = \"https://example.com/job-{i}.jar\" }}\n  parallelism   = 2\n  flink_configuration = {{\n    \"execution.checkpointing.interval\" = \"30 s\"\n  }}\n}}\n"
    )
    })
}

/// N of the provider's smallest resource, to tell what Terraform costs per provider resource from
/// what a deployment's schema and values add to it.
fn small_resources(n: usize, kubeconfig: &str) -> String {
    configuration(n, kubeconfig, |i| {
        format!(
        "resource \"flink_high_availability\" \"h{i}\" {{\n  name = \"ha-{i}\"\n  type = \"kubernetes\"\n}}\n"
    )
    })
}

fn floor(n: usize) -> String {
    (0..n)
        .map(|i| format!("resource \"terraform_data\" \"d{i}\" {{\n  input = \"job-{i}\"\n}}\n"))
        .collect()
}

/// Peak resident memory (kB) of any terraform-provider-flink process while `work` runs.
fn with_peak_rss<T>(work: impl FnOnce() -> T) -> (T, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                    let status =
                        std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
                    if status
                        .lines()
                        .next()
                        .is_some_and(|l| l.contains("terraform-provi"))
                    {
                        if let Some(kb) = status
                            .lines()
                            .find(|l| l.starts_with("VmRSS:"))
                            .and_then(|l| l.split_whitespace().nth(1))
                            .and_then(|v| v.parse::<u64>().ok())
                        {
                            peak.fetch_max(kb, Ordering::Relaxed);
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let result = work();
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    (result, peak.load(Ordering::Relaxed))
}

fn timed_plan(ws: &Workspace) -> Duration {
    let start = Instant::now();
    let (changes, text) = ws.plan();
    assert!(!changes, "the benchmark plans must be empty:\n{text}");
    start.elapsed()
}

/// The objects the provider created, one array per deployment, stripped of what the server adds,
/// placed in `namespace`.
fn rendered_objects(kubeconfig: &str, namespace: &str) -> Vec<serde_json::Value> {
    let out = std::process::Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args([
            "get",
            "configmaps,serviceaccounts,services,deployments",
            "-l",
            "app.kubernetes.io/managed-by=terraform-provider-flink",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut by_deployment: std::collections::BTreeMap<String, Vec<serde_json::Value>> =
        Default::default();
    for mut item in list["items"].as_array().cloned().unwrap_or_default() {
        let id = item["metadata"]["labels"]["flink.flinkops.io/deployment-id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let meta = item["metadata"].as_object_mut().unwrap();
        for server_field in [
            "resourceVersion",
            "uid",
            "managedFields",
            "creationTimestamp",
            "generation",
        ] {
            meta.remove(server_field);
        }
        meta.insert("namespace".into(), namespace.into());
        item.as_object_mut().unwrap().remove("status");
        by_deployment.entry(id).or_default().push(item);
    }
    by_deployment
        .into_values()
        .map(serde_json::Value::Array)
        .collect()
}

/// Time for `kubectl apply --server-side`, one invocation per deployment.
fn kubectl_apply_each(kubeconfig: &str, lists: &[serde_json::Value]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = lists
        .iter()
        .enumerate()
        .map(|(i, list)| {
            // A stream of JSON objects: kubectl validates a `List` against OpenAPI v2, which the
            // test server does not serve.
            let path = dir.path().join(format!("d{i}.json"));
            let documents: Vec<String> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.to_string())
                .collect();
            std::fs::write(&path, documents.join("\n")).unwrap();
            path
        })
        .collect();
    let start = Instant::now();
    for file in &files {
        let out = std::process::Command::new("kubectl")
            .env("KUBECONFIG", kubeconfig)
            .args(["apply", "--server-side", "--field-manager=bench", "-f"])
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::var("PLAN_SIZES")
        .unwrap_or_else(|_| "10,100".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = std::env::var("PLAN_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(kube_test_server::start("127.0.0.1:0"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, &server.kubeconfig).unwrap();

    println!(
        "terraform plan with refresh, median of {runs}, against the Kubernetes API test server"
    );
    println!(
        "{:>5} {:>10} {:>10} {:>7} {:>10} {:>7} {:>10} {:>10} {:>7} {:>13} {:>10}",
        "N",
        "plan",
        "floor",
        "ratio",
        "small res",
        "ratio",
        "apply",
        "kubectl",
        "ratio",
        "requests/dep",
        "peak RSS"
    );
    let kubeconfig_path = kubeconfig.to_str().unwrap().to_string();
    for n in sizes {
        let ws = Workspace::new();
        ws.config(&deployments(n, kubeconfig.to_str().unwrap()));
        let start = Instant::now();
        let apply = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
        assert_eq!(apply.code, 0, "{}", apply.text);
        let apply_time = start.elapsed();
        let baseline_ns = format!("kubectl-baseline-{n}");
        let namespace = serde_json::json!([
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": baseline_ns}}
        ]);
        kubectl_apply_each(&kubeconfig_path, &[namespace]);
        let kubectl_time = kubectl_apply_each(
            &kubeconfig_path,
            &rendered_objects(&kubeconfig_path, &baseline_ns),
        );
        let base = Workspace::new();
        base.config(&floor(n));
        assert_eq!(
            base.terraform(&["apply", "-auto-approve", "-no-color"])
                .code,
            0
        );
        let small = Workspace::new();
        small.config(&small_resources(n, kubeconfig.to_str().unwrap()));
        small.apply();

        let (mut provider, mut floor_times, mut small_times) = (Vec::new(), Vec::new(), Vec::new());
        let mut peak = 0;
        for _ in 0..runs {
            let (t, rss) = with_peak_rss(|| timed_plan(&ws));
            provider.push(t);
            peak = peak.max(rss);
            floor_times.push(timed_plan(&base));
            small_times.push(timed_plan(&small));
        }
        server.shared.requests.lock().unwrap().clear();
        timed_plan(&ws);
        let requests: u64 = server.shared.requests.lock().unwrap().values().sum();

        let (p, f, s) = (median(provider), median(floor_times), median(small_times));
        println!(
            "{:>5} {:>10.2?} {:>10.2?} {:>6.2}x {:>10.2?} {:>6.2}x {:>10.2?} {:>10.2?} {:>6.2}x {:>13.2} {:>7.1} MB",
            n,
            p,
            f,
            p.as_secs_f64() / f.as_secs_f64(),
            s,
            s.as_secs_f64() / f.as_secs_f64(),
            apply_time,
            kubectl_time,
            apply_time.as_secs_f64() / kubectl_time.as_secs_f64(),
            requests as f64 / n as f64,
            peak as f64 / 1024.0
        );
        for workspace in [&ws, &small] {
            let destroy = workspace.terraform(&["destroy", "-auto-approve", "-no-color"]);
            assert_eq!(destroy.code, 0, "{}", destroy.text);
        }
    }
}
