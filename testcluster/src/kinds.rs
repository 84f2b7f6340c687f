//! The resource kinds the server serves: one table drives routing, discovery and defaults.

/// One served resource kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceKind {
    /// API group ("" for core).
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural resource name in URLs.
    pub plural: &'static str,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: &'static [&'static str],
}

impl ResourceKind {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> ResourceKind {
    ResourceKind {
        group,
        version,
        kind,
        plural,
        namespaced,
        short_names,
    }
}

/// Every kind served.
pub const KINDS: &[ResourceKind] = &[
    kind("", "v1", "Namespace", "namespaces", false, &["ns"]),
    kind("", "v1", "ConfigMap", "configmaps", true, &["cm"]),
    kind("", "v1", "Secret", "secrets", true, &[]),
    kind("", "v1", "Service", "services", true, &["svc"]),
    kind("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"]),
    kind("", "v1", "Pod", "pods", true, &["po"]),
    kind("", "v1", "Endpoints", "endpoints", true, &["ep"]),
    kind("", "v1", "Event", "events", true, &["ev"]),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
    ),
    kind("apps", "v1", "Deployment", "deployments", true, &["deploy"]),
    kind("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"]),
    kind(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
    ),
    kind(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
    ),
    kind(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
    ),
    kind(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
    ),
    kind(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
        &[],
    ),
];

/// The kind served at `group/version/plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceKind> {
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.plural == plural)
}

/// Where an object of `kind` holds a pod spec (a Pod's own, a workload's template), if it does.
pub fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
            Some("/spec/template/spec")
        }
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// The pod spec inside an object of `kind`, where it has one.
pub fn pod_spec_mut<'a>(
    kind: &str,
    object: &'a mut serde_json::Value,
) -> Option<&'a mut serde_json::Value> {
    object.pointer_mut(pod_spec_pointer(kind)?)
}
