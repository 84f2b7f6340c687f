//! flink_certificate_authority and flink_client_credentials with the real terraform CLI: issuance,
//! private keys only in the Secret (never in state, plan output or a ConfigMap), drift of the
//! Secret, the renewal window, import, and the ephemeral resource handing out the client key
//! without it reaching state.

use crate::cluster::Cluster;
use crate::harness::Workspace;

fn authority(cluster: &Cluster, algorithm: &str, validity: u32, early_renewal: u32) -> String {
    format!(
        r#"{provider}
resource "flink_certificate_authority" "ca" {{
  name                  = "platform"
  namespace             = "{ns}"
  key_algorithm         = "{algorithm}"
  validity_period_hours = {validity}
  early_renewal_hours   = {early_renewal}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

/// The PEM blocks under `key` of the authority's Secret.
fn secret_value(cluster: &Cluster, key: &str) -> String {
    let encoded = cluster.kubectl(&[
        "get",
        "secret",
        "flink-platform-ca",
        "-o",
        &format!("jsonpath={{.data.{}}}", key.replace('.', "\\.")),
    ]);
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

fn assert_no_private_key(ws: &Workspace, cluster: &Cluster) {
    let show = ws.terraform(&["show", "-json", "-no-color"]).text;
    assert!(!show.contains("PRIVATE KEY"), "a private key in state");
    let raw_state = std::fs::read_to_string(ws.path().join("terraform.tfstate")).unwrap();
    assert!(
        !raw_state.contains("PRIVATE KEY"),
        "a private key in the state file"
    );
    let config_maps = cluster.kubectl(&["get", "configmaps", "-o", "json"]);
    assert!(
        !config_maps.contains("PRIVATE KEY"),
        "a private key in a ConfigMap"
    );
}

#[test]
fn issues_keeps_keys_in_the_secret_restores_drift_and_renews() {
    let cluster = Cluster::start("ca");
    let ns = cluster.namespace.clone();
    let ws = Workspace::new();
    ws.config(&authority(&cluster, "ECDSA_P256", 87600, 720));
    ws.apply();
    let first = ws.resource_values("flink_certificate_authority.ca");
    let ca_pem = first["ca_certificate_pem"].as_str().unwrap().to_string();
    assert!(
        ca_pem.starts_with("-----BEGIN CERTIFICATE-----"),
        "{ca_pem}"
    );
    assert_eq!(first["id"], format!("{ns}/platform"));
    assert_eq!(first["spec"]["secret_name"], "flink-platform-ca");
    assert_eq!(first["ready_for_renewal"], false);
    assert_eq!(secret_value(&cluster, "ca.crt"), ca_pem);
    assert!(secret_value(&cluster, "ca.key").contains("PRIVATE KEY"));
    assert!(secret_value(&cluster, "client.key").contains("PRIVATE KEY"));
    assert_no_private_key(&ws, &cluster);

    // A Secret deleted by hand: the plan shows the re-issue, apply makes a new authority.
    cluster.kubectl(&["delete", "secret", "flink-platform-ca"]);
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(plan.contains("deleted outside Terraform"), "{plan}");
    assert!(
        plan.contains("ca_certificate_pem") && plan.contains("(known after apply)"),
        "{plan}"
    );
    assert!(!plan.contains("PRIVATE KEY"), "{plan}");
    ws.apply();
    let second = ws.resource_values("flink_certificate_authority.ca");
    assert_ne!(second["ca_certificate_pem"], first["ca_certificate_pem"]);
    assert_eq!(
        secret_value(&cluster, "ca.crt"),
        second["ca_certificate_pem"].as_str().unwrap()
    );

    // Keys swapped by hand no longer belong to the recorded certificates: a re-issue again.
    let other_key = secret_value(&cluster, "client.key");
    use base64::Engine;
    let patch = format!(
        r#"{{"data":{{"ca.key":"{}"}}}}"#,
        base64::engine::general_purpose::STANDARD.encode(other_key)
    );
    cluster.kubectl(&["patch", "secret", "flink-platform-ca", "-p", &patch]);
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(plan.contains("keys or certificates differ"), "{plan}");
    ws.apply();

    // A renewal window larger than the time left: the plan shows the re-issue.
    ws.config(&authority(&cluster, "ECDSA_P256", 48, 0));
    ws.apply();
    let short = ws.resource_values("flink_certificate_authority.ca");
    // A window that still ends before expiry changes only the setting.
    ws.config(&authority(&cluster, "ECDSA_P256", 48, 47));
    let (changes, plan) = ws.plan();
    assert!(changes && !plan.contains("(known after apply)"), "{plan}");
    ws.apply();
    ws.config(&authority(&cluster, "ECDSA_P256", 48, 60));
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(plan.contains("(known after apply)"), "{plan}");
    assert!(plan.contains("early_renewal_hours"), "{plan}");
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(run.code, 0, "{}", run.text);
    let renewed = ws.resource_values("flink_certificate_authority.ca");
    assert_ne!(renewed["ca_not_after"], short["ca_not_after"]);

    // Import into a second workspace reconstructs the state from the Secret.
    ws.config(&authority(&cluster, "RSA_2048", 87600, 720));
    ws.apply();
    assert!(secret_value(&cluster, "ca.key").contains("PRIVATE KEY"));
    let importer = Workspace::new();
    importer.config(&authority(&cluster, "RSA_2048", 87600, 720));
    importer.import("flink_certificate_authority.ca", &format!("{ns}/platform"));
    importer.assert_no_changes();
    assert_eq!(
        importer.resource_values("flink_certificate_authority.ca")["ca_certificate_pem"],
        ws.resource_values("flink_certificate_authority.ca")["ca_certificate_pem"]
    );
    assert_no_private_key(&importer, &cluster);

    ws.destroy();
    assert!(
        cluster.managed_objects().is_empty(),
        "{:?}",
        cluster.managed_objects()
    );
}

#[test]
fn client_credentials_reach_an_ephemeral_consumer_but_never_state() {
    let cluster = Cluster::start("creds");
    let ws = Workspace::new();
    let module_dir = ws.path().join("creds");
    std::fs::create_dir_all(&module_dir).unwrap();
    std::fs::write(
        module_dir.join("main.tf"),
        r#"terraform {
  required_providers {
    flink = { source = "flinkops/flink" }
  }
}

variable "name" {}
variable "namespace" {}

ephemeral "flink_client_credentials" "c" {
  name      = var.name
  namespace = var.namespace
}

output "key" {
  value     = ephemeral.flink_client_credentials.c.client_private_key_pem
  sensitive = true
  ephemeral = true
}

output "certificate" {
  value     = ephemeral.flink_client_credentials.c.client_certificate_pem
  ephemeral = true
}
"#,
    )
    .unwrap();
    let ns = cluster.namespace.clone();
    ws.config(&format!(
        r#"{}
resource "flink_certificate_authority" "ca" {{
  name      = "platform"
  namespace = "{ns}"
}}

module "creds" {{
  source    = "./creds"
  # The spec is known once the authority exists, so the credentials are read after it.
  name      = flink_certificate_authority.ca.spec.name
  namespace = flink_certificate_authority.ca.spec.namespace
}}

# The consumer: a condition that reads the ephemeral key and certificate; only "checked" is stored.
output "client_key_checked" {{
  value = "checked"
  precondition {{
    condition     = startswith(module.creds.key, "-----BEGIN PRIVATE KEY-----") && module.creds.certificate == flink_certificate_authority.ca.client_certificate_pem
    error_message = "the ephemeral credentials do not match the authority"
  }}
}}
"#,
        cluster.provider_block()
    ));
    // Installs the local module; the provider comes from dev_overrides.
    let init = ws.terraform(&["get", "-no-color"]);
    assert_eq!(init.code, 0, "{}", init.text);
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(run.code, 0, "{}", run.text);
    assert!(!run.text.contains("PRIVATE KEY"), "{}", run.text);
    ws.assert_no_changes();
    assert_eq!(
        ws.state()["values"]["outputs"]["client_key_checked"]["value"],
        "checked"
    );
    assert_no_private_key(&ws, &cluster);

    // An authority that does not exist: a clear error from the ephemeral resource.
    let wrong = Workspace::new();
    wrong.config(&format!(
        r#"{}
ephemeral "flink_client_credentials" "c" {{
  name      = "nope"
  namespace = "{ns}"
}}
"#,
        cluster.provider_block()
    ));
    let out = wrong.plan_error();
    assert!(out.contains("Certificate authority not found"), "{out}");
    assert!(out.contains("flink-nope-ca"), "{out}");
    ws.destroy();
}
