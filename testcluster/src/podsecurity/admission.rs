//! What Pod Security admission answers a write (`admission/admission.go`): `ValidatePod` for
//! pods (enforce refuses with 403, warn warns), `ValidatePodController` for Deployments (warn
//! only: their pods are refused when the controller creates them), `ValidateNamespace` for
//! namespaces (labels that do not parse are 422 Invalid; tightening `enforce` warns about existing
//! pods that would violate it). No namespaces, users or runtime classes are exempt, as in
//! kube-apiserver's default configuration; the audit level is parsed but no audit log is kept.

use super::evaluate::{evaluate, forbidden_detail, forbidden_reason};
use super::policy::{self, Level, Policy};
use crate::status::ApiError;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

/// A write, as admission sees it.
pub struct Request<'a> {
    /// `Pod`, `Deployment`, `Namespace`, ...
    pub kind: &'a str,
    /// The namespace object the write goes into (the object itself for a namespace).
    pub namespace: Option<&'a Json>,
    /// The object before an update; `None` for a create.
    pub old: Option<&'a Json>,
    /// The object as it will be stored.
    pub object: &'a Json,
    /// `status`, `scale`, ... for subresource writes.
    pub subresource: Option<&'a str>,
}

/// Warnings for the response, or the refusal.
pub fn admit(
    request: &Request,
    pods_in_namespace: &dyn Fn(&str) -> Vec<Json>,
) -> Result<Vec<String>, ApiError> {
    match request.kind {
        "Pod" => validate_pod(request),
        "Deployment" => validate_pod_controller(request),
        "Namespace" => validate_namespace(request, pods_in_namespace),
        _ => Ok(Vec::new()),
    }
}

fn name_of(object: &Json) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or_default()
}

fn namespace_policy(request: &Request) -> (Policy, Vec<crate::status::FieldError>) {
    policy::of_namespace(request.namespace.unwrap_or(&Json::Null))
}

/// `ValidatePod`.
fn validate_pod(request: &Request) -> Result<Vec<String>, ApiError> {
    // `ignoredPodSubresources`; this server has no other pod subresource that writes.
    if request.subresource.is_some() {
        return Ok(Vec::new());
    }
    let (policy, _) = namespace_policy(request);
    if [policy.enforce, policy.warn, policy.audit]
        .iter()
        .all(|lv| lv.level == Level::Privileged)
    {
        return Ok(Vec::new());
    }
    if let Some(old) = request.old {
        if !significant_pod_update(request.object, old) {
            return Ok(Vec::new());
        }
    }
    let object = request.object;
    let (meta, spec) = (&object["metadata"], &object["spec"]);
    let enforced = evaluate(policy.enforce, meta, spec);
    if !enforced.is_empty() {
        let name = name_of(object);
        return Err(ApiError::forbidden(
            format!(
                "pods \"{name}\" is forbidden: violates PodSecurity \"{}\": {}",
                policy.enforce,
                forbidden_detail(&enforced)
            ),
            json!({"name": name, "group": "", "kind": "pods"}),
        ));
    }
    Ok(warning(policy, meta, spec))
}

/// The warn level's verdict, as `EvaluatePod` words it.
fn warning(policy: Policy, meta: &Json, spec: &Json) -> Vec<String> {
    let warned = evaluate(policy.warn, meta, spec);
    if warned.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "would violate PodSecurity \"{}\": {}",
        policy.warn,
        forbidden_detail(&warned)
    )]
}

/// `ValidatePodController`, for the one pod controller served: a Deployment's pod template.
fn validate_pod_controller(request: &Request) -> Result<Vec<String>, ApiError> {
    if request.subresource.is_some() {
        return Ok(Vec::new());
    }
    let (policy, _) = namespace_policy(request);
    if policy.warn.level == Level::Privileged && policy.audit.level == Level::Privileged {
        return Ok(Vec::new());
    }
    let Some(template) = request.object.pointer("/spec/template") else {
        return Ok(Vec::new());
    };
    Ok(warning(policy, &template["metadata"], &template["spec"]))
}

