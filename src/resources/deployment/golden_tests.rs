//! Golden files of a deployment's Kubernetes objects (`tests/golden/deployment/`): a minimal
//! deployment with an Ingress that ends TLS, one with blob storage credentials (and a jar copied
//! from S3 with them), Kubernetes HA (a
//! ServiceAccount, Role and RoleBinding per component), Queryable State, pod options and
//! Flink keys from Secrets, one with ZooKeeper HA, GKE workload identity on its ServiceAccount
//! and REST clients listed for its NetworkPolicy, one running jars of its image (`local://`, one
//! outside `usrlib`), one with a whole log4j file of its own (recorded by digest in the inputs
//! annotation), one with pod templates (a sidecar and an extra volume for both roles, an init
//! container for the JobManager only), and a suspended one with a
//! savepoint to restore from (no replicas, the restore path under 1.x's name) and no
//! NetworkPolicy. `UPDATE_GOLDEN=1 cargo test --lib deployment::golden` rewrites them.

use super::{computed, deployment_id, model::Model};
use crate::golden::check;
use serde_json::json;

pub(super) fn model(mut inputs: serde_json::Value) -> Model {
    let ns = inputs["namespace"].as_str().unwrap().to_string();
    let name = inputs["name"].as_str().unwrap().to_string();
    inputs["id"] = deployment_id(&ns, &name).into();
    for (key, default) in [
        ("state", json!("RUNNING")),
        ("upgrade_strategy", json!("STATEFUL")),
        ("restore_strategy", json!("LATEST_STATE")),
        ("allow_non_restored_state", json!(false)),
        ("parallelism", json!(1)),
        ("task_slots", json!(1)),
    ] {
        inputs
            .as_object_mut()
            .unwrap()
            .entry(key)
            .or_insert(default);
    }
    serde_json::from_value(inputs).unwrap()
}

