//! A deployment's `status`: what its JobManager pod and Flink say. The pod comes from one list of
//! the namespace's Flink pods per run; when it is ready, Flink's REST API is asked for the job
//! through a port-forward (mutual TLS with the authority's client certificate when the deployment
//! has TLS). Every failure is a status value, never an error: a refresh must not fail because a
//! job is down.

use super::model::Model;
use super::objects::{DEPLOYMENT_ID_LABEL, REST_PORT};
use crate::flink::rest::{self, RestTls};
use crate::kubernetes::{Cluster, Kind};
use crate::resources::certificate_authority::objects as authority;
use k8s_openapi::api::core::v1::Pod;
use std::time::Duration;

/// How long the REST question may take before the answer is `UNREACHABLE`.
const REST_TIMEOUT: Duration = Duration::from_secs(15);

fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// The pod's own verdict: a container's waiting reason, `STARTING` until Ready, or `None` when
/// it is ready.
fn pod_verdict(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let waiting = status
        .container_statuses
        .iter()
        .flatten()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone());
    if let Some(reason) = waiting {
        return Some(reason);
    }
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    (!ready).then(|| "STARTING".to_string())
}

/// The client credentials of the deployment's authority, when it has TLS.
async fn rest_tls(cluster: &Cluster, model: &Model) -> Result<Option<RestTls>, String> {
    if !super::tls::enabled(model) {
        return Ok(None);
    }
    let Some(spec) = model.tls.known().and_then(|t| t.authority.known()) else {
        return Err("TLS without an authority".into());
    };
    let owner = authority::owner(&spec.namespace, &spec.name);
    let observed = cluster
        .observe(&owner, &[Kind::Secret])
        .await
        .map_err(|e| e.to_string())?;
    let secret = observed
        .iter()
        .map(|(_, o)| o)
        .find(|o| o.metadata.name.as_deref() == Some(spec.secret_name.as_str()))
        .ok_or("the authority's Secret is gone")?;
    let material = authority::material_of(secret)?;
    Ok(Some(RestTls {
        ca_pem: material.ca.certificate_pem.clone(),
        client_certificate_pem: material.client.certificate_pem.clone(),
        client_key_pem: material.client.private_key_pem().to_string(),
    }))
}

/// The status of the deployment `model` describes (its namespace, id and job id known).
pub async fn observe(cluster: &Cluster, model: &Model) -> String {
    let (Some(namespace), Some(id), Some(job_id)) = (
        model.namespace.known(),
        model.id.known(),
        model.job_id.known(),
    ) else {
        return "PENDING".into();
    };
    let pods = match cluster.pods_labelled(namespace, DEPLOYMENT_ID_LABEL).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the deployment's pods");
            return "UNREACHABLE".into();
        }
    };
    let jobmanager = pods.iter().find(|p| {
        label(p, DEPLOYMENT_ID_LABEL) == Some(id.as_str())
            && label(p, "component") == Some("jobmanager")
            && p.metadata.deletion_timestamp.is_none()
    });
    let Some(jobmanager) = jobmanager else {
        return "PENDING".into();
    };
    if let Some(verdict) = pod_verdict(jobmanager) {
        return verdict;
    }
    let pod_name = jobmanager.metadata.name.clone().unwrap_or_default();
    let question = async {
        let tls = rest_tls(cluster, model).await?;
        let stream = cluster
            .port_forward(namespace, &pod_name, REST_PORT)
            .await
            .map_err(|e| e.to_string())?;
        rest::get(stream, &format!("/jobs/{job_id}"), tls.as_ref()).await
    };
    match tokio::time::timeout(REST_TIMEOUT, question).await {
        Ok(Ok((200, job))) => job["state"]
            .as_str()
            .map_or_else(|| "UNREACHABLE".to_string(), String::from),
        Ok(Ok((404, _))) => "INITIALIZING".into(),
        Ok(Ok((code, body))) => {
            tracing::debug!(code, %body, "unexpected answer from the JobManager");
            "UNREACHABLE".into()
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, pod = %pod_name, "the JobManager's REST API did not answer");
            "UNREACHABLE".into()
        }
        Err(_) => "UNREACHABLE".into(),
    }
}
