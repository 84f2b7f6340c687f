//! What the user wrote and what state records of a `flink_deployment` (VVP's Deployment in
//! Terraform terms): the typed model the schema of [`super::attributes`] reads into. No IO.

use crate::value::Attr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The seed's template annotation that turns Queryable State on.
pub const QUERYABLE_STATE_ANNOTATION: &str = "flink.queryable-state.enabled";
/// The seed's template annotation that turns TLS on.
pub const TLS_ANNOTATION: &str = "flink.security.ssl.enabled";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {
    #[serde(default)]
    pub id: Attr<String>,
    #[serde(default)]
    pub name: Attr<String>,
    #[serde(default)]
    pub namespace: Attr<String>,
    #[serde(default)]
    pub flink_version: Attr<String>,
    #[serde(default)]
    pub image: Attr<String>,
    #[serde(default)]
    pub built_in_filesystem_plugins: Attr<bool>,
    #[serde(default)]
    pub state: Attr<String>,
    #[serde(default)]
    pub upgrade_strategy: Attr<String>,
    #[serde(default)]
    pub restore_strategy: Attr<String>,
    #[serde(default)]
    pub allow_non_restored_state: Attr<bool>,
    #[serde(default)]
    pub in_place_rescaling: Attr<bool>,
    #[serde(default)]
    pub initial_savepoint_path: Attr<String>,
    #[serde(default)]
    pub savepoint_timeout: Attr<String>,
    #[serde(default)]
    pub final_savepoint_on_destroy: Attr<bool>,
    #[serde(default)]
    pub wait_for_job: Attr<bool>,
    #[serde(default)]
    pub wait_timeout: Attr<String>,
    #[serde(default)]
    pub rest_url: Attr<String>,
    #[serde(default)]
    pub timeouts: Attr<crate::resources::timeouts::Timeouts>,
    #[serde(default)]
    pub artifact: Attr<Artifact>,
    #[serde(default)]
    pub parallelism: Attr<i64>,
    #[serde(default)]
    pub task_slots: Attr<i64>,
    #[serde(default)]
    pub number_of_task_managers: Attr<i64>,
    #[serde(default)]
    pub resources: Attr<Resources>,
    #[serde(default)]
    pub flink_configuration: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub flink_configuration_from_secrets: Attr<BTreeMap<String, SecretKeyRef>>,
    #[serde(default)]
    pub logging: Attr<Logging>,
    #[serde(default)]
    pub pod: Attr<Pod>,
    // Left out of the recorded inputs while unset, so deployments without one record what
    // earlier releases did.
    #[serde(default, skip_serializing_if = "Attr::is_null")]
    pub pod_template: Attr<PodTemplate>,
    // Left out of the recorded inputs while unset, so deployments without one record what
    // earlier releases did.
    #[serde(default, skip_serializing_if = "Attr::is_null")]
    pub jobmanager_pod_template: Attr<PodTemplate>,
    // Left out of the recorded inputs while unset, so deployments without one record what
    // earlier releases did.
    #[serde(default, skip_serializing_if = "Attr::is_null")]
    pub taskmanager_pod_template: Attr<PodTemplate>,
    #[serde(default)]
    pub annotations: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub blob_storage: Attr<BlobStorageSpec>,
    #[serde(default)]
    pub high_availability: Attr<HighAvailabilitySpec>,
    #[serde(default)]
    pub queryable_state: Attr<QueryableState>,
    #[serde(default)]
    pub network_policy: Attr<NetworkPolicy>,
    #[serde(default)]
    pub ingress: Attr<Ingress>,
    #[serde(default)]
    pub tls: Attr<Tls>,
    #[serde(default)]
    pub tls_certificates: Attr<TlsCertificates>,
    #[serde(default)]
    pub job_id: Attr<String>,
    #[serde(default)]
    pub effective_flink_configuration: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub rest_endpoint: Attr<String>,
    #[serde(default)]
    pub web_ui_url: Attr<String>,
    #[serde(default)]
    pub status: Attr<String>,
    /// Left out when null, so that the inputs the ConfigMap records (which never hold it) read
    /// as those of earlier releases.
    #[serde(default, skip_serializing_if = "Attr::is_null")]
    pub instance_id: Attr<String>,
    #[serde(default)]
    pub kubernetes_objects: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub savepoints: Attr<Vec<Savepoint>>,
    #[serde(default)]
    pub last_savepoint: Attr<String>,
    #[serde(default)]
    pub pending_changes: Attr<BTreeMap<String, String>>,
}

/// A savepoint the provider took, as state records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Savepoint {
    #[serde(default)]
    pub location: Attr<String>,
    #[serde(default)]
    pub time: Attr<String>,
    #[serde(default)]
    pub reason: Attr<String>,
}

