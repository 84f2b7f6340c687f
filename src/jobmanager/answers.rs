//! What Flink's REST answers say, read without IO: a job's status, the newest state an ended job
//! left on disk, how long Flink may answer from its caches, whether a job state is final, Flink's
//! error lines and the reason a savepoint or job failed.

use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Flink's default for `web.refresh-interval`, which its REST caches live for.
const FLINK_REFRESH_INTERVAL: Duration = Duration::from_secs(3);

/// State of an ended job that Flink keeps on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Retained {
    /// Where it is (`external_path`).
    pub location: String,
    /// When it completed (ms since the epoch).
    pub completed_ms: i64,
    /// A savepoint (taken by hand, or by an apply that did not get to record it), not a
    /// retained checkpoint.
    pub savepoint: bool,
}

/// The newest externally addressable state in Flink's checkpoint statistics: its latest
/// savepoint, or (with `checkpoints`) its latest completed checkpoint when that is newer.
pub fn newest_retained(stats: &Json, checkpoints: bool) -> Option<Retained> {
    let entry = |entry: &Json, savepoint: bool| {
        let location = entry["external_path"].as_str()?;
        // Flink's placeholder for state kept in the JobManager's memory.
        if location.starts_with('<') {
            return None;
        }
        Some(Retained {
            location: location.to_string(),
            completed_ms: entry["latest_ack_timestamp"].as_i64().unwrap_or_default(),
            savepoint,
        })
    };
    let latest = &stats["latest"];
    let completed = &latest["completed"];
    let is_savepoint = completed["is_savepoint"] == true;
    [
        entry(&latest["savepoint"], true),
        entry(completed, is_savepoint).filter(|c| c.savepoint || checkpoints),
    ]
    .into_iter()
    .flatten()
    .max_by_key(|r| r.completed_ms)
}

/// Whether Flink kept the checkpoints of a job that ended in `state`, under the checkpoint
/// `retention` it ran with: a cancelled job's only with `RETAIN_ON_CANCELLATION`, a failed job's
/// unless checkpoints are not externalized, a finished job's never (Flink discards them when a
/// job finishes, e.g. stopped with a savepoint; its latest checkpoint statistics still name
/// them).
pub fn checkpoints_kept(state: &str, retention: Option<&str>) -> bool {
    match state {
        "CANCELED" => retention == Some("RETAIN_ON_CANCELLATION"),
        "FAILED" => retention.is_some_and(|r| r != "NO_EXTERNALIZED_CHECKPOINTS"),
        _ => false,
    }
}

/// How old a job's checkpoint statistics may be when Flink's REST API answers them: they come
/// from a cache of their own (`rest.cache.checkpoint-statistics.timeout`, which falls back to
/// `web.refresh-interval`, 3 s), separate from the job details' cache. So `GET /jobs/<id>` can
/// already say FINISHED while `GET /jobs/<id>/checkpoints` still answers from before the stop's
/// savepoint completed (no `latest.savepoint`), or before the cancel (a checkpoint a newer one
/// has since subsumed and deleted). Statistics read this long after the job was first seen
/// ended are its final ones.
pub fn checkpoint_statistics_age(configuration: &BTreeMap<String, String>) -> Duration {
    [
        "rest.cache.checkpoint-statistics.timeout",
        "web.refresh-interval",
    ]
    .iter()
    .find_map(|key| configuration.get(*key))
    .and_then(|v| crate::flink::values::duration_nanos(v))
    .map_or(FLINK_REFRESH_INTERVAL, |n| {
        Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
    })
}

