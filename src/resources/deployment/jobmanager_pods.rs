//! Which JobManager pods a deployment has: its live ones (not terminating) from the shared pod
//! list, oldest first, optionally of one rollout. Both its `status` and the way to its REST API
//! start from here; `status` looks at its TaskManager pods the same way.

use super::layout::{DEPLOYMENT_ID_LABEL, ROLLOUT_ANNOTATION};
use super::model::Model;
use crate::kubernetes::{Cluster, KubeError};
use k8s_openapi::api::core::v1::Pod;

pub(super) fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

pub(super) fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// The deployment's live JobManager pods (of rollout `rollout` when given), oldest first.
pub(super) async fn jobmanagers(
    cluster: &Cluster,
    model: &Model,
    rollout: Option<&str>,
) -> Result<Vec<Pod>, KubeError> {
    live_pods(cluster, model, "jobmanager", rollout).await
}

/// The deployment's live pods of `component` (`jobmanager`, `taskmanager`), of rollout `rollout`
/// when given, oldest first.
pub(super) async fn live_pods(
    cluster: &Cluster,
    model: &Model,
    component: &str,
    rollout: Option<&str>,
) -> Result<Vec<Pod>, KubeError> {
    let (Some(namespace), Some(id)) = (model.namespace.known(), model.id.known()) else {
        return Ok(Vec::new());
    };
    let pods = cluster
        .pods_labelled(namespace, DEPLOYMENT_ID_LABEL, id)
        .await?;
    let mut mine: Vec<Pod> = pods
        .into_iter()
        .filter(|p| {
            label(p, "component") == Some(component)
                && p.metadata.deletion_timestamp.is_none()
                && rollout.is_none_or(|r| annotation(p, ROLLOUT_ANNOTATION) == Some(r))
        })
        .collect();
    mine.sort_by_key(|p| {
        (
            p.metadata.creation_timestamp.clone(),
            p.metadata.name.clone(),
        )
    });
    Ok(mine)
}

/// The name of the deployment's newest live JobManager pod.
pub(super) async fn newest_jobmanager(
    cluster: &Cluster,
    model: &Model,
) -> Result<Option<String>, KubeError> {
    cluster.forget_pods();
    Ok(jobmanagers(cluster, model, None)
        .await?
        .last()
        .and_then(|p| p.metadata.name.clone()))
}
