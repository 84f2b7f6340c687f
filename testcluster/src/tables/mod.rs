//! Server-side printing (`meta.k8s.io` `Table`), which kubectl asks for with
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...` on `get` and `get -w`: the columns
//! and cells kube-apiserver's printers give each kind (`pkg/printers/internalversion/printers.go`),
//! all of them, kubectl hiding those of priority 1 unless `-o wide`; each row carries the object
//! as `includeObject` asks (`Metadata`, the default, as `PartialObjectMetadata`; `Object`; `None`).
//!
//! Layout: this file (negotiation, the Table and its rows, ages as `duration.HumanDuration`) ->
//! `pods` (`printPod`'s READY, STATUS and RESTARTS), `kinds` (every other kind's columns) and
//! `production_kinds` (claims, network policies, ingresses, disruption budgets, endpoint slices).

mod kinds;
mod pods;
mod production_kinds;

use crate::kinds::ResourceKind;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

/// A column: name, type (`string`, `integer`, ...), format (`name` for the first), priority.
pub struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    priority: u8,
    description: &'static str,
}

/// A column of priority 0.
const fn column(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        format: "",
        priority: 0,
        description,
    }
}

/// A column kubectl shows only with `-o wide`.
const fn wide(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        format: "",
        priority: 1,
        description,
    }
}

/// The `Name` column every printer starts with.
const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    priority: 0,
    description: "Name must be unique within a namespace.",
};

/// `Age`.
const AGE: Column = column(
    "Age",
    "string",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);

/// What a request asks for in its `Accept` header: the `meta.k8s.io` version of a Table, or
/// nothing (plain JSON).
pub fn requested(accept: Option<&str>) -> Option<&'static str> {
    let accept = accept?;
    accept.split(',').find_map(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        let has = |p: &str| params.contains(&p);
        if !(has("as=Table") && has("g=meta.k8s.io")) {
            return None;
        }
        if has("v=v1") {
            Some("meta.k8s.io/v1")
        } else if has("v=v1beta1") {
            Some("meta.k8s.io/v1beta1")
        } else {
            None
        }
    })
}

/// The `Content-Type` of a Table answer.
pub fn content_type(api_version: &str) -> String {
    let version = api_version.rsplit('/').next().unwrap_or("v1");
    format!("application/json;as=Table;v={version};g=meta.k8s.io")
}

/// A Table of `objects` (a list, a single get, or one watch event), `with_columns` false for the
/// watch events after the first, as the server sends them.
pub fn table(
    api_version: &str,
    kind: &ResourceKind,
    objects: &[Json],
    revision: &str,
    query: &BTreeMap<String, String>,
    with_columns: bool,
) -> Json {
    let (columns, cells) = kinds::printer(kind.kind);
    let include = query
        .get("includeObject")
        .map_or("Metadata", String::as_str);
    let rows: Vec<Json> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(o)});
            if let Some(object) = row_object(include, o) {
                row["object"] = object;
            }
            if let Some(conditions) = pods::row_conditions(kind.kind, o) {
                row["conditions"] = conditions;
            }
            row
        })
        .collect();
    let mut out = json!({
        "kind": "Table", "apiVersion": api_version,
        "metadata": {"resourceVersion": revision},
        "rows": rows,
    });
    if with_columns {
        out["columnDefinitions"] = columns
            .iter()
            .map(|c| {
                json!({"name": c.name, "type": c.kind, "format": c.format,
                       "description": c.description, "priority": c.priority})
            })
            .collect();
    }
    out
}

fn row_object(include: &str, object: &Json) -> Option<Json> {
    match include {
        "None" => None,
        "Object" => Some(object.clone()),
        _ => Some(json!({
            "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": object["metadata"].clone(),
        })),
    }
}

/// `translateTimestampSince`: the age of an RFC 3339 timestamp, `<unknown>` when there is none.
fn since(timestamp: &Json) -> String {
    let parsed = timestamp.as_str().and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    });
    match parsed {
        Some(t) => human_duration((time::OffsetDateTime::now_utc() - t).whole_seconds()),
        None => "<unknown>".to_string(),
    }
}

/// `duration.HumanDuration` of a number of seconds.
fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return match (hours / 24) % 365 {
            0 => format!("{}y", hours / 24 / 365),
            d => format!("{}y{d}d", hours / 24 / 365),
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_as_kubectl_asks() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(requested(Some(kubectl)), Some("meta.k8s.io/v1"));
        assert_eq!(
            requested(Some("application/json;as=Table;v=v1beta1;g=meta.k8s.io")),
            Some("meta.k8s.io/v1beta1")
        );
        assert_eq!(requested(Some("application/json")), None);
        assert_eq!(requested(None), None);
    }

    #[test]
    fn ages_as_human_duration() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (59, "59s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (9 * 3600, "9h"),
            (50 * 3600, "2d2h"),
            (9 * 86400, "9d"),
            (800 * 86400, "2y70d"),
            (3000 * 86400, "8y"),
        ];
        for (seconds, text) in cases {
            assert_eq!(human_duration(seconds), text, "{seconds}");
        }
        assert_eq!(since(&Json::Null), "<unknown>");
    }

    #[test]
    fn rows_carry_metadata_unless_asked_otherwise() {
        let kind = crate::kinds::find("", "v1", "configmaps").unwrap();
        let cm =
            json!({"metadata": {"name": "c", "labels": {"a": "b"}}, "data": {"x": "1", "y": "2"}});
        let none = BTreeMap::new();
        let t = table(
            "meta.k8s.io/v1",
            kind,
            std::slice::from_ref(&cm),
            "7",
            &none,
            true,
        );
        assert_eq!(
            t["rows"][0]["cells"].as_array().unwrap()[0..2],
            [json!("c"), json!(2)]
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["rows"][0]["object"]["metadata"]["labels"]["a"], "b");
        assert_eq!(t["columnDefinitions"][1]["name"], "Data");
        let q = BTreeMap::from([("includeObject".to_string(), "None".to_string())]);
        let t = table("meta.k8s.io/v1", kind, &[cm], "7", &q, false);
        assert!(t["rows"][0].get("object").is_none() && t.get("columnDefinitions").is_none());
    }
}
