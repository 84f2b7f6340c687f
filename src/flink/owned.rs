//! The keys the provider owns in every rendered configuration: the identities (HA cluster id =
//! deployment id, the job id and, from Flink 2.3, the application id of the run), high availability (Kubernetes or ZooKeeper, storage directory
//! from the blob storage layout) and the Queryable State service. They override the user's keys.

use std::collections::BTreeMap;

use super::input::{HighAvailability, RenderInput};
use super::issue::Issue;
use super::layout::BlobLayout;
use super::options::Catalogue;
use super::versions::FlinkVersion;

/// The port of the Queryable State client proxy (what `job-<jobId>-taskmanager:9069` serves).
pub const QUERYABLE_STATE_PROXY_PORT: u16 = 9069;
/// The port of the Queryable State server on each TaskManager.
pub const QUERYABLE_STATE_SERVER_PORT: u16 = 9067;

pub(crate) fn provider_owned(
    input: &RenderInput,
    cat: &Catalogue,
    issues: &mut Vec<Issue>,
) -> BTreeMap<String, String> {
    let mut c = BTreeMap::new();
    let id = &input.deployment_id;
    c.insert("high-availability.cluster-id".to_string(), id.clone());
    if let Some(job) = &input.job_id {
        if job.len() != 32 || !job.chars().all(|ch| ch.is_ascii_hexdigit()) {
            issues.push(Issue::error(
                "$internal.pipeline.job-id",
                "Invalid job id",
                format!("{job:?} must be 32 hexadecimal digits."),
            ));
        }
        c.insert(
            "$internal.pipeline.job-id".to_string(),
            job.to_ascii_lowercase(),
        );
        // Flink 2.3 derives an application id from the HA cluster id and, on a new JobManager,
        // recovers the jobs of that application: a run with a new job id would fail ("Base job
        // ID ... is not found in the recovered jobs"). Each run is its own application.
        if input.version >= FlinkVersion::V2_3 {
            c.insert(
                "$internal.application.id".to_string(),
                job.to_ascii_lowercase(),
            );
        }
    }
    if let Some(ha) = &input.high_availability {
        let blob_ha = input
            .blob_storage
            .as_ref()
            .and_then(|b| BlobLayout::new(b, &input.namespace, id).ok())
            .map(|l| l.ha());
        let (ty, storage_dir) = match ha {
            HighAvailability::Kubernetes { storage_dir } => {
                if !is_kubernetes_cluster_id(id) {
                    issues.push(Issue::error(
                        "high_availability",
                        "Deployment id unusable as Kubernetes cluster id",
                        format!("Kubernetes HA names its ConfigMaps after the deployment id {id:?}; it must be at most 45 lowercase letters, digits and '-', starting and ending with a letter or digit."),
                    ));
                }
                c.insert("kubernetes.cluster-id".to_string(), id.clone());
                c.insert("kubernetes.namespace".to_string(), input.namespace.clone());
                ("kubernetes", storage_dir)
            }
            HighAvailability::ZooKeeper {
                quorum,
                path_root,
                storage_dir,
            } => {
                c.insert(
                    "high-availability.zookeeper.quorum".to_string(),
                    quorum.clone(),
                );
                c.insert(
                    "high-availability.zookeeper.path.root".to_string(),
                    path_root.clone().unwrap_or_else(|| "/flink".to_string()),
                );
                ("zookeeper", storage_dir)
            }
        };
        c.insert(
            cat.preferred("high-availability").to_string(),
            ty.to_string(),
        );
        match storage_dir.clone().or(blob_ha) {
            Some(dir) => {
                c.insert("high-availability.storageDir".to_string(), dir);
            }
            None => issues.push(Issue::error(
                "high_availability",
                "No HA storage directory",
                "High availability needs a storage directory: set blob_storage on the deployment or storage_dir on the HA configuration.",
            )),
        }
    }
    if input.queryable_state {
        if cat.has_queryable_state() {
            c.insert("queryable-state.enable".to_string(), "true".to_string());
            c.insert(
                "queryable-state.proxy.ports".to_string(),
                QUERYABLE_STATE_PROXY_PORT.to_string(),
            );
            c.insert(
                "queryable-state.server.ports".to_string(),
                QUERYABLE_STATE_SERVER_PORT.to_string(),
            );
            issues.push(Issue::warning(
                "queryable_state",
                "Queryable State is deprecated",
                format!("Flink deprecated Queryable State in 1.18; Flink {} still ships it, a later release may not. The image must hold opt/flink-queryable-state-runtime in lib/.", input.version),
            ));
        } else {
            issues.push(Issue::error(
                "queryable_state",
                "Queryable State is not available",
                format!("Flink {} no longer ships Queryable State; turn queryable_state off or use an older version.", input.version),
            ));
        }
    }
    c
}

/// Whether `id` can be Flink's `kubernetes.cluster-id` (lowercase alphanumerics and `-`, at most 45).
pub fn is_kubernetes_cluster_id(id: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    id.len() <= 45
        && id.chars().all(|c| ok_char(c) || c == '-')
        && id.chars().next().is_some_and(ok_char)
        && id.chars().last().is_some_and(ok_char)
}
