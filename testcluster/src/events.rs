//! Events (core/v1) as controllers record them through client-go's event recorder
//! (`tools/record/events_cache.go`): an event named `<object>.<unix nanos in hex>`, an identical
//! event again bumps `count` and `lastTimestamp`; after ten distinct messages of the same reason
//! for the same object, the rest fold into one event whose message starts
//! `(combined from similar events): `; and the spam filter lets 25 events per object and source
//! through, then one per five minutes. The correlator's memory is the stored events themselves,
//! and its ten-minute aggregation window is not kept (similar events fold for the object's life).

use crate::kinds;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Store, Write};
use serde_json::{json, Value as Json};

/// What happened to whom.
pub struct Occurrence<'a> {
    /// The object the event is about.
    pub involved: &'a Json,
    /// `Normal` or `Warning`.
    pub kind: &'a str,
    /// e.g. `FailedCreate`.
    pub reason: &'a str,
    /// e.g. `Error creating: pods "x" is forbidden: ...`.
    pub message: &'a str,
    /// The component, e.g. `replicaset-controller`.
    pub source: &'a str,
}

const COMBINED: &str = "(combined from similar events): ";
const SIMILAR_BEFORE_COMBINING: usize = 10;
const SPAM_BURST: i64 = 25;
const SPAM_REFILL_SECONDS: i64 = 300;

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn stamp(t: time::OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn parse(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// Records `what` in the object's namespace, as the recorder would, or drops it (spam filter).
pub fn record(store: &Store, what: &Occurrence) {
    let Some(events_kind) = kinds::find("", "v1", "events") else {
        return;
    };
    let meta = &what.involved["metadata"];
    let namespace = meta["namespace"].as_str().unwrap_or("default");
    let uid = meta["uid"].as_str().unwrap_or_default();
    let (Ok(labels), Ok(fields)) = (LabelSelector::parse(""), FieldSelector::parse("")) else {
        return;
    };
    let (all, _) = store.list(events_kind, Some(namespace), &labels, &fields);
    let about: Vec<&Json> = all
        .iter()
        .filter(|e| e["involvedObject"]["uid"] == uid && e["source"]["component"] == what.source)
        .collect();
    let at = now();
    let recorded: i64 = about.iter().map(|e| e["count"].as_i64().unwrap_or(1)).sum();
    let first = about
        .iter()
        .filter_map(|e| e["firstTimestamp"].as_str().and_then(parse))
        .min()
        .unwrap_or(at);
    if recorded >= SPAM_BURST + (at - first).whole_seconds() / SPAM_REFILL_SECONDS {
        return;
    }
    let similar: Vec<&&Json> = about
        .iter()
        .filter(|e| e["reason"] == what.reason && e["type"] == what.kind)
        .collect();
    let write = Write {
        manager: what.source,
        dry_run: false,
        subresource: None,
    };
    let bump = |event: &Json, message: &str| {
        let mut updated = event.clone();
        updated["count"] = json!(event["count"].as_i64().unwrap_or(1) + 1);
        updated["lastTimestamp"] = json!(stamp(at));
        updated["message"] = json!(message);
        if let Some(m) = updated["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        let name = event["metadata"]["name"].as_str().unwrap_or_default();
        let _ = store.update(events_kind, namespace, name, updated, &write);
    };
    if let Some(same) = similar.iter().find(|e| e["message"] == what.message) {
        return bump(same, what.message);
    }
    let distinct = similar
        .iter()
        .filter(|e| {
            !e["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with(COMBINED)
        })
        .count();
    let message = if distinct < SIMILAR_BEFORE_COMBINING {
        what.message.to_string()
    } else {
        let combined = format!("{COMBINED}{}", what.message);
        if let Some(existing) = similar.iter().find(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(COMBINED))
        }) {
            return bump(existing, &combined);
        }
        combined
    };
    let involved_name = meta["name"].as_str().unwrap_or_default();
    let event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {
            "name": format!("{involved_name}.{:x}", at.unix_timestamp_nanos()),
            "namespace": namespace,
        },
        "involvedObject": {
            "apiVersion": what.involved["apiVersion"], "kind": what.involved["kind"],
            "name": involved_name, "namespace": namespace, "uid": uid,
            "resourceVersion": meta["resourceVersion"],
        },
        "reason": what.reason, "message": message, "type": what.kind,
        "source": {"component": what.source},
        "firstTimestamp": stamp(at), "lastTimestamp": stamp(at), "count": 1,
        "eventTime": null, "reportingComponent": "", "reportingInstance": "",
    });
    let _ = store.create(events_kind, namespace, event, &write);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(store: &Store) -> Vec<Json> {
        let kind = kinds::find("", "v1", "events").unwrap();
        let (labels, fields) = (
            LabelSelector::parse("").unwrap(),
            FieldSelector::parse("").unwrap(),
        );
        store.list(kind, Some("default"), &labels, &fields).0
    }

    #[test]
    fn identical_events_count_similar_ones_combine_and_spam_is_dropped() {
        let store = Store::new();
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                                "metadata": {"name": "web", "namespace": "default", "uid": "u1"}});
        let occur = |message: &str| {
            record(
                &store,
                &Occurrence {
                    involved: &deployment,
                    kind: "Warning",
                    reason: "FailedCreate",
                    message,
                    source: "replicaset-controller",
                },
            )
        };
        occur("Error creating: a");
        occur("Error creating: a");
        let recorded = events(&store);
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0]["count"], 2);
        assert!(recorded[0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("web."));
        for i in 0..30 {
            occur(&format!("Error creating: {i}"));
        }
        let recorded = events(&store);
        let combined: Vec<&Json> = recorded
            .iter()
            .filter(|e| e["message"].as_str().unwrap().starts_with(COMBINED))
            .collect();
        assert_eq!(recorded.len(), SIMILAR_BEFORE_COMBINING + 1);
        let total: i64 = recorded.iter().map(|e| e["count"].as_i64().unwrap()).sum();
        assert_eq!(
            total, SPAM_BURST,
            "the spam filter lets the first 25 through"
        );
        assert_eq!(combined.len(), 1);
    }
}
