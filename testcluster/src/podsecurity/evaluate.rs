//! Which checks a level runs and in what order (`policy/registry.go`), and the aggregated message
//! (`policy/checks.go`: `AggregateCheckResults`, `ForbiddenDetail`).
//!
//! The registry keeps checks in the order their files register them (Go runs a package's `init`
//! functions in file-name order), baseline ones that a restricted check supersedes ("overlap")
//! apart: `baseline` runs the plain baseline checks then the overlapping ones; `restricted` runs
//! the plain baseline checks then the restricted ones.

use super::policy::{Level, LevelVersion};
use super::{baseline, restricted, Forbidden};
use baseline::Check;
use serde_json::Value as Json;

/// Baseline checks no restricted check supersedes, in registration order.
const BASELINE: &[Check] = &[
    baseline::app_armor_profile,
    baseline::host_namespaces,
    baseline::host_ports,
    baseline::host_probes_and_host_lifecycle,
    baseline::privileged,
    baseline::proc_mount,
    baseline::se_linux_options,
    baseline::sysctls,
    baseline::windows_host_process,
];

/// Baseline checks that restricted ones supersede.
const OVERLAPPING_BASELINE: &[Check] = &[
    baseline::capabilities_baseline,
    baseline::host_path_volumes,
    baseline::seccomp_profile_baseline,
];

/// Restricted checks, in registration order.
const RESTRICTED: &[Check] = &[
    restricted::allow_privilege_escalation,
    restricted::capabilities_restricted,
    restricted::restricted_volumes,
    restricted::run_as_non_root,
    restricted::run_as_user,
    restricted::seccomp_profile_restricted,
];

/// Every check `level` fails for a pod's (or template's) metadata and spec, in order.
pub fn evaluate(level: LevelVersion, meta: &Json, spec: &Json) -> Vec<Forbidden> {
    let second = match level.level {
        Level::Privileged => return Vec::new(),
        Level::Baseline => OVERLAPPING_BASELINE,
        Level::Restricted => RESTRICTED,
    };
    BASELINE
        .iter()
        .chain(second)
        .filter_map(|check| check(meta, spec, level.version))
        .collect()
}

/// `reason (detail), reason (detail)`, as `AggregateCheckResult.ForbiddenDetail`.
pub fn forbidden_detail(failed: &[Forbidden]) -> String {
    failed
        .iter()
        .map(|f| {
            if f.detail.is_empty() {
                f.reason.clone()
            } else {
                format!("{} ({})", f.reason, f.detail)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `reason, reason`, as `AggregateCheckResult.ForbiddenReason` (the namespace warnings use it).
pub fn forbidden_reason(failed: &[Forbidden]) -> String {
    failed
        .iter()
        .map(|f| f.reason.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::podsecurity::policy::Version;
    use serde_json::json;

    fn at(level: Level) -> LevelVersion {
        LevelVersion {
            level,
            version: Version::Latest,
        }
    }

    #[test]
    fn a_plain_pod_fails_restricted_as_the_real_server_says() {
        let spec = json!({"containers": [{"name": "c", "image": "nginx"}]});
        let failed = evaluate(at(Level::Restricted), &json!({}), &spec);
        assert_eq!(
            forbidden_detail(&failed),
            r#"allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
        );
        assert!(evaluate(at(Level::Baseline), &json!({}), &spec).is_empty());
        assert!(evaluate(at(Level::Privileged), &json!({}), &spec).is_empty());
    }

    #[test]
    fn baseline_checks_come_first_and_overlapping_ones_only_at_baseline() {
        let spec = json!({"hostPID": true, "containers": [{"name": "nginx", "securityContext": {"privileged": true}}],
                          "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}]});
        let baseline = evaluate(at(Level::Baseline), &json!({}), &spec);
        assert_eq!(
            forbidden_detail(&baseline),
            r#"host namespaces (hostPID=true), privileged (container "nginx" must not set securityContext.privileged=true), hostPath volumes (volume "host-root")"#
        );
        let restricted = evaluate(at(Level::Restricted), &json!({}), &spec);
        assert_eq!(
            forbidden_reason(&restricted),
            "host namespaces, privileged, allowPrivilegeEscalation != false, unrestricted capabilities, restricted volume types, runAsNonRoot != true, seccompProfile"
        );
    }

    #[test]
    fn a_hardened_pod_passes_restricted() {
        let spec = json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "conf", "configMap": {"name": "x"}}],
        });
        assert!(evaluate(at(Level::Restricted), &json!({}), &spec).is_empty());
    }
}
