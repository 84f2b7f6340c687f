//! What the pods of a deployment with Kubernetes HA may do in its namespace (pure): one
//! ServiceAccount, Role and RoleBinding per component, so the TaskManagers, which only follow the
//! leader, hold no right to write HA data, and no other workload's pods gain any of these rights.
//!
//! Flink's Kubernetes HA services (`KubernetesLeaderElectionHaServices`, the same in the 1.19.3,
//! 1.20.5, 2.0.2 and 2.3.0 jars, read with `javap`) keep their state in two ConfigMaps named after
//! the cluster id (the deployment id) and the job id the provider pins:
//! `<cluster id>-cluster-config-map` (leader election and the leaders' addresses of every
//! component, the execution plan and, from 2.3, application stores) and
//! `<cluster id>-<job id>-config-map` (the job's checkpoint counter and completed checkpoints).
//! Both processes follow the first through one fabric8 informer made `withName`, a list and a
//! watch with the field selector `metadata.name=<name>`, which Kubernetes authorizes against
//! `resourceNames` as it does a get (the RBAC documentation: "If you restrict list or watch by
//! resourceName, clients must include a metadata.name field selector"); so every verb but
//! `create` is narrowed to these names. Kubernetes cannot narrow `create` by name (the name is
//! not known to the authorizer), so the JobManager may create any ConfigMap in the namespace and
//! nothing else namespace-wide.
//!
//! - JobManager: `create`; `get`, `list`, `watch`, `update`, `patch` and `delete` of the two
//!   ConfigMaps: leader election (fabric8's `ConfigMapLock`: get, create, patch, update), the
//!   state handle stores (`checkAndUpdateConfigMap`: get, update), cleanup of an ended job's
//!   ConfigMap (`internalCleanupJobData`: delete by name). No `deletecollection`: Flink deletes by
//!   name in these versions, and the provider removes what is left on destroy
//!   ([`ha_config_map_selector`]).
//! - TaskManager: `get`, `list` and `watch` of the cluster ConfigMap only: it retrieves the
//!   ResourceManager's and the JobMasters' addresses from it and never elects or writes
//!   (`tests/realflink_ha` runs a real TaskManager with this grant and shows a write refused).
//!
//! A new run of the job has a new job id, so the JobManager's Role follows the run; the ConfigMap
//! of the run before is Flink's to delete when that job ends (before the rollout, still under the
//! Role of its run), and the provider's on destroy when Flink could not.

use super::layout::Names;
use super::resolve::Resolved;

/// A component's pods, as far as RBAC is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The JobManager: elects itself leader and writes the HA data.
    JobManager,
    /// The TaskManagers: follow the leader, read only.
    TaskManager,
}

impl Component {
    /// The component of the pod template label `component` (`jobmanager`, `taskmanager`).
    pub fn of(label: &str) -> Self {
        match label {
            "jobmanager" => Component::JobManager,
            _ => Component::TaskManager,
        }
    }
}

/// The ServiceAccount `component`'s pods run as: the user's (`pod.service_account`) for both,
/// else under Kubernetes HA the component's own, else the deployment's one account, which holds
/// no grant.
pub fn account(d: &Resolved, component: Component) -> String {
    let names = Names::of(&d.name);
    match (&d.pod.service_account, d.kubernetes_ha(), component) {
        (Some(user), _, _) => user.clone(),
        (None, true, Component::JobManager) => names.jobmanager_account,
        (None, true, Component::TaskManager) => names.taskmanager_account,
        (None, false, _) => names.service_account,
    }
}

/// The ServiceAccounts the provider makes (none when the user names one): the component's own
/// under Kubernetes HA, else one for both.
pub fn provider_accounts(d: &Resolved) -> Vec<String> {
    let names = Names::of(&d.name);
    match (&d.pod.service_account, d.kubernetes_ha()) {
        (Some(_), _) => Vec::new(),
        (None, true) => vec![names.jobmanager_account, names.taskmanager_account],
        (None, false) => vec![names.service_account],
    }
}

