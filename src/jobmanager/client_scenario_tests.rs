//! Scenarios of the client against Flink's recorded answers (`tests/recorded/`), replayed by a
//! fake [`Reach`]: each path answers from a script, its last answer repeated; a scripted `None`
//! is a connection that fails once the request went out (its answer lost), and a refusal one that
//! could not be made (the request never went out). Paced in milliseconds, where Flink takes
//! seconds.

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
    /// Per `METHOD path`, how many of its next connections cannot be made.
    refusals: Mutex<HashMap<String, u32>>,
    /// The requests that went out (a connection that could not be made sends none).
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

    /// The next `count` connections for `request` cannot be made, as a port-forward that
    /// dropped: refused before anything is sent.
    fn refusing(self, request: &str, count: u32) -> Self {
        self.refusals
            .lock()
            .unwrap()
            .insert(request.to_string(), count);
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
        if let Some(left @ 1..) = self.refusals.lock().unwrap().get_mut(&request) {
            *left -= 1;
            return Err(Error::NotConnected(
                "port-forward Pod ns/jm: connection refused".into(),
            ));
        }
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

/// A port-forward that drops between the requests of a savepoint (before the trigger, and before
/// a question about it): each request whose connection could not be made is sent once it can
/// be, and the savepoint completes, triggered once.
#[tokio::test]
async fn a_port_forward_that_drops_between_the_requests_of_a_savepoint_does_not_fail_it() {
    let stop = format!("POST /jobs/{JOB}/stop");
    let replay = Replay::default()
        .on(&stop, &[Some((202, TRIGGER))])
        .refusing(&stop, 1)
        .on(
            &stop_status(),
            &[Some((200, IN_PROGRESS)), Some((200, COMPLETED))],
        )
        .refusing(&stop_status(), 2);
    let location = client(&replay)
        .stop_with_savepoint(Some("file:///tmp/exp/sp3"), &limit())
        .await
        .unwrap();
    assert_eq!(location, "file:/tmp/exp/sp3/savepoint-000000-42aa1911c1c6");
    assert_eq!(replay.sent(&stop), 1, "the stop reached Flink once");
    assert_eq!(replay.sent(&stop_status()), 2);
}

/// A trigger whose answer was lost may have reached Flink: it is not sent again (a second
/// stop-with-savepoint would be wrong), and the error says why.
#[tokio::test]
async fn a_savepoint_trigger_whose_answer_was_lost_is_not_sent_again() {
    for path in [
        format!("POST /jobs/{JOB}/stop"),
        format!("POST /jobs/{JOB}/savepoints"),
    ] {
        let replay = Replay::default().on(&path, &[None, Some((202, TRIGGER))]);
        let jm = client(&replay);
        let error = match path.ends_with("/stop") {
            true => jm.stop_with_savepoint(None, &limit()).await,
            false => jm.trigger_savepoint(None, "CANONICAL", &limit()).await,
        }
        .unwrap_err();
        assert_eq!(replay.sent(&path), 1, "{path} sent once");
        assert_eq!(
            error.to_string(),
            "connection refused; the request may have reached Flink, so it is not sent again"
        );
    }
}

/// A JobManager that cannot be connected to at all: a bounded number of tries, or fewer when
/// the operation's deadline comes first, and an error that says which.
#[tokio::test]
async fn connecting_again_is_bounded_by_its_tries_and_the_operations_deadline() {
    let stop = format!("POST /jobs/{JOB}/stop");
    let replay = Replay::default()
        .on(&stop, &[Some((202, TRIGGER))])
        .refusing(&stop, 100);
    let error = client(&replay)
        .stop_with_savepoint(None, &limit())
        .await
        .unwrap_err();
    assert_eq!(replay.sent(&stop), 0);
    assert_eq!(
        error.to_string(),
        format!(
            "POST /jobs/{JOB}/stop: port-forward Pod ns/jm: connection refused; the last of 4 \
             tries"
        )
    );
    assert_eq!(replay.refusals.lock().unwrap()[&stop], 96);

    // Waits of 0.25 s, then 0.5 s: a deadline 0.5 s away ends the retries after two tries.
    let deadline = crate::deadline::Deadline::at(
        Instant::now() + Duration::from_millis(500),
        "timeouts.update = \"500ms\"".into(),
    );
    let jm = JobManager::new(&replay, JOB).within(deadline);
    let started = Instant::now();
    let error = jm.stop_with_savepoint(None, &limit()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(
        error.to_string(),
        format!(
            "POST /jobs/{JOB}/stop: port-forward Pod ns/jm: connection refused; the last of 2 \
             tries; the operation's timeout (timeouts.update = \"500ms\") ended the retries: \
             the next try would come after it"
        )
    );
    assert_eq!(replay.refusals.lock().unwrap()[&stop], 94);
}
