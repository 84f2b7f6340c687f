//! Savepoints through the JobManager's asynchronous operations: stop the job with a savepoint,
//! take one while it runs, dispose of one; each started with a `POST`, then asked after until
//! Flink completes it, with a savepoint refused as too early (not all tasks running) asked for
//! again within its limit, and a JobManager that stops answering counted as lost. A `POST` whose
//! connection could not be made is sent again (the client's own retry); one whose answer was lost
//! is not, since Flink may have started the operation.

use super::answers::{failure_cause, flink_error, tasks_not_running};
use super::client::{refused, JobManager, Reach};
use super::{Call, Error, Limit};
use serde_json::{json, Value as Json};
use std::time::{Duration, Instant};

/// Failed questions in a row after which the JobManager counts as lost.
const LOST_AFTER: u32 = 10;

impl<R: Reach> JobManager<R> {
    /// Stops the job with a savepoint in `directory` (Flink's default when `None`); the savepoint's
    /// location once Flink completed it, or Flink's reason it failed (the job then keeps running).
    /// A job whose tasks are not all running yet (just restarted) is asked again within `limit`.
    pub async fn stop_with_savepoint(
        &self,
        directory: Option<&str>,
        limit: &Limit,
    ) -> Result<String, Error> {
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
    ) -> Result<String, Error> {
        let mut body = json!({"cancel-job": false, "formatType": format});
        if let Some(dir) = directory {
            body["target-directory"] = dir.into();
        }
        let path = format!("/jobs/{}/savepoints", self.job_id);
        self.savepoint(&path, &body, "taking a savepoint", limit)
            .await
    }

    /// Deletes the savepoint at `location` through Flink (which knows its file system).
    pub async fn dispose(&self, location: &str, limit: &Limit) -> Result<(), Error> {
        let started = Instant::now();
        let body = json!({"savepoint-path": location});
        let trigger = self.start("/savepoint-disposal", &body).await?;
        let status_path = format!("/savepoint-disposal/{trigger}");
        let operation = self
            .finish(&status_path, "savepoint disposal", started, limit)
            .await?;
        if operation.get("failure-cause").is_some_and(|c| !c.is_null()) {
            return Err(Error::Failed(failure_cause(&operation)));
        }
        Ok(())
    }

    async fn savepoint(
        &self,
        path: &str,
        body: &Json,
        what: &str,
        limit: &Limit,
    ) -> Result<String, Error> {
        let started = Instant::now();
        loop {
            match self.savepoint_once(path, body, what, started, limit).await {
                Err(Error::TasksNotRunning(_)) if started.elapsed() < limit.duration => {
                    tracing::info!(job = %self.job_id, "not all tasks run yet; asking for the savepoint again");
                    tokio::time::sleep(self.retry).await;
                }
                other => return other,
            }
        }
    }

    async fn savepoint_once(
        &self,
        path: &str,
        body: &Json,
        what: &str,
        started: Instant,
        limit: &Limit,
    ) -> Result<String, Error> {
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
            None => {
                let cause = failure_cause(&operation);
                Err(match tasks_not_running(&cause) {
                    true => Error::TasksNotRunning(cause),
                    false => Error::Failed(cause),
                })
            }
        }
    }

    /// Starts an asynchronous Flink operation (`POST path`); its request id.
    async fn start(&self, path: &str, body: &Json) -> Result<String, Error> {
        let call = Call {
            method: "POST",
            path,
            body: Some(body),
        };
        let answered = self.call(call).await.map_err(|e| match e {
            // The POST may have reached Flink: sent again, it could start a second operation (a
            // second stop-with-savepoint). The caller finds out from the job what it did.
            Error::Unreachable(cause) => Error::Unreachable(format!(
                "{cause}; the request may have reached Flink, so it is not sent again"
            )),
            other => other,
        })?;
        match answered {
            (200..=299, answer) => {
                answer["request-id"]
                    .as_str()
                    .map(String::from)
                    .ok_or_else(|| {
                        Error::Unexpected(format!("POST {path}: no request id in {answer}"))
                    })
            }
            (code, answer) if tasks_not_running(&flink_error(&answer)) => Err(
                Error::TasksNotRunning(format!("POST {path}: {code} {}", flink_error(&answer))),
            ),
            (code, answer) => Err(refused("POST", path.to_string(), code, &answer)),
        }
    }

    /// Asks `status_path` until the operation completed; Flink's `operation` object then.
    async fn finish(
        &self,
        status_path: &str,
        what: &'static str,
        started: Instant,
        limit: &Limit,
    ) -> Result<Json, Error> {
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
                    return Err(refused("GET", status_path.to_string(), code, &body));
                }
                Err(e) => {
                    failures += 1;
                    if failures >= LOST_AFTER {
                        return Err(Error::Lost {
                            what,
                            cause: Box::new(e),
                        });
                    }
                }
            }
            if started.elapsed() >= limit.duration {
                return Err(Error::Timeout {
                    what,
                    within: limit.within(),
                });
            }
            if last_report.elapsed() >= Duration::from_secs(10) {
                tracing::info!(
                    job = %self.job_id,
                    seconds = started.elapsed().as_secs(),
                    "{what} in progress"
                );
                last_report = Instant::now();
            }
            let pause = match failures {
                0 => self.poll,
                _ => self.poll * super::client::FAILED_POLLS,
            };
            tokio::time::sleep(pause).await;
        }
    }
}
