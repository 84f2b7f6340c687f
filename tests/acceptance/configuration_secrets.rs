//! Flink configuration values from Kubernetes Secrets (`flink_configuration_from_secrets`) on the
//! local cluster: with a Secret created by kubectl, a deployment runs a real job whose
//! JobManager reports the resolved value of a plain key and masks a sensitive one, while the
//! values are in no ConfigMap, pod spec, state, saved plan or `TF_LOG=trace` output, and the
//! next plan is empty. A reference to a Secret that does not exist fails the apply at once with
//! the kubelet's `CreateContainerConfigError` and its message, not after `wait_timeout`.

use crate::cluster::Cluster;
use crate::harness::Workspace;
use crate::lifecycle::counter;
use crate::local_cluster::{http_get, job_jar, serve, wait_for};
use std::time::Duration;

/// A value with spaces and quotes, as a JAAS configuration has them.
const USER_VALUE: &str = r#"svc-7f3a9c login required user="orders";"#;
const PASSWORD_VALUE: &str = "p4ss-41bd-never-shown";

fn from_secrets(secret: &str) -> String {
    format!(
        r#"upgrade_strategy = "STATELESS"
  flink_configuration_from_secrets = {{
    "fs.acceptance.user"     = {{ secret = "{secret}", key = "user" }}
    "fs.acceptance.password" = {{ secret = "{secret}", key = "password" }}
  }}"#
    )
}

fn assert_no_secret_value(what: &str, text: &str) {
    for value in [USER_VALUE, PASSWORD_VALUE, "svc-7f3a9c"] {
        assert!(!text.contains(value), "{what} holds {value:?}");
    }
}

/// The value the JobManager reports for `key` in `GET /jobmanager/config`.
fn jobmanager_config(address: &str, key: &str) -> Option<String> {
    let body = http_get(address, "/jobmanager/config")?;
    let entries: serde_json::Value = serde_json::from_str(&body).ok()?;
    entries
        .as_array()?
        .iter()
        .find(|e| e["key"] == key)
        .and_then(|e| e["value"].as_str().map(String::from))
}

#[test]
fn flink_gets_values_from_secrets_that_terraform_never_holds() {
    let cluster = Cluster::start_with_pods("local-secrets");
    let work = tempfile::tempdir().unwrap();
    let port = serve(std::fs::read(job_jar(work.path())).unwrap());
    cluster.kubectl(&[
        "create",
        "secret",
        "generic",
        "app-credentials",
        &format!("--from-literal=user={USER_VALUE}"),
        &format!("--from-literal=password={PASSWORD_VALUE}"),
    ]);
    let ws = Workspace::new();
    ws.config(
        &(cluster.provider_block()
            + &counter(
                &cluster,
                port,
                "RUNNING",
                1,
                &from_secrets("app-credentials"),
            )),
    );
    let trace = [("TF_LOG", "trace")];
    let plan = ws.terraform_with_env(&["plan", "-no-color", "-out=secrets.tfplan"], &trace);
    assert_eq!(plan.code, 0, "{}", plan.text);
    // The trace holds the provider's own log lines too.
    assert!(
        plan.text.contains("provider.terraform-provider-flink: "),
        "{}",
        plan.text
    );
    assert_no_secret_value("the plan's trace output", &plan.text);
    let shown = ws.terraform(&["show", "-json", "secrets.tfplan"]);
    assert_eq!(shown.code, 0, "{}", shown.text);
    assert!(shown.text.contains("app-credentials"), "{}", shown.text);
    assert_no_secret_value("the saved plan", &shown.text);
    let apply = ws.terraform_with_env(&["apply", "-no-color", "secrets.tfplan"], &trace);
    assert_eq!(apply.code, 0, "{}", apply.text);
    assert_no_secret_value("the apply's trace output", &apply.text);
    ws.assert_no_changes();

    let values = ws.resource_values("flink_deployment.counter");
    assert_eq!(values["status"], "RUNNING", "{values}");
    let effective = &values["effective_flink_configuration"];
    assert_eq!(
        effective["fs.acceptance.user"],
        "(from Secret app-credentials, key user)"
    );
    assert_eq!(
        effective["fs.acceptance.password"],
        "(from Secret app-credentials, key password)"
    );

    // Flink has the values: the plain one as it is, the sensitive one masked by Flink.
    let (mut forward, local) = cluster.port_forward("service/flink-counter-rest", 8081);
    let user = wait_for(
        "the JobManager's configuration",
        Duration::from_secs(60),
        || jobmanager_config(&local, "fs.acceptance.user"),
    );
    assert_eq!(user, USER_VALUE);
    let password = jobmanager_config(&local, "fs.acceptance.password");
    assert_eq!(password.as_deref(), Some("******"));
    let _ = forward.kill();
    let _ = forward.wait();

    let state = std::fs::read_to_string(ws.path().join("terraform.tfstate")).unwrap();
    assert!(state.contains("app-credentials"), "{state}");
    assert_no_secret_value("terraform.tfstate", &state);
    let config_maps = cluster.kubectl(&["get", "configmaps", "-o", "json"]);
    assert!(
        config_maps.contains("app-credentials"),
        "the inputs annotation names it"
    );
    assert_no_secret_value("the ConfigMaps", &config_maps);
    let pods = cluster.kubectl(&["get", "pods", "-o", "json"]);
    assert!(pods.contains("secretKeyRef"), "{pods}");
    assert_no_secret_value("the pod specs", &pods);

    // A Secret that is not there: the new pods cannot start, and apply says why at once.
    ws.config(
        &(cluster.provider_block()
            + &counter(
                &cluster,
                port,
                "RUNNING",
                1,
                &from_secrets("missing-credentials"),
            )),
    );
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    let failed = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(failed.code, 0, "{}", failed.text);
    let text = failed.text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("the deployment cannot run: CreateContainerConfigError"),
        "{}",
        failed.text
    );
    assert!(
        text.contains("secret \"missing-credentials\" not found"),
        "{}",
        failed.text
    );
    ws.destroy();
}
