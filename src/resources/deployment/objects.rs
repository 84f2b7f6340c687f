//! The Kubernetes objects of a deployment (pure): the ConfigMap with `config.yaml` and the log4j
//! file, the ServiceAccount, the JobManager (application mode) and TaskManager Deployments, the
//! JobManager's rpc/blob and REST Services, and the Queryable State Service
//! `job-<job id>-taskmanager`. Pods carry a hash of the configuration files and their own
//! template, so a configuration change rolls them and the pods of the current rollout can be told
//! from old ones still terminating.

use super::resolve::Resolved;
use crate::kubernetes::{DesiredObject, Kind, Owner};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;

/// Short owner type in labels.
pub const OWNER_KIND: &str = "deployment";
/// Kinds a deployment owns.
pub const KINDS: &[Kind] = &[
    Kind::ConfigMap,
    Kind::Secret,
    Kind::ServiceAccount,
    Kind::Role,
    Kind::RoleBinding,
    Kind::Service,
    Kind::Deployment,
];
/// The deployment id label on every object and pod.
pub const DEPLOYMENT_ID_LABEL: &str = "flink.flinkops.io/deployment-id";
/// Ports of the JobManager.
pub const RPC_PORT: u16 = 6123;
/// Blob server port.
pub const BLOB_PORT: u16 = 6124;
/// REST port.
pub const REST_PORT: u16 = 8081;
/// The pod annotation that identifies a rollout: a hash of the configuration files and the pod
/// template.
pub const ROLLOUT_ANNOTATION: &str = "flink.flinkops.io/rollout-hash";
const CONF_DIR: &str = "/opt/flink/conf";
const USRLIB_DIR: &str = "/opt/flink/usrlib";
const FETCH_IMAGE: &str = "busybox:1.36";

/// The owner of a deployment's objects.
pub fn owner(namespace: &str, name: &str) -> Owner {
    Owner::new(OWNER_KIND, namespace, name)
}

/// Object names of a deployment called `name`.
pub struct Names {
    pub config_map: String,
    pub service_account: String,
    pub jobmanager: String,
    pub taskmanager: String,
    pub rest: String,
    pub ha_role: String,
    pub tls_secret: String,
}

impl Names {
    pub fn of(name: &str) -> Self {
        Names {
            config_map: format!("flink-{name}-config"),
            service_account: format!("flink-{name}"),
            jobmanager: format!("flink-{name}-jobmanager"),
            taskmanager: format!("flink-{name}-taskmanager"),
            rest: format!("flink-{name}-rest"),
            ha_role: format!("flink-{name}-ha"),
            tls_secret: format!("flink-{name}-tls"),
        }
    }
}

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

