//! What Flink's renderer gets of a resolved deployment (pure): the [`flink::RenderInput`] with
//! the user's configuration as Flink must see it (the checkpoint retention `LATEST_STATE` needs
//! added, the SSL keys TLS sets elsewhere taken out), and those overridden keys, which the
//! rendering warns about.

use super::resolve::Resolved;
use crate::flink;
use std::collections::BTreeMap;

/// The user's SSL keys that TLS sets outside the configuration file (passwords, the pinned
/// fingerprint, the generic keys): they are overridden, and the caller warns about each.
pub fn tls_overridden_keys(d: &Resolved) -> Vec<String> {
    if d.tls.is_none() {
        return Vec::new();
    }
    let in_file = flink::tls::ssl_configuration(d.version, "");
    flink::tls::ssl_owned_keys(d.version)
        .into_iter()
        .filter(|k| !in_file.contains_key(k) && d.flink_configuration.contains_key(k))
        .collect()
}

/// Keys of `flink_configuration_from_secrets` that TLS sets as dynamic properties of its own (the
/// stores' passwords, the pinned fingerprint): refused, as two dynamic properties of one key
/// would leave Flink to pick one. The keys TLS sets in the file are owned keys, refused by the
/// renderer.
pub fn tls_keys_from_secrets(d: &Resolved) -> Vec<String> {
    if d.tls.is_none() {
        return Vec::new();
    }
    let in_file = flink::tls::ssl_configuration(d.version, "");
    flink::tls::ssl_owned_keys(d.version)
        .into_iter()
        .filter(|k| !in_file.contains_key(k) && d.configuration_from_secrets.contains_key(k))
        .collect()
}

/// The checkpoint retention `LATEST_STATE` needs: a cancelled or failed job keeps its newest
/// checkpoint, for the provider to restore from.
pub const RETENTION_KEY: &str = "execution.checkpointing.externalized-checkpoint-retention";

/// The user's configuration without the keys of [`tls_overridden_keys`].
fn user_configuration(d: &Resolved) -> BTreeMap<String, String> {
    let mut user = d.flink_configuration.clone();
    let catalogue = flink::options::Catalogue::of(d.version);
    let retention = catalogue.preferred(RETENTION_KEY);
    if d.retain_checkpoints && !user.keys().any(|k| catalogue.preferred(k) == retention) {
        user.insert(retention.to_string(), "RETAIN_ON_CANCELLATION".to_string());
    }
    for key in tls_overridden_keys(d) {
        user.remove(&key);
    }
    user
}

/// What the Flink renderer needs.
pub fn render_input(d: &Resolved, owned: BTreeMap<String, String>) -> flink::RenderInput {
    let ha = d
        .high_availability
        .as_ref()
        .map(|h| match h.ha_type.as_str() {
            "zookeeper" => flink::HighAvailability::ZooKeeper {
                quorum: h.zookeeper_quorum.clone().unwrap_or_default(),
                path_root: h.zookeeper_path_root.clone(),
                storage_dir: h.storage_dir.clone(),
            },
            _ => flink::HighAvailability::Kubernetes {
                storage_dir: h.storage_dir.clone(),
            },
        });
    flink::RenderInput {
        version: d.version,
        namespace: d.namespace.clone(),
        deployment_id: d.id.clone(),
        job_id: Some(d.job_id.clone()),
        user: user_configuration(d),
        from_secrets: super::secret_configuration::rendered_keys(d),
        parallelism: Some(d.parallelism),
        task_slots: Some(d.task_slots),
        jobmanager: flink::render::ProcessResources {
            memory: Some(d.jobmanager.1.clone()),
            cpu: Some(d.jobmanager.0),
        },
        taskmanager: flink::render::ProcessResources {
            memory: Some(d.taskmanager.1.clone()),
            cpu: Some(d.taskmanager.0),
        },
        blob_storage: d.blob_storage.as_ref().map(|b| b.base_uri.clone()),
        high_availability: ha,
        queryable_state: d.queryable_state,
        owned,
    }
}
