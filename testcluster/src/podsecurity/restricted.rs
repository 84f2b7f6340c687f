//! The restricted checks of `pod-security-admission/policy/`, one function per `check_*.go` at its
//! newest version, with the version each was introduced in, and the reasons and details worded
//! as there.

use super::baseline::valid_seccomp;
use super::pod::{
    at, containers, containers_named, flag, join_quote, name, sorted_set, strings, text,
};
use super::policy::Version;
use super::Forbidden;
use serde_json::Value as Json;

/// `check_allowPrivilegeEscalation.go` (1.8+): every container sets
/// `allowPrivilegeEscalation=false`.
pub fn allow_privilege_escalation(_: &Json, spec: &Json, version: Version) -> Option<Forbidden> {
    if !version.includes(8) {
        return None;
    }
    let bad: Vec<String> = containers(spec)
        .filter(|c| flag(c, &["securityContext", "allowPrivilegeEscalation"]) != Some(false))
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    Forbidden::new(
        "allowPrivilegeEscalation != false",
        format!(
            "{} must set securityContext.allowPrivilegeEscalation=false",
            containers_named(&bad)
        ),
    )
}

/// `check_capabilities_restricted.go` (1.22+): every container drops `ALL` and adds nothing but
/// `NET_BIND_SERVICE`.
pub fn capabilities_restricted(_: &Json, spec: &Json, version: Version) -> Option<Forbidden> {
    if !version.includes(22) {
        return None;
    }
    let mut missing_drop_all = Vec::new();
    let mut adding = Vec::new();
    let mut forbidden = Vec::new();
    for c in containers(spec) {
        if at(c, &["securityContext", "capabilities"]).is_none() {
            missing_drop_all.push(name(c));
            continue;
        }
        let caps = ["securityContext", "capabilities"];
        if !strings(c, &[caps[0], caps[1], "drop"]).contains(&"ALL") {
            missing_drop_all.push(name(c));
        }
        let added: Vec<String> = strings(c, &[caps[0], caps[1], "add"])
            .into_iter()
            .filter(|cap| *cap != "NET_BIND_SERVICE")
            .map(String::from)
            .collect();
        if !added.is_empty() {
            adding.push(name(c));
            forbidden.extend(added);
        }
    }
    let mut details = Vec::new();
    if !missing_drop_all.is_empty() {
        details.push(format!(
            r#"{} must set securityContext.capabilities.drop=["ALL"]"#,
            containers_named(&missing_drop_all)
        ));
    }
    if !adding.is_empty() {
        details.push(format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_named(&adding),
            join_quote(&sorted_set(forbidden))
        ));
    }
    if details.is_empty() {
        return None;
    }
    Forbidden::new("unrestricted capabilities", details.join("; "))
}

/// The volume sources restricted pods may use.
const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// The volume sources the check names; any other is `unknown`.
const NAMED_RESTRICTED_VOLUMES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

/// `check_restrictedVolumes.go`: only the volume types of [`ALLOWED_VOLUMES`].
pub fn restricted_volumes(_: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    let mut bad = Vec::new();
    let mut types = Vec::new();
    for v in at(spec, &["volumes"])
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        if ALLOWED_VOLUMES.iter().any(|t| at(v, &[t]).is_some()) {
            continue;
        }
        bad.push(name(v));
        let named = NAMED_RESTRICTED_VOLUMES
            .iter()
            .find(|t| at(v, &[t]).is_some());
        types.push(named.copied().unwrap_or("unknown").to_string());
    }
    if bad.is_empty() {
        return None;
    }
    let types = sorted_set(types);
    Forbidden::new(
        "restricted volume types",
        format!(
            "{} {} {} {} {}",
            super::pod::pluralize("volume", "volumes", bad.len()),
            join_quote(&bad),
            super::pod::pluralize("uses", "use", bad.len()),
            super::pod::pluralize(
                "restricted volume type",
                "restricted volume types",
                types.len()
            ),
            join_quote(&types)
        ),
    )
}

