//! The Kubernetes objects of a deployment (pure): the ConfigMap with `config.yaml` and the log4j
//! file, the ServiceAccounts of [`rbac`], the JobManager (application mode) and TaskManager Deployments over
//! the pod templates of [`pod_template`], the JobManager's rpc/blob and REST Services, the
//! Queryable State Service `job-<job id>-taskmanager`, the TLS Secret, the Kubernetes HA Roles and
//! RoleBindings of each component, the NetworkPolicy of [`super::network_policy`] and the Ingress of [`super::ingress`].

use super::layout::{Names, BLOB_PORT, REST_PORT, RPC_PORT, TASKMANAGER_RPC_PORT};
use super::pod_template::{self, labels};
use super::rbac::{self, Component};
use super::resolve::Resolved;
use crate::flink::filesystems::Plugin;
use crate::kubernetes::{DesiredObject, Kind};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;

/// Keys the Kubernetes layout owns in the Flink configuration (addresses and ports).
pub fn owned_keys(d: &Resolved) -> BTreeMap<String, String> {
    let names = Names::of(&d.name);
    let mut keys = BTreeMap::from([
        (
            "jobmanager.rpc.address".to_string(),
            names.jobmanager.clone(),
        ),
        ("jobmanager.rpc.port".to_string(), RPC_PORT.to_string()),
        (
            "taskmanager.rpc.port".to_string(),
            TASKMANAGER_RPC_PORT.to_string(),
        ),
        ("blob.server.port".to_string(), BLOB_PORT.to_string()),
        ("rest.port".to_string(), REST_PORT.to_string()),
        ("jobmanager.bind-host".to_string(), "0.0.0.0".to_string()),
        ("taskmanager.bind-host".to_string(), "0.0.0.0".to_string()),
        ("rest.bind-address".to_string(), "0.0.0.0".to_string()),
        // The JobManager outlives its job, so a stop with savepoint can be read back and a failed
        // job shows as FAILED instead of restarting from its start; the provider decides when
        // the cluster goes.
        (
            "execution.shutdown-on-application-finish".to_string(),
            "false".to_string(),
        ),
    ]);
    if let Some(path) = &d.restore_from {
        let key =
            crate::flink::options::Catalogue::of(d.version).preferred("execution.savepoint.path");
        keys.insert(key.to_string(), path.clone());
    }
    if d.in_place_rescaling {
        keys.insert("jobmanager.scheduler".into(), "adaptive".into());
    }
    // With high availability on, the JobManager takes its RPC port from this key (random by
    // default), not from `jobmanager.rpc.port`: fixed, so its pod's `rpc` port and liveness
    // probe are where it listens.
    if d.high_availability.is_some() {
        keys.insert(
            "high-availability.jobmanager.port".into(),
            RPC_PORT.to_string(),
        );
    }
    if d.tls.is_some() {
        keys.extend(crate::flink::tls::ssl_configuration(
            d.version,
            super::tls::TLS_DIR,
        ));
    }
    if let Some(blob) = &d.blob_storage {
        if let Some(endpoint) = &blob.endpoint {
            keys.insert("s3.endpoint".into(), endpoint.clone());
        }
        if let Some(path_style) = blob.path_style_access {
            keys.insert("s3.path.style.access".into(), path_style.to_string());
        }
        // Hadoop's S3 takes the region as a key; Presto's only from its endpoint.
        match (&blob.region, super::plugins::s3(d)) {
            (Some(region), Some(Plugin::S3Hadoop)) => {
                keys.insert("s3.endpoint.region".into(), region.clone());
            }
            (Some(region), Some(Plugin::S3Presto)) if blob.endpoint.is_none() => {
                keys.insert(
                    "s3.endpoint".into(),
                    format!("https://s3.{region}.amazonaws.com"),
                );
            }
            _ => {}
        }
    }
    keys
}

/// The REST endpoint inside the cluster.
pub fn rest_endpoint(d: &Resolved) -> String {
    let scheme = if d.tls.is_some() { "https" } else { "http" };
    format!(
        "{scheme}://{}.{}.svc:{REST_PORT}",
        Names::of(&d.name).rest,
        d.namespace
    )
}

