//! The pods of a deployment (pure): one pod template per component, with the Flink container
//! `flink-main-container` (image, arguments, environment with the blob storage's keys, the
//! TLS passwords and `flink_configuration_from_secrets` from Secrets, and the file system plugins
//! to enable; ports, requests and limits, the configuration and TLS mounts), the init container
//! that fetches the job's downloaded artifacts into `usrlib` ([`super::artifacts`]), and the pod
//! options the user set (labels, annotations, pull secrets, node selector, tolerations, service
//! account), merged with the user's pod templates as [`super::template_merge`] says.

use super::artifacts::{self, USRLIB_DIR};
use super::layout::{
    Names, BLOB_PORT, DEPLOYMENT_ID_LABEL, REST_PORT, ROLLOUT_ANNOTATION, RPC_PORT,
    TASKMANAGER_RPC_PORT,
};
use super::resolve::Resolved;
use super::template_merge;
use serde_json::{json, Map, Value as Json};

const CONF_DIR: &str = "/opt/flink/conf";
/// Where Flink writes besides its volumes (`io.tmp.dirs` defaults to `java.io.tmpdir`; Flink's
/// scripts name a log file under the log directory): emptyDirs under a read-only root.
const WRITABLE_DIRS: &[(&str, &str)] = &[("tmp", "/tmp"), ("flink-log", "/opt/flink/log")];

/// What the artifact download may use (a `wget` of a few jars streams them to disk).
fn fetch_resources() -> Json {
    json!({"cpu": "100m", "memory": "128Mi"})
}

/// The pod's security context: a non-root user (the official image's `flink` unless
/// `run_as_user` says otherwise), its group owning the volumes, the runtime's seccomp profile.
fn pod_security(d: &Resolved) -> Json {
    let uid = d.pod.run_as_user;
    let mut context = json!({
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    });
    // runAsNonRoot with uid 0 is a pod the kubelet refuses to start.
    if uid != 0 {
        context["runAsNonRoot"] = true.into();
    }
    context
}

/// Each container's security context: no privilege escalation, no capabilities, and a
/// read-only root unless `read_only_root_filesystem = false`.
fn container_security(d: &Resolved) -> Json {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": d.pod.read_only_root_filesystem,
    })
}

/// The official image's entrypoint links the `opt/` jars this names into `plugins/`.
const ENABLE_BUILT_IN_PLUGINS: &str = "ENABLE_BUILT_IN_PLUGINS";

/// `ENABLE_BUILT_IN_PLUGINS` for the file systems the deployment needs, after the user's own
/// (from `pod.env`); `None` when there are none.
fn built_in_plugins(d: &Resolved) -> Option<String> {
    let ours = super::plugins::jars(d, &super::plugins::needed(d));
    let value = crate::flink::filesystems::enable_built_in_plugins(
        d.pod.env.get(ENABLE_BUILT_IN_PLUGINS).map(String::as_str),
        &ours,
    );
    (!value.is_empty()).then_some(value)
}

