//! What the real API server sets on an object it creates, beyond identity (the registry
//! strategies' `PrepareForCreate` and the v1 defaults): a Namespace is `Active`; a Secret's type
//! is `Opaque` unless given; a Pod's status is reset to
//! `Pending` with its QoS class (`pkg/apis/core/helper/qos`: `BestEffort` without requests or
//! limits, `Guaranteed` when every container limits CPU and memory and requests no other
//! amounts, else `Burstable`). A PersistentVolumeClaim is bound at once, as a dynamic
//! provisioner with `Immediate` binding would bind it: to volume `pvc-<uid>` with the capacity
//! and access modes it asks for (the local kubelet backs it with a directory). Every write of a
//! Namespace labels it `kubernetes.io/metadata.name=<name>`, and every write of a pod spec (a
//! Pod's, a workload's template) gets the v1 defaults of its probes (`SetDefaults_Probe`,
//! `SetDefaults_HTTPGetAction`: `timeoutSeconds` 1, `periodSeconds` 10, `successThreshold` 1,
//! `failureThreshold` 3, an `httpGet`'s `path` `/` and `scheme` `HTTP`).

use serde_json::{json, Value as Json};

/// Applies the create-time fields of `kind` to `object`.
pub fn on_create(kind: &str, object: &mut Json) {
    match kind {
        "Namespace" if object.pointer("/status/phase").is_none() => {
            object["status"] = json!({"phase": "Active"});
        }
        "Secret" if object["type"].as_str().is_none_or(str::is_empty) => {
            object["type"] = json!("Opaque");
        }
        "Pod" => {
            let qos = qos_class(&object["spec"]);
            object["status"] = json!({"phase": "Pending", "qosClass": qos});
        }
        "PersistentVolumeClaim" => bind_claim(object),
        _ => {}
    }
}

/// Applies what `kind`'s strategy sets on every create and update: a Namespace always carries
/// the label `kubernetes.io/metadata.name` with its name (`pkg/registry/core/namespace/strategy.go`),
/// which NetworkPolicies select namespaces by.
pub fn on_write(kind: &str, object: &mut Json) {
    if let Some(spec) = crate::kinds::pod_spec_mut(kind, object) {
        default_probes(spec);
    }
    if kind != "Namespace" {
        return;
    }
    let name = object["metadata"]["name"].clone();
    if let Some(meta) = object["metadata"].as_object_mut() {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if !labels.is_object() {
            *labels = json!({});
        }
        labels["kubernetes.io/metadata.name"] = name;
    }
}

/// The v1 defaults of every probe of the pod spec's containers.
fn default_probes(spec: &mut Json) {
    for list in ["containers", "initContainers"] {
        for container in spec
            .get_mut(list)
            .and_then(Json::as_array_mut)
            .into_iter()
            .flatten()
        {
            for kind in ["startupProbe", "readinessProbe", "livenessProbe"] {
                let Some(probe) = container.get_mut(kind).and_then(Json::as_object_mut) else {
                    continue;
                };
                for (field, default) in [
                    ("timeoutSeconds", 1),
                    ("periodSeconds", 10),
                    ("successThreshold", 1),
                    ("failureThreshold", 3),
                ] {
                    probe.entry(field).or_insert_with(|| default.into());
                }
                if let Some(http) = probe.get_mut("httpGet").and_then(Json::as_object_mut) {
                    http.entry("path").or_insert_with(|| "/".into());
                    http.entry("scheme").or_insert_with(|| "HTTP".into());
                }
            }
        }
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
    fn probes_get_their_v1_defaults() {
        let mut deployment = json!({"spec": {"template": {"spec": {"containers": [{
            "name": "c",
            "readinessProbe": {"httpGet": {"port": 8080}},
            "livenessProbe": {"tcpSocket": {"port": 1}, "periodSeconds": 3},
        }]}}}});
        on_write("Deployment", &mut deployment);
        let c = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            c["readinessProbe"],
            json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                   "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(c["livenessProbe"]["periodSeconds"], 3);
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
        on_write("Namespace", &mut labelled);
        assert_eq!(
            labelled["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team-a"
        );
        let mut secret = json!({"metadata": {"name": "s"}});
        on_create("Secret", &mut secret);
        assert_eq!(secret["type"], "Opaque");
    }
}