/// `isSignificantPodUpdate`: only images and the seccomp annotations can change on a pod.
fn significant_pod_update(pod: &Json, old: &Json) -> bool {
    let annotation = |o: &Json, key: &str| {
        o.pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .cloned()
    };
    if annotation(pod, "seccomp.security.alpha.kubernetes.io/pod")
        != annotation(old, "seccomp.security.alpha.kubernetes.io/pod")
    {
        return true;
    }
    let list = |o: &Json, field: &str| -> Vec<Json> {
        o["spec"][field].as_array().cloned().unwrap_or_default()
    };
    let changed = |c: &Json, oc: &Json| {
        let key = format!(
            "container.seccomp.security.alpha.kubernetes.io/{}",
            c["name"].as_str().unwrap_or_default()
        );
        c["image"] != oc["image"] || annotation(pod, &key) != annotation(old, &key)
    };
    for field in ["containers", "initContainers"] {
        let (new, before) = (list(pod, field), list(old, field));
        if new.len() != before.len() || new.iter().zip(&before).any(|(c, oc)| changed(c, oc)) {
            return true;
        }
    }
    let before = list(old, "ephemeralContainers");
    list(pod, "ephemeralContainers").iter().any(|c| {
        before
            .iter()
            .find(|oc| oc["name"] == c["name"])
            .is_none_or(|oc| changed(c, oc))
    })
}

/// `ValidateNamespace`.
fn validate_namespace(
    request: &Request,
    pods_in_namespace: &dyn Fn(&str) -> Vec<Json>,
) -> Result<Vec<String>, ApiError> {
    if request.subresource.is_some() {
        return Ok(Vec::new());
    }
    let (new_policy, new_errors) = policy::of_namespace(request.object);
    let name = name_of(request.object);
    let refuse = |errors: &[crate::status::FieldError]| {
        ApiError::invalid_fields("Namespace", "", name, errors)
    };
    let Some(old) = request.old else {
        return if new_errors.is_empty() {
            Ok(Vec::new())
        } else {
            Err(refuse(&new_errors))
        };
    };
    let (old_policy, old_errors) = policy::of_namespace(old);
    if !new_errors.is_empty() && new_errors != old_errors {
        return Err(refuse(&new_errors));
    }
    let (new, before) = (new_policy.enforce, old_policy.enforce);
    if new == before
        || new.level == Level::Privileged
        || (new.version == before.version && new.level <= before.level)
    {
        return Ok(Vec::new());
    }
    Ok(existing_pod_warnings(name, new, &pods_in_namespace(name)))
}