/// A short hash of `text`, for rollout annotations.
pub fn content_hash(text: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A Flink memory size as a Kubernetes quantity (Flink's `m` is a mebibyte).
fn quantity(memory: &str) -> String {
    let written = match crate::flink::values::memory_bytes(memory) {
        Some(bytes) if bytes % (1 << 20) == 0 => format!("{}Mi", bytes >> 20),
        Some(bytes) => bytes.to_string(),
        None => memory.to_string(),
    };
    canonical(written)
}

/// Cpu cores as the API server writes them back (`1`, `500m`), so refresh sees no false drift.
fn cpu_quantity(cpu: f64) -> String {
    canonical(format!("{}m", (cpu * 1000.0).round() as i64))
}

/// A quantity as the API server stores it (`1024Mi` is kept as `1Gi`): what the provider sends
/// must be what it reads back, or every refresh would see drift.
fn canonical(written: String) -> String {
    kube_rules::quantity::canonical(&written).unwrap_or(written)
}

/// The labels of every object (`component` set on pods and what selects them).
pub fn labels(d: &Resolved, component: Option<&str>) -> Map<String, Json> {
    let mut labels = Map::new();
    labels.insert("app".into(), "flink".into());
    labels.insert(DEPLOYMENT_ID_LABEL.into(), d.id.clone().into());
    if let Some(c) = component {
        labels.insert("component".into(), c.into());
    }
    labels
}

pub fn pod_tls(d: &Resolved) -> Option<super::tls::PodTls> {
    let tls = d.tls.as_ref()?;
    Some(super::tls::pod_tls(
        &Names::of(&d.name).tls_secret,
        tls.internal_fingerprint_sha1.as_deref(),
    ))
}

/// The pod template of `component` (`jobmanager` or `taskmanager`) with its container `args`:
/// the provider's own over the user's templates ([`super::template_merge`]). Pods carry a hash
/// of the configuration files and of their whole template (the user's part too), so a
/// configuration or template change rolls them and the pods of the current rollout can be told
/// from old ones still terminating.
pub fn template(d: &Resolved, component: &str, args: Vec<String>, config_hash: &str) -> Json {
    let ours = own(d, component, args);
    let mut template = match d.templates.of(component) {
        None => ours,
        Some(user) => {
            let mut ours = ours;
            template_merge::yield_to_user(&user, &mut ours);
            let mut merged = template_merge::merge_ours(&user, &ours);
            template_merge::secure_user_containers(&mut merged, &container_security(d), &ours);
            // With sidecars, `kubectl logs` and `kubectl exec` pick Flink's container.
            if merged["spec"]["containers"]
                .as_array()
                .is_some_and(|c| c.len() > 1)
            {
                merged["metadata"]["annotations"][DEFAULT_CONTAINER_ANNOTATION] =
                    template_merge::MAIN_CONTAINER.into();
            }
            merged
        }
    };
    let rollout = content_hash(&format!("{config_hash}\n{template}"));
    template["metadata"]["annotations"][ROLLOUT_ANNOTATION] = rollout.into();
    template
}

/// The annotation `kubectl logs` and `kubectl exec` read for the container to pick.
const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

/// A user template's value the rendering of `component` contradicts, on its attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateConflict {
    /// `pod_template`, `jobmanager_pod_template` or `taskmanager_pod_template`.
    pub attribute: &'static str,
    pub conflict: template_merge::Conflict,
}

/// What the user's templates set that the provider's pods of `component` need otherwise, and
/// main-container requests above its limits.
pub fn conflicts(d: &Resolved, component: &str, args: Vec<String>) -> Vec<TemplateConflict> {
    let ours = own(d, component, args);
    let role = if component == "jobmanager" {
        ("jobmanager_pod_template", &d.templates.jobmanager)
    } else {
        ("taskmanager_pod_template", &d.templates.taskmanager)
    };
    let mut out = Vec::new();
    for (attribute, user) in [("pod_template", &d.templates.common), role] {
        let Some(user) = user else { continue };
        let mut ours = ours.clone();
        template_merge::yield_to_user(user, &mut ours);
        for conflict in template_merge::conflicts(user, &ours, component)
            .into_iter()
            .chain(requests_over_limits(user, &ours, component))
        {
            out.push(TemplateConflict {
                attribute,
                conflict,
            });
        }
    }
    out
}

/// The main container's requests from the template above the limits `resources.<role>` sets:
/// the API server refuses them (`must be less than or equal to ... limit`).
fn requests_over_limits(user: &Json, ours: &Json, role: &str) -> Vec<template_merge::Conflict> {
    use template_merge::{Step, MAIN_CONTAINER};
    let mut out = Vec::new();
    let Some((index, main)) = user["spec"]["containers"].as_array().and_then(|cs| {
        cs.iter()
            .enumerate()
            .find(|(_, c)| c["name"] == MAIN_CONTAINER)
    }) else {
        return out;
    };
    for resource in ["cpu", "memory"] {
        let (Some(request), Some(limit)) = (
            main["resources"]["requests"][resource].as_str(),
            ours["spec"]["containers"][0]["resources"]["limits"][resource].as_str(),
        ) else {
            continue;
        };
        if let (Some(r), Some(l)) = (quantity_value(request), quantity_value(limit)) {
            if r > l {
                out.push(template_merge::Conflict {
                    path: ["spec", "containers"]
                        .iter()
                        .map(|k| Step::Key(k.to_string()))
                        .chain([Step::Index(index)])
                        .chain(
                            ["resources", "requests", resource]
                                .iter()
                                .map(|k| Step::Key(k.to_string())),
                        )
                        .collect(),
                    summary: format!("The {resource} request {request} is above its limit {limit}"),
                    detail: format!(
                        "Kubernetes refuses a request above the limit, which is                          `resources.{role}.{resource}`: request at most {limit}, or raise                          `resources.{role}.{resource}`."
                    ),
                });
            }
        }
    }
    out
}

/// A Kubernetes quantity's value (`500m`, `2`, `1600Mi`, `1G`), for comparing two.
fn quantity_value(text: &str) -> Option<f64> {
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024f64),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (suffix, factor) in suffixes {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    text.parse().ok()
}

/// The init containers that fetch the job's artifacts into `usrlib`: `fetch-artifacts` for
/// `http(s)://` jars, `fetch-s3-artifacts` for `s3://` ones with the blob storage's keys (from
/// its Secret, as Flink's containers get them), endpoint and region.
fn fetch_containers(d: &Resolved) -> Vec<Json> {
    let mount = json!([{"name": "usrlib", "mountPath": USRLIB_DIR}]);
    let resources = json!({"requests": fetch_resources(), "limits": fetch_resources()});
    let mut out = Vec::new();
    let downloads = artifacts::downloads(&d.artifact);
    if !downloads.is_empty() {
        out.push(json!({
            "name": "fetch-artifacts",
            "image": d.artifact.fetcher_image,
            "command": ["sh", "-c", artifacts::fetch_script(&downloads)],
            "volumeMounts": mount,
            "resources": resources,
            "securityContext": container_security(d),
        }));
    }
    let copies = artifacts::s3_downloads(&d.artifact);
    if !copies.is_empty() {
        let storage = d.blob_storage.as_ref();
        let endpoint = storage.and_then(|b| b.endpoint.as_deref());
        let path_style = storage.and_then(|b| b.path_style_access).unwrap_or(false);
        // The CLI signs for a region even at an endpoint of another store.
        let region = storage
            .and_then(|b| b.region.clone())
            .unwrap_or_else(|| "us-east-1".into());
        // The CLI's own files (its configuration, caches) go to the pod's /tmp volume, as the
        // root filesystem is read-only.
        let mut env = vec![
            json!({"name": "AWS_REGION", "value": region}),
            json!({"name": "HOME", "value": "/tmp"}),
        ];
        env.extend(blob_storage_keys(d));
        // A Python program with the transfers' buffers: twice a wget's.
        let memory = json!({"cpu": "100m", "memory": "256Mi"});
        out.push(json!({
            "name": artifacts::S3_FETCHER,
            "image": d.artifact.s3_fetcher_image,
            "command": ["sh", "-c", artifacts::s3_fetch_script(&copies, endpoint, path_style)],
            "env": env,
            "volumeMounts": [
                {"name": "usrlib", "mountPath": USRLIB_DIR},
                {"name": "tmp", "mountPath": "/tmp"},
            ],
            "resources": {"requests": memory, "limits": memory},
            "securityContext": container_security(d),
        }));
    }
    out
}

/// The blob storage's keys from its Secret, as environment variables the S3 clients read.
fn blob_storage_keys(d: &Resolved) -> Vec<Json> {
    let Some(secret) = d.blob_storage.as_ref().and_then(|b| b.secret.as_ref()) else {
        return Vec::new();
    };
    [
        ("AWS_ACCESS_KEY_ID", "access_key"),
        ("AWS_SECRET_ACCESS_KEY", "secret_key"),
    ]
    .into_iter()
    .map(|(var, key)| json!({"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}))
    .collect()
}

/// The probes of `component`'s Flink container, every field the API server would default
/// written out (so the plan shows what the cluster keeps): TCP connects, as Flink's own
/// Kubernetes manifests probe, because an HTTP probe cannot present the client certificate
/// that `tls.rest_authentication` asks for. The startup probe gives a JVM five minutes to open
/// its port (a loaded node is slow); readiness then follows the JobManager's REST port, which
/// its Service routes to, or a TaskManager's RPC port; liveness restarts a process whose RPC
/// port closed. A pod template's `startupProbe`, `readinessProbe` or `livenessProbe` on
/// `flink-main-container` replaces the provider's.
fn probes(component: &str) -> Map<String, Json> {
    let (ready_port, rpc_port) = if component == "jobmanager" {
        ("rest", "rpc")
    } else {
        ("rpc", "rpc")
    };
    let tcp = |port: &str, period: u32, timeout: u32, failures: u32| {
        json!({
            "tcpSocket": {"port": port},
            "periodSeconds": period,
            "timeoutSeconds": timeout,
            "successThreshold": 1,
            "failureThreshold": failures,
        })
    };
    Map::from_iter([
        ("startupProbe".to_string(), tcp(ready_port, 1, 1, 300)),
        ("readinessProbe".to_string(), tcp(ready_port, 2, 1, 3)),
        ("livenessProbe".to_string(), tcp(rpc_port, 10, 5, 3)),
    ])
}

/// The provider's own pod template of `component`, before the user's and the rollout hash.
fn own(d: &Resolved, component: &str, args: Vec<String>) -> Json {
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
    let plugins = built_in_plugins(d);
    if let Some(value) = &plugins {
        env.retain(|e| e["name"] != ENABLE_BUILT_IN_PLUGINS);
        env.push(json!({"name": ENABLE_BUILT_IN_PLUGINS, "value": value}));
    }
    env.extend(blob_storage_keys(d));
    let (cpu, memory) = if component == "jobmanager" {
        &d.jobmanager
    } else {
        &d.taskmanager
    };
    let resources = json!({"cpu": cpu_quantity(*cpu), "memory": quantity(memory)});
    let rpc_port = if component == "jobmanager" {
        RPC_PORT
    } else {
        TASKMANAGER_RPC_PORT
    };
    let mut ports = vec![json!({"name": "rpc", "containerPort": rpc_port})];
    if component == "jobmanager" {
        ports.push(json!({"name": "blob", "containerPort": BLOB_PORT}));
        ports.push(json!({"name": "rest", "containerPort": REST_PORT}));
    } else if d.queryable_state {
        ports.push(json!({"name": "queryable-state", "containerPort": crate::flink::render::QUERYABLE_STATE_PROXY_PORT}));
    }
    let mut mounts = vec![json!({"name": "flink-config", "mountPath": CONF_DIR})];
    let mut volumes =
        vec![json!({"name": "flink-config", "configMap": {"name": names.config_map}})];
    // Only downloads need a volume there: it would hide a `local://` jar in the image's usrlib.
    if artifacts::fetches(&d.artifact) {
        mounts.push(json!({"name": "usrlib", "mountPath": USRLIB_DIR}));
        volumes.push(json!({"name": "usrlib", "emptyDir": {}}));
    }
    let plugin_dirs = match (&plugins, d.pod.read_only_root_filesystem) {
        (Some(enabled), true) => super::plugins::volumes(enabled),
        _ => Vec::new(),
    };
    let writable = WRITABLE_DIRS
        .iter()
        .map(|(volume, path)| (volume.to_string(), path.to_string()));
    for (volume, path) in writable.chain(plugin_dirs) {
        mounts.push(json!({"name": volume, "mountPath": path}));
        volumes.push(json!({"name": volume, "emptyDir": {}}));
    }
    if let Some(tls) = pod_tls(d) {
        mounts.push(tls.mount);
        volumes.push(tls.volume);
        env.extend(tls.env);
    }
    env.extend(super::secret_configuration::env(d));
    let mut spec = json!({
        "serviceAccountName": super::rbac::account(d, super::rbac::Component::of(component)),
        "automountServiceAccountToken": super::rbac::mounts_token(d),
        "securityContext": pod_security(d),
        "containers": [{
            "name": "flink-main-container",
            "image": d.image,
            "args": args,
            "env": env,
            "ports": ports,
            "resources": {"requests": resources, "limits": resources},
            "volumeMounts": mounts,
            "securityContext": container_security(d),
        }],
        "volumes": volumes,
    });
    if let Some(main) = spec["containers"][0].as_object_mut() {
        main.extend(probes(component));
    }
    let fetchers = fetch_containers(d);
    if !fetchers.is_empty() {
        spec["initContainers"] = Json::Array(fetchers);
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
    json!({"metadata": {"labels": pod_labels, "annotations": annotations}, "spec": spec})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities() {
        assert_eq!(quantity("1600m"), "1600Mi");
        assert_eq!(quantity("2 gb"), "2Gi");
        assert_eq!(quantity("1024m"), "1Gi");
        assert_eq!(cpu_quantity(1.0), "1");
        assert_eq!(cpu_quantity(0.5), "500m");
    }

    /// The pod specs of every Deployment `inputs` renders to.
    fn pod_specs(inputs: serde_json::Value) -> Vec<Json> {
        let mut model = super::super::golden_tests::model(inputs);
        let rendered = super::super::computed::fill(&mut model, None, None).expect("renders");
        rendered
            .objects
            .iter()
            .filter(|o| o.kind == crate::kubernetes::Kind::Deployment)
            .map(|o| o.manifest["spec"]["template"].clone())
            .collect()
    }

    fn inputs(pod: Json) -> Json {
        json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "https://repo.example.com/job.jar"},
            "pod": pod,
        })
    }

    #[test]
    fn default_pods_meet_pod_security_restricted() {
        use kube_test_server::podsecurity::{evaluate, policy};
        let restricted = policy::LevelVersion {
            level: policy::Level::Restricted,
            version: policy::Version::Latest,
        };
        let templates = pod_specs(inputs(json!(null)));
        assert_eq!(templates.len(), 2, "JobManager and TaskManager");
        for template in &templates {
            let failed = evaluate::evaluate(restricted, &template["metadata"], &template["spec"]);
            assert!(failed.is_empty(), "{}", evaluate::forbidden_detail(&failed));
            let spec = &template["spec"];
            assert_eq!(spec["automountServiceAccountToken"], false);
            for container in spec["containers"].as_array().into_iter().flatten() {
                assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
                assert!(container["resources"]["limits"]["memory"].is_string());
            }
        }
        // The artifact download runs under the same rules.
        let init = &templates[0]["spec"]["initContainers"][0];
        assert_eq!(init["securityContext"]["allowPrivilegeEscalation"], false);
    }

    #[test]
    fn root_and_a_writable_root_are_what_the_user_gives_up() {
        use kube_test_server::podsecurity::{evaluate, policy};
        let restricted = policy::LevelVersion {
            level: policy::Level::Restricted,
            version: policy::Version::Latest,
        };
        let pod = json!({"run_as_user": 0, "read_only_root_filesystem": false});
        for template in pod_specs(inputs(pod)) {
            let spec = &template["spec"];
            assert_eq!(spec["securityContext"]["runAsUser"], 0);
            assert!(spec["securityContext"].get("runAsNonRoot").is_none());
            assert_eq!(
                spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
                false
            );
            let failed = evaluate::evaluate(restricted, &template["metadata"], spec);
            let reasons: Vec<&str> = failed.iter().map(|f| f.reason.as_str()).collect();
            assert!(reasons.contains(&"runAsNonRoot != true"), "{reasons:?}");
        }
    }
}
