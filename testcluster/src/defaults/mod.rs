//! What the real API server sets on an object it stores, beyond identity: the v1 defaults
//! (`pkg/apis/core/v1/defaults.go`, `pkg/apis/apps/v1/defaults.go`, called as their
//! `zz_generated.defaults.go` does) and what the registry strategies add.
//!
//! On every write ([`on_write`], before ownership is recorded, as a real server defaults a
//! request while decoding it: an update's manager owns what defaulting filled, an apply owns
//! only what it sent): the pod spec defaults of a Pod and of every workload template
//! (`pod_spec`); a Service's defaults and IP fields (`service`); a Deployment's
//! `SetDefaults_Deployment` (`replicas` 1, a `RollingUpdate` strategy's `maxUnavailable` and
//! `maxSurge` 25%, `revisionHistoryLimit` 10, `progressDeadlineSeconds` 600) and a ReplicaSet's
//! `replicas` 1 (`SetDefaults_ReplicaSet`); a Secret's type `Opaque` (`SetDefaults_Secret`); a
//! Namespace's label `kubernetes.io/metadata.name=<name>` (`SetDefaults_Namespace` and
//! `pkg/registry/core/namespace/strategy.go`), which NetworkPolicies select namespaces by.
//!
//! On create only ([`on_create`], the strategies' `PrepareForCreate`): a Namespace is `Active`; a
//! Pod's status is reset to `Pending` with its QoS class (`pkg/apis/core/helper/qos`:
//! `BestEffort` without requests or limits, `Guaranteed` when every container limits CPU and
//! memory and requests no other amounts, else `Burstable`). A PersistentVolumeClaim is bound at
//! once, as a dynamic provisioner with `Immediate` binding would bind it: to volume `pvc-<uid>`
//! with the capacity and access modes it asks for (the local kubelet backs it with a directory).
//!
//! A default fills only a field the client left unset (absent, `null`, or an empty string, all
//! Go's zero value, which is what the defaulters test), never one it gave.
//!
//! Layout: this file (the kinds' entry points, workloads, namespaces, claims) -> `pod_spec`,
//! `service`.

mod pod_spec;
pub mod service;

use serde_json::{json, Map, Value as Json};

/// Applies the create-time fields of `kind` to `object`.
pub fn on_create(kind: &str, object: &mut Json) {
    match kind {
        "Namespace" if object.pointer("/status/phase").is_none() => {
            object["status"] = json!({"phase": "Active"});
        }
        "Pod" => {
            let qos = qos_class(&object["spec"]);
            object["status"] = json!({"phase": "Pending", "qosClass": qos});
        }
        "PersistentVolumeClaim" => bind_claim(object),
        _ => {}
    }
}

/// Applies the defaults of `kind` to `object`, written over `old` (the stored object on an
/// update). A Service's cluster IP is allocated apart ([`service::allocate_cluster_ip`]).
pub fn on_write(kind: &str, object: &mut Json, old: Option<&Json>) {
    // `SetDefaults_PodSpec` defaults `restartPolicy` to `Always` in a Job's template too, and Job
    // validation then refuses it (only `OnFailure` and `Never` are allowed): a Job must give its
    // own. This server validates no Jobs, so it leaves the field unset rather than store a
    // Job the real server would refuse.
    let restart_policy = !matches!(kind, "Job" | "CronJob");
    if let Some(spec) = crate::kinds::pod_spec_mut(kind, object) {
        pod_spec::default_pod_spec(spec, restart_policy);
        if kind == "Pod" {
            pod_spec::default_pod(spec);
        }
    }
    match kind {
        "Service" => service::default_service(object, old),
        "Deployment" => default_deployment(object),
        "ReplicaSet" => {
            if let Some(spec) = object.get_mut("spec").and_then(Json::as_object_mut) {
                fill(spec, "replicas", 1);
            }
        }
        "Secret" => {
            if let Some(secret) = object.as_object_mut() {
                fill(secret, "type", "Opaque");
            }
        }
        "Namespace" => label_namespace(object),
        _ => {}
    }
}

/// `SetDefaults_Deployment`.
fn default_deployment(deployment: &mut Json) {
    let Some(spec) = deployment.get_mut("spec").and_then(Json::as_object_mut) else {
        return;
    };
    fill(spec, "replicas", 1);
    let strategy = spec.entry("strategy").or_insert_with(|| json!({}));
    if strategy.is_null() {
        *strategy = json!({});
    }
    if let Some(strategy) = strategy.as_object_mut() {
        fill(strategy, "type", "RollingUpdate");
        if strategy.get("type").is_some_and(|t| t == "RollingUpdate") {
            let rolling = strategy.entry("rollingUpdate").or_insert_with(|| json!({}));
            if rolling.is_null() {
                *rolling = json!({});
            }
            if let Some(rolling) = rolling.as_object_mut() {
                fill(rolling, "maxUnavailable", "25%");
                fill(rolling, "maxSurge", "25%");
            }
        }
    }
    fill(spec, "revisionHistoryLimit", 10);
    fill(spec, "progressDeadlineSeconds", 600);
}

/// The label every Namespace carries with its own name, whatever the client sent.
fn label_namespace(namespace: &mut Json) {
    let name = namespace["metadata"]["name"].clone();
    if let Some(meta) = namespace["metadata"].as_object_mut() {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if !labels.is_object() {
            *labels = json!({});
        }
        labels["kubernetes.io/metadata.name"] = name;
    }
}