fn deployment(
    d: &Resolved,
    name: &str,
    component: &str,
    replicas: u32,
    args: Vec<String>,
    config_hash: &str,
) -> DesiredObject {
    DesiredObject::new(
        Kind::Deployment,
        &d.namespace,
        name,
        json!({
            "metadata": {"labels": labels(d, Some(component))},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels(d, Some(component))},
                "strategy": {"type": "Recreate"},
                "template": pod_template::template(d, component, args, config_hash),
            },
        }),
    )
}

fn service(d: &Resolved, name: &str, component: &str, ports: Json) -> DesiredObject {
    DesiredObject::new(
        Kind::Service,
        &d.namespace,
        name,
        json!({
            "metadata": {"labels": labels(d, None)},
            "spec": {"type": "ClusterIP", "selector": labels(d, Some(component)), "ports": ports},
        }),
    )
}

/// The JobManager's RPC and blob Service, which its TaskManagers dial: it routes to the
/// JobManager as soon as its pod has an address, not once its readiness probe (the REST port)
/// passes. A TaskManager that finds no endpoint waits `cluster.registration.error-delay` (10 s)
/// before it tries again, so waiting for readiness here cost every start that much (measured).
fn rpc_service(d: &Resolved, name: &str) -> DesiredObject {
    let mut service = service(
        d,
        name,
        "jobmanager",
        json!([{"name": "rpc", "port": RPC_PORT}, {"name": "blob", "port": BLOB_PORT}]),
    );
    service.manifest["spec"]["publishNotReadyAddresses"] = true.into();
    service
}

/// The ConfigMap key of the log4j file, the name the official image's scripts give log4j.
pub const LOG4J_FILE: &str = "log4j-console.properties";

/// The container arguments of the JobManager and of the TaskManagers.
fn args(d: &Resolved) -> (Vec<String>, Vec<String>) {
    // Dynamic properties go before the job's own arguments, which end option parsing.
    let mut dynamic: Vec<String> = pod_template::pod_tls(d).map(|t| t.args).unwrap_or_default();
    dynamic.extend(super::secret_configuration::dynamic_properties(d));
    let mut jm_args = vec!["standalone-job".to_string()];
    if let Some(class) = &d.artifact.entry_class {
        jm_args.extend(["--job-classname".to_string(), class.clone()]);
    }
    if d.allow_non_restored_state {
        jm_args.push("--allowNonRestoredState".into());
    }
    jm_args.extend(dynamic.iter().cloned());
    if let Some(jars) = super::artifacts::jars_outside_usrlib(&d.artifact) {
        jm_args.extend(["--jars".to_string(), jars]);
        // `--jars` takes every argument up to the next option: `--` ends it before the job's.
        if !d.artifact.main_args.is_empty() {
            jm_args.push("--".into());
        }
    }
    jm_args.extend(d.artifact.main_args.iter().cloned());
    let mut tm_args = vec!["taskmanager".to_string()];
    tm_args.extend(dynamic);
    (jm_args, tm_args)
}

/// What the user's pod templates set against what the provider's pods need, both roles.
pub fn template_conflicts(d: &Resolved) -> Vec<pod_template::TemplateConflict> {
    let (jm_args, tm_args) = args(d);
    let mut out = pod_template::conflicts(d, "jobmanager", jm_args);
    // The common template is checked against both roles: each finding once.
    for c in pod_template::conflicts(d, "taskmanager", tm_args) {
        if !out
            .iter()
            .any(|o| o.attribute == c.attribute && o.conflict.path == c.conflict.path)
        {
            out.push(c);
        }
    }
    out
}

