//! `ingress` on flink_deployment with the real terraform CLI and kubectl (no Flink needed): the
//! Ingress to the REST Service is created with the controller's namespace admitted by the
//! NetworkPolicy, an edit by kubectl shows in plan and apply restores it, and removing the block
//! deletes the Ingress; every apply is followed by an empty plan.

use crate::cluster::Cluster;
use crate::harness::Workspace;

fn config(cluster: &Cluster, ingress: &str) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "web" {{
  name          = "web"
  namespace     = "{ns}"
  flink_version = "2.3"
  wait_for_job  = false
  artifact = {{
    jar_uri = "https://artifacts.example.com/web.jar"
  }}
{ingress}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

const INGRESS: &str = r#"  ingress = {
    class_name           = "nginx"
    host                 = "flink.example.com"
    controller_namespace = "ingress-nginx"
    annotations = {
      "nginx.ingress.kubernetes.io/whitelist-source-range" = "10.0.0.0/8"
    }
  }"#;

#[test]
fn ingress_is_created_restored_after_drift_and_deleted_with_its_block() {
    let cluster = Cluster::start("ingress");
    let ws = Workspace::new();
    ws.config(&config(&cluster, INGRESS));
    ws.apply();
    ws.assert_no_changes();

    let get = |jsonpath: &str| {
        cluster
            .kubectl(&[
                "get",
                "ingress",
                "flink-web",
                "-o",
                &format!("jsonpath={jsonpath}"),
            ])
            .trim()
            .to_string()
    };
    assert_eq!(get("{.spec.ingressClassName}"), "nginx");
    assert_eq!(get("{.spec.rules[0].host}"), "flink.example.com");
    assert_eq!(
        get("{.spec.rules[0].http.paths[0].backend.service.name}"),
        "flink-web-rest"
    );
    assert_eq!(
        get("{.spec.rules[0].http.paths[0].backend.service.port.number}"),
        "8081"
    );
    assert_eq!(get("{.spec.rules[0].http.paths[0].pathType}"), "Prefix");
    let peers = cluster.kubectl(&[
        "get",
        "networkpolicy",
        "flink-web",
        "-o",
        "jsonpath={.spec.ingress[1].from[*].namespaceSelector.matchLabels}",
    ]);
    assert!(peers.contains("ingress-nginx"), "{peers}");
    assert!(peers.contains(&cluster.namespace), "{peers}");
    let values = ws.resource_values("flink_deployment.web");
    assert_eq!(values["web_ui_url"], "http://flink.example.com/");

    // Drift by the real kubectl: the annotation the provider set, and the rule's host.
    cluster.kubectl(&[
        "annotate",
        "ingress",
        "flink-web",
        "--overwrite",
        "nginx.ingress.kubernetes.io/whitelist-source-range=0.0.0.0/0",
    ]);
    cluster.kubectl(&[
        "patch",
        "ingress",
        "flink-web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/rules/0/host","value":"evil.example.com"}]"#,
    ]);
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    assert!(plan.contains("\"Ingress/flink-web\""), "{plan}");
    assert!(plan.contains("changed outside Terraform"), "{plan}");
    ws.apply();
    assert_eq!(
        get("{.metadata.annotations.nginx\\.ingress\\.kubernetes\\.io/whitelist-source-range}"),
        "10.0.0.0/8"
    );
    assert_eq!(get("{.spec.rules[0].host}"), "flink.example.com");
    ws.assert_no_changes();

    // Without the block the Ingress goes, and the controller's namespace leaves the policy.
    ws.config(&config(&cluster, ""));
    let (changes, plan) = ws.plan();
    assert!(changes, "{plan}");
    ws.apply();
    let (found, out) = cluster.kubectl_try(&["get", "ingress", "flink-web"]);
    assert!(!found, "the Ingress is still there: {out}");
    assert!(
        out.contains("NotFound") || out.contains("not found"),
        "{out}"
    );
    let peers = cluster.kubectl(&[
        "get",
        "networkpolicy",
        "flink-web",
        "-o",
        "jsonpath={.spec.ingress[1].from[*].namespaceSelector.matchLabels}",
    ]);
    assert!(!peers.contains("ingress-nginx"), "{peers}");
    assert_eq!(
        ws.resource_values("flink_deployment.web")["web_ui_url"],
        serde_json::Value::Null
    );
    ws.assert_no_changes();

    ws.destroy();
    assert!(
        cluster.managed_objects().is_empty(),
        "{:?}",
        cluster.managed_objects()
    );
}

fn plan_error_for(ingress: &str) -> String {
    let ws = Workspace::new();
    ws.config(&format!(
        r#"resource "flink_deployment" "x" {{
  name          = "x"
  flink_version = "2.3"
  artifact      = {{ jar_uri = "https://example.com/job.jar" }}
  ingress       = {ingress}
}}"#
    ));
    ws.plan_error()
}

#[test]
fn ingress_values_are_checked_at_plan_on_their_paths() {
    let out = plan_error_for(
        r#"{ host = "10.0.0.1", path = "flink", tls_secret = "Web_Cert", class_name = "-nginx" }"#,
    );
    for (summary, path) in [
        ("Invalid ingress host", "ingress.host"),
        ("Invalid ingress path", "ingress.path"),
        ("Invalid Kubernetes name \"Web_Cert\"", "ingress.tls_secret"),
        ("Invalid Kubernetes name \"-nginx\"", "ingress.class_name"),
    ] {
        assert!(
            out.split("Error: ")
                .any(|d| d.starts_with(summary) && d.contains(path)),
            "missing {summary:?} on {path}:\n{out}"
        );
    }
    let out = plan_error_for(r#"{ host = "flink.example.com", tls_passthrough = true }"#);
    assert!(out.contains("TLS passthrough without TLS"), "{out}");
    assert!(out.contains("ingress.tls_passthrough"), "{out}");
}
