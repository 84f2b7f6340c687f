//! A fake JobManager on loopback whose job was stopped with a savepoint by hand a moment ago,
//! answering with a real Flink 2.3.0 JobManager's recorded answers (`tests/recorded/`) and
//! Flink's caching: `GET /jobs/<id>` says FINISHED at once, while `GET /jobs/<id>/checkpoints`
//! answers from a cache written just before the stop's savepoint completed, for `cache`. For the
//! scenario tests of the callers that restart such a job.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const JOB_ID: &str = "00000000000000000000000000000abc";
const FINISHED_JOB: &str = include_str!("../../tests/recorded/flink-2.3.0/finished-job.json");
/// Statistics of the running job, before the stop: no savepoint.
const RUNNING_CHECKPOINTS: &str =
    include_str!("../../tests/recorded/flink-2.3.0/running-checkpoints.json");
/// Statistics once the job finished: `latest.savepoint` is the stop's savepoint.
const FINISHED_CHECKPOINTS: &str =
    include_str!("../../tests/recorded/flink-2.3.0/fresh-checkpoints.json");
pub const STOP_SAVEPOINT: &str = "file:/tmp/exp/sp2/savepoint-000000-1af44c7bb2a4";

/// A JobManager whose job ended 50 ms before the first request it gets, answering its checkpoint
/// statistics from a cache written 10 ms before that end and kept for `cache`, as Flink's REST
/// handlers do. The times count from that first request (when the caller learns the job ended),
/// not from when the fake started: on a loaded machine the caller's set-up took longer than the
/// cache, and a caller that did not wait still saw fresh statistics.
struct FakeJobManager {
    first_request: std::sync::OnceLock<Instant>,
    cache: Duration,
}

impl FakeJobManager {
    fn answer(&self, path: &str) -> (u16, &'static str) {
        let now = Instant::now();
        let first = *self.first_request.get_or_init(|| now);
        match path {
            p if p == format!("/jobs/{JOB_ID}") => (200, FINISHED_JOB),
            p if p == format!("/jobs/{JOB_ID}/checkpoints") => {
                let ended = first - Duration::from_millis(50);
                let statistics_written = first - Duration::from_millis(60);
                // The cache entry is refreshed once it has expired, from what is true then.
                let written = if now >= statistics_written + self.cache {
                    now
                } else {
                    statistics_written
                };
                match written >= ended {
                    true => (200, FINISHED_CHECKPOINTS),
                    false => (200, RUNNING_CHECKPOINTS),
                }
            }
            _ => (404, r#"{"errors":["Not found."]}"#),
        }
    }
}

/// Serves `fake` over HTTP/1.1 on loopback; its address.
async fn listen(fake: FakeJobManager) -> String {
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

/// The job ended a moment before the statistics are first asked for; Flink's statistics were
/// cached just before that, for `cache`.
pub async fn serve(cache: Duration) -> String {
    listen(FakeJobManager {
        first_request: std::sync::OnceLock::new(),
        cache,
    })
    .await
}
