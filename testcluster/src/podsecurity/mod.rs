//! Pod Security admission as kube-apiserver's built-in `PodSecurity` plugin applies it
//! (kubernetes `staging/src/k8s.io/pod-security-admission/`): the namespace labels
//! `pod-security.kubernetes.io/{enforce,warn,audit}[-version]` name a level (`privileged`,
//! `baseline`, `restricted`) and version; the policy package's checks find what a pod (or a
//! Deployment's pod template) does that the level forbids, with the real reasons and details
//! aggregated into one message; admission refuses pods that violate the enforce level (403), and
//! warns (a `Warning: 299` header) for the warn level, on pods and on pod controllers.
//!
//! Layout: `policy` (labels -> levels and versions) -> `evaluate` (which checks a level and
//! version runs, in the registry's order, and the aggregated message) over `baseline` and
//! `restricted` (the checks, each pure over the pod's JSON, reading it through `pod`) ->
//! `admission` (what a create or update of a pod, Deployment or namespace is answered).

pub mod admission;
mod baseline;
pub mod evaluate;
mod pod;
pub mod policy;
mod restricted;

/// What a failing check says: `reason (detail)` once aggregated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    /// `ForbiddenReason`, e.g. `allowPrivilegeEscalation != false`.
    pub reason: String,
    /// `ForbiddenDetail`, e.g. `container "c" must set securityContext.allowPrivilegeEscalation=false`.
    pub detail: String,
}

impl Forbidden {
    fn new(reason: impl Into<String>, detail: impl Into<String>) -> Option<Forbidden> {
        Some(Forbidden {
            reason: reason.into(),
            detail: detail.into(),
        })
    }
}
