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
/// Blob server port.
pub const BLOB_PORT: u16 = 6124;
/// REST port.
pub const REST_PORT: u16 = 8081;
/// The pod annotation that identifies a rollout: a hash of the configuration files and the pod
/// template.
pub const ROLLOUT_ANNOTATION: &str = "flink.flinkops.io/rollout-hash";

/// The owner of a deployment's objects.
pub fn owner(namespace: &str, name: &str) -> Owner {
    Owner::new(OWNER_KIND, namespace, name)
}

/// Object names of a deployment called `name`.
pub struct Names {
    pub config_map: String,
    pub service_account: String,
    pub jobmanager: String,
    pub taskmanager: String,
    pub rest: String,
    pub ha_role: String,
    pub tls_secret: String,
    pub network_policy: String,
    pub ingress: String,
}

impl Names {
    pub fn of(name: &str) -> Self {
        Names {
            config_map: format!("flink-{name}-config"),
            service_account: format!("flink-{name}"),
            jobmanager: format!("flink-{name}-jobmanager"),
            taskmanager: format!("flink-{name}-taskmanager"),
            rest: format!("flink-{name}-rest"),
            ha_role: format!("flink-{name}-ha"),
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
