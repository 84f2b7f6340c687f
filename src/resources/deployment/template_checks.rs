//! Plan-time checks of a user's pod template (pure), before anything is merged: it must be a
//! Kubernetes `PodTemplateSpec` (read into k8s-openapi's type, so a wrong type and an unknown
//! field are errors on their path inside the template, as `kubectl apply --validate=strict`
//! reports them), pass the API server's rules the workspace's `kube-rules` holds (container and
//! volume names, images, env names, label keys and values, port numbers and names,
//! tolerations), and leave alone what a Flink pod of this provider cannot give up (the host's
//! namespaces, a restart policy other than a Deployment's `Always`). A template not yet known
//! (computed from another resource) is checked at apply.

use super::model::Model;
use super::template_merge::{display, Path, Step};
use crate::schema::{AttributePath, Diagnostics};
use serde_json::Value as Json;

/// The attribute path of `path` inside the template attribute `attribute`.
pub fn template_path(attribute: &str, path: &[Step]) -> AttributePath {
    path.iter()
        .fold(AttributePath::root(attribute), |at, step| match step {
            Step::Key(k) => at.attr(k),
            Step::Index(i) => at.index(*i),
        })
}

/// The user's pod templates, each against the Kubernetes schema and the API server's rules; a
/// template with a part not yet known is checked at apply.
pub fn report(model: &Model, diags: &mut Diagnostics) {
    for (attribute, template) in [
        ("pod_template", &model.pod_template),
        ("jobmanager_pod_template", &model.jobmanager_pod_template),
        ("taskmanager_pod_template", &model.taskmanager_pod_template),
    ] {
        let Some(mut json) = template.known().and_then(|t| t.known()).cloned() else {
            continue;
        };
        normalize_quantities(&mut json);
        for f in check(&json) {
            diags.attribute_error(template_path(attribute, &f.path), f.summary, f.detail);
        }
    }
}

/// A finding on a path inside the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub path: Path,
    pub summary: String,
    pub detail: String,
}

fn finding(path: Path, summary: impl Into<String>, detail: impl Into<String>) -> Finding {
    Finding {
        path,
        summary: summary.into(),
        detail: detail.into(),
    }
}

/// Quantities as the API server stores them: a number is taken too (`cpu: 2`,
/// `memory: 1073741824`), and every quantity is written back in canonical form (`1024Mi` as
/// `1Gi`, `0.5` as `500m`), so the template's values become what refresh will read.
pub fn normalize_quantities(template: &mut Json) {
    for c in super::template_merge::containers_mut(template) {
        for part in ["requests", "limits"] {
            if let Some(map) = c
                .get_mut("resources")
                .and_then(|r| r.get_mut(part))
                .and_then(Json::as_object_mut)
            {
                for v in map.values_mut() {
                    if let Some(text) =
                        quantity_text(v).and_then(|t| kube_rules::quantity::canonical(&t))
                    {
                        *v = text.into();
                    }
                }
            }
        }
    }
}

/// A quantity's text, written as a string or a number.
fn quantity_text(value: &Json) -> Option<String> {
    match value {
        Json::Number(n) => Some(n.to_string()),
        Json::String(s) => Some(s.trim().to_string()),
        _ => None,
    }
}

