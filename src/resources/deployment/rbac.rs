//! What a deployment with Kubernetes HA may do in its namespace: Flink's Kubernetes HA services
//! (leader election, leader retrieval, job graph and checkpoint pointers) keep their state in
//! ConfigMaps named after the cluster id. The Role below is the whole grant, bound to the
//! deployment's own ServiceAccount, so no other workload's pods gain these rights.
//!
//! Why each verb (Flink's `KubernetesLeaderElector`, `KubernetesStateHandleStore`,
//! `KubernetesHaServices` cleanup): `create`/`get`/`update`/`patch` the leader and state ConfigMaps,
//! `list`/`watch` to follow leader changes, `delete`/`deletecollection` to remove job ConfigMaps
//! when a job ends. Kubernetes RBAC cannot limit `create`, `list`, `watch` or `deletecollection` by
//! object name, so the grant is namespace-wide for ConfigMaps and nothing else.

/// (API group, resource, verbs) granted to a deployment with Kubernetes HA.
pub const KUBERNETES_HA_RULES: &[(&str, &str, &[&str])] = &[(
    "",
    "configmaps",
    &[
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    ],
)];

/// The labels Flink puts on the ConfigMaps of its Kubernetes HA services (no owner reference), by
/// which the provider removes them on destroy: `app=<cluster id>` and
/// `type=flink-native-kubernetes` (Flink 1.x adds `configmap-type=high-availability`, which 2.x no
/// longer sets; `tests/realflink_ha` checks the selector against a real 2.3 JobManager's).
pub fn ha_config_map_selector(cluster_id: &str) -> String {
    format!("app={cluster_id},type=flink-native-kubernetes")
}
