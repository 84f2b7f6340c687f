//! Reading a pod's JSON the way the policy checks read `corev1.PodSpec`, and the checks' wording
//! helpers (`policy/helpers.go`: `joinQuote`, `pluralize`; Go's `%q`).

use serde_json::Value as Json;

/// Every container the policy looks at, in `policy/visitor.go`'s order: init containers,
/// containers, then ephemeral containers.
pub fn containers(spec: &Json) -> impl Iterator<Item = &Json> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |list| {
            spec.get(list)
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
        })
}

/// A container's name.
pub fn name(container: &Json) -> String {
    container
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The value at `path` below `object`, unless absent or null (Go's nil pointer).
pub fn at<'a>(object: &'a Json, path: &[&str]) -> Option<&'a Json> {
    path.iter()
        .try_fold(object, |o, key| o.get(key))
        .filter(|v| !v.is_null())
}

/// A string at `path`, `""` when unset (Go's zero value).
pub fn text<'a>(object: &'a Json, path: &[&str]) -> &'a str {
    at(object, path).and_then(Json::as_str).unwrap_or_default()
}

/// A boolean pointer at `path`.
pub fn flag(object: &Json, path: &[&str]) -> Option<bool> {
    at(object, path).and_then(Json::as_bool)
}

/// The strings of a list at `path`.
pub fn strings<'a>(object: &'a Json, path: &[&str]) -> Vec<&'a str> {
    at(object, path)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect()
}

/// `joinQuote`: `"a", "b"`.
pub fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let inner: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("\"{}\"", inner.join("\", \""))
}

/// `pluralize`.
pub fn pluralize<'a>(singular: &'a str, plural: &'a str, count: usize) -> &'a str {
    if count == 1 {
        singular
    } else {
        plural
    }
}

/// `container "a"` or `containers "a", "b"`.
pub fn containers_named<S: AsRef<str>>(names: &[S]) -> String {
    format!(
        "{} {}",
        pluralize("container", "containers", names.len()),
        join_quote(names)
    )
}

/// Go's `%q` for the printable strings labels and annotations hold.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Sorted and deduplicated, as Go's `sets.String.List()`.
pub fn sorted_set<I: IntoIterator<Item = String>>(items: I) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = items.into_iter().collect();
    set.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn visits_init_then_regular_then_ephemeral_containers() {
        let spec = json!({"containers": [{"name": "b"}], "initContainers": [{"name": "a"}],
                          "ephemeralContainers": [{"name": "c"}]});
        let names: Vec<String> = containers(&spec).map(name).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn wording_helpers_match_go() {
        assert_eq!(join_quote(&["a", "b"]), r#""a", "b""#);
        assert_eq!(join_quote::<&str>(&[]), "");
        assert_eq!(containers_named(&["a"]), r#"container "a""#);
        assert_eq!(containers_named(&["a", "b"]), r#"containers "a", "b""#);
        assert_eq!(go_quote("un\"confined"), r#""un\"confined""#);
        assert_eq!(at(&json!({"a": null}), &["a"]), None);
    }
}
