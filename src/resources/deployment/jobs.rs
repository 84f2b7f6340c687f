//! Reaching a deployment's JobManager through Flink's REST API (port-forwarded to its pod, or at
//! its `rest_url`; mutual TLS with the authority's client certificate when the deployment has it)
//! and acting on its job: stop with a savepoint, take a savepoint, dispose of one, cancel; each
//! waited for with progress in the logs and Flink's own reason when it fails.

use super::flink_answers::{
    checkpoints_kept, failure_cause, flink_error, job_failure, newest_retained,
};
pub use super::flink_answers::{is_terminal, Retained};
use super::model::Model;
use super::objects::{Names, REST_PORT};
use super::status;
use crate::flink::rest::{self, Call, Peer, RestTls, RestUrl, Security};
use crate::kubernetes::{Cluster, Kind};
use crate::resources::certificate_authority::objects as authority;
use crate::resources::timeouts::Limit;
use serde_json::{json, Value as Json};
use std::time::{Duration, Instant};

/// How long one REST request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between two questions about a running operation.
const POLL: Duration = Duration::from_secs(1);
/// Flink's reason when a savepoint comes before every task runs: worth asking again.
const TASKS_NOT_RUNNING: &str = "Not all required tasks are currently running";
/// How long Flink's cleanup after an application ended is given before its JobManager goes.
const APPLICATION_CLEANUP: Duration = Duration::from_secs(2);
/// Added to the statistics cache's lifetime: the job may have ended a little before it was seen.
const STATISTICS_SLACK: Duration = Duration::from_millis(250);
/// Failed questions in a row after which the JobManager counts as lost.
const LOST_AFTER: u32 = 10;

/// Where the JobManager's REST API is reached.
enum Route {
    /// A port-forward to its pod.
    Pod { namespace: String, pod: String },
    /// The deployment's `rest_url`.
    Url(RestUrl),
}

/// The JobManager of the job `model` records.
pub struct JobManager<'a> {
    cluster: &'a Cluster,
    route: Route,
    job_id: String,
    tls: Option<RestTls>,
    /// The name the JobManager's REST certificate must carry: its REST Service's.
    service_name: String,
    /// When this client first saw the job in a final state: Flink's checkpoint statistics are
    /// final only a cache lifetime later.
    ended_seen: std::sync::Mutex<Option<Instant>>,
}

impl<'a> JobManager<'a> {
    /// The deployment's JobManager: at its `rest_url`, else its newest pod; or why there is none
    /// to talk to.
    pub async fn of(cluster: &'a Cluster, model: &Model) -> Result<JobManager<'a>, String> {
        if model.rest_url.known().is_some() {
            return Self::reached(cluster, model, None).await;
        }
        let pod = status::newest_jobmanager(cluster, model)
            .await?
            .ok_or("no JobManager pod runs")?;
        Self::reached(cluster, model, Some(&pod)).await
    }

    /// The JobManager in pod `pod` of the deployment (at its `rest_url` when it has one).
    pub async fn at(
        cluster: &'a Cluster,
        model: &Model,
        pod: &str,
    ) -> Result<JobManager<'a>, String> {
        Self::reached(cluster, model, Some(pod)).await
    }

