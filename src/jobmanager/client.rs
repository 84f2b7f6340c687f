//! A typed client of one job's JobManager: its details and status, cancel, the newest state Flink
//! kept of an ended job, and the end of its application (savepoints are [`super::savepoints`]'s);
//! each operation waited for with progress in the logs and Flink's own reason when it fails. How
//! the JobManager is reached is the caller's [`Reach`].

use super::answers::{
    checkpoints_kept, flink_error, is_terminal, job_failure, job_status, newest_retained, Retained,
};
use super::{Call, Error};
use crate::deadline::Deadline;
use serde_json::Value as Json;
use std::time::{Duration, Instant};

/// How long one REST request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a request whose connection could not be made is tried in all (a port-forward
/// that dropped between two requests, a JobManager address that refused for a moment).
const CONNECT_TRIES: u32 = 4;
/// The wait before the second try of such a request; each further one waits twice as long
/// (0.25 s, 0.5 s, 1 s).
const FIRST_RECONNECT: Duration = Duration::from_millis(250);
/// Pause between two questions about a running operation: a savepoint of a small job completes in
/// well under a second, and each pause is downtime of the job being stopped. A question that
/// failed waits [`FAILED_POLLS`] times as long, so a JobManager still counts as lost after about
/// as many seconds as before.
const POLL: Duration = Duration::from_millis(250);
/// How many pauses a failed question waits before it is asked again.
pub(super) const FAILED_POLLS: u32 = 4;
/// Pause before asking again for a savepoint that came before every task ran.
const SAVEPOINT_RETRY: Duration = Duration::from_secs(2);
/// How long Flink's cleanup after an application ended is given before its JobManager goes.
const APPLICATION_CLEANUP: Duration = Duration::from_secs(2);
/// Added to the statistics cache's lifetime: the job may have ended a little before it was seen.
const STATISTICS_SLACK: Duration = Duration::from_millis(250);

/// How a request gets to the JobManager (a port-forward to its pod, or its `rest_url`, with the
/// deployment's credentials): the one piece the caller hands in.
#[async_trait::async_trait]
pub trait Reach: Send + Sync {
    /// Sends `call`: the status code and the JSON body (null when it is not JSON). A connection
    /// that could not be made, so that the request never went out, is [`Error::NotConnected`]
    /// (the client sends it again); any later failure is [`Error::Unreachable`].
    async fn send(&self, call: Call<'_>) -> Result<(u16, Json), Error>;
}

/// How long a wait may take, and the setting that says so (for the message when it runs out).
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// The longest wait.
    pub duration: Duration,
    /// The setting it comes from, e.g. `savepoint_timeout`.
    pub name: String,
}

impl Limit {
    /// A wait bounded only by its own setting.
    pub fn of(duration: Duration, name: &str) -> Limit {
        Limit {
            duration,
            name: name.to_string(),
        }
    }

    /// "within 600s (savepoint_timeout)", for messages.
    pub fn within(&self) -> String {
        format!("within {}s ({})", self.duration.as_secs(), self.name)
    }
}

/// The JobManager of job `job_id`, reached through `R`.
pub struct JobManager<R> {
    reach: R,
    pub(super) job_id: String,
    /// When this client first saw the job in a final state: Flink's checkpoint statistics are
    /// final only a cache lifetime later.
    ended_seen: std::sync::Mutex<Option<Instant>>,
    /// Pause between two questions about a running operation.
    pub(super) poll: Duration,
    /// Pause before asking again for a savepoint Flink refused as too early.
    pub(super) retry: Duration,
    /// The wait before a request whose connection could not be made is tried again.
    reconnect: Duration,
    /// The end of the operation: no request is tried again past it.
    deadline: Deadline,
}