/// Every object of the deployment, given its rendered `config.yaml` and log4j file, the hash of
/// what of them rolls the pods, and at apply the TLS Secret's data (without it the Secret is
/// named but empty, as plans need).
pub fn desired(
    d: &Resolved,
    config_yaml: &str,
    log4j: &str,
    config_hash: &str,
    tls_data: Option<Map<String, Json>>,
) -> Vec<DesiredObject> {
    let names = Names::of(&d.name);
    let (jm_args, tm_args) = args(d);
    let mut objects = vec![DesiredObject::new(
        Kind::ConfigMap,
        &d.namespace,
        &names.config_map,
        json!({
            "metadata": {"labels": labels(d, None)},
            "data": {"config.yaml": config_yaml, LOG4J_FILE: log4j},
        }),
    )];
    // Before the pods: an API server refuses a pod whose ServiceAccount does not exist yet.
    objects.extend(service_accounts(d));
    if d.kubernetes_ha() {
        objects.extend(kubernetes_ha_rbac(d));
    }
    objects.extend([
        deployment(
            d,
            &names.jobmanager,
            "jobmanager",
            if d.stopped { 0 } else { 1 },
            jm_args,
            config_hash,
        ),
        deployment(
            d,
            &names.taskmanager,
            "taskmanager",
            if d.stopped { 0 } else { d.task_managers },
            tm_args,
            config_hash,
        ),
        rpc_service(d, &names.jobmanager),
        service(
            d,
            &names.rest,
            "jobmanager",
            json!([{"name": "rest", "port": REST_PORT}]),
        ),
    ]);
    if d.tls.is_some() {
        let mut body = json!({"metadata": {"labels": labels(d, None)}, "type": "Opaque"});
        if let Some(data) = tls_data {
            body["data"] = Json::Object(data);
        }
        objects.push(DesiredObject::new(
            Kind::Secret,
            &d.namespace,
            &names.tls_secret,
            body,
        ));
    }
    objects.extend(super::network_policy::network_policy(d));
    objects.extend(super::ingress::ingress(d));
    if d.queryable_state {
        objects.push(service(
            d,
            &format!("job-{}-taskmanager", d.job_id),
            "taskmanager",
            json!([{"name": "queryable-state", "port": crate::flink::render::QUERYABLE_STATE_PROXY_PORT}]),
        ));
    }
    objects
}

/// The provider's ServiceAccounts ([`rbac::provider_accounts`]), with
/// `pod.service_account_annotations`.
fn service_accounts(d: &Resolved) -> Vec<DesiredObject> {
    let mut metadata = json!({"labels": labels(d, None)});
    if !d.pod.service_account_annotations.is_empty() {
        metadata["annotations"] = json!(d.pod.service_account_annotations);
    }
    rbac::provider_accounts(d)
        .iter()
        .map(|name| {
            DesiredObject::new(
                Kind::ServiceAccount,
                &d.namespace,
                name,
                json!({ "metadata": metadata }),
            )
        })
        .collect()
}