/// How many savepoints state keeps (the newest).
pub const SAVEPOINTS_KEPT: usize = 10;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    #[serde(default)]
    pub jar_uri: Attr<String>,
    #[serde(default)]
    pub entry_class: Attr<String>,
    #[serde(default)]
    pub main_args: Attr<Vec<String>>,
    #[serde(default)]
    pub additional_dependencies: Attr<Vec<String>>,
    #[serde(default)]
    pub sha256: Attr<String>,
    #[serde(default)]
    pub dependency_sha256: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub fetcher_image: Attr<String>,
    // Left out of the recorded inputs while unset, so deployments without one record what
    // earlier releases did.
    #[serde(default, skip_serializing_if = "Attr::is_null")]
    pub s3_fetcher_image: Attr<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Process {
    #[serde(default)]
    pub cpu: Attr<f64>,
    #[serde(default)]
    pub memory: Attr<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    #[serde(default)]
    pub jobmanager: Attr<Process>,
    #[serde(default)]
    pub taskmanager: Attr<Process>,
}

/// Where a Flink key's value comes from: key `key` of the Secret `secret` in the deployment's
/// namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretKeyRef {
    #[serde(default)]
    pub secret: Attr<String>,
    #[serde(default)]
    pub key: Attr<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Logging {
    #[serde(default)]
    pub root_level: Attr<String>,
    #[serde(default)]
    pub loggers: Attr<BTreeMap<String, String>>,
    /// Left out of the serialized model while null, so that the inputs a ConfigMap records for a
    /// deployment without a file stay what releases before this attribute recorded.
    #[serde(default, skip_serializing_if = "Attr::is_null")]
    pub log4j_properties: Attr<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Toleration {
    #[serde(default)]
    pub key: Attr<String>,
    #[serde(default)]
    pub operator: Attr<String>,
    #[serde(default)]
    pub value: Attr<String>,
    #[serde(default)]
    pub effect: Attr<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pod {
    #[serde(default)]
    pub labels: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub annotations: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub env: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub image_pull_secrets: Attr<Vec<String>>,
    #[serde(default)]
    pub node_selector: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub tolerations: Attr<Vec<Toleration>>,
    #[serde(default)]
    pub service_account: Attr<String>,
    #[serde(default)]
    pub service_account_annotations: Attr<BTreeMap<String, String>>,
    #[serde(default)]
    pub run_as_user: Attr<i64>,
    #[serde(default)]
    pub read_only_root_filesystem: Attr<bool>,
}

/// A user's pod template (a Kubernetes `PodTemplateSpec`), a value of `dynamic` type kept as the
/// JSON it is, so that it goes back to Terraform as it came (a part not yet known stays so).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PodTemplate(pub serde_json::Value);

impl PodTemplate {
    /// The template, once every part of it is known.
    pub fn known(&self) -> Option<&serde_json::Value> {
        (!crate::value::json_contains_unknown(&self.0)).then_some(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlobStorageSpec {
    pub name: String,
    pub namespace: String,
    pub base_uri: String,
    pub config_map: String,
    pub secret: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style_access: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HighAvailabilitySpec {
    #[serde(rename = "type")]
    pub ha_type: String,
    pub name: String,
    pub namespace: String,
    pub storage_dir: Option<String>,
    pub zookeeper_quorum: Option<String>,
    pub zookeeper_path_root: Option<String>,
}

/// Who may reach the pods: the deployment's own pods always, its REST API (and the Queryable
/// State proxy) from what is listed here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkPolicy {
    #[serde(default)]
    pub enabled: Attr<bool>,
    #[serde(default)]
    pub rest_from_namespaces: Attr<Vec<String>>,
    #[serde(default)]
    pub rest_from_cidrs: Attr<Vec<String>>,
}

/// An Ingress to the REST Service, for the web UI and REST API from outside the cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ingress {
    #[serde(default)]
    pub class_name: Attr<String>,
    #[serde(default)]
    pub host: Attr<String>,
    #[serde(default)]
    pub path: Attr<String>,
    #[serde(default)]
    pub tls_secret: Attr<String>,
    #[serde(default)]
    pub tls_passthrough: Attr<bool>,
    #[serde(default)]
    pub controller_namespace: Attr<String>,
    #[serde(default)]
    pub annotations: Attr<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryableState {
    #[serde(default)]
    pub enabled: Attr<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tls {
    #[serde(default)]
    pub enabled: Attr<bool>,
    #[serde(default)]
    pub authority: Attr<AuthoritySpec>,
    #[serde(default)]
    pub validity_period_hours: Attr<i64>,
    #[serde(default)]
    pub early_renewal_hours: Attr<i64>,
}

pub(crate) use crate::resources::certificate_authority::Spec as AuthoritySpec;

/// What the provider issued for a TLS-enabled deployment, as state records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsCertificates {
    #[serde(default)]
    pub internal_fingerprint_sha256: Attr<String>,
    #[serde(default)]
    pub internal_fingerprint_sha1: Attr<String>,
    #[serde(default)]
    pub internal_not_after: Attr<String>,
    #[serde(default)]
    pub rest_fingerprint_sha256: Attr<String>,
    #[serde(default)]
    pub rest_not_after: Attr<String>,
    #[serde(default)]
    pub authority_fingerprint_sha256: Attr<String>,
}
