//! Where a deployment sits on Kubernetes, fixed by its name alone (pure): the names of its
//! objects, the kinds it owns and its owner, the labels and annotations the provider finds its
//! pods by, the JobManager's ports, and the rollout hash a rendered Deployment's pods carry. Every
//! stage reads these; none of them needs the configuration.

use crate::kubernetes::{DesiredObject, Kind, Owner};

/// Short owner type in labels.
pub const OWNER_KIND: &str = "deployment";
/// Kinds a deployment owns.
pub const KINDS: &[Kind] = &[
    Kind::ConfigMap,
    Kind::Secret,
    Kind::ServiceAccount,
    Kind::Role,
    Kind::RoleBinding,
    Kind::Service,
    Kind::Deployment,
    Kind::NetworkPolicy,
    Kind::Ingress,
];
/// The deployment id label on every object and pod.
pub const DEPLOYMENT_ID_LABEL: &str = "flink.flinkops.io/deployment-id";
/// Ports of the JobManager.
pub const RPC_PORT: u16 = 6123;
/// The TaskManagers' RPC port: fixed (Flink picks a random one unless told), as Flink's own
/// Kubernetes manifests fix it, so that their probes have a port to knock on.
pub const TASKMANAGER_RPC_PORT: u16 = 6122;
/// Blob server port.
pub const BLOB_PORT: u16 = 6124;
/// REST port.
pub const REST_PORT: u16 = 8081;
/// The pod annotation that identifies a rollout: a hash of the configuration files and the pod
/// template.
pub const ROLLOUT_ANNOTATION: &str = "flink.flinkops.io/rollout-hash";

/// What the provider's own annotations take on a pod template: the rollout hash (16 hex digits).
pub const PROVIDER_POD_ANNOTATION_BYTES: usize = ROLLOUT_ANNOTATION.len() + 16;

/// The longest deployment name whose Service names (`flink-<name>-jobmanager`, the longest the
/// provider derives) stay DNS-1035 labels of at most 63 characters.
pub const MAX_NAME_LEN: usize = 63 - "flink--jobmanager".len();

/// The owner of a deployment's objects, found by their labels.
pub fn owner(namespace: &str, name: &str) -> Owner {
    Owner::new(OWNER_KIND, namespace, name)
}

/// The owner of `model`'s objects as the instance its state records (what apply writes with,
/// and what refresh and destroy tell its objects from others' by).
pub fn owner_of(model: &super::model::Model) -> Option<Owner> {
    let (ns, name) = (model.namespace.known()?, model.name.known()?);
    Some(owner(ns, name).instance(model.instance_id.known().map(String::as_str)))
}

/// Object names of a deployment called `name`.
pub struct Names {
    pub config_map: String,
    /// The pods' ServiceAccount without Kubernetes HA.
    pub service_account: String,
    /// The JobManager's ServiceAccount, Role and RoleBinding under Kubernetes HA.
    pub jobmanager_account: String,
    /// The TaskManagers' ServiceAccount, Role and RoleBinding under Kubernetes HA.
    pub taskmanager_account: String,
    pub jobmanager: String,
    pub taskmanager: String,
    pub rest: String,
    pub tls_secret: String,
    pub network_policy: String,
    pub ingress: String,
}

impl Names {
    pub fn of(name: &str) -> Self {
        Names {
            config_map: format!("flink-{name}-config"),
            service_account: format!("flink-{name}"),
            jobmanager_account: format!("flink-{name}-jobmanager"),
            taskmanager_account: format!("flink-{name}-taskmanager"),
            jobmanager: format!("flink-{name}-jobmanager"),
            taskmanager: format!("flink-{name}-taskmanager"),
            rest: format!("flink-{name}-rest"),
            tls_secret: format!("flink-{name}-tls"),
            network_policy: format!("flink-{name}"),
            ingress: format!("flink-{name}"),
        }
    }
}

/// The replicas of Deployment `name` among `objects` (0 when it is not there).
pub fn replicas_of(objects: &[DesiredObject], name: &str) -> usize {
    objects
        .iter()
        .find(|o| o.kind == Kind::Deployment && o.name == name)
        .and_then(|o| o.manifest["spec"]["replicas"].as_u64())
        .map_or(0, |n| n as usize)
}

/// The rollout hash the pods of desired Deployment `name` carry.
pub fn rollout_of(objects: &[DesiredObject], name: &str) -> Option<String> {
    objects
        .iter()
        .find(|o| o.kind == Kind::Deployment && o.name == name)
        .and_then(|o| {
            o.manifest["spec"]["template"]["metadata"]["annotations"][ROLLOUT_ANNOTATION].as_str()
        })
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of every Service a deployment called `name` renders, queryable state on.
    fn service_names(name: &str) -> Vec<String> {
        let mut model = super::super::golden_tests::model(serde_json::json!({
            "name": name, "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "https://repo.example.com/job.jar"},
            "queryable_state": {"enabled": true},
        }));
        let rendered = super::super::computed::fill(&mut model, None, None).expect("renders");
        rendered
            .objects
            .iter()
            .filter(|o| o.kind == Kind::Service)
            .map(|o| o.name.clone())
            .collect()
    }

    #[test]
    fn the_longest_name_keeps_every_service_name_a_dns1035_label() {
        let services = service_names(&"a".repeat(MAX_NAME_LEN));
        assert_eq!(services.len(), 3);
        for service in &services {
            assert!(kube_rules::dns1035_label(service).is_empty(), "{service}");
        }
        assert!(services.iter().any(|s| s.len() == 63));
        let one_more = service_names(&"a".repeat(MAX_NAME_LEN + 1));
        assert!(one_more
            .iter()
            .any(|s| !kube_rules::dns1035_label(s).is_empty()));
    }
}
