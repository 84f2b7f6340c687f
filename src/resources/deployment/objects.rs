//! The Kubernetes objects of a deployment (pure): the ConfigMap with `config.yaml` and the log4j
//! file, the ServiceAccount, the JobManager (application mode) and TaskManager Deployments over
//! the pod templates of [`pod_template`], the JobManager's rpc/blob and REST Services, the
//! Queryable State Service `job-<job id>-taskmanager`, the TLS Secret, the Kubernetes HA Role and
//! the NetworkPolicy of [`super::network_policy`] and the Ingress of [`super::ingress`].

use super::layout::{Names, BLOB_PORT, REST_PORT, RPC_PORT};
use super::pod_template::{self, labels};
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

/// The ConfigMap key of the log4j file, the name the official image's scripts give log4j.
pub const LOG4J_FILE: &str = "log4j-console.properties";

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
    let mut objects = vec![
        DesiredObject::new(
            Kind::ConfigMap,
            &d.namespace,
            &names.config_map,
            json!({
                "metadata": {"labels": labels(d, None)},
                "data": {"config.yaml": config_yaml, LOG4J_FILE: log4j},
            }),
        ),
        DesiredObject::new(
            Kind::ServiceAccount,
            &d.namespace,
            &names.service_account,
            json!({"metadata": {"labels": labels(d, None)}}),
        ),
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
        service(
            d,
            &names.jobmanager,
            "jobmanager",
            json!([{"name": "rpc", "port": RPC_PORT}, {"name": "blob", "port": BLOB_PORT}]),
        ),
        service(
            d,
            &names.rest,
            "jobmanager",
            json!([{"name": "rest", "port": REST_PORT}]),
        ),
    ];
    if d.kubernetes_ha() {
        objects.extend(kubernetes_ha_rbac(d, &names));
    }
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

/// The Role of [`super::rbac::KUBERNETES_HA_RULES`] and its binding to the pods' service account.
fn kubernetes_ha_rbac(d: &Resolved, names: &Names) -> Vec<DesiredObject> {
    let rules: Vec<Json> = super::rbac::KUBERNETES_HA_RULES
        .iter()
        .map(|(group, resource, verbs)| json!({"apiGroups": [group], "resources": [resource], "verbs": verbs}))
        .collect();
    let account = d
        .pod
        .service_account
        .clone()
        .unwrap_or_else(|| names.service_account.clone());
    vec![
        DesiredObject::new(
            Kind::Role,
            &d.namespace,
            &names.ha_role,
            json!({"metadata": {"labels": labels(d, None)}, "rules": rules}),
        ),
        DesiredObject::new(
            Kind::RoleBinding,
            &d.namespace,
            &names.ha_role,
            json!({
                "metadata": {"labels": labels(d, None)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": names.ha_role},
                "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": d.namespace}],
            }),
        ),
    ]
}
