//! The baseline checks of `pod-security-admission/policy/`, one function per `check_*.go` at its
//! newest version (older versions' differences, where they widen an allowed set, follow the
//! policy version), with the reasons and details worded as there.

use super::pod::{
    at, containers, containers_named, flag, go_quote, join_quote, name, pluralize, sorted_set,
    strings, text,
};
use super::policy::Version;
use super::Forbidden;
use serde_json::Value as Json;

/// A check: the pod's metadata and spec (or a template's), at a policy version.
pub type Check = fn(&Json, &Json, Version) -> Option<Forbidden>;

/// `check_appArmorProfile.go`: the fields' type may only be `RuntimeDefault` or `Localhost`, the
/// deprecated annotations only `runtime/default`, `localhost/*` or empty.
pub fn app_armor_profile(meta: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";
    fn bad_type(profile: Option<&Json>) -> Option<&str> {
        profile
            .map(|p| text(p, &["type"]))
            .filter(|t| !matches!(*t, "RuntimeDefault" | "Localhost"))
    }
    let mut setters = Vec::new();
    let mut values = Vec::new();
    if let Some(t) = bad_type(at(spec, &["securityContext", "appArmorProfile"])) {
        setters.push("pod".to_string());
        values.push(t.to_string());
    }
    let mut bad_containers = Vec::new();
    for c in containers(spec) {
        if let Some(t) = bad_type(at(c, &["securityContext", "appArmorProfile"])) {
            bad_containers.push(name(c));
            values.push(t.to_string());
        }
    }
    if !bad_containers.is_empty() {
        setters.push(containers_named(&bad_containers));
    }
    let mut values = sorted_set(values);
    let mut annotations: Vec<String> = at(meta, &["annotations"])
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(ANNOTATION_PREFIX))
        .filter_map(|(k, v)| {
            let v = v.as_str().unwrap_or_default();
            let allowed = v.is_empty() || v == "runtime/default" || v.starts_with("localhost/");
            (!allowed).then(|| format!("{k}={}", go_quote(v)))
        })
        .collect();
    if !annotations.is_empty() {
        annotations.sort();
        setters.push(pluralize("annotation", "annotations", annotations.len()).to_string());
        values.extend(annotations);
    }
    if setters.is_empty() {
        return None;
    }
    Forbidden::new(
        pluralize(
            "forbidden AppArmor profile",
            "forbidden AppArmor profiles",
            values.len(),
        ),
        format!(
            "{} must not set AppArmor profile type to {}",
            setters.join(" and "),
            join_quote(&values)
        ),
    )
}

/// `check_hostNamespaces.go`: no `hostNetwork`, `hostPID`, `hostIPC`.
pub fn host_namespaces(_: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    let set: Vec<String> = ["hostNetwork", "hostPID", "hostIPC"]
        .into_iter()
        .filter(|field| flag(spec, &[field]) == Some(true))
        .map(|field| format!("{field}=true"))
        .collect();
    if set.is_empty() {
        return None;
    }
    Forbidden::new("host namespaces", sorted_set(set).join(", "))
}