impl<R: Reach> JobManager<R> {
    /// The JobManager of job `job_id`, reached through `reach`.
    pub fn new(reach: R, job_id: &str) -> Self {
        JobManager {
            reach,
            job_id: job_id.to_string(),
            ended_seen: std::sync::Mutex::default(),
            poll: POLL,
            retry: SAVEPOINT_RETRY,
            reconnect: FIRST_RECONNECT,
            deadline: Deadline::none(),
        }
    }

    /// The same client for an operation that ends by `deadline`: a request whose connection
    /// could not be made is not tried again past it.
    pub fn within(mut self, deadline: Deadline) -> Self {
        self.deadline = deadline;
        self
    }

    /// The same client asking every `poll` and retrying after `retry` (tests replay Flink's
    /// answers faster than Flink gives them).
    #[cfg(test)]
    pub fn paced(mut self, poll: Duration, retry: Duration) -> Self {
        self.poll = poll;
        self.retry = retry;
        self.reconnect = poll;
        self
    }

    /// Sends `call`, again when its connection could not be made (the request never went out,
    /// so a POST too): up to [`CONNECT_TRIES`] times, never waiting past the operation's
    /// deadline. A connection that failed once the request may have gone out is not retried
    /// here: a second stop-with-savepoint must never be sent for one that reached Flink.
    pub(super) async fn call(&self, call: Call<'_>) -> Result<(u16, Json), Error> {
        let mut wait = self.reconnect;
        let mut tries = 1;
        loop {
            let message = match self.call_once(call).await {
                Err(Error::NotConnected(message)) => message,
                answered => return answered,
            };
            let gave_up = |why: String| {
                Error::NotConnected(format!(
                    "{} {}: {message}; the last of {tries} tries{why}",
                    call.method, call.path
                ))
            };
            if tries >= CONNECT_TRIES {
                return Err(gave_up(String::new()));
            }
            if self.deadline.ends_within(wait) {
                let setting = self.deadline.setting().unwrap_or_default();
                return Err(gave_up(format!(
                    "; the operation's timeout ({setting}) ended the retries: the next try \
                     would come after it"
                )));
            }
            tracing::debug!(job = %self.job_id, method = call.method, path = call.path, %message, wait_ms = wait.as_millis() as u64, "connecting to the JobManager again");
            tokio::time::sleep(wait).await;
            wait *= 2;
            tries += 1;
        }
    }

    async fn call_once(&self, call: Call<'_>) -> Result<(u16, Json), Error> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.reach.send(call))
            .await
            .map_err(|_| {
                Error::Unreachable(format!("{} {}: no answer in time", call.method, call.path))
            })?
    }

    pub(super) async fn get(&self, path: &str) -> Result<(u16, Json), Error> {
        self.call(Call {
            method: "GET",
            path,
            body: None,
        })
        .await
    }

    /// `GET /jobs/<id>`: the status code and Flink's job details.
    pub async fn job(&self) -> Result<(u16, Json), Error> {
        let path = format!("/jobs/{}", self.job_id);
        self.get(&path).await
    }

    /// How many TaskManagers are registered with the JobManager (`GET /overview`).
    pub async fn registered_task_managers(&self) -> Result<u64, Error> {
        match self.get("/overview").await? {
            (200, overview) => Ok(overview["taskmanagers"].as_u64().unwrap_or(0)),
            (code, body) => Err(refused("GET", "/overview".into(), code, &body)),
        }
    }

    /// Whether Flink restored the job from a savepoint or checkpoint (`latest.restored` of
    /// `GET /jobs/<id>/checkpoints`).
    pub async fn restored(&self) -> Result<bool, Error> {
        let path = format!("/jobs/{}/checkpoints", self.job_id);
        match self.get(&path).await? {
            (200, stats) => Ok(stats["latest"]["restored"].is_object()),
            (code, body) => Err(refused("GET", path, code, &body)),
        }
    }

    /// Why the job failed, as Flink's exception history says; `None` when Flink gives no reason.
    pub async fn failure(&self) -> Option<String> {
        let path = format!("/jobs/{}/exceptions", self.job_id);
        match self.get(&path).await {
            Ok((200, exceptions)) => job_failure(&exceptions),
            _ => None,
        }
    }