fn cases() -> Vec<(&'static str, Model)> {
    vec![
        (
            "plain-2.3",
            model(json!({
                "name": "wordcount", "namespace": "team-a", "flink_version": "2.3",
                "artifact": {"jar_uri": "file:///opt/flink/usrlib/wordcount.jar"},
                "ingress": {
                    "class_name": "nginx", "host": "flink.example.com",
                    "tls_secret": "flink-example-com-tls", "controller_namespace": "ingress-nginx",
                    "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
                },
            })),
        ),
        (
            "local-jars-2.3",
            model(json!({
                "name": "clicks", "namespace": "team-a", "flink_version": "2.3",
                "image": "registry.example.com/clicks:7",
                "artifact": {
                    "jar_uri": "local:///opt/flink/artifacts/clicks.jar",
                    "main_args": ["--window", "5 min"],
                    "additional_dependencies": ["local:///opt/flink/usrlib/udfs.jar"],
                },
            })),
        ),
        (
            "full-1.20",
            model(json!({
                "name": "orders", "namespace": "team-a", "flink_version": "1.20",
                "image": "registry.example.com/flink:1.20.5-custom",
                "artifact": {
                    "jar_uri": "https://artifacts.example.com/orders.jar",
                    "entry_class": "com.example.Orders",
                    "main_args": ["--topic", "orders"],
                    "additional_dependencies": [
                        "https://artifacts.example.com/udfs.jar",
                        "s3://flink-jobs/orders/connectors.jar",
                    ],
                    "sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
                    "dependency_sha256": {
                        "https://artifacts.example.com/udfs.jar":
                            "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
                        "s3://flink-jobs/orders/connectors.jar":
                            "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                    },
                    "fetcher_image": "registry.example.com/mirror/busybox:1.36",
                },
                "parallelism": 4, "task_slots": 2, "allow_non_restored_state": true,
                "resources": {
                    "jobmanager": {"cpu": 0.5, "memory": "1g"},
                    "taskmanager": {"cpu": 2, "memory": "4g"},
                },
                "flink_configuration": {"execution.checkpointing.interval": "30 s"},
                "flink_configuration_from_secrets": {
                    "metrics.reporter.dd.apikey": {"secret": "datadog", "key": "api-key"},
                    "fs.azure.account.key.acme.blob.core.windows.net": {"secret": "azure-storage", "key": "account.key"},
                },
                "logging": {"root_level": "WARN", "loggers": {"com.example": "DEBUG"}},
                "pod": {
                    "labels": {"team": "orders"}, "annotations": {"prometheus.io/scrape": "true"},
                    "env": {"TZ": "UTC"}, "image_pull_secrets": ["registry"],
                    "node_selector": {"pool": "streaming"},
                    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "flink", "effect": "NoSchedule"}],
                },
                "annotations": {"flink.queryable-state.enabled": "true"},
                "blob_storage": {
                    "name": "state", "namespace": "team-a", "base_uri": "s3://flink-state/prod",
                    "config_map": "flink-blob-storage-state", "secret": "flink-blob-storage-state",
                    "endpoint": "https://minio.storage:9000", "region": null, "path_style_access": true,
                },
                "high_availability": {
                    "type": "kubernetes", "name": "k8s", "namespace": "team-a", "storage_dir": null,
                    "zookeeper_quorum": null, "zookeeper_path_root": null,
                },
            })),
        ),
        (
            "log4j-file-2.3",
            model(json!({
                "name": "orders", "namespace": "team-a", "flink_version": "2.3",
                "artifact": {"jar_uri": "file:///opt/flink/usrlib/orders.jar"},
                "logging": {"log4j_properties": include_str!("../../../tests/golden/deployment/log4j-file.properties")},
            })),
        ),
        (
            "zookeeper-2.0",
            model(json!({
                "name": "fraud", "namespace": "team-b", "flink_version": "2.0",
                "artifact": {"jar_uri": "https://artifacts.example.com/fraud.jar"},
                "pod": {"service_account_annotations": {
                    "iam.gke.io/gcp-service-account": "flink-fraud@acme.iam.gserviceaccount.com",
                }},
                "network_policy": {
                    "rest_from_namespaces": ["team-b", "ingress-nginx"],
                    "rest_from_cidrs": ["10.20.0.0/16"],
                },
                "blob_storage": {
                    "name": "state", "namespace": "team-b", "base_uri": "gs://state/flink",
                    "config_map": "flink-blob-storage-state", "secret": null,
                    "endpoint": null, "region": null, "path_style_access": null,
                },
                "high_availability": {
                    "type": "zookeeper", "name": "zk", "namespace": "team-b", "storage_dir": null,
                    "zookeeper_quorum": "zk-0.zk:2181,zk-1.zk:2181", "zookeeper_path_root": "/flink",
                },
            })),
        ),
        (
            "pod-template-2.3",
            model(json!({
                "name": "enrich", "namespace": "team-d", "flink_version": "2.3",
                "artifact": {"jar_uri": "local:///opt/flink/usrlib/enrich.jar"},
                "pod_template": {
                    "metadata": {"labels": {"team": "d"}},
                    "spec": {
                        "priorityClassName": "streaming",
                        "containers": [
                            {"name": "log-shipper", "image": "busybox:1.36",
                             "command": ["sh", "-c", "tail -F /shared/events.log"],
                             "volumeMounts": [{"name": "shared", "mountPath": "/shared"}]},
                            {"name": "flink-main-container", "imagePullPolicy": "Always",
                             "resources": {"requests": {"cpu": 0.5}},
                             "volumeMounts": [{"name": "shared", "mountPath": "/shared"}]},
                        ],
                        "volumes": [{"name": "shared", "emptyDir": {}}],
                    },
                },
                "jobmanager_pod_template": {"spec": {"initContainers": [
                    {"name": "wait-for-schema", "image": "busybox:1.36",
                     "command": ["sh", "-c", "echo schema ready"]},
                ]}},
            })),
        ),
        (
            "suspended-1.20",
            model(json!({
                "name": "sessions", "namespace": "team-c", "flink_version": "1.20",
                "state": "SUSPENDED",
                "artifact": {"jar_uri": "https://artifacts.example.com/sessions.jar"},
                "network_policy": {"enabled": false},
                "flink_configuration": {"state.savepoints.dir": "file:///data/savepoints"},
                "savepoints": [{
                    "location": "file:///data/savepoints/savepoint-5f1e2d-0a1b2c3d4e5f",
                    "time": "2026-11-25T06:00:00Z", "reason": "SUSPEND",
                }],
                "last_savepoint": "file:///data/savepoints/savepoint-5f1e2d-0a1b2c3d4e5f",
            })),
        ),
    ]
}

#[test]
fn golden_kubernetes_objects() {
    let mut failures = Vec::new();
    for (name, mut model) in cases() {
        let rendered = computed::fill(&mut model, None, None).expect("every input is known");
        assert!(
            !rendered.configuration.has_errors(),
            "{name}: {:?}",
            rendered.configuration.issues
        );
        let manifests: Vec<&serde_json::Value> =
            rendered.objects.iter().map(|o| &o.manifest).collect();
        let text = serde_json::to_string_pretty(&manifests).unwrap() + "\n";
        check("deployment", &format!("{name}.json"), &text, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "golden files differ; rerun with UPDATE_GOLDEN=1 if intended:\n{}",
        failures.join("\n")
    );
}