/// A job's status from Flink's job details: its state, except that a RUNNING job whose tasks do
/// not all run yet reports the least advanced task state (e.g. `DEPLOYING`, `INITIALIZING`), so
/// RUNNING means ready for a savepoint.
pub fn job_status(job: &Json) -> Option<String> {
    const ORDER: &[&str] = &[
        "CREATED",
        "SCHEDULED",
        "DEPLOYING",
        "INITIALIZING",
        "RECONCILING",
    ];
    let state = job["state"].as_str()?;
    if state != "RUNNING" {
        return Some(state.to_string());
    }
    let behind = job["vertices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["status"].as_str())
        .filter_map(|s| ORDER.iter().position(|o| *o == s))
        .min();
    Some(behind.map_or(state, |i| ORDER[i]).to_string())
}

/// Flink's reason when a savepoint comes before every task runs: worth asking again.
const TASKS_NOT_RUNNING: &str = "Not all required tasks are currently running";

/// Whether Flink's error text says the job's tasks do not all run yet (a job just restarted).
pub fn tasks_not_running(text: &str) -> bool {
    text.contains(TASKS_NOT_RUNNING)
}

/// Whether a Flink job state is final.
pub fn is_terminal(state: &str) -> bool {
    matches!(state, "FINISHED" | "CANCELED" | "FAILED")
}

/// Flink's error answer (`{"errors": [...]}`) as one line.
pub fn flink_error(body: &Json) -> String {
    match body["errors"].as_array() {
        Some(errors) => errors
            .iter()
            .filter_map(Json::as_str)
            .map(|e| e.lines().next().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join("; "),
        None => body.to_string(),
    }
}

/// The innermost cause in a Java stack trace: the line that names the problem (e.g. a directory
/// it cannot write or a file it cannot find), not the wrappers around it.
fn innermost_cause(trace: &str) -> Option<&str> {
    trace
        .lines()
        .rfind(|l| l.starts_with("Caused by: ") || !l.starts_with(char::is_whitespace))
        .map(|l| l.trim_start_matches("Caused by: ").trim_end())
        .filter(|l| !l.is_empty())
}

/// The reason of a failed savepoint: the innermost cause Flink gives, else the outer class.
pub fn failure_cause(operation: &Json) -> String {
    let cause = &operation["failure-cause"];
    let outer = cause["class"].as_str().unwrap_or("savepoint failed");
    let trace = cause["stack-trace"].as_str().unwrap_or_default();
    format!("Flink: {}", innermost_cause(trace).unwrap_or(outer))
}

/// Why a job failed, from `GET /jobs/<id>/exceptions`: the innermost cause of the newest
/// exception in its history (Flink 1.x also answers a `root-exception`).
pub fn job_failure(exceptions: &Json) -> Option<String> {
    let newest = exceptions["exceptionHistory"]["entries"]
        .as_array()
        .and_then(|entries| entries.iter().max_by_key(|e| e["timestamp"].as_i64()));
    let trace = newest
        .and_then(|e| e["stacktrace"].as_str())
        .or_else(|| exceptions["root-exception"].as_str())?;
    innermost_cause(trace).map(|cause| format!("Flink: {cause}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checkpoint_statistics_are_cached_as_flink_configures_it() {
        let configured = |pairs: &[(&str, &str)]| {
            let configuration = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>();
            checkpoint_statistics_age(&configuration)
        };
        assert_eq!(configured(&[]), Duration::from_secs(3));
        // Flink 1.19 gives web.refresh-interval in milliseconds, 2.x as a duration.
        assert_eq!(
            configured(&[("web.refresh-interval", "10000")]),
            Duration::from_secs(10)
        );
        assert_eq!(
            configured(&[
                ("web.refresh-interval", "10 s"),
                ("rest.cache.checkpoint-statistics.timeout", "500 ms"),
            ]),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn the_innermost_cause_of_a_failed_savepoint_is_the_reason() {
        let operation = json!({"failure-cause": {
            "class": "java.util.concurrent.CompletionException",
            "stack-trace": "java.util.concurrent.CompletionException: outer\n\tat a.b(C.java:1)\nCaused by: org.apache.flink.util.FlinkException: Triggering a savepoint failed.\n\tat x\nCaused by: java.nio.file.AccessDeniedException: /readonly/savepoints\n\tat y\n",
        }});
        assert_eq!(
            failure_cause(&operation),
            "Flink: java.nio.file.AccessDeniedException: /readonly/savepoints"
        );
    }

    #[test]
    fn the_newest_state_on_disk_is_what_a_new_run_restores_from() {
        let stats = |checkpoint: &str, savepoint: Json| {
            json!({"latest": {
                "completed": {
                    "external_path": checkpoint, "latest_ack_timestamp": 2_000i64,
                    "is_savepoint": false
                },
                "savepoint": savepoint,
            }})
        };
        let retained = |location: &str, completed_ms: i64, savepoint: bool| Retained {
            location: location.into(),
            completed_ms,
            savepoint,
        };
        let older_savepoint =
            json!({"external_path": "file:/sp/savepoint-1", "latest_ack_timestamp": 1_000i64});
        assert_eq!(
            newest_retained(&stats("file:/ck/job/chk-7", older_savepoint.clone()), true),
            Some(retained("file:/ck/job/chk-7", 2_000, false))
        );
        assert_eq!(
            newest_retained(&stats("file:/ck/job/chk-7", older_savepoint.clone()), false),
            Some(retained("file:/sp/savepoint-1", 1_000, true)),
            "savepoints only"
        );
        let newer_savepoint =
            json!({"external_path": "file:/sp/savepoint-2", "latest_ack_timestamp": 3_000i64});
        assert_eq!(
            newest_retained(&stats("file:/ck/job/chk-7", newer_savepoint), true),
            Some(retained("file:/sp/savepoint-2", 3_000, true))
        );
        assert_eq!(
            newest_retained(
                &stats("<checkpoint-not-externally-addressable>", Json::Null),
                true
            ),
            None
        );
        assert_eq!(
            newest_retained(&json!({"latest": {"completed": null}}), true),
            None
        );
    }

    #[test]
    fn a_failed_job_is_explained_by_the_innermost_cause_of_its_newest_exception() {
        let trace = |cause: &str| {
            format!(
                "org.apache.flink.runtime.client.JobInitializationException: Could not start the \
                 JobMaster.\n\tat a.b(C.java:1)\nCaused by: {cause}\n\tat d.e(F.java:2)\n\t... 5 more\n"
            )
        };
        let history = json!({"exceptionHistory": {"entries": [
            {"timestamp": 1, "stacktrace": trace("java.io.IOException: older")},
            {"timestamp": 2, "stacktrace": trace("java.io.FileNotFoundException: /sp/_metadata")},
        ]}});
        assert_eq!(
            job_failure(&history).unwrap(),
            "Flink: java.io.FileNotFoundException: /sp/_metadata"
        );
        let flink_1 = json!({"root-exception": "java.lang.RuntimeException: boom\n\tat x\n"});
        assert_eq!(
            job_failure(&flink_1).unwrap(),
            "Flink: java.lang.RuntimeException: boom"
        );
        assert_eq!(
            job_failure(&json!({"exceptionHistory": {"entries": []}})),
            None
        );
    }

    #[test]
    fn only_a_cancelled_or_failed_job_keeps_its_checkpoints() {
        let retain = Some("RETAIN_ON_CANCELLATION");
        assert!(checkpoints_kept("CANCELED", retain));
        assert!(!checkpoints_kept(
            "CANCELED",
            Some("DELETE_ON_CANCELLATION")
        ));
        assert!(checkpoints_kept("FAILED", Some("DELETE_ON_CANCELLATION")));
        assert!(!checkpoints_kept(
            "FAILED",
            Some("NO_EXTERNALIZED_CHECKPOINTS")
        ));
        assert!(
            !checkpoints_kept("FAILED", None),
            "Flink's default keeps none"
        );
        assert!(
            !checkpoints_kept("FINISHED", retain),
            "stopped with a savepoint"
        );
        assert!(!checkpoints_kept("RUNNING", retain));
    }

    #[test]
    fn flink_errors_are_joined_first_lines() {
        let body = json!({"errors": ["Job not found.\n at ...", "second"]});
        assert_eq!(flink_error(&body), "Job not found.; second");
        assert_eq!(flink_error(&json!({"x": 1})), r#"{"x":1}"#);
    }

    #[test]
    fn a_running_job_is_running_only_once_all_its_tasks_run() {
        let job = |vertices: &[&str]| {
            let vertices: Vec<_> = vertices.iter().map(|s| json!({"status": s})).collect();
            json!({"state": "RUNNING", "vertices": vertices})
        };
        assert_eq!(
            job_status(&job(&["RUNNING", "RUNNING"])).unwrap(),
            "RUNNING"
        );
        assert_eq!(
            job_status(&job(&["RUNNING", "INITIALIZING", "DEPLOYING"])).unwrap(),
            "DEPLOYING"
        );
        assert_eq!(
            job_status(&json!({"state": "FAILED", "vertices": [{"status": "CANCELED"}]})).unwrap(),
            "FAILED"
        );
        assert_eq!(job_status(&json!({})), None);
    }
}