fn hash(text: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A Flink memory size as a Kubernetes quantity (Flink's `m` is a mebibyte).
fn quantity(memory: &str) -> String {
    match crate::flink::values::memory_bytes(memory) {
        Some(bytes) if bytes % (1 << 20) == 0 => format!("{}Mi", bytes >> 20),
        Some(bytes) => bytes.to_string(),
        None => memory.to_string(),
    }
}

/// Cpu cores as the API server writes them back (`1`, `500m`), so refresh sees no false drift.
fn cpu_quantity(cpu: f64) -> String {
    let millis = (cpu * 1000.0).round() as i64;
    if millis % 1000 == 0 {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

fn labels(d: &Resolved, component: Option<&str>) -> Map<String, Json> {
    let mut labels = Map::new();
    labels.insert("app".into(), "flink".into());
    labels.insert(DEPLOYMENT_ID_LABEL.into(), d.id.clone().into());
    if let Some(c) = component {
        labels.insert("component".into(), c.into());
    }
    labels
}

fn file_name(uri: &str) -> &str {
    uri.rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("job.jar")
}

fn pod_tls(d: &Resolved) -> Option<super::tls::PodTls> {
    let tls = d.tls.as_ref()?;
    Some(super::tls::pod_tls(
        &Names::of(&d.name).tls_secret,
        tls.internal_fingerprint_sha1.as_deref(),
    ))
}

fn pod_template(d: &Resolved, component: &str, args: Vec<String>, config_hash: &str) -> Json {
    let names = Names::of(&d.name);
    let mut pod_labels = labels(d, Some(component));
    for (k, v) in &d.pod.labels {
        pod_labels.insert(k.clone(), v.clone().into());
    }
    let annotations: Map<String, Json> = d
        .pod
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    let mut env: Vec<Json> = d
        .pod
        .env
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    if let Some(secret) = d.blob_storage.as_ref().and_then(|b| b.secret.as_ref()) {
        for (var, key) in [
            ("AWS_ACCESS_KEY_ID", "access_key"),
            ("AWS_SECRET_ACCESS_KEY", "secret_key"),
        ] {
            env.push(
                json!({"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}),
            );
        }
    }
    let (cpu, memory) = if component == "jobmanager" {
        &d.jobmanager
    } else {
        &d.taskmanager
    };
    let resources = json!({"cpu": cpu_quantity(*cpu), "memory": quantity(memory)});
    let mut ports = vec![json!({"name": "rpc", "containerPort": RPC_PORT})];
    if component == "jobmanager" {
        ports.push(json!({"name": "blob", "containerPort": BLOB_PORT}));
        ports.push(json!({"name": "rest", "containerPort": REST_PORT}));
    } else if d.queryable_state {
        ports.push(json!({"name": "queryable-state", "containerPort": crate::flink::render::QUERYABLE_STATE_PROXY_PORT}));
    }
    let mut mounts = vec![
        json!({"name": "flink-config", "mountPath": CONF_DIR}),
        json!({"name": "usrlib", "mountPath": USRLIB_DIR}),
    ];
    let mut volumes = vec![
        json!({"name": "flink-config", "configMap": {"name": names.config_map}}),
        json!({"name": "usrlib", "emptyDir": {}}),
    ];
    if let Some(tls) = pod_tls(d) {
        mounts.push(tls.mount);
        volumes.push(tls.volume);
        env.extend(tls.env);
    }
    let downloads: Vec<&String> = std::iter::once(&d.artifact.jar_uri)
        .chain(&d.artifact.additional_dependencies)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .collect();
    let mut spec = json!({
        "serviceAccountName": d.pod.service_account.clone().unwrap_or(names.service_account),
        "containers": [{
            "name": "flink-main-container",
            "image": d.image,
            "args": args,
            "env": env,
            "ports": ports,
            "resources": {"requests": resources, "limits": resources},
            "volumeMounts": mounts,
        }],
        "volumes": volumes,
    });
    if !downloads.is_empty() {
        let script = downloads
            .iter()
            .map(|u| format!("wget -q -O {USRLIB_DIR}/{} '{u}'", file_name(u)))
            .collect::<Vec<_>>()
            .join(" && ");
        spec["initContainers"] = json!([{
            "name": "fetch-artifacts",
            "image": FETCH_IMAGE,
            "command": ["sh", "-c", script],
            "volumeMounts": [{"name": "usrlib", "mountPath": USRLIB_DIR}],
        }]);
    }
    if !d.pod.image_pull_secrets.is_empty() {
        spec["imagePullSecrets"] = d
            .pod
            .image_pull_secrets
            .iter()
            .map(|n| json!({"name": n}))
            .collect();
    }
    if !d.pod.node_selector.is_empty() {
        spec["nodeSelector"] = json!(d.pod.node_selector);
    }
    if !d.pod.tolerations.is_empty() {
        spec["tolerations"] = Json::Array(d.pod.tolerations.clone());
    }
    let mut template =
        json!({"metadata": {"labels": pod_labels, "annotations": annotations}, "spec": spec});
    let rollout = hash(&format!("{config_hash}\n{template}"));
    template["metadata"]["annotations"][ROLLOUT_ANNOTATION] = rollout.into();
    template
}

/// The rollout hash the pods of desired Deployment `name` carry.
pub fn rollout_of(objects: &[DesiredObject], name: &str) -> Option<String> {
    objects
        .iter()
        .find(|o| o.kind == Kind::Deployment && o.name == name)
        .and_then(|o| {
            o.manifest["spec"]["template"]["metadata"]["annotations"][ROLLOUT_ANNOTATION].as_str()
        })
        .map(String::from)
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
                "template": pod_template(d, component, args, config_hash),
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

/// Every object of the deployment, given its rendered `config.yaml` and log4j file, and at apply
/// the TLS Secret's data (without it the Secret is named but empty, as plans need).
pub fn desired(
    d: &Resolved,
    config_yaml: &str,
    log4j: &str,
    tls_data: Option<Map<String, Json>>,
) -> Vec<DesiredObject> {
    let names = Names::of(&d.name);
    let config_hash = hash(&format!("{config_yaml}\n{log4j}"));
    // Dynamic properties go before the job's own arguments, which end option parsing.
    let dynamic: Vec<String> = pod_tls(d).map(|t| t.args).unwrap_or_default();
    let mut jm_args = vec!["standalone-job".to_string()];
    if let Some(class) = &d.artifact.entry_class {
        jm_args.extend(["--job-classname".to_string(), class.clone()]);
    }
    if d.allow_non_restored_state {
        jm_args.push("--allowNonRestoredState".into());
    }
    jm_args.extend(dynamic.iter().cloned());
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
                "data": {"config.yaml": config_yaml, "log4j-console.properties": log4j},
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
            &config_hash,
        ),
        deployment(
            d,
            &names.taskmanager,
            "taskmanager",
            if d.stopped { 0 } else { d.task_managers },
            tm_args,
            &config_hash,
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
    if d.high_availability
        .as_ref()
        .is_some_and(|h| h.ha_type == "kubernetes")
    {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities() {
        assert_eq!(quantity("1600m"), "1600Mi");
        assert_eq!(quantity("2 gb"), "2048Mi");
        assert_eq!(cpu_quantity(1.0), "1");
        assert_eq!(cpu_quantity(0.5), "500m");
    }
}
