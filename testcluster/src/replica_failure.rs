//! What a Deployment shows when its pods cannot be created (the ReplicaSet controller's
//! `manageReplicas` and the Deployment controller's copy of its condition): a `FailedCreate`
//! Warning Event `Error creating: <error>` and the status condition `ReplicaFailure` (status
//! `True`, reason `FailedCreate`, the first error as message), which goes once a round creates
//! its pods without error.
//! There are no ReplicaSets here, so both are about the Deployment itself.

use crate::events::{self, Occurrence};
use crate::status::ApiError;
use crate::store::Store;
use serde_json::{json, Value as Json};

const SOURCE: &str = "replicaset-controller";

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Puts into `status` (the controller's new status for `deployment`) the condition for this
/// round's pod creation, `failure` if one failed, and records the Event for it.
pub fn observe(store: &Store, deployment: &Json, failure: Option<&ApiError>, status: &mut Json) {
    let Some(error) = failure else {
        return;
    };
    events::record(
        store,
        &Occurrence {
            involved: deployment,
            kind: "Warning",
            reason: "FailedCreate",
            message: &format!("Error creating: {}", error.message),
            source: SOURCE,
        },
    );
    status["conditions"] = json!([condition(deployment, &error.message)]);
}

/// The condition: as first set while the failures go on (`calculateStatus` sets it only when
/// absent, so its message names the first pod refused).
fn condition(deployment: &Json, message: &str) -> Json {
    let previous = deployment["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "ReplicaFailure"));
    if let Some(previous) = previous {
        return previous.clone();
    }
    let at = now();
    json!({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": message,
           "lastUpdateTime": at, "lastTransitionTime": at})
}