fn path_of(p: &serde_path_to_error::Path) -> Path {
    use serde_path_to_error::Segment;
    p.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Map { key } | Segment::Enum { variant: key } => Some(Step::Key(key.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// Every check of `template` (quantities already normalized).
pub fn check(template: &Json) -> Vec<Finding> {
    if !template.is_object() {
        return vec![finding(
            Vec::new(),
            "Not a pod template",
            "Give a Kubernetes PodTemplateSpec: an object with `metadata` and `spec`, e.g. \
             yamldecode(file(\"pod-template.yaml\")).",
        )];
    }
    let typed: Result<k8s_openapi::api::core::v1::PodTemplateSpec, _> =
        serde_path_to_error::deserialize(template);
    let typed = match typed {
        Ok(t) => t,
        Err(e) => {
            let path = path_of(e.path());
            let message = e.inner().to_string();
            return vec![finding(
                path.clone(),
                format!("Invalid pod template field {}", display(&path)),
                format!(
                    "Kubernetes would refuse it: {message}. See the PodTemplateSpec reference \
                     (kubectl explain pod.spec) for the field's type."
                ),
            )];
        }
    };
    let mut out = Vec::new();
    let back = serde_json::to_value(&typed).unwrap_or(Json::Null);
    unknown_fields(template, &back, &mut Vec::new(), &mut out);
    rules(template, &mut out);
    out
}

/// Keys of `written` that the typed round trip `back` lost: fields Kubernetes does not know.
fn unknown_fields(written: &Json, back: &Json, path: &mut Path, out: &mut Vec<Finding>) {
    match (written, back) {
        (Json::Object(w), Json::Object(b)) => {
            for (k, v) in w {
                path.push(Step::Key(k.clone()));
                match b.get(k) {
                    Some(bv) => unknown_fields(v, bv, path, out),
                    None if v.is_null() => {}
                    None => out.push(finding(
                        path.clone(),
                        format!("Unknown pod template field {}", display(path)),
                        format!(
                            "A PodTemplateSpec has no field {k:?} here: check its spelling and \
                             place (kubectl explain pod.spec lists the fields)."
                        ),
                    )),
                }
                path.pop();
            }
        }
        (Json::Array(w), Json::Array(b)) => {
            for (i, (v, bv)) in w.iter().zip(b).enumerate() {
                path.push(Step::Index(i));
                unknown_fields(v, bv, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at(base: &[Step], more: &[Step]) -> Path {
    base.iter().chain(more).cloned().collect()
}

fn key(k: &str) -> Step {
    Step::Key(k.into())
}

/// The API server's rules (`kube-rules`) and what the provider's pods cannot give up.
fn rules(t: &Json, out: &mut Vec<Finding>) {
    let refuse = |out: &mut Vec<Finding>, path: Path, what: &str, errors: Vec<String>| {
        if !errors.is_empty() {
            out.push(finding(
                path.clone(),
                format!("Invalid {what} at {}", display(&path)),
                format!("Kubernetes would refuse it: {}.", errors.join("; ")),
            ));
        }
    };
    for part in ["labels", "annotations"] {
        for (k, v) in t["metadata"][part].as_object().into_iter().flatten() {
            let path = vec![key("metadata"), key(part), key(k)];
            refuse(out, path.clone(), "key", kube_rules::qualified_name(k));
            if part == "labels" {
                if let Some(v) = v.as_str() {
                    refuse(out, path, "label value", kube_rules::label_value(v));
                }
            }
        }
    }
    let spec = &t["spec"];
    for (field, what) in [
        ("hostNetwork", "the node's network"),
        ("hostPID", "the node's process namespace"),
        ("hostIPC", "the node's IPC namespace"),
    ] {
        if spec[field] == Json::Bool(true) {
            out.push(finding(
                vec![key("spec"), key(field)],
                format!("{field} is not for Flink pods"),
                format!(
                    "Flink's pods bind their own RPC, blob and REST ports, which {what} would \
                     share with the node (and Pod Security `baseline` forbids it): remove \
                     `{field}`."
                ),
            ));
        }
    }
    if let Some(policy) = spec["restartPolicy"].as_str().filter(|p| *p != "Always") {
        out.push(finding(
            vec![key("spec"), key("restartPolicy")],
            format!("Unsupported restartPolicy {policy:?}"),
            "The provider runs the pods as Deployments, which take only `Always`: remove \
             `restartPolicy` (Flink's own restart strategy, `restart-strategy.type` in \
             flink_configuration, decides what a failed job does).",
        ));
    }
    let mut names: Vec<(Path, &str)> = Vec::new();
    for list in ["initContainers", "containers"] {
        for (i, c) in spec[list].as_array().into_iter().flatten().enumerate() {
            let base = vec![key("spec"), key(list), Step::Index(i)];
            if let Some(name) = c["name"].as_str() {
                refuse(
                    out,
                    at(&base, &[key("name")]),
                    "container name",
                    kube_rules::dns1123_label(name),
                );
                if let Some((first, _)) = names.iter().find(|(_, n)| *n == name) {
                    out.push(finding(
                        at(&base, &[key("name")]),
                        format!("Duplicate container name {name:?}"),
                        format!(
                            "{} has it already; container names are unique across init and \
                             regular containers.",
                            display(first)
                        ),
                    ));
                }
                names.push((at(&base, &[key("name")]), name));
            }
            if let Some(image) = c["image"].as_str() {
                refuse(
                    out,
                    at(&base, &[key("image")]),
                    "image",
                    kube_rules::image(image),
                );
            }
            for part in ["requests", "limits"] {
                for (resource, v) in c["resources"][part].as_object().into_iter().flatten() {
                    if quantity_text(v).is_none_or(|t| !kube_rules::quantity::is_valid(&t)) {
                        out.push(finding(
                            at(&base, &[key("resources"), key(part), key(resource)]),
                            format!("Invalid quantity {v}"),
                            format!(
                                "Kubernetes would refuse it: {}, e.g. \"512Mi\", \"2Gi\", \"500m\" or \"2\".",
                                kube_rules::quantity::INVALID
                            ),
                        ));
                    }
                }
            }
            for (j, e) in c["env"].as_array().into_iter().flatten().enumerate() {
                if let Some(name) = e["name"].as_str() {
                    refuse(
                        out,
                        at(&base, &[key("env"), Step::Index(j), key("name")]),
                        "environment variable name",
                        kube_rules::relaxed_env_var_name(name),
                    );
                }
            }
            for (j, p) in c["ports"].as_array().into_iter().flatten().enumerate() {
                let port = at(&base, &[key("ports"), Step::Index(j)]);
                if let Some(n) = p["containerPort"].as_i64() {
                    refuse(
                        out,
                        at(&port, &[key("containerPort")]),
                        "port",
                        kube_rules::port_number(n),
                    );
                }
                if let Some(name) = p["name"].as_str() {
                    refuse(
                        out,
                        at(&port, &[key("name")]),
                        "port name",
                        kube_rules::port_name(name),
                    );
                }
            }
        }
    }
    for (i, v) in spec["volumes"].as_array().into_iter().flatten().enumerate() {
        if let Some(name) = v["name"].as_str() {
            refuse(
                out,
                vec![key("spec"), key("volumes"), Step::Index(i), key("name")],
                "volume name",
                kube_rules::dns1123_label(name),
            );
        }
    }
    tolerations(spec, out);
}

fn tolerations(spec: &Json, out: &mut Vec<Finding>) {
    for (i, t) in spec["tolerations"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let text = |k: &str| t[k].as_str().unwrap_or_default();
        let fields = kube_rules::tolerations::Toleration {
            key: text("key"),
            operator: text("operator"),
            value: text("value"),
            effect: text("effect"),
            has_seconds: !t["tolerationSeconds"].is_null(),
        };
        for (field, summary, detail) in super::toleration_checks::toleration_findings(&fields) {
            let path = vec![key("spec"), key("tolerations"), Step::Index(i), key(field)];
            out.push(finding(path, summary, detail));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(template: Json) -> Vec<String> {
        let mut t = template;
        normalize_quantities(&mut t);
        check(&t).iter().map(|f| display(&f.path)).collect()
    }

    #[test]
    fn a_pasted_template_with_sidecar_volumes_and_affinity_passes() {
        let t = json!({
            "metadata": {"labels": {"team": "data"}, "annotations": {"prometheus.io/scrape": "true"}},
            "spec": {
                "priorityClassName": "high",
                "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                     "labelSelector": {"matchLabels": {"app": "flink"}}}}]}},
                "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
                    "whenUnsatisfiable": "ScheduleAnyway"}],
                "containers": [
                    {"name": "flink-main-container", "imagePullPolicy": "Always",
                     "resources": {"requests": {"cpu": 0.5, "memory": 1073741824}},
                     "envFrom": [{"secretRef": {"name": "kafka"}}]},
                    {"name": "log-shipper", "image": "busybox:1.36",
                     "command": ["sh", "-c", "tail -F /var/log/x"],
                     "ports": [{"name": "metrics", "containerPort": 9100}]},
                ],
                "initContainers": [{"name": "setup", "image": "busybox:1.36"}],
                "volumes": [{"name": "shared", "emptyDir": {"sizeLimit": "1Gi"}}],
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "flink",
                                 "effect": "NoSchedule"}],
            }
        });
        assert_eq!(paths(t), Vec::<String>::new());
    }

    #[test]
    fn numbers_become_quantities_as_the_api_server_writes_them() {
        let mut t = json!({"spec": {"containers": [{"name": "c", "resources": {
            "requests": {"cpu": 0.5, "memory": 1024}, "limits": {"cpu": "1.5", "memory": "2048Mi"}}}]}});
        normalize_quantities(&mut t);
        let r = &t["spec"]["containers"][0]["resources"];
        assert_eq!(r["requests"], json!({"cpu": "500m", "memory": "1024"}));
        assert_eq!(r["limits"], json!({"cpu": "1500m", "memory": "2Gi"}));
    }

    #[test]
    fn wrong_types_and_unknown_fields_are_errors_on_their_paths() {
        assert_eq!(
            paths(
                json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": "x"}]}]}})
            ),
            ["spec.containers[0].ports[0].containerPort"]
        );
        assert_eq!(
            paths(
                json!({"spec": {"containers": [{"name": "a", "imagePulPolicy": "Always"}],
                                  "volumez": []}})
            ),
            ["spec.containers[0].imagePulPolicy", "spec.volumez"]
        );
        assert_eq!(paths(json!("spec")), [""]);
    }

    #[test]
    fn api_server_rules_and_what_flink_pods_keep() {
        let found = paths(json!({
            "metadata": {"labels": {"bad key!": "v"}},
            "spec": {
                "hostNetwork": true,
                "restartPolicy": "Never",
                "containers": [{"name": "Side", "image": " x", "env": [{"name": "A=B"}],
                                "resources": {"limits": {"memory": "1 gb", "cpu": "2"}}},
                               {"name": "dup"}],
                "initContainers": [{"name": "dup"}],
                "volumes": [{"name": "Bad_Volume", "emptyDir": {}}],
                "tolerations": [{"operator": "Sometimes"}],
            }
        }));
        assert_eq!(
            found,
            [
                "metadata.labels.bad key!",
                "spec.hostNetwork",
                "spec.restartPolicy",
                "spec.containers[0].name",
                "spec.containers[0].image",
                "spec.containers[0].resources.limits.memory",
                "spec.containers[0].env[0].name",
                "spec.containers[1].name",
                "spec.volumes[0].name",
                // Unsupported, and not `Exists` with an empty key: both, as the API server.
                "spec.tolerations[0].operator",
                "spec.tolerations[0].operator",
            ]
        );
    }
}