    /// The JobManager at the deployment's `rest_url`, else through a port-forward to `pod`.
    async fn reached(
        cluster: &'a Cluster,
        model: &Model,
        pod: Option<&str>,
    ) -> Result<JobManager<'a>, String> {
        let (Some(namespace), Some(name), Some(job_id)) = (
            model.namespace.known(),
            model.name.known(),
            model.job_id.known(),
        ) else {
            return Err("the deployment's namespace, name or job id is unknown".into());
        };
        let route = match (model.rest_url.known(), pod) {
            (Some(url), _) => {
                Route::Url(RestUrl::parse(url).map_err(|e| format!("rest_url: {e}"))?)
            }
            (None, Some(pod)) => Route::Pod {
                namespace: namespace.clone(),
                pod: pod.to_string(),
            },
            (None, None) => return Err("no JobManager pod runs".into()),
        };
        Ok(JobManager {
            cluster,
            route,
            job_id: job_id.clone(),
            // The running job's TLS, even while a change of it waits (upgrade_strategy NONE).
            tls: rest_tls(cluster, &super::pending::running_spec(model)).await?,
            service_name: format!("{}.{namespace}.svc", Names::of(name).rest),
            ended_seen: std::sync::Mutex::default(),
        })
    }

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

    async fn call(&self, call: Call<'_>) -> Result<(u16, Json), String> {
        let request = async {
            match &self.route {
                Route::Pod { namespace, pod } => {
                    let stream = self
                        .cluster
                        .port_forward(namespace, pod, REST_PORT)
                        .await
                        .map_err(|e| e.to_string())?;
                    let peer = Peer {
                        authority: "localhost",
                        server_name: "localhost",
                        security: self.security(false),
                    };
                    rest::send(stream, call, peer).await
                }
                Route::Url(url) => {
                    let stream = tokio::net::TcpStream::connect((url.host.as_str(), url.port))
                        .await
                        .map_err(|e| format!("rest_url {}:{}: {e}", url.host, url.port))?;
                    let path = format!("{}{}", url.prefix, call.path);
                    let authority = url.authority();
                    let peer = Peer {
                        authority: &authority,
                        server_name: &url.host,
                        security: self.security(url.https),
                    };
                    rest::send(
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
        };
        tokio::time::timeout(REQUEST_TIMEOUT, request)
            .await
            .map_err(|_| format!("{} {}: no answer in time", call.method, call.path))?
    }

    async fn get(&self, path: &str) -> Result<(u16, Json), String> {
        self.call(Call {
            method: "GET",
            path,
            body: None,
        })
        .await
    }

    /// `GET /jobs/<id>`: the status code and Flink's job details.
    pub async fn job(&self) -> Result<(u16, Json), String> {
        let path = format!("/jobs/{}", self.job_id);
        self.get(&path).await
    }

    /// Why the job failed, as Flink's exception history says; `None` when Flink gives no reason.
    pub async fn failure(&self) -> Option<String> {
        let path = format!("/jobs/{}/exceptions", self.job_id);
        match self.get(&path).await {
            Ok((200, exceptions)) => job_failure(&exceptions),
            _ => None,
        }
    }

    /// The job's state as Flink reports it.
    pub async fn job_state(&self) -> Result<String, String> {
        let path = format!("/jobs/{}", self.job_id);
        match self.job().await? {
            (200, job) => {
                let state = status::job_status(&job)
                    .ok_or_else(|| format!("GET {path}: no state in {job}"))?;
                if is_terminal(&state) {
                    let mut seen = self.ended_seen.lock().unwrap_or_else(|e| e.into_inner());
                    seen.get_or_insert_with(Instant::now);
                }
                Ok(state)
            }
            (code, body) => Err(format!("GET {path}: {code} {}", flink_error(&body))),
        }
    }

    /// Stops the job with a savepoint in `directory` (Flink's default when `None`); the savepoint's
    /// location once Flink completed it, or Flink's reason it failed (the job then keeps running).
    /// A job whose tasks are not all running yet (just restarted) is asked again within `limit`.
    pub async fn stop_with_savepoint(
        &self,
        directory: Option<&str>,
        limit: &Limit,
    ) -> Result<String, String> {
        let mut body = json!({"drain": false});
        if let Some(dir) = directory {
            body["targetDirectory"] = dir.into();
        }
        let path = format!("/jobs/{}/stop", self.job_id);
        self.savepoint(&path, &body, "stopping the job with a savepoint", limit)
            .await
    }

    /// Takes a savepoint of the running job (it keeps running) in `directory`, in `format`
    /// (`CANONICAL` or `NATIVE`); its location, or Flink's reason it failed.
    pub async fn trigger_savepoint(
        &self,
        directory: Option<&str>,
        format: &str,
        limit: &Limit,
    ) -> Result<String, String> {
        let mut body = json!({"cancel-job": false, "formatType": format});
        if let Some(dir) = directory {
            body["target-directory"] = dir.into();
        }
        let path = format!("/jobs/{}/savepoints", self.job_id);
        self.savepoint(&path, &body, "taking a savepoint", limit)
            .await
    }

    /// Deletes the savepoint at `location` through Flink (which knows its file system).
    pub async fn dispose(&self, location: &str, limit: &Limit) -> Result<(), String> {
        let started = Instant::now();
        let body = json!({"savepoint-path": location});
        let trigger = self.start("/savepoint-disposal", &body).await?;
        let status_path = format!("/savepoint-disposal/{trigger}");
        let operation = self
            .finish(&status_path, "savepoint disposal", started, limit)
            .await?;
        if operation.get("failure-cause").is_some_and(|c| !c.is_null()) {
            return Err(failure_cause(&operation));
        }
        Ok(())
    }

    async fn savepoint(
        &self,
        path: &str,
        body: &Json,
        what: &str,
        limit: &Limit,
    ) -> Result<String, String> {
        let started = Instant::now();
        loop {
            let attempt = async {
                let trigger = self.start(path, body).await?;
                tracing::info!(job = %self.job_id, trigger = %trigger, "{what}");
                let status_path = format!("/jobs/{}/savepoints/{trigger}", self.job_id);
                let operation = self
                    .finish(&status_path, "savepoint", started, limit)
                    .await?;
                match operation["location"].as_str() {
                    Some(location) => {
                        tracing::info!(job = %self.job_id, %location, "savepoint completed");
                        Ok(location.to_string())
                    }
                    None => Err(failure_cause(&operation)),
                }
            };
            match attempt.await {
                Err(reason)
                    if reason.contains(TASKS_NOT_RUNNING) && started.elapsed() < limit.duration =>
                {
                    tracing::info!(job = %self.job_id, "not all tasks run yet; asking for the savepoint again");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                other => return other,
            }
        }
    }

    /// Starts an asynchronous Flink operation (`POST path`); its request id.
    async fn start(&self, path: &str, body: &Json) -> Result<String, String> {
        let call = Call {
            method: "POST",
            path,
            body: Some(body),
        };
        match self.call(call).await? {
            (200..=299, answer) => answer["request-id"]
                .as_str()
                .map(String::from)
                .ok_or_else(|| format!("POST {path}: no request id in {answer}")),
            (code, answer) => Err(format!("POST {path}: {code} {}", flink_error(&answer))),
        }
    }

    /// Asks `status_path` until the operation completed; Flink's `operation` object then.
    async fn finish(
        &self,
        status_path: &str,
        what: &str,
        started: Instant,
        limit: &Limit,
    ) -> Result<Json, String> {
        let mut failures = 0;
        let mut last_report = Instant::now();
        loop {
            match self.get(status_path).await {
                Ok((200, answer)) => {
                    failures = 0;
                    if answer["status"]["id"] == "COMPLETED" {
                        return Ok(answer["operation"].clone());
                    }
                }
                Ok((code, body)) => {
                    return Err(format!("GET {status_path}: {code} {}", flink_error(&body)));
                }
                Err(e) => {
                    failures += 1;
                    if failures >= LOST_AFTER {
                        return Err(format!("lost the JobManager while the {what} ran: {e}"));
                    }
                }
            }
            if started.elapsed() >= limit.duration {
                return Err(format!("the {what} did not complete {}", limit.within()));
            }
            if last_report.elapsed() >= Duration::from_secs(10) {
                tracing::info!(
                    job = %self.job_id,
                    seconds = started.elapsed().as_secs(),
                    "{what} in progress"
                );
                last_report = Instant::now();
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The newest state Flink reports of the ended job that a new run can restore from (see
    /// [`newest_retained`]): its savepoints, and with `checkpoints` its latest checkpoint when
    /// Flink kept it under the job's checkpoint `retention`; `None` when there is none. The
    /// statistics are read once they are at most `statistics_age` older than the moment the job
    /// was first seen ended (see
    /// [`super::flink_answers::checkpoint_statistics_age`]), so they include the stop's
    /// savepoint and name no checkpoint deleted since.
    pub async fn newest_retained(
        &self,
        checkpoints: bool,
        retention: Option<&str>,
        statistics_age: Duration,
    ) -> Result<Option<Retained>, String> {
        let state = self.job_state().await?;
        let kept = checkpoints && checkpoints_kept(&state, retention);
        let ended = *self.ended_seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ended) = ended {
            let fresh = ended + statistics_age + STATISTICS_SLACK;
            if fresh > Instant::now() {
                tracing::debug!(
                    job = %self.job_id,
                    wait_ms = (fresh - Instant::now()).as_millis() as u64,
                    "waiting for Flink's checkpoint statistics to include the job's end"
                );
                tokio::time::sleep_until(fresh.into()).await;
            }
        }
        let path = format!("/jobs/{}/checkpoints", self.job_id);
        match self.get(&path).await? {
            (200, stats) => Ok(newest_retained(&stats, kept)),
            (code, body) => Err(format!("GET {path}: {code} {}", flink_error(&body))),
        }
    }

    /// Waits until Flink has ended the application the job belongs to (Flink 2.3 and later, where
    /// the application id is the job id; earlier versions have no applications and return at
    /// once). Flink marks an ended job's result clean only with its application; a JobManager
    /// removed before that leaves the job "dirty" in the HA job result store, and the next
    /// JobManager of the same HA cluster id refuses to start (Dispatcher.onStart,
    /// IllegalStateException). Gives up after `timeout` with a warning in the logs.
    pub async fn wait_for_application_end(&self, timeout: Duration) {
        let path = format!("/applications/{}", self.job_id);
        let started = Instant::now();
        loop {
            match self.get(&path).await {
                Ok((200, application)) => {
                    let status = application["status"].as_str().unwrap_or_default();
                    if matches!(status, "FINISHED" | "FAILED" | "CANCELED") {
                        tracing::info!(
                            job = %self.job_id,
                            status,
                            seconds = started.elapsed().as_secs_f64(),
                            "the job's application ended"
                        );
                        // Its cleanup (HA data, then the results marked clean) follows at once
                        // and has no REST signal of its own.
                        tokio::time::sleep(APPLICATION_CLEANUP).await;
                        return;
                    }
                }
                // No such route or application: a Flink without applications.
                Ok((404, _)) => return,
                Ok(_) | Err(_) => {}
            }
            if started.elapsed() >= timeout {
                tracing::warn!(
                    job = %self.job_id,
                    "Flink's application of the stopped job did not end within {}s; the next \
                     JobManager may find its result unclean",
                    timeout.as_secs()
                );
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Cancels the job (no savepoint) and waits until Flink reports it CANCELED.
    pub async fn cancel(&self, limit: &Limit) -> Result<(), String> {
        let path = format!("/jobs/{}?mode=cancel", self.job_id);
        match self
            .call(Call {
                method: "PATCH",
                path: &path,
                body: None,
            })
            .await?
        {
            (200..=299, _) => {}
            (code, body) => return Err(format!("PATCH {path}: {code} {}", flink_error(&body))),
        }
        tracing::info!(job = %self.job_id, "cancelling the job");
        let started = Instant::now();
        loop {
            match self.job_state().await {
                Ok(state) if is_terminal(&state) => return Ok(()),
                _ if started.elapsed() >= limit.duration => {
                    return Err(format!("the job was not cancelled {}", limit.within()))
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }
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
