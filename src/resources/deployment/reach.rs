//! How the provider reaches a deployment's JobManager, the piece it hands to [`jobmanager`]: a
//! port-forward to the newest JobManager pod, or the deployment's `rest_url`; mutual TLS with the
//! authority's client certificate when the deployment has TLS, the JobManager's certificate
//! checked as its REST Service's. A port-forward or TCP connection that could not be opened is
//! [`Error::NotConnected`], which the client tries again within the operation's deadline.

use super::jobmanager_pods;
use super::layout::{Names, REST_PORT};
use super::model::Model;
use crate::jobmanager::{self, transport, Call, Error, Peer, Reach, RestTls, RestUrl, Security};
use crate::kubernetes::{Cluster, Kind};
use crate::resources::certificate_authority::objects as authority;
use serde_json::Value as Json;

/// The JobManager of a deployment's job.
pub type JobManager<'a> = jobmanager::JobManager<Access<'a>>;

/// Where the JobManager's REST API is reached.
enum Route {
    /// A port-forward to its pod.
    Pod { namespace: String, pod: String },
    /// The deployment's `rest_url`.
    Url(RestUrl),
}

/// The way to one deployment's JobManager.
pub struct Access<'a> {
    cluster: &'a Cluster,
    route: Route,
    tls: Option<RestTls>,
    /// The name the JobManager's REST certificate must carry: its REST Service's.
    service_name: String,
}

/// The deployment's JobManager: at its `rest_url`, else its newest pod; or why there is none to
/// talk to.
pub async fn of<'a>(cluster: &'a Cluster, model: &Model) -> Result<JobManager<'a>, Error> {
    if model.rest_url.known().is_some() {
        return reached(cluster, model, None).await;
    }
    let pod = jobmanager_pods::newest_jobmanager(cluster, model)
        .await
        .map_err(|e| Error::NoJobManager(e.to_string()))?
        .ok_or_else(|| Error::NoJobManager("no JobManager pod runs".into()))?;
    reached(cluster, model, Some(&pod)).await
}

/// The JobManager in pod `pod` of the deployment (at its `rest_url` when it has one).
pub async fn at<'a>(
    cluster: &'a Cluster,
    model: &Model,
    pod: &str,
) -> Result<JobManager<'a>, Error> {
    reached(cluster, model, Some(pod)).await
}

/// The JobManager at the deployment's `rest_url`, else through a port-forward to `pod`.
async fn reached<'a>(
    cluster: &'a Cluster,
    model: &Model,
    pod: Option<&str>,
) -> Result<JobManager<'a>, Error> {
    let (Some(namespace), Some(name), Some(job_id)) = (
        model.namespace.known(),
        model.name.known(),
        model.job_id.known(),
    ) else {
        return Err(Error::NoJobManager(
            "the deployment's namespace, name or job id is unknown".into(),
        ));
    };
    let route = match (model.rest_url.known(), pod) {
        (Some(url), _) => Route::Url(
            RestUrl::parse(url).map_err(|e| Error::NoJobManager(format!("rest_url: {e}")))?,
        ),
        (None, Some(pod)) => Route::Pod {
            namespace: namespace.clone(),
            pod: pod.to_string(),
        },
        (None, None) => return Err(Error::NoJobManager("no JobManager pod runs".into())),
    };
    let access = Access {
        cluster,
        route,
        // The running job's TLS, even while a change of it waits (upgrade_strategy NONE).
        tls: rest_tls(cluster, &super::pending::running_spec(model)).await?,
        service_name: format!("{}.{namespace}.svc", Names::of(name).rest),
    };
    Ok(jobmanager::JobManager::new(access, job_id).within(cluster.deadline().clone()))
}

impl Access<'_> {
    fn security(&self, https: bool) -> Security<'_> {
        match (&self.tls, https) {
            (Some(credentials), _) => Security::Mutual {
                credentials,
                verify_as: &self.service_name,
            },
            (None, true) => Security::Public,
            (None, false) => Security::Plain,
        }
    }
}

#[async_trait::async_trait]
impl Reach for Access<'_> {
    async fn send(&self, call: Call<'_>) -> Result<(u16, Json), Error> {
        match &self.route {
            Route::Pod { namespace, pod } => {
                let stream = self
                    .cluster
                    .port_forward(namespace, pod, REST_PORT)
                    .await
                    .map_err(|unopened| match unopened.transient {
                        true => Error::NotConnected(unopened.error.to_string()),
                        false => Error::Unreachable(unopened.error.to_string()),
                    })?;
                let peer = Peer {
                    authority: "localhost",
                    server_name: "localhost",
                    security: self.security(false),
                };
                transport::send(stream, call, peer).await
            }
            Route::Url(url) => {
                let stream = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
                    .await
                    .map_err(|e| {
                        // Nothing was sent: the client may try again.
                        Error::NotConnected(format!("rest_url {}:{}: {e}", url.host, url.port))
                    })?;
                let path = format!("{}{}", url.prefix, call.path);
                let authority = url.authority();
                let peer = Peer {
                    authority: &authority,
                    server_name: &url.host,
                    security: self.security(url.https),
                };
                transport::send(
                    stream,
                    Call {
                        path: &path,
                        ..call
                    },
                    peer,
                )
                .await
            }
        }
    }
}

/// The client credentials of the deployment's authority, when it has TLS.
async fn rest_tls(cluster: &Cluster, model: &Model) -> Result<Option<RestTls>, Error> {
    if !super::tls::enabled(model) {
        return Ok(None);
    }
    let Some(spec) = model.tls.known().and_then(|t| t.authority.known()) else {
        return Err(Error::Credentials("TLS without an authority".into()));
    };
    let owner = authority::owner(&spec.namespace, &spec.name);
    let observed = cluster
        .observe(&owner, &[Kind::Secret])
        .await
        .map_err(|e| Error::Unreachable(e.to_string()))?;
    let secret = observed
        .iter()
        .map(|(_, o)| o)
        .find(|o| o.metadata.name.as_deref() == Some(spec.secret_name.as_str()))
        .ok_or_else(|| Error::Credentials("the authority's Secret is gone".into()))?;
    let material = authority::material_of(secret).map_err(Error::Credentials)?;
    Ok(Some(RestTls {
        ca_pem: material.ca.certificate_pem.clone(),
        client_certificate_pem: material.client.certificate_pem.clone(),
        client_key_pem: material.client.private_key_pem().to_string(),
    }))
}