/// Whether the pods mount their ServiceAccount's token: Kubernetes HA calls the API server with
/// it, and cloud workload identity (`pod.service_account_annotations`: EKS's pod identity webhook,
/// Azure's, GKE's metadata server) identifies the pod by the account whose token it holds. Without
/// either, no token: a pod that needs no API access gets no credential for it.
pub fn mounts_token(d: &Resolved) -> bool {
    d.kubernetes_ha() || !d.pod.service_account_annotations.is_empty()
}

/// One rule of a component's Role: verbs on core ConfigMaps, narrowed to `names` unless empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaRule {
    /// Kubernetes verbs.
    pub verbs: &'static [&'static str],
    /// `resourceNames`; empty for a verb Kubernetes cannot narrow by name.
    pub names: Vec<String>,
}

impl HaRule {
    /// The rule as a Role's `rules` entry.
    pub fn to_json(&self) -> serde_json::Value {
        let mut rule = serde_json::json!({
            "apiGroups": [""],
            "resources": ["configmaps"],
            "verbs": self.verbs,
        });
        if !self.names.is_empty() {
            rule["resourceNames"] = self.names.clone().into();
        }
        rule
    }
}

/// The ConfigMap of leader election and the cluster's stores.
pub fn cluster_config_map(cluster_id: &str) -> String {
    format!("{cluster_id}-cluster-config-map")
}

/// The ConfigMap of one job's checkpoints.
pub fn job_config_map(cluster_id: &str, job_id: &str) -> String {
    format!("{cluster_id}-{job_id}-config-map")
}

/// The rules of `component`'s Role for the run `job_id` of the cluster `cluster_id`.
pub fn rules(component: Component, cluster_id: &str, job_id: &str) -> Vec<HaRule> {
    let cluster = cluster_config_map(cluster_id);
    match component {
        Component::JobManager => vec![
            HaRule {
                verbs: &["create"],
                names: Vec::new(),
            },
            HaRule {
                verbs: &["get", "list", "watch", "update", "patch", "delete"],
                names: vec![cluster, job_config_map(cluster_id, job_id)],
            },
        ],
        Component::TaskManager => vec![HaRule {
            verbs: &["get", "list", "watch"],
            names: vec![cluster],
        }],
    }
}

/// The labels Flink puts on the ConfigMaps of its Kubernetes HA services (no owner reference), by
/// which the provider removes them on destroy: `app=<cluster id>` and
/// `type=flink-native-kubernetes` (Flink 1.x adds `configmap-type=high-availability`, which 2.x no
/// longer sets; `tests/realflink_ha` checks the selector against a real 2.3 JobManager's).
pub fn ha_config_map_selector(cluster_id: &str) -> String {
    format!("app={cluster_id},type=flink-native-kubernetes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_create_is_namespace_wide_and_only_the_jobmanager_writes() {
        let jm = rules(Component::JobManager, "dep", "0a1b");
        let tm = rules(Component::TaskManager, "dep", "0a1b");
        for rule in jm.iter().chain(&tm) {
            if rule.names.is_empty() {
                assert_eq!(rule.verbs, ["create"]);
            }
            assert!(!rule.verbs.contains(&"deletecollection"));
        }
        assert_eq!(
            jm[1].names,
            ["dep-cluster-config-map", "dep-0a1b-config-map"]
        );
        assert_eq!(tm.len(), 1);
        assert_eq!(tm[0].names, ["dep-cluster-config-map"]);
        assert!(tm[0]
            .verbs
            .iter()
            .all(|v| matches!(*v, "get" | "list" | "watch")));
        let json = tm[0].to_json();
        assert_eq!(json["resourceNames"][0], "dep-cluster-config-map");
        assert!(jm[0].to_json().get("resourceNames").is_none());
    }
}