/// `check_runAsNonRoot.go`: the pod or every container sets `runAsNonRoot=true`, and none sets it
/// false.
pub fn run_as_non_root(_: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    let reason = "runAsNonRoot != true";
    let mut setters = Vec::new();
    let pod = flag(spec, &["securityContext", "runAsNonRoot"]);
    if pod == Some(false) {
        setters.push("pod".to_string());
    }
    let (mut explicit, mut implicit) = (Vec::new(), Vec::new());
    for c in containers(spec) {
        match flag(c, &["securityContext", "runAsNonRoot"]) {
            Some(false) => explicit.push(name(c)),
            Some(true) => {}
            None if pod != Some(true) => implicit.push(name(c)),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_named(&explicit));
    }
    if !setters.is_empty() {
        return Forbidden::new(
            reason,
            format!(
                "{} must not set securityContext.runAsNonRoot=false",
                setters.join(" and ")
            ),
        );
    }
    if implicit.is_empty() {
        return None;
    }
    Forbidden::new(
        reason,
        format!(
            "pod or {} must set securityContext.runAsNonRoot=true",
            containers_named(&implicit)
        ),
    )
}

/// `check_runAsUser.go` (1.23+): neither the pod nor a container sets `runAsUser=0`.
pub fn run_as_user(_: &Json, spec: &Json, version: Version) -> Option<Forbidden> {
    if !version.includes(23) {
        return None;
    }
    let root =
        |o: &Json| at(o, &["securityContext", "runAsUser"]).and_then(Json::as_i64) == Some(0);
    let mut setters = Vec::new();
    if root(spec) {
        setters.push("pod".to_string());
    }
    let bad: Vec<String> = containers(spec).filter(|c| root(c)).map(name).collect();
    if !bad.is_empty() {
        setters.push(containers_named(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    Forbidden::new(
        "runAsUser=0",
        format!("{} must not set runAsUser=0", setters.join(" and ")),
    )
}

/// `check_seccompProfile_restricted.go` (1.19+): the pod or every container sets a seccomp profile
/// of type `RuntimeDefault` or `Localhost`.
pub fn seccomp_profile_restricted(_: &Json, spec: &Json, version: Version) -> Option<Forbidden> {
    if !version.includes(19) {
        return None;
    }
    let mut setters = Vec::new();
    let mut values = Vec::new();
    let mut pod_set = false;
    if let Some(p) = at(spec, &["securityContext", "seccompProfile"]) {
        if valid_seccomp(p) {
            pod_set = true;
        } else {
            setters.push("pod".to_string());
            values.push(text(p, &["type"]).to_string());
        }
    }
    let (mut explicit, mut implicit) = (Vec::new(), Vec::new());
    for c in containers(spec) {
        match at(c, &["securityContext", "seccompProfile"]) {
            Some(p) if !valid_seccomp(p) => {
                explicit.push(name(c));
                values.push(text(p, &["type"]).to_string());
            }
            Some(_) => {}
            None if !pod_set => implicit.push(name(c)),
            None => {}
        }
    }
    if !explicit.is_empty() {
        setters.push(containers_named(&explicit));
    }
    if !setters.is_empty() {
        return Forbidden::new(
            "seccompProfile",
            format!(
                "{} must not set securityContext.seccompProfile.type to {}",
                setters.join(" and "),
                join_quote(&sorted_set(values))
            ),
        );
    }
    if implicit.is_empty() {
        return None;
    }
    Forbidden::new(
        "seccompProfile",
        format!(
            r#"pod or {} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#,
            containers_named(&implicit)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::podsecurity::baseline::Check;
    use serde_json::json;

    fn run(check: Check, spec: Json) -> Option<(String, String)> {
        check(&json!({}), &spec, Version::Latest).map(|f| (f.reason, f.detail))
    }

    fn says(check: Check, spec: Json, reason: &str, detail: &str) {
        assert_eq!(
            run(check, spec),
            Some((reason.to_string(), detail.to_string()))
        );
    }

    #[test]
    fn allow_privilege_escalation_must_be_false() {
        assert_eq!(
            run(
                allow_privilege_escalation,
                json!({"containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false}}]})
            ),
            None
        );
        says(
            allow_privilege_escalation,
            json!({"containers": [{"name": "a"}, {"name": "b", "securityContext": {"allowPrivilegeEscalation": true}}]}),
            "allowPrivilegeEscalation != false",
            r#"containers "a", "b" must set securityContext.allowPrivilegeEscalation=false"#,
        );
    }

    #[test]
    fn capabilities_drop_all_and_add_only_net_bind_service() {
        let ok = json!({"containers": [{"name": "a", "securityContext": {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}]});
        assert_eq!(run(capabilities_restricted, ok), None);
        says(
            capabilities_restricted,
            json!({"containers": [{"name": "a"}, {"name": "b", "securityContext": {"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN", "NET_ADMIN"]}}}]}),
            "unrestricted capabilities",
            r#"container "a" must set securityContext.capabilities.drop=["ALL"]; container "b" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add"#,
        );
        assert!(capabilities_restricted(
            &json!({}),
            &json!({"containers": [{"name": "a"}]}),
            Version::Minor(21)
        )
        .is_none());
    }

    #[test]
    fn restricted_volumes_name_their_types() {
        assert_eq!(
            run(
                restricted_volumes,
                json!({"volumes": [{"name": "a", "configMap": {"name": "x"}}, {"name": "b", "emptyDir": {}}]})
            ),
            None
        );
        says(
            restricted_volumes,
            json!({"volumes": [{"name": "host-etc", "hostPath": {"path": "/etc"}}]}),
            "restricted volume types",
            r#"volume "host-etc" uses restricted volume type "hostPath""#,
        );
        says(
            restricted_volumes,
            json!({"volumes": [{"name": "a", "nfs": {}}, {"name": "b", "image": {}}]}),
            "restricted volume types",
            r#"volumes "a", "b" use restricted volume types "nfs", "unknown""#,
        );
    }

    #[test]
    fn run_as_non_root_explicit_then_implicit() {
        assert_eq!(
            run(
                run_as_non_root,
                json!({"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "a"}]})
            ),
            None
        );
        says(
            run_as_non_root,
            json!({"securityContext": {"runAsNonRoot": false}, "containers": [{"name": "a", "securityContext": {"runAsNonRoot": false}}, {"name": "b"}]}),
            "runAsNonRoot != true",
            r#"pod and container "a" must not set securityContext.runAsNonRoot=false"#,
        );
        says(
            run_as_non_root,
            json!({"containers": [{"name": "a"}, {"name": "b", "securityContext": {"runAsNonRoot": true}}]}),
            "runAsNonRoot != true",
            r#"pod or container "a" must set securityContext.runAsNonRoot=true"#,
        );
    }

    #[test]
    fn run_as_user_zero() {
        assert_eq!(
            run(run_as_user, json!({"securityContext": {"runAsUser": 1000}})),
            None
        );
        says(
            run_as_user,
            json!({"securityContext": {"runAsUser": 0}, "containers": [{"name": "a", "securityContext": {"runAsUser": 0}}]}),
            "runAsUser=0",
            r#"pod and container "a" must not set runAsUser=0"#,
        );
    }

    #[test]
    fn seccomp_restricted_explicit_then_implicit() {
        assert_eq!(
            run(
                seccomp_profile_restricted,
                json!({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [{"name": "a"}]})
            ),
            None
        );
        says(
            seccomp_profile_restricted,
            json!({"containers": [{"name": "a", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}, {"name": "b"}]}),
            "seccompProfile",
            r#"container "a" must not set securityContext.seccompProfile.type to "Unconfined""#,
        );
        says(
            seccomp_profile_restricted,
            json!({"containers": [{"name": "a"}, {"name": "b", "securityContext": {"seccompProfile": {"type": "Localhost"}}}]}),
            "seccompProfile",
            r#"pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost""#,
        );
    }
}
