//! flink_deployment with TLS, with the real terraform CLI and kubectl: the Secret with keystores,
//! truststores and passwords, pods that mount it and take the passwords from it, no private key or
//! password in state or a ConfigMap, user SSL keys overridden with a warning, the renewal window
//! forcing a re-issue in the plan, and a Secret deleted by kubectl restored by apply.

use crate::cluster::Cluster;
use crate::harness::Workspace;
use base64::Engine;

fn stack(cluster: &Cluster, tls: &str) -> String {
    format!(
        r#"{provider}
resource "flink_certificate_authority" "ca" {{
  name      = "platform"
  namespace = "{ns}"
}}

resource "flink_deployment" "orders" {{
  name          = "orders"
  namespace     = "{ns}"
  flink_version = "2.3"
  wait_for_job  = false
  # New certificates roll the pods; without a savepoint directory the job restarts without state.
  upgrade_strategy = "STATELESS"
  artifact = {{
    jar_uri = "https://artifacts.example.com/orders.jar"
  }}
  flink_configuration = {{
    "security.ssl.rest.keystore-password" = "mine"
  }}
  tls = {{
    enabled   = true
    authority = flink_certificate_authority.ca.spec
{tls}
  }}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

fn secret_value(cluster: &Cluster, key: &str) -> Vec<u8> {
    let encoded = cluster.kubectl(&[
        "get",
        "secret",
        "flink-orders-tls",
        "-o",
        &format!("jsonpath={{.data.{}}}", key.replace('.', "\\.")),
    ]);
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .unwrap()
}

#[test]
fn tls_deployment_mounts_its_secret_and_renews_and_restores_it() {
    let cluster = Cluster::start("tls");
    let ws = Workspace::new();
    ws.config(&stack(&cluster, ""));
    ws.apply();
    // Once the authority is known, every plan names the user's SSL key that TLS overrides.
    let (_, plan) = ws.plan();
    assert!(plan.contains("Flink option overridden"), "{plan}");
    assert!(
        plan.contains("security.ssl.rest.keystore-password"),
        "{plan}"
    );

    let values = ws.resource_values("flink_deployment.orders");
    let certs = &values["tls_certificates"];
    assert!(
        certs["internal_not_after"].as_str().unwrap().ends_with('Z'),
        "{certs}"
    );
    assert_eq!(
        certs["authority_fingerprint_sha256"],
        ws.resource_values("flink_certificate_authority.ca")["ca_fingerprint_sha256"]
    );
    assert!(values["rest_endpoint"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let effective = &values["effective_flink_configuration"];
    assert_eq!(
        effective["security.ssl.rest.authentication-enabled"],
        "true"
    );
    assert!(!effective["security.ssl.internal.keystore-password"]
        .as_str()
        .unwrap()
        .is_empty());

    // The stores and passwords are in the Secret, nowhere else.
    assert!(secret_value(&cluster, "rest.keystore.p12").len() > 500);
    let password = String::from_utf8(secret_value(&cluster, "rest.password")).unwrap();
    assert_eq!(password.len(), 32);
    let config_maps = cluster.kubectl(&["get", "configmaps", "-o", "json"]);
    assert!(
        !config_maps.contains(&password),
        "a password in a ConfigMap"
    );
    assert!(config_maps.contains("security.ssl.rest.authentication-enabled"));
    let show = ws.terraform(&["show", "-json", "-no-color"]).text;
    assert!(
        !show.contains(&password) && !show.contains("PRIVATE KEY"),
        "a secret in state"
    );
    let jobmanager =
        cluster.kubectl(&["get", "deployment", "flink-orders-jobmanager", "-o", "json"]);
    assert!(
        !jobmanager.contains(&password),
        "a password in the pod spec"
    );
    assert!(
        jobmanager.contains("-Dsecurity.ssl.rest.keystore-password=$(FLINK_TLS_REST_PASSWORD)"),
        "{jobmanager}"
    );
    let fingerprint = certs["internal_fingerprint_sha1"].as_str().unwrap();
    assert!(
        jobmanager.contains(&format!(
            "-Dsecurity.ssl.internal.cert.fingerprint={fingerprint}"
        )),
        "{jobmanager}"
    );
    assert!(jobmanager.contains("/opt/flink/tls"), "{jobmanager}");

    // A renewal window beyond the time left: the plan shows the re-issue.
    ws.config(&stack(&cluster, "    early_renewal_hours = 9000"));
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(plan.contains("tls_certificates"), "{plan}");
    assert!(plan.contains("(known after apply)"), "{plan}");
    ws.config(&stack(&cluster, ""));
    ws.assert_no_changes();

    // The Secret deleted by hand: the plan shows it, apply issues and restores a valid one.
    cluster.kubectl(&["delete", "secret", "flink-orders-tls"]);
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(plan.contains("deleted outside Terraform"), "{plan}");
    ws.apply();
    let restored = ws.resource_values("flink_deployment.orders");
    assert_ne!(
        restored["tls_certificates"]["internal_fingerprint_sha256"],
        certs["internal_fingerprint_sha256"]
    );
    assert_eq!(secret_value(&cluster, "rest.password").len(), 32);

    // A truststore swapped by hand no longer matches the recorded certificates.
    let other = base64::engine::general_purpose::STANDARD.encode("not a certificate");
    cluster.kubectl(&[
        "patch",
        "secret",
        "flink-orders-tls",
        "-p",
        &format!(r#"{{"data":{{"rest.crt":"{other}"}}}}"#),
    ]);
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(plan.contains("certificates differ"), "{plan}");
    ws.apply();

    // Import reads the certificates back from the Secrets: the plan after it is empty.
    let ns = cluster.namespace.clone();
    let importer = Workspace::new();
    importer.config(&stack(&cluster, ""));
    importer.import("flink_certificate_authority.ca", &format!("{ns}/platform"));
    importer.import("flink_deployment.orders", &format!("{ns}/orders"));
    importer.assert_no_changes();

    ws.destroy();
    assert!(
        cluster.managed_objects().is_empty(),
        "{:?}",
        cluster.managed_objects()
    );
}
