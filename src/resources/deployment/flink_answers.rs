//! What Flink's REST answers say, read without IO: the newest state an ended job left on disk,
//! whether a job state is final, Flink's error lines and the reason a savepoint failed.

use serde_json::Value as Json;

/// State of an ended job that Flink keeps on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Retained {
    pub location: String,
    /// When it completed (ms since the epoch).
    pub completed_ms: i64,
    /// A savepoint (taken by hand, or by an apply that did not get to record it), not a
    /// retained checkpoint.
    pub savepoint: bool,
}

/// The newest externally addressable state in Flink's checkpoint statistics: its latest
/// savepoint, or (with `checkpoints`) its latest completed checkpoint when that is newer.
pub(super) fn newest_retained(stats: &Json, checkpoints: bool) -> Option<Retained> {
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

/// Whether a Flink job state is final.
pub fn is_terminal(state: &str) -> bool {
    matches!(state, "FINISHED" | "CANCELED" | "FAILED")
}

/// Flink's error answer (`{"errors": [...]}`) as one line.
pub(super) fn flink_error(body: &Json) -> String {
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

/// The reason of a failed savepoint: the innermost cause Flink gives, which names the problem
/// (e.g. a directory it cannot write), and the outer message.
pub(super) fn failure_cause(operation: &Json) -> String {
    let cause = &operation["failure-cause"];
    let outer = cause["class"].as_str().unwrap_or("savepoint failed");
    let trace = cause["stack-trace"].as_str().unwrap_or_default();
    let innermost = trace
        .lines()
        .rfind(|l| l.starts_with("Caused by: ") || !l.starts_with(char::is_whitespace))
        .map(|l| l.trim_start_matches("Caused by: ").to_string());
    match innermost {
        Some(reason) if !reason.is_empty() => format!("Flink: {reason}"),
        _ => format!("Flink: {outer}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn flink_errors_are_joined_first_lines() {
        let body = json!({"errors": ["Job not found.\n at ...", "second"]});
        assert_eq!(flink_error(&body), "Job not found.; second");
        assert_eq!(flink_error(&json!({"x": 1})), r#"{"x":1}"#);
    }
}
