//! The test server, spoken to the way its users do: kube-rs (the provider's client) for API
//! semantics, and the real kubectl for what acceptance tests use to make drift.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod api;
mod faults_kubectl;
mod invalid_kubectl;
mod kubectl;
mod kubelet_env;
mod kubelet_init;
mod kubelet_plugins;
mod kubelet_probes;
mod kubelet_security;
mod kubelet_sidecars;
mod kubelet_termination;
mod network_policy_kubectl;
mod pod_security;
mod pods;
mod port_forward_kubectl;
mod production_kinds_kubectl;
mod protobuf_kubectl;
mod rbac;
mod rollouts_kubectl;
mod tables_kubectl;
mod watch_faults;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// How long one kubectl run may take before it is killed.
const KUBECTL_LIMIT: &str = "180";

/// The real kubectl against `kubeconfig`, killed after [`KUBECTL_LIMIT`] seconds (exit 124):
/// a kubectl that waits for a change the server never reports (`delete`'s wait lasts a week)
/// fails its test with what it printed instead of holding the run until CI gives up.
pub fn kubectl_command(kubeconfig: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new("timeout");
    command
        .args(["--kill-after=5", KUBECTL_LIMIT, "kubectl"])
        .env("KUBECONFIG", kubeconfig);
    command
}

/// Runs the real kubectl against `kubeconfig`: whether it succeeded, and what it printed
/// (stdout, then stderr).
pub fn kubectl_run(kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = kubectl_command(kubeconfig)
        .args(args)
        .output()
        .expect("the real kubectl must be installed for these tests");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A server and a kube client for it.
pub async fn server() -> (kube_test_server::RunningServer, kube::Client) {
    let server = kube_test_server::start("127.0.0.1:0").await.unwrap();
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    (server, client)
}