/// `check_hostPorts.go`: no container port with a `hostPort`.
pub fn host_ports(_: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    let mut bad = Vec::new();
    let mut ports = Vec::new();
    for c in containers(spec) {
        let used: Vec<String> = at(c, &["ports"])
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("hostPort").and_then(Json::as_i64))
            .filter(|p| *p != 0)
            .map(|p| p.to_string())
            .collect();
        if !used.is_empty() {
            bad.push(name(c));
            ports.extend(used);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let ports = sorted_set(ports);
    Forbidden::new(
        "hostPort",
        format!(
            "{} {} {} {}",
            containers_named(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize("hostPort", "hostPorts", ports.len()),
            ports.join(", ")
        ),
    )
}

/// `check_hostProbesAndhostLifecycle.go` (1.34+): probes and lifecycle handlers may not set `host`.
pub fn host_probes_and_host_lifecycle(
    _: &Json,
    spec: &Json,
    version: Version,
) -> Option<Forbidden> {
    if !version.includes(34) {
        return None;
    }
    let mut bad = Vec::new();
    let mut hosts = Vec::new();
    for c in containers(spec) {
        let handlers = [
            &["livenessProbe"][..],
            &["readinessProbe"],
            &["startupProbe"],
            &["lifecycle", "postStart"],
            &["lifecycle", "preStop"],
        ];
        let found: Vec<String> = handlers
            .iter()
            .filter_map(|path| at(c, path))
            .flat_map(|h| ["httpGet", "tcpSocket"].map(|kind| text(h, &[kind, "host"])))
            .filter(|host| !host.is_empty())
            .map(String::from)
            .collect();
        if !found.is_empty() {
            bad.push(name(c));
            hosts.extend(found);
        }
    }
    if bad.is_empty() {
        return None;
    }
    let (bad, hosts) = (sorted_set(bad), sorted_set(hosts));
    Forbidden::new(
        "probe or lifecycle host",
        format!(
            "{} {} {} {}",
            containers_named(&bad),
            pluralize("uses", "use", bad.len()),
            pluralize(
                "probe or lifecycle host",
                "probe or lifecycle hosts",
                hosts.len()
            ),
            join_quote(&hosts)
        ),
    )
}

/// `check_privileged.go`: no `securityContext.privileged=true`.
pub fn privileged(_: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    let bad: Vec<String> = containers(spec)
        .filter(|c| flag(c, &["securityContext", "privileged"]) == Some(true))
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    Forbidden::new(
        "privileged",
        format!(
            "{} must not set securityContext.privileged=true",
            containers_named(&bad)
        ),
    )
}

/// `check_procMount.go`: `procMount` unset or `Default`.
pub fn proc_mount(_: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    let mut bad = Vec::new();
    let mut types = Vec::new();
    for c in containers(spec) {
        if let Some(t) = at(c, &["securityContext", "procMount"]).and_then(Json::as_str) {
            if t != "Default" {
                bad.push(name(c));
                types.push(t.to_string());
            }
        }
    }
    if bad.is_empty() {
        return None;
    }
    Forbidden::new(
        "procMount",
        format!(
            "{} must not set securityContext.procMount to {}",
            containers_named(&bad),
            join_quote(&sorted_set(types))
        ),
    )
}

/// `check_seLinuxOptions.go`: type one of the container types (`container_engine_t` from 1.31),
/// no user, no role.
pub fn se_linux_options(_: &Json, spec: &Json, version: Version) -> Option<Forbidden> {
    let mut bad_types = Vec::new();
    let (mut set_user, mut set_role) = (false, false);
    let mut valid = |opts: &Json| {
        let t = text(opts, &["type"]);
        let allowed = matches!(
            t,
            "" | "container_t" | "container_init_t" | "container_kvm_t"
        ) || (t == "container_engine_t" && version.includes(31));
        if !allowed {
            bad_types.push(t.to_string());
        }
        let user = !text(opts, &["user"]).is_empty();
        let role = !text(opts, &["role"]).is_empty();
        set_user |= user;
        set_role |= role;
        allowed && !user && !role
    };
    let mut setters = Vec::new();
    if let Some(opts) = at(spec, &["securityContext", "seLinuxOptions"]) {
        if !valid(opts) {
            setters.push("pod".to_string());
        }
    }
    let bad: Vec<String> = containers(spec)
        .filter(|c| at(c, &["securityContext", "seLinuxOptions"]).is_some_and(|o| !valid(o)))
        .map(name)
        .collect();
    if !bad.is_empty() {
        setters.push(containers_named(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    let mut data = Vec::new();
    let bad_types = sorted_set(bad_types);
    if !bad_types.is_empty() {
        data.push(format!(
            "{} {}",
            pluralize("type", "types", bad_types.len()),
            join_quote(&bad_types)
        ));
    }
    if set_user {
        data.push("user may not be set".to_string());
    }
    if set_role {
        data.push("role may not be set".to_string());
    }
    Forbidden::new(
        "seLinuxOptions",
        format!(
            "{} set forbidden securityContext.seLinuxOptions: {}",
            setters.join(" and "),
            data.join("; ")
        ),
    )
}

/// `check_sysctls.go`: only the safe sysctls, the set widening in 1.27, 1.29 and 1.32.
pub fn sysctls(_: &Json, spec: &Json, version: Version) -> Option<Forbidden> {
    const SAFE: &[(u32, &str)] = &[
        (0, "kernel.shm_rmid_forced"),
        (0, "net.ipv4.ip_local_port_range"),
        (0, "net.ipv4.tcp_syncookies"),
        (0, "net.ipv4.ping_group_range"),
        (0, "net.ipv4.ip_unprivileged_port_start"),
        (27, "net.ipv4.ip_local_reserved_ports"),
        (29, "net.ipv4.tcp_keepalive_time"),
        (29, "net.ipv4.tcp_fin_timeout"),
        (29, "net.ipv4.tcp_keepalive_intvl"),
        (29, "net.ipv4.tcp_keepalive_probes"),
        (32, "net.ipv4.tcp_rmem"),
        (32, "net.ipv4.tcp_wmem"),
    ];
    let forbidden: Vec<&str> = at(spec, &["securityContext", "sysctls"])
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .map(|s| text(s, &["name"]))
        .filter(|n| {
            !SAFE
                .iter()
                .any(|(since, safe)| safe == n && version.includes(*since))
        })
        .collect();
    if forbidden.is_empty() {
        return None;
    }
    Forbidden::new("forbidden sysctls", forbidden.join(", "))
}

/// `check_windowsHostProcess.go`: no `windowsOptions.hostProcess=true`.
pub fn windows_host_process(_: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    let path = ["securityContext", "windowsOptions", "hostProcess"];
    let mut setters = Vec::new();
    if flag(spec, &path) == Some(true) {
        setters.push("pod".to_string());
    }
    let bad: Vec<String> = containers(spec)
        .filter(|c| flag(c, &path) == Some(true))
        .map(name)
        .collect();
    if !bad.is_empty() {
        setters.push(containers_named(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    Forbidden::new(
        "hostProcess",
        format!(
            "{} must not set securityContext.windowsOptions.hostProcess=true",
            setters.join(" and ")
        ),
    )
}

/// `check_capabilities_baseline.go` (overlapped by the restricted capabilities check): only the
/// default capabilities may be added.
pub fn capabilities_baseline(_: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    const DEFAULT: &[&str] = &[
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    ];
    let mut bad = Vec::new();
    let mut extra = Vec::new();
    for c in containers(spec) {
        let added: Vec<String> = strings(c, &["securityContext", "capabilities", "add"])
            .into_iter()
            .filter(|cap| !DEFAULT.contains(cap))
            .map(String::from)
            .collect();
        if !added.is_empty() {
            bad.push(name(c));
            extra.extend(added);
        }
    }
    if bad.is_empty() {
        return None;
    }
    Forbidden::new(
        "non-default capabilities",
        format!(
            "{} must not include {} in securityContext.capabilities.add",
            containers_named(&bad),
            join_quote(&sorted_set(extra))
        ),
    )
}

/// `check_hostPathVolumes.go` (overlapped by the restricted volumes check): no hostPath volumes.
pub fn host_path_volumes(_: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    let bad: Vec<String> = at(spec, &["volumes"])
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|v| at(v, &["hostPath"]).is_some())
        .map(name)
        .collect();
    if bad.is_empty() {
        return None;
    }
    Forbidden::new(
        "hostPath volumes",
        format!(
            "{} {}",
            pluralize("volume", "volumes", bad.len()),
            join_quote(&bad)
        ),
    )
}

/// Whether a seccomp profile type is one the policy allows.
pub fn valid_seccomp(profile: &Json) -> bool {
    matches!(text(profile, &["type"]), "RuntimeDefault" | "Localhost")
}

/// `check_seccompProfile_baseline.go` (1.19+ fields; overlapped by the restricted seccomp check):
/// a seccomp profile, where set, is `RuntimeDefault` or `Localhost`.
pub fn seccomp_profile_baseline(_: &Json, spec: &Json, _: Version) -> Option<Forbidden> {
    let mut setters = Vec::new();
    let mut values = Vec::new();
    if let Some(p) = at(spec, &["securityContext", "seccompProfile"]) {
        if !valid_seccomp(p) {
            setters.push("pod".to_string());
            values.push(text(p, &["type"]).to_string());
        }
    }
    let mut bad = Vec::new();
    for c in containers(spec) {
        if let Some(p) = at(c, &["securityContext", "seccompProfile"]) {
            if !valid_seccomp(p) {
                bad.push(name(c));
                values.push(text(p, &["type"]).to_string());
            }
        }
    }
    if !bad.is_empty() {
        setters.push(containers_named(&bad));
    }
    if setters.is_empty() {
        return None;
    }
    Forbidden::new(
        "seccompProfile",
        format!(
            "{} must not set securityContext.seccompProfile.type to {}",
            setters.join(" and "),
            join_quote(&sorted_set(values))
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Runs `check` on a pod spec with empty metadata, at the latest version.
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
    fn app_armor_profile_as_check_app_armor_profile_test() {
        assert_eq!(
            run(
                app_armor_profile,
                json!({"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}})
            ),
            None
        );
        says(
            app_armor_profile,
            json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}),
            "forbidden AppArmor profile",
            r#"pod must not set AppArmor profile type to "Unconfined""#,
        );
        says(
            app_armor_profile,
            json!({"initContainers": [{"name": "bar", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}],
                                       "containers": [{"name": "foo"}]}),
            "forbidden AppArmor profile",
            r#"container "bar" must not set AppArmor profile type to "Unconfined""#,
        );
        let meta = json!({"annotations": {"container.apparmor.security.beta.kubernetes.io/a": "unconfined",
                                          "container.apparmor.security.beta.kubernetes.io/b": "localhost/x"}});
        let found = app_armor_profile(&meta, &json!({}), Version::Latest).unwrap();
        assert_eq!(
            found.detail,
            r#"annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/a="unconfined"""#
        );
    }

    #[test]
    fn host_namespaces_lists_each_set() {
        assert_eq!(run(host_namespaces, json!({"hostNetwork": false})), None);
        says(
            host_namespaces,
            json!({"hostPID": true, "hostNetwork": true}),
            "host namespaces",
            "hostNetwork=true, hostPID=true",
        );
    }

    #[test]
    fn host_ports_name_containers_and_ports() {
        assert_eq!(
            run(
                host_ports,
                json!({"containers": [{"name": "a", "ports": [{"containerPort": 80}]}]})
            ),
            None
        );
        says(
            host_ports,
            json!({"containers": [{"name": "a", "ports": [{"hostPort": 8080}, {"hostPort": 10000}]}, {"name": "b", "ports": [{"hostPort": 8080}]}]}),
            "hostPort",
            r#"containers "a", "b" use hostPorts 10000, 8080"#,
        );
        says(
            host_ports,
            json!({"containers": [{"name": "a", "ports": [{"hostPort": 80}]}]}),
            "hostPort",
            r#"container "a" uses hostPort 80"#,
        );
    }

    #[test]
    fn host_probes_from_1_34() {
        let spec = json!({"containers": [{"name": "a", "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}},
                                         {"name": "b", "lifecycle": {"preStop": {"tcpSocket": {"host": "example.com"}}}}]});
        says(
            host_probes_and_host_lifecycle,
            spec.clone(),
            "probe or lifecycle host",
            r#"containers "a", "b" use probe or lifecycle hosts "10.0.0.1", "example.com""#,
        );
        assert!(host_probes_and_host_lifecycle(&json!({}), &spec, Version::Minor(33)).is_none());
    }

    #[test]
    fn privileged_containers() {
        assert_eq!(
            run(
                privileged,
                json!({"containers": [{"name": "a", "securityContext": {"privileged": false}}]})
            ),
            None
        );
        says(
            privileged,
            json!({"containers": [{"name": "a", "securityContext": {"privileged": true}}, {"name": "b", "securityContext": {"privileged": true}}]}),
            "privileged",
            r#"containers "a", "b" must not set securityContext.privileged=true"#,
        );
    }

    #[test]
    fn proc_mount_other_than_default() {
        assert_eq!(
            run(
                proc_mount,
                json!({"containers": [{"name": "a", "securityContext": {"procMount": "Default"}}]})
            ),
            None
        );
        says(
            proc_mount,
            json!({"containers": [{"name": "a", "securityContext": {"procMount": "Unmasked"}}]}),
            "procMount",
            r#"container "a" must not set securityContext.procMount to "Unmasked""#,
        );
    }

    #[test]
    fn se_linux_options_types_user_role() {
        assert_eq!(
            run(
                se_linux_options,
                json!({"securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}})
            ),
            None
        );
        says(
            se_linux_options,
            json!({"securityContext": {"seLinuxOptions": {"user": "bad"}}}),
            "seLinuxOptions",
            "pod set forbidden securityContext.seLinuxOptions: user may not be set",
        );
        says(
            se_linux_options,
            json!({"securityContext": {"seLinuxOptions": {"type": "bar", "role": "r"}},
                                      "containers": [{"name": "d", "securityContext": {"seLinuxOptions": {"type": "foo"}}}]}),
            "seLinuxOptions",
            r#"pod and container "d" set forbidden securityContext.seLinuxOptions: types "bar", "foo"; role may not be set"#,
        );
        let old = json!({"securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}});
        assert!(se_linux_options(&json!({}), &old, Version::Minor(30)).is_some());
    }

    #[test]
    fn sysctls_outside_the_safe_set() {
        let spec = json!({"securityContext": {"sysctls": [{"name": "net.core.somaxconn"}, {"name": "net.ipv4.tcp_rmem"}, {"name": "kernel.msgmax"}]}});
        says(
            sysctls,
            spec.clone(),
            "forbidden sysctls",
            "net.core.somaxconn, kernel.msgmax",
        );
        let old = sysctls(&json!({}), &spec, Version::Minor(31)).unwrap();
        assert_eq!(
            old.detail,
            "net.core.somaxconn, net.ipv4.tcp_rmem, kernel.msgmax"
        );
    }

    #[test]
    fn windows_host_process_pod_and_containers() {
        says(
            windows_host_process,
            json!({"securityContext": {"windowsOptions": {"hostProcess": true}},
                                          "containers": [{"name": "a", "securityContext": {"windowsOptions": {"hostProcess": true}}}]}),
            "hostProcess",
            r#"pod and container "a" must not set securityContext.windowsOptions.hostProcess=true"#,
        );
    }

    #[test]
    fn capabilities_beyond_the_default_set() {
        assert_eq!(
            run(
                capabilities_baseline,
                json!({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": ["CHOWN"]}}}]})
            ),
            None
        );
        says(
            capabilities_baseline,
            json!({"containers": [{"name": "a", "securityContext": {"capabilities": {"add": ["SYS_ADMIN", "NET_RAW", "CHOWN"]}}}]}),
            "non-default capabilities",
            r#"container "a" must not include "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add"#,
        );
    }

    #[test]
    fn host_path_volumes_by_name() {
        says(
            host_path_volumes,
            json!({"volumes": [{"name": "a", "hostPath": {"path": "/"}}, {"name": "b", "emptyDir": {}}, {"name": "c", "hostPath": {}}]}),
            "hostPath volumes",
            r#"volumes "a", "c""#,
        );
    }

    #[test]
    fn seccomp_baseline_only_explicit_bad_values() {
        assert_eq!(
            run(
                seccomp_profile_baseline,
                json!({"containers": [{"name": "a"}]})
            ),
            None
        );
        says(
            seccomp_profile_baseline,
            json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}},
                                              "containers": [{"name": "a", "securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}),
            "seccompProfile",
            r#"pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined""#,
        );
    }
}