/// Sets `key` to `default` where the client left it unset: absent, `null`, or, for a string
/// default, empty.
fn fill(map: &mut Map<String, Json>, key: &str, default: impl Into<Json>) {
    let default = default.into();
    let unset = match map.get(key) {
        None | Some(Json::Null) => true,
        Some(Json::String(s)) => s.is_empty() && default.is_string(),
        Some(_) => false,
    };
    if unset {
        map.insert(key.into(), default);
    }
}

/// What the persistent-volume controller and a provisioner write on a claim they bind.
fn bind_claim(claim: &mut Json) {
    let uid = claim["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if claim["spec"]["volumeName"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        claim["spec"]["volumeName"] = json!(format!("pvc-{uid}"));
    }
    if claim["spec"]["volumeMode"].is_null() {
        claim["spec"]["volumeMode"] = json!("Filesystem");
    }
    claim["status"] = json!({
        "phase": "Bound",
        "accessModes": claim["spec"]["accessModes"].clone(),
        "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"].clone()},
    });
}

fn qos_class(spec: &Json) -> &'static str {
    let containers: Vec<&Json> = ["initContainers", "containers"]
        .iter()
        .flat_map(|l| spec[*l].as_array().into_iter().flatten())
        .collect();
    let amount = |c: &Json, kind: &str, resource: &str| {
        c.pointer(&format!("/resources/{kind}/{resource}"))
            .map(|v| v.to_string())
    };
    let mut any = false;
    let mut guaranteed = true;
    for c in &containers {
        for resource in ["cpu", "memory"] {
            let (request, limit) = (
                amount(c, "requests", resource),
                amount(c, "limits", resource),
            );
            any |= request.is_some() || limit.is_some();
            // Requests default to limits; a request that differs, or a missing limit, is not
            // guaranteed.
            match (&request, &limit) {
                (_, None) => guaranteed = false,
                (Some(r), Some(l)) if r != l => guaranteed = false,
                _ => {}
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_get_the_pod_spec_defaults() {
        let mut deployment = json!({"spec": {"template": {"spec": {"containers": [{
            "name": "c",
            "image": "flink:2.3.0",
            "readinessProbe": {"httpGet": {"port": 8080}},
            "livenessProbe": {"tcpSocket": {"port": 1}, "periodSeconds": 3},
        }]}}}});
        on_write("Deployment", &mut deployment, None);
        let spec = &deployment["spec"]["template"]["spec"];
        let c = &spec["containers"][0];
        assert_eq!(
            c["readinessProbe"],
            json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                   "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(c["livenessProbe"]["periodSeconds"], 3);
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(spec["restartPolicy"], "Always");
        assert!(spec.get("enableServiceLinks").is_none(), "a Pod's only");

        let mut pod = json!({"spec": {"containers": [{"name": "c", "image": "flink"}]}});
        on_write("Pod", &mut pod, None);
        assert_eq!(pod["spec"]["dnsPolicy"], "ClusterFirst");
        assert_eq!(pod["spec"]["enableServiceLinks"], true);
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");

        let mut job = json!({"spec": {"template": {"spec": {"containers": []}}}});
        on_write("Job", &mut job, None);
        assert_eq!(job["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
        assert!(job["spec"]["template"]["spec"]
            .get("restartPolicy")
            .is_none());
    }

    #[test]
    fn deployments_get_set_defaults_deployment() {
        let mut deployment = json!({"spec": {"template": {"spec": {"containers": []}}}});
        on_write("Deployment", &mut deployment, None);
        let spec = &deployment["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);

        let mut partial = json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 0}}}});
        on_write("Deployment", &mut partial, None);
        assert_eq!(
            partial["spec"]["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 0}})
        );
        let mut replica_set = json!({"spec": {}});
        on_write("ReplicaSet", &mut replica_set, None);
        assert_eq!(replica_set["spec"]["replicas"], 1);
    }

    #[test]
    fn given_values_are_kept() {
        let given = json!({"spec": {
            "replicas": 0,
            "strategy": {"type": "Recreate"},
            "revisionHistoryLimit": 0,
            "progressDeadlineSeconds": 60,
        }});
        let mut deployment = given.clone();
        on_write("Deployment", &mut deployment, None);
        assert_eq!(deployment, given);
        let mut replica_set = json!({"spec": {"replicas": 0}});
        on_write("ReplicaSet", &mut replica_set, None);
        assert_eq!(replica_set["spec"]["replicas"], 0);
        let mut secret = json!({"type": "kubernetes.io/tls"});
        on_write("Secret", &mut secret, None);
        assert_eq!(secret["type"], "kubernetes.io/tls");
    }

    #[test]
    fn pods_start_pending_with_their_qos_class() {
        let mut pod =
            json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running"}});
        on_create("Pod", &mut pod);
        assert_eq!(
            pod["status"],
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
        let limited = json!({"containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]});
        assert_eq!(qos_class(&limited), "Guaranteed");
        let requested =
            json!({"containers": [{"name": "a", "resources": {"requests": {"memory": "1Gi"}}}]});
        assert_eq!(qos_class(&requested), "Burstable");
        let mut ns = json!({"metadata": {"name": "n"}});
        on_create("Namespace", &mut ns);
        assert_eq!(ns["status"]["phase"], "Active");
        let mut labelled = json!({"metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "other"}}});
        on_write("Namespace", &mut labelled, None);
        assert_eq!(
            labelled["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team-a"
        );
        let mut secret = json!({"metadata": {"name": "s"}});
        on_write("Secret", &mut secret, None);
        assert_eq!(secret["type"], "Opaque");
    }
}