/// `EvaluatePodsInNamespace`: one warning naming the namespace, then one per distinct set of
/// reasons, prefixed with the first pod's name and how many others share it, sorted.
fn existing_pod_warnings(
    namespace: &str,
    enforce: policy::LevelVersion,
    pods: &[Json],
) -> Vec<String> {
    let mut by_reasons: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for pod in pods {
        let failed = evaluate(enforce, &pod["metadata"], &pod["spec"]);
        if failed.is_empty() {
            continue;
        }
        let pod_name = name_of(pod).to_string();
        let entry = by_reasons
            .entry(forbidden_reason(&failed))
            .or_insert_with(|| (pod_name.clone(), 0));
        if pod_name < entry.0 {
            entry.0 = pod_name;
        }
        entry.1 += 1;
    }
    if by_reasons.is_empty() {
        return Vec::new();
    }
    let mut decorated: Vec<String> = by_reasons
        .into_iter()
        .map(|(reasons, (first, count))| match count {
            1 => format!("{first}: {reasons}"),
            2 => format!("{first} (and 1 other pod): {reasons}"),
            n => format!("{first} (and {} other pods): {reasons}", n - 1),
        })
        .collect();
    decorated.sort();
    let mut warnings = vec![format!(
        "existing pods in namespace \"{namespace}\" violate the new PodSecurity enforce level \"{enforce}\""
    )];
    warnings.extend(decorated);
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn namespace(labels: Json) -> Json {
        json!({"metadata": {"name": "team", "labels": labels}})
    }

    fn root_pod(name: &str) -> Json {
        json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    }

    fn no_pods(_: &str) -> Vec<Json> {
        Vec::new()
    }

    fn request<'a>(
        kind: &'a str,
        ns: &'a Json,
        old: Option<&'a Json>,
        object: &'a Json,
    ) -> Request<'a> {
        Request {
            kind,
            namespace: Some(ns),
            old,
            object,
            subresource: None,
        }
    }

    #[test]
    fn enforce_refuses_a_pod_with_the_real_message() {
        let ns = namespace(json!({"pod-security.kubernetes.io/enforce": "restricted"}));
        let pod = root_pod("web");
        let refused = admit(&request("Pod", &ns, None, &pod), &no_pods).unwrap_err();
        assert_eq!(refused.code, 403);
        assert!(refused.message.starts_with(
            r#"pods "web" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities ("#
        ), "{}", refused.message);
        // A status write is not evaluated; neither is an update that changes no image.
        let status = Request {
            subresource: Some("status"),
            ..request("Pod", &ns, None, &pod)
        };
        assert_eq!(admit(&status, &no_pods), Ok(Vec::new()));
        let mut relabelled = pod.clone();
        relabelled["metadata"]["labels"] = json!({"a": "b"});
        assert_eq!(
            admit(&request("Pod", &ns, Some(&pod), &relabelled), &no_pods),
            Ok(Vec::new())
        );
        let mut new_image = pod.clone();
        new_image["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert!(admit(&request("Pod", &ns, Some(&pod), &new_image), &no_pods).is_err());
    }

    #[test]
    fn warn_admits_with_a_warning_and_controllers_only_warn() {
        let ns = namespace(
            json!({"pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/warn-version": "v1.30"}),
        );
        let mut pod = root_pod("web");
        pod["spec"]["hostNetwork"] = json!(true);
        let warnings = admit(&request("Pod", &ns, None, &pod), &no_pods).unwrap();
        assert_eq!(
            warnings,
            [r#"would violate PodSecurity "baseline:v1.30": host namespaces (hostNetwork=true)"#]
        );

        let enforcing = namespace(json!({"pod-security.kubernetes.io/enforce": "restricted"}));
        let deployment = json!({"metadata": {"name": "d"}, "spec": {"template": {"metadata": {}, "spec": pod["spec"].clone()}}});
        assert_eq!(
            admit(
                &request("Deployment", &enforcing, None, &deployment),
                &no_pods
            ),
            Ok(Vec::new())
        );
        assert_eq!(
            admit(&request("Deployment", &ns, None, &deployment), &no_pods)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn namespaces_with_bad_labels_are_invalid_and_tightening_warns() {
        let bad = namespace(json!({"pod-security.kubernetes.io/enforce": "strict"}));
        let refused = admit(
            &Request {
                kind: "Namespace",
                namespace: None,
                old: None,
                object: &bad,
                subresource: None,
            },
            &no_pods,
        )
        .unwrap_err();
        assert_eq!((refused.code, refused.reason), (422, "Invalid"));
        assert_eq!(
            refused.message,
            r#"Namespace "team" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted"#
        );

        let before = namespace(json!({}));
        let after = namespace(json!({"pod-security.kubernetes.io/enforce": "restricted"}));
        let pods = |_: &str| vec![root_pod("b"), root_pod("a"), root_pod("c")];
        let warnings = admit(
            &Request {
                kind: "Namespace",
                namespace: None,
                old: Some(&before),
                object: &after,
                subresource: None,
            },
            &pods,
        )
        .unwrap();
        assert_eq!(warnings, [
            r#"existing pods in namespace "team" violate the new PodSecurity enforce level "restricted:latest""#,
            "a (and 2 other pods): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        ]);
        // Relaxing the level at the same version checks nothing.
        let relaxed = namespace(json!({"pod-security.kubernetes.io/enforce": "baseline"}));
        let none = admit(
            &Request {
                kind: "Namespace",
                namespace: None,
                old: Some(&after),
                object: &relaxed,
                subresource: None,
            },
            &pods,
        )
        .unwrap();
        assert!(none.is_empty());
    }
}