    /// The job's status as Flink reports it (see [`job_status`]).
    pub async fn job_state(&self) -> Result<String, Error> {
        let path = format!("/jobs/{}", self.job_id);
        match self.job().await? {
            (200, job) => {
                let state = job_status(&job)
                    .ok_or_else(|| Error::Unexpected(format!("GET {path}: no state in {job}")))?;
                if is_terminal(&state) {
                    let mut seen = self.ended_seen.lock().unwrap_or_else(|e| e.into_inner());
                    seen.get_or_insert_with(Instant::now);
                }
                Ok(state)
            }
            (code, body) => Err(refused("GET", path, code, &body)),
        }
    }

    /// The newest state Flink reports of the ended job that a new run can restore from (see
    /// [`newest_retained`]): its savepoints, and with `checkpoints` its latest checkpoint when
    /// Flink kept it under the job's checkpoint `retention`; `None` when there is none. The
    /// statistics are read once they are at most `statistics_age` older than the moment the job
    /// was first seen ended (see [`super::answers::checkpoint_statistics_age`]), so they include
    /// the stop's savepoint and name no checkpoint deleted since.
    pub async fn newest_retained(
        &self,
        checkpoints: bool,
        retention: Option<&str>,
        statistics_age: Duration,
    ) -> Result<Option<Retained>, Error> {
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
            (code, body) => Err(refused("GET", path, code, &body)),
        }
    }

    /// [`Self::wait_for_application_end`], without the pause for Flink's HA cleanup when the
    /// next JobManager shares no HA services with this one (`ha` false): without high
    /// availability Flink keeps job results in memory, so there is nothing left dirty to wait for.
    pub async fn wait_for_application_end_of(&self, ha: bool, timeout: Duration) {
        let cleanup = if ha {
            APPLICATION_CLEANUP
        } else {
            Duration::ZERO
        };
        self.wait_for_application_end_then(timeout, cleanup).await;
    }

    /// Waits until Flink has ended the application the job belongs to (Flink 2.3 and later, where
    /// the application id is the job id; earlier versions have no applications and return at
    /// once). Flink marks an ended job's result clean only with its application; a JobManager
    /// removed before that leaves the job "dirty" in the HA job result store, and the next
    /// JobManager of the same HA cluster id refuses to start (Dispatcher.onStart,
    /// IllegalStateException). Gives up after `timeout` with a warning in the logs.
    pub async fn wait_for_application_end(&self, timeout: Duration) {
        self.wait_for_application_end_then(timeout, APPLICATION_CLEANUP)
            .await;
    }

    /// The wait of [`Self::wait_for_application_end`], pausing `cleanup` once the application
    /// ended.
    async fn wait_for_application_end_then(&self, timeout: Duration, cleanup: Duration) {
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
                        tokio::time::sleep(cleanup).await;
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
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Cancels the job (no savepoint) and waits until Flink reports it in a final state.
    pub async fn cancel(&self, limit: &Limit) -> Result<(), Error> {
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
            (code, body) => return Err(refused("PATCH", path, code, &body)),
        }
        tracing::info!(job = %self.job_id, "cancelling the job");
        let started = Instant::now();
        loop {
            match self.job_state().await {
                Ok(state) if is_terminal(&state) => return Ok(()),
                _ if started.elapsed() >= limit.duration => {
                    return Err(Error::Timeout {
                        what: "cancel",
                        within: limit.within(),
                    })
                }
                _ => tokio::time::sleep(self.poll).await,
            }
        }
    }
}

pub(super) fn refused(method: &'static str, path: String, code: u16, body: &Json) -> Error {
    Error::Refused {
        method,
        path,
        code,
        message: flink_error(body),
    }
}

#[cfg(test)]
#[path = "client_scenario_tests.rs"]
mod scenario_tests;
