//! Deleting a pod as the API server's pod strategy does (`pkg/registry/core/pod/strategy.go`,
//! `CheckGracefulDelete`; `test/e2e/common/node/pods.go`, "should be submitted and removed"): a
//! pod bound to a node (`spec.nodeName`, which the local kubelet sets when it takes the pod) and
//! not yet `Succeeded` or `Failed` is only marked, with `deletionTimestamp` and
//! `deletionGracePeriodSeconds` (the request's `gracePeriodSeconds`, else the pod's
//! `terminationGracePeriodSeconds`, else 30); its kubelet stops it and then deletes it for good.
//! Any other pod, and a grace period of 0 (`kubectl delete --force --grace-period=0`), goes at
//! once. Every other kind is deleted at once.

use crate::kinds::ResourceKind;
use crate::status::ApiError;
use crate::store::Store;
use serde_json::Value as Json;

/// The default of `spec.terminationGracePeriodSeconds`.
pub const DEFAULT_GRACE_SECONDS: i64 = 30;

/// The grace period a pod gets when deleted with `requested` (`gracePeriodSeconds`), or `None`
/// when it goes at once.
pub fn grace_period(pod: &Json, requested: Option<i64>) -> Option<i64> {
    let scheduled = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let ended = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    let grace = requested
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(DEFAULT_GRACE_SECONDS);
    (scheduled && !ended && grace > 0).then_some(grace)
}

/// DELETE of `name`: graceful for a running pod, immediate otherwise; the object as it is then.
pub fn delete(
    store: &Store,
    kind: &'static ResourceKind,
    namespace: &str,
    name: &str,
    requested_grace: Option<i64>,
) -> Result<Json, ApiError> {
    if kind.kind != "Pod" {
        return store.delete(kind, namespace, name);
    }
    let pod = store.get(kind, namespace, name)?;
    if pod["metadata"]["deletionTimestamp"].is_string() && requested_grace != Some(0) {
        return Ok(pod);
    }
    match grace_period(&pod, requested_grace) {
        Some(grace) => store.mark_for_deletion(kind, namespace, name, grace),
        None => store.delete(kind, namespace, name),
    }
}

/// `gracePeriodSeconds` of a DELETE: the query parameter, else the `DeleteOptions` body's.
pub fn requested_grace(query: Option<&String>, body: &[u8]) -> Option<i64> {
    query.and_then(|g| g.parse().ok()).or_else(|| {
        serde_json::from_slice::<Json>(body)
            .ok()?
            .get("gracePeriodSeconds")?
            .as_i64()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_running_bound_pod_is_deleted_gracefully() {
        let bound = json!({"spec": {"nodeName": "n", "terminationGracePeriodSeconds": 5},
                           "status": {"phase": "Running"}});
        assert_eq!(grace_period(&bound, None), Some(5));
        assert_eq!(grace_period(&bound, Some(2)), Some(2));
        assert_eq!(
            grace_period(&bound, Some(0)),
            None,
            "--force --grace-period=0"
        );
        let default = json!({"spec": {"nodeName": "n"}});
        assert_eq!(grace_period(&default, None), Some(DEFAULT_GRACE_SECONDS));
        let unbound = json!({"spec": {}, "status": {"phase": "Pending"}});
        assert_eq!(grace_period(&unbound, None), None);
        let ended = json!({"spec": {"nodeName": "n"}, "status": {"phase": "Failed"}});
        assert_eq!(grace_period(&ended, None), None);
    }

    #[test]
    fn the_grace_period_comes_from_the_query_or_the_body() {
        let body = br#"{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":3}"#;
        assert_eq!(requested_grace(None, body), Some(3));
        assert_eq!(requested_grace(Some(&"7".to_string()), body), Some(7));
        assert_eq!(requested_grace(None, b""), None);
    }
}
