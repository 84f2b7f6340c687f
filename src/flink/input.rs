//! What the rendering of one deployment's Flink configuration depends on (pure data): the
//! version, identities, the user's keys, resources, blob storage, high availability and the keys
//! other modules own. The deployment resolves its model into a [`RenderInput`]; [`super::owned`]
//! and [`super::render`] read it.

use super::versions::FlinkVersion;
use std::collections::{BTreeMap, BTreeSet};

/// High availability of the JobManager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HighAvailability {
    /// Flink's native Kubernetes HA (VVP's `vvp-kubernetes`).
    Kubernetes {
        /// Overrides the blob storage layout's `ha` directory.
        storage_dir: Option<String>,
    },
    /// ZooKeeper HA.
    ZooKeeper {
        /// `host:port,host:port`.
        quorum: String,
        /// The root znode (Flink's default `/flink` when `None`).
        path_root: Option<String>,
        /// Overrides the blob storage layout's `ha` directory.
        storage_dir: Option<String>,
    },
}

/// Memory (process size) and cpu of one Flink process kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessResources {
    /// Total process memory, e.g. `1600m`, `2 gb`.
    pub memory: Option<String>,
    /// Cpu cores, e.g. 0.5.
    pub cpu: Option<f64>,
}

/// Everything the configuration of one deployment depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderInput {
    /// The Flink version.
    pub version: FlinkVersion,
    /// The Kubernetes namespace of the deployment.
    pub namespace: String,
    /// The deployment id: also the HA cluster id and the blob storage directory name.
    pub deployment_id: String,
    /// The pinned job id (32 hex digits).
    pub job_id: Option<String>,
    /// The user's `flink_configuration`.
    pub user: BTreeMap<String, String>,
    /// Keys whose values Flink gets from Secrets as dynamic properties: validated without a
    /// value, never in the file, refused where the provider sets the key itself.
    pub from_secrets: BTreeSet<String>,
    /// `parallelism.default`.
    pub parallelism: Option<u32>,
    /// `taskmanager.numberOfTaskSlots`.
    pub task_slots: Option<u32>,
    /// JobManager memory and cpu.
    pub jobmanager: ProcessResources,
    /// TaskManager memory and cpu.
    pub taskmanager: ProcessResources,
    /// The blob storage base URI (`s3://bucket/prefix`, `file:///tmp/blobs`).
    pub blob_storage: Option<String>,
    /// JobManager high availability.
    pub high_availability: Option<HighAvailability>,
    /// Whether the Queryable State service runs.
    pub queryable_state: bool,
    /// Keys other modules own (SSL, storage endpoints), merged last.
    pub owned: BTreeMap<String, String>,
}
