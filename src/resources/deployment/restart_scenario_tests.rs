//! Scenario: a job stopped with a savepoint by hand, restarted by apply. A fake JobManager
//! replays the answers a real Flink 2.3.0 JobManager gave (`tests/recorded/flink-2.3.0/`), with
//! Flink's own caching: the job details already say FINISHED while the checkpoint statistics,
//! cached a moment before the stop's savepoint completed, do not list it yet. That interleaving
//! restarted the job from an older checkpoint (a CI failure of the lifecycle suite); the apply
//! must find the savepoint once Flink's statistics have caught up.

use super::lifecycle::Reason;
use super::model::{Model, Savepoint};
use super::rollout;
use crate::kubernetes::Cluster;
use crate::provider::ClusterAccess;
use crate::schema::Diagnostics;
use crate::value::Attr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const JOB_ID: &str = "00000000000000000000000000000abc";
const FINISHED_JOB: &str = include_str!("../../../tests/recorded/flink-2.3.0/finished-job.json");
/// Statistics of the running job, before the stop: no savepoint.
const RUNNING_CHECKPOINTS: &str =
    include_str!("../../../tests/recorded/flink-2.3.0/running-checkpoints.json");
/// Statistics once the job finished: `latest.savepoint` is the stop's savepoint.
const FINISHED_CHECKPOINTS: &str =
    include_str!("../../../tests/recorded/flink-2.3.0/fresh-checkpoints.json");
const STOP_SAVEPOINT: &str = "file:/tmp/exp/sp2/savepoint-000000-1af44c7bb2a4";

/// A JobManager whose job ended at `ended`, answering its checkpoint statistics from a cache
/// written just before that and kept for `cache`, as Flink's REST handlers do.
struct FakeJobManager {
    ended: Instant,
    statistics_written: Instant,
    cache: Duration,
}

impl FakeJobManager {
    fn answer(&self, path: &str) -> (u16, &'static str) {
        let now = Instant::now();
        match path {
            p if p == format!("/jobs/{JOB_ID}") => (200, FINISHED_JOB),
            p if p == format!("/jobs/{JOB_ID}/checkpoints") => {
                // The cache entry is refreshed once it has expired, from what is true then.
                let written = if now >= self.statistics_written + self.cache {
                    now
                } else {
                    self.statistics_written
                };
                match written >= self.ended {
                    true => (200, FINISHED_CHECKPOINTS),
                    false => (200, RUNNING_CHECKPOINTS),
                }
            }
            _ => (404, r#"{"errors":["Not found."]}"#),
        }
    }
}

/// Serves `fake` over HTTP/1.1 on loopback; its address.
async fn serve(fake: FakeJobManager) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let fake = Arc::new(fake);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let fake = fake.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or_default();
                let (code, body) = fake.answer(path);
                let answer = format!(
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    address
}

/// The deployment as state records it after the plan saw the job FINISHED: one older savepoint.
fn finished_outside(address: &str, statistics_cache: &str) -> Model {
    Model {
        id: Attr::Known("ns/counter".into()),
        name: Attr::Known("counter".into()),
        namespace: Attr::Known("ns".into()),
        job_id: Attr::Known(JOB_ID.into()),
        state: Attr::Known("RUNNING".into()),
        status: Attr::Known("FINISHED".into()),
        rest_url: Attr::Known(format!("http://{address}")),
        last_savepoint: Attr::Known("file:/sp/savepoint-older".into()),
        savepoints: Attr::Known(vec![Savepoint {
            location: Attr::Known("file:/sp/savepoint-older".into()),
            time: Attr::Known("2026-01-01T00:00:00Z".into()),
            reason: Attr::Known(Reason::Suspend.as_str().into()),
        }]),
        effective_flink_configuration: Attr::Known(
            [(
                "rest.cache.checkpoint-statistics.timeout".to_string(),
                statistics_cache.to_string(),
            )]
            .into(),
        ),
        ..Model::default()
    }
}

async fn cluster() -> Cluster {
    // Never asked: the JobManager is reached at rest_url and the deployment has no TLS.
    Cluster::connect(&ClusterAccess::Explicit {
        host: "https://127.0.0.1:9".into(),
        token: None,
        ca_certificate: None,
        client_identity: None,
        insecure: true,
    })
    .await
    .unwrap()
}

/// The job ended 50 ms ago; Flink's statistics were cached 10 ms before that, for `cache`.
async fn stopped_by_hand(cache: Duration) -> String {
    let now = Instant::now();
    serve(FakeJobManager {
        ended: now - Duration::from_millis(50),
        statistics_written: now - Duration::from_millis(60),
        cache,
    })
    .await
}

#[tokio::test]
async fn a_restart_finds_the_savepoint_that_flinks_cached_statistics_do_not_list_yet() {
    let cache = Duration::from_millis(700);
    let address = stopped_by_hand(cache).await;
    let prior = finished_outside(&address, "700 ms");
    let mut diags = Diagnostics::default();
    let started = Instant::now();
    let taken = rollout::retained_checkpoint(&cluster().await, &prior, &prior, &mut diags).await;
    let taken = taken.unwrap_or_else(|| panic!("no savepoint found: {diags:?}"));
    assert_eq!(taken.location, STOP_SAVEPOINT);
    assert_eq!(taken.reason, Reason::FoundSavepoint);
    assert!(!diags.has_errors(), "{diags:?}");
    assert!(
        started.elapsed() >= cache - Duration::from_millis(60),
        "read only after Flink's cache caught up"
    );
}

#[tokio::test]
async fn a_provider_that_trusted_the_first_statistics_would_restore_older_state() {
    // The same interleaving, with the provider told Flink caches nothing: it reads the stale
    // statistics and finds no newer state. This is the failure the wait above prevents.
    let address = stopped_by_hand(Duration::from_millis(700)).await;
    let prior = finished_outside(&address, "0 ms");
    let mut diags = Diagnostics::default();
    let taken = rollout::retained_checkpoint(&cluster().await, &prior, &prior, &mut diags).await;
    assert!(taken.is_none(), "the stale statistics list no savepoint");
}

#[tokio::test]
async fn an_ended_job_whose_jobmanager_cannot_be_asked_fails_the_apply() {
    let prior = finished_outside("127.0.0.1:9", "700 ms");
    let mut diags = Diagnostics::default();
    let taken = rollout::retained_checkpoint(&cluster().await, &prior, &prior, &mut diags).await;
    assert!(taken.is_none());
    let text = format!("{diags:?}");
    assert!(diags.has_errors(), "{text}");
    assert!(
        text.contains("Cannot read the ended job's newest state")
            && text.contains("file:/sp/savepoint-older")
            && text.contains("restore_strategy = \\\"NONE\\\""),
        "{text}"
    );
}
