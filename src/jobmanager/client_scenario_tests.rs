//! Scenarios of the client against Flink's recorded answers (`tests/recorded/`), replayed by a
//! fake [`Reach`]: each path answers from a script, its last answer repeated; a scripted `None`
//! is a connection that fails. Paced in milliseconds, where Flink takes seconds.

use super::*;
use std::collections::HashMap;
use std::sync::Mutex;

const JOB: &str = "00000000000000000000000000000abc";
const TRIGGER: &str = include_str!("../../tests/recorded/flink-2.3.0/savepoint-trigger.json");
const COMPLETED: &str = include_str!("../../tests/recorded/flink-2.3.0/savepoint-completed.json");
const FAILED: &str = include_str!("../../tests/recorded/flink-2.3.0/savepoint-failed.json");
const FINISHED_JOB: &str = include_str!("../../tests/recorded/flink-2.3.0/finished-job.json");
const IN_PROGRESS: &str = r#"{"status": {"id": "IN_PROGRESS"}, "operation": null}"#;
const REQUEST_ID: &str = "29c85ec0bf79169ef137cfc9c55672d7";

type Answer = Option<(u16, &'static str)>;

/// Answers per `METHOD path`, and the requests it was sent, in order.
#[derive(Default)]
struct Replay {
    scripts: Mutex<HashMap<String, Vec<Answer>>>,
    sent: Mutex<Vec<String>>,
}

impl Replay {
    fn on(self, request: &str, answers: &[Answer]) -> Self {
        self.scripts
            .lock()
            .unwrap()
            .insert(request.to_string(), answers.to_vec());
        self
    }

    fn sent(&self, request: &str) -> usize {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|r| *r == request)
            .count()
    }
}

#[async_trait::async_trait]
impl Reach for &Replay {
    async fn send(&self, call: Call<'_>) -> Result<(u16, Json), Error> {
        let request = format!("{} {}", call.method, call.path);
        self.sent.lock().unwrap().push(request.clone());
        let answer = {
            let mut scripts = self.scripts.lock().unwrap();
            let script = scripts
                .get_mut(&request)
                .unwrap_or_else(|| panic!("unscripted request {request}"));
            match script.len() {
                1 => script[0],
                _ => script.remove(0),
            }
        };
        match answer {
            Some((code, body)) => Ok((code, serde_json::from_str(body).unwrap())),
            None => Err(Error::Unreachable("connection refused".into())),
        }
    }
}

fn client(replay: &Replay) -> JobManager<&Replay> {
    JobManager::new(replay, JOB).paced(Duration::from_millis(5), Duration::from_millis(5))
}

fn stop_status() -> String {
    format!("GET /jobs/{JOB}/savepoints/{REQUEST_ID}")
}

fn limit() -> Limit {
    Limit::of(Duration::from_secs(5), "savepoint_timeout")
}

#[tokio::test]
async fn a_stop_with_savepoint_polls_until_flink_completes_it() {
    let replay = Replay::default()
        .on(&format!("POST /jobs/{JOB}/stop"), &[Some((202, TRIGGER))])
        .on(
            &stop_status(),
            &[Some((200, IN_PROGRESS)), None, Some((200, COMPLETED))],
        );
    let location = client(&replay)
        .stop_with_savepoint(Some("file:///tmp/exp/sp3"), &limit())
        .await
        .unwrap();
    assert_eq!(location, "file:/tmp/exp/sp3/savepoint-000000-42aa1911c1c6");
    assert_eq!(
        replay.sent(&stop_status()),
        3,
        "a failed question is asked again"
    );
}

#[tokio::test]
async fn a_failed_savepoint_gives_flinks_innermost_cause() {
    let replay = Replay::default()
        .on(
            &format!("POST /jobs/{JOB}/savepoints"),
            &[Some((202, TRIGGER))],
        )
        .on(&stop_status(), &[Some((200, FAILED))]);
    let error = client(&replay)
        .trigger_savepoint(
            Some("file:///proc/no-savepoints-here"),
            "CANONICAL",
            &limit(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error,
        Error::Failed(
            "Flink: java.io.IOException: Failed to create savepoint directory at \
             file:/proc/no-savepoints-here"
                .into()
        )
    );
}

#[tokio::test]
async fn a_savepoint_before_every_task_runs_is_asked_for_again() {
    let not_yet = r#"{"status": {"id": "COMPLETED"}, "operation": {"failure-cause": {
        "class": "java.util.concurrent.CompletionException",
        "stack-trace": "java.util.concurrent.CompletionException: x\nCaused by: org.apache.flink.runtime.checkpoint.CheckpointException: Not all required tasks are currently running.\n\tat y"}}}"#;
    let replay = Replay::default()
        .on(&format!("POST /jobs/{JOB}/stop"), &[Some((202, TRIGGER))])
        .on(
            &stop_status(),
            &[Some((200, not_yet)), Some((200, COMPLETED))],
        );
    let location = client(&replay)
        .stop_with_savepoint(None, &limit())
        .await
        .unwrap();
    assert!(location.ends_with("savepoint-000000-42aa1911c1c6"));
    assert_eq!(replay.sent(&format!("POST /jobs/{JOB}/stop")), 2);
}

#[tokio::test]
async fn a_jobmanager_that_stops_answering_mid_savepoint_is_lost() {
    let replay = Replay::default()
        .on(&format!("POST /jobs/{JOB}/stop"), &[Some((202, TRIGGER))])
        .on(&stop_status(), &[Some((200, IN_PROGRESS)), None]);
    let error = client(&replay)
        .stop_with_savepoint(None, &limit())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Lost {
                what: "savepoint",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "lost the JobManager while the savepoint ran: connection refused"
    );
}

#[tokio::test]
async fn a_savepoint_that_outlasts_its_limit_times_out() {
    let replay = Replay::default()
        .on(&format!("POST /jobs/{JOB}/stop"), &[Some((202, TRIGGER))])
        .on(&stop_status(), &[Some((200, IN_PROGRESS))]);
    let error = client(&replay)
        .stop_with_savepoint(
            None,
            &Limit::of(Duration::from_millis(30), "timeouts.update"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the savepoint did not complete within 0s (timeouts.update)"
    );
}

#[tokio::test]
async fn a_refused_request_names_path_code_and_flinks_message() {
    let replay = Replay::default().on(
        &format!("GET /jobs/{JOB}"),
        &[Some((
            404,
            r#"{"errors": ["Job could not be found.\nmore"]}"#,
        ))],
    );
    let error = client(&replay).job_state().await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("GET /jobs/{JOB}: 404 Job could not be found.")
    );
}

#[tokio::test]
async fn a_cancel_waits_until_flink_reports_the_job_ended() {
    let running = r#"{"state": "RUNNING", "vertices": [{"status": "RUNNING"}]}"#;
    let replay = Replay::default()
        .on(
            &format!("PATCH /jobs/{JOB}?mode=cancel"),
            &[Some((202, "{}"))],
        )
        .on(
            &format!("GET /jobs/{JOB}"),
            &[Some((200, running)), Some((200, FINISHED_JOB))],
        );
    let jm = client(&replay);
    jm.cancel(&limit()).await.unwrap();
    assert_eq!(replay.sent(&format!("GET /jobs/{JOB}")), 2);
}