/// Per component, the Role of [`rbac::rules`] and its binding to the account the component's
/// pods run as; both are named after the component's own account.
fn kubernetes_ha_rbac(d: &Resolved) -> Vec<DesiredObject> {
    let names = Names::of(&d.name);
    let mut objects = Vec::new();
    for (component, name) in [
        (Component::JobManager, &names.jobmanager_account),
        (Component::TaskManager, &names.taskmanager_account),
    ] {
        let rules: Vec<Json> = rbac::rules(component, &d.id, &d.job_id)
            .iter()
            .map(rbac::HaRule::to_json)
            .collect();
        objects.push(DesiredObject::new(
            Kind::Role,
            &d.namespace,
            name,
            json!({"metadata": {"labels": labels(d, None)}, "rules": rules}),
        ));
        objects.push(DesiredObject::new(
            Kind::RoleBinding,
            &d.namespace,
            name,
            json!({
                "metadata": {"labels": labels(d, None)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{
                    "kind": "ServiceAccount",
                    "name": rbac::account(d, component),
                    "namespace": d.namespace,
                }],
            }),
        ));
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubernetes::Kind;

    /// The objects `pod` and `ha_type` (if any) render to, by kind and name.
    fn render(pod: Json, ha_type: Option<&str>) -> BTreeMap<(String, String), Json> {
        let mut inputs = json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "https://repo.example.com/job.jar"},
            "pod": pod,
        });
        if let Some(ha_type) = ha_type {
            inputs["high_availability"] = json!({
                "type": ha_type, "name": "ha", "namespace": "ns", "storage_dir": "file:///ha",
                "zookeeper_quorum": "zk:2181", "zookeeper_path_root": "/flink",
            });
        }
        let mut model = super::super::golden_tests::model(inputs);
        let rendered = super::super::computed::fill(&mut model, None, None).expect("renders");
        rendered
            .objects
            .into_iter()
            .map(|o| ((o.kind.name().to_string(), o.name), o.manifest))
            .collect()
    }

    fn of(objects: &BTreeMap<(String, String), Json>, kind: Kind) -> Vec<&str> {
        objects
            .keys()
            .filter(|(k, _)| k == kind.name())
            .map(|(_, n)| n.as_str())
            .collect()
    }

    fn pod_spec<'a>(objects: &'a BTreeMap<(String, String), Json>, name: &str) -> &'a Json {
        &objects[&("Deployment".to_string(), name.to_string())]["spec"]["template"]["spec"]
    }

    #[test]
    fn under_kubernetes_ha_each_component_runs_as_its_own_account_and_role() {
        let objects = render(json!(null), Some("kubernetes"));
        let (jm, tm) = ("flink-orders-jobmanager", "flink-orders-taskmanager");
        assert_eq!(of(&objects, Kind::ServiceAccount), [jm, tm]);
        assert_eq!(of(&objects, Kind::Role), [jm, tm]);
        assert_eq!(of(&objects, Kind::RoleBinding), [jm, tm]);
        for name in [jm, tm] {
            let spec = pod_spec(&objects, name);
            assert_eq!(spec["serviceAccountName"], name);
            assert_eq!(spec["automountServiceAccountToken"], true);
            let binding = &objects[&("RoleBinding".to_string(), name.to_string())];
            assert_eq!(binding["roleRef"]["name"], name);
            assert_eq!(binding["subjects"][0]["name"], name);
        }
        let id = super::super::deployment_id("ns", "orders");
        let tm_rules = &objects[&("Role".to_string(), tm.to_string())]["rules"];
        assert_eq!(
            tm_rules,
            &json!([{"apiGroups": [""], "resources": ["configmaps"],
                     "verbs": ["get", "list", "watch"],
                     "resourceNames": [format!("{id}-cluster-config-map")]}])
        );
        let jm_rules = &objects[&("Role".to_string(), jm.to_string())]["rules"];
        let job_id = super::super::resolve::job_id_of(&id);
        assert_eq!(
            jm_rules[1]["resourceNames"],
            json!([
                format!("{id}-cluster-config-map"),
                format!("{id}-{job_id}-config-map")
            ])
        );
        assert!(
            !objects.contains_key(&("ServiceAccount".to_string(), "flink-orders".to_string())),
            "the single account of earlier releases is pruned"
        );
    }

    #[test]
    fn without_kubernetes_ha_one_account_and_no_token_unless_annotated() {
        for ha in [None, Some("zookeeper")] {
            let objects = render(json!(null), ha);
            assert_eq!(of(&objects, Kind::ServiceAccount), ["flink-orders"]);
            assert!(of(&objects, Kind::Role).is_empty());
            for name in ["flink-orders-jobmanager", "flink-orders-taskmanager"] {
                let spec = pod_spec(&objects, name);
                assert_eq!(spec["serviceAccountName"], "flink-orders");
                assert_eq!(spec["automountServiceAccountToken"], false);
            }
        }
        let irsa = json!({"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/flink"});
        let objects = render(json!({"service_account_annotations": irsa}), None);
        let account = &objects[&("ServiceAccount".to_string(), "flink-orders".to_string())];
        assert_eq!(account["metadata"]["annotations"], irsa);
        let spec = pod_spec(&objects, "flink-orders-taskmanager");
        assert_eq!(spec["automountServiceAccountToken"], true);
    }

    #[test]
    fn annotations_go_on_both_accounts_under_kubernetes_ha() {
        let gke =
            json!({"iam.gke.io/gcp-service-account": "flink@project.iam.gserviceaccount.com"});
        let objects = render(
            json!({"service_account_annotations": gke}),
            Some("kubernetes"),
        );
        for name in of(&objects, Kind::ServiceAccount) {
            let account = &objects[&("ServiceAccount".to_string(), name.to_string())];
            assert_eq!(account["metadata"]["annotations"], gke, "{name}");
        }
    }

    #[test]
    fn a_users_account_replaces_both_and_holds_both_roles() {
        let objects = render(json!({"service_account": "team-flink"}), Some("kubernetes"));
        assert!(of(&objects, Kind::ServiceAccount).is_empty());
        for name in ["flink-orders-jobmanager", "flink-orders-taskmanager"] {
            assert_eq!(pod_spec(&objects, name)["serviceAccountName"], "team-flink");
            let binding = &objects[&("RoleBinding".to_string(), name.to_string())];
            assert_eq!(binding["subjects"][0]["name"], "team-flink");
        }
        let objects = render(json!({"service_account": "team-flink"}), None);
        assert!(of(&objects, Kind::ServiceAccount).is_empty());
        let spec = pod_spec(&objects, "flink-orders-jobmanager");
        assert_eq!(spec["automountServiceAccountToken"], false);
    }
}
