//! Input checks declared on attributes. Each check knows how to describe itself, so the docs list
//! exactly the values the validator accepts. The Kubernetes checks apply the API server's own
//! rules (the `kube-rules` crate, which the test server uses too) with its messages, so a value
//! the provider would write into an object fails at plan rather than at apply.

use super::PathStep;
use crate::value::Value;

/// A check of one attribute's known, non-null value.
#[derive(Clone)]
pub enum Validator {
    /// The string is one of these.
    OneOf(&'static [&'static str]),
    /// The string is not empty or only whitespace.
    NotBlank,
    /// The string is `host:port` with a port in 1..=65535.
    HostPort,
    /// The list or map has at least one element.
    NotEmpty,
    /// Every element of a list passes the inner check (reported on the element's index).
    Each(Box<Validator>),
    /// The number is an integer of at least this value.
    IntAtLeast(i64),
    /// A Kubernetes object name: a DNS-1123 label (lowercase alphanumerics and `-`, at most 63).
    KubernetesName,
    /// A name the provider derives longer names from: a DNS-1123 label of at most this many
    /// characters, so that every derived name is still one.
    KubernetesNameUpTo(usize),
    /// The name of an object the user made (a ServiceAccount, a Secret): a DNS-1123 subdomain.
    KubernetesSubdomain,
    /// A container image reference: not empty, no whitespace.
    Image,
    /// A map of Kubernetes labels: keys are qualified names, values label values.
    Labels,
    /// A map of Kubernetes annotations: keys are qualified names, and keys and values together
    /// fit in what the API server allows after the provider's own (`reserved` bytes).
    Annotations {
        /// What the provider's own annotations on the same object take.
        reserved: usize,
    },
    /// A map of environment variables: names as the API server's `IsEnvVarName`.
    EnvNames,
    /// A check of its own: `Err((summary, detail))` on a bad value; `doc` says what it accepts.
    Custom {
        /// Sentence for the docs.
        doc: &'static str,
        /// The check.
        check: fn(&Value) -> Result<(), (String, String)>,
    },
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Validator({})", self.doc())
    }
}

/// What a failed check reports: summary, detail, and the element it is about (an index for
/// [`Validator::Each`], a key for the map checks).
pub(crate) struct Failure {
    pub summary: String,
    pub detail: String,
    pub step: Option<PathStep>,
}

const LABEL_KEY_DOC: &str = "an optional DNS subdomain prefix of at most 253 characters and `/`, \
                             then a name of at most 63 letters, digits, `-`, `_` and `.` that \
                             starts and ends with a letter or digit (e.g. `app.kubernetes.io/name`)";
const LABEL_VALUE_DOC: &str = "at most 63 letters, digits, `-`, `_` and `.`, starting and ending \
                               with a letter or digit, or empty";

/// `Err` with the API server's messages when `messages` is not empty.
fn kubernetes(
    messages: Vec<String>,
    summary: impl FnOnce() -> String,
    allowed: &str,
) -> Result<(), (String, String)> {
    if messages.is_empty() {
        return Ok(());
    }
    Err((
        summary(),
        format!(
            "Kubernetes would refuse it: {}. Allowed: {allowed}.",
            messages.join("; ")
        ),
    ))
}

impl Validator {
    /// One sentence for the docs.
    pub fn doc(&self) -> String {
        match self {
            Validator::OneOf(values) => format!(
                "Allowed values: {}.",
                values
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Validator::NotBlank => "Must not be empty.".into(),
            Validator::HostPort => "Each entry is `host:port`.".into(),
            Validator::NotEmpty => "Must have at least one element.".into(),
            Validator::Each(inner) => inner.doc(),
            Validator::IntAtLeast(min) => format!("An integer of at least {min}."),
            Validator::KubernetesName => "A DNS-1123 label: at most 63 lowercase letters, digits \
                                          and `-`, starting and ending with a letter or digit."
                .into(),
            Validator::KubernetesNameUpTo(max) => format!(
                "A DNS-1123 label of at most {max} characters (lowercase letters, digits and `-`, \
                 starting and ending with a letter or digit), so that the names derived from it \
                 stay within Kubernetes' 63."
            ),
            Validator::KubernetesSubdomain => {
                "A DNS-1123 subdomain: at most 253 lowercase letters, \
                                               digits, `-` and `.`, starting and ending with a \
                                               letter or digit."
                    .into()
            }
            Validator::Image => {
                "A container image reference: not empty, without whitespace.".into()
            }
            Validator::Labels => format!(
                "Keys are Kubernetes label keys ({LABEL_KEY_DOC}); values are {LABEL_VALUE_DOC}."
            ),
            Validator::Annotations { reserved } => format!(
                "Keys are Kubernetes annotation keys ({LABEL_KEY_DOC}); keys and values together \
                 at most {} bytes (Kubernetes' 256 KiB, less the provider's own annotations).",
                kube_rules::ANNOTATIONS_LIMIT - reserved
            ),
            Validator::EnvNames => "Names are environment variable names as Kubernetes accepts \
                                    them: letters, digits, `_`, `-` and `.`, not starting with a \
                                    digit."
                .into(),
            Validator::Custom { doc, .. } => (*doc).into(),
        }
    }

    /// Every failure of `value` (map checks report each bad entry on its key).
    pub(crate) fn check(&self, value: &Value) -> Vec<Failure> {
        let fail = |(summary, detail): (String, String)| Failure {
            summary,
            detail,
            step: None,
        };
        match (self, value) {
            (Validator::Each(inner), Value::List(items) | Value::Set(items)) => items
                .iter()
                .enumerate()
                .filter(|(_, item)| item.is_wholly_known() && !item.is_null())
                .flat_map(|(i, item)| {
                    inner.check(item).into_iter().map(move |f| Failure {
                        step: Some(PathStep::Index(i64::try_from(i).unwrap_or(i64::MAX))),
                        ..f
                    })
                })
                .collect(),
            (
                Validator::Labels | Validator::Annotations { .. } | Validator::EnvNames,
                Value::Map(entries),
            ) => {
                let mut failures: Vec<Failure> = entries
                    .iter()
                    .filter_map(|(key, item)| {
                        self.check_entry(key, item).err().map(|f| Failure {
                            step: Some(PathStep::Key(key.clone())),
                            ..fail(f)
                        })
                    })
                    .collect();
                if let Validator::Annotations { reserved } = self {
                    let size = kube_rules::annotations_size(
                        entries
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
                    );
                    let limit = kube_rules::ANNOTATIONS_LIMIT - reserved;
                    if size > limit {
                        failures.push(fail((
                            "Annotations too large".into(),
                            format!(
                                "These annotations take {size} bytes; Kubernetes allows {} bytes \
                                 for all of an object's annotation keys and values together, of \
                                 which the provider's own take {reserved}. Keep them under \
                                 {limit} bytes, e.g. by moving large values into a ConfigMap.",
                                kube_rules::ANNOTATIONS_LIMIT
                            ),
                        )));
                    }
                }
                failures
            }
            _ => self.check_one(value).err().map(fail).into_iter().collect(),
        }
    }

    /// The check of one map entry, for the map validators.
    fn check_entry(&self, key: &str, value: &Value) -> Result<(), (String, String)> {
        match self {
            Validator::Labels => {
                kubernetes(
                    kube_rules::qualified_name(key),
                    || format!("Invalid label key {key:?}"),
                    LABEL_KEY_DOC,
                )?;
                match value.as_str() {
                    Some(v) => kubernetes(
                        kube_rules::label_value(v),
                        || format!("Invalid value of label {key:?}"),
                        LABEL_VALUE_DOC,
                    ),
                    None => Ok(()),
                }
            }
            // The API server checks annotation keys lowercased (`ValidateAnnotations`).
            Validator::Annotations { .. } => kubernetes(
                kube_rules::qualified_name(&key.to_lowercase()),
                || format!("Invalid annotation key {key:?}"),
                LABEL_KEY_DOC,
            ),
            Validator::EnvNames => kubernetes(
                kube_rules::env_var_name(key),
                || format!("Invalid environment variable name {key:?}"),
                "letters, digits, `_`, `-` and `.`, not starting with a digit (e.g. `JAVA_TOOL_OPTIONS`)",
            ),
            _ => Ok(()),
        }
    }

    /// The check of a single value.
    fn check_one(&self, value: &Value) -> Result<(), (String, String)> {
        match (self, value) {
            (Validator::OneOf(allowed), Value::String(s)) if !allowed.contains(&s.as_str()) => Err((
                format!("Invalid value {s:?}"),
                format!("{} Got {s:?}.", self.doc()),
            )),
            (Validator::NotBlank, Value::String(s)) if s.trim().is_empty() => Err((
                "Empty value".into(),
                "Set a non-empty value, or remove the attribute to use the default.".into(),
            )),
            (Validator::HostPort, Value::String(s)) => {
                check_host_port(s).map_err(|detail| (format!("Malformed host:port {s:?}"), detail))
            }
            (Validator::NotEmpty, Value::List(items) | Value::Set(items)) if items.is_empty() => {
                Err(("Empty list".into(), "Give at least one element.".into()))
            }
            (Validator::NotEmpty, Value::Map(items)) if items.is_empty() => {
                Err(("Empty map".into(), "Give at least one entry.".into()))
            }
            (Validator::IntAtLeast(min), Value::Number(n)) => match n.as_i64() {
                Some(i) if i >= *min => Ok(()),
                _ => Err((
                    format!("Invalid number {n}"),
                    format!("Use an integer of at least {min}."),
                )),
            },
            (Validator::KubernetesName, Value::String(s)) => kubernetes(
                kube_rules::dns1123_label(s),
                || format!("Invalid Kubernetes name {s:?}"),
                "a DNS-1123 label: at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit",
            ),
            (Validator::KubernetesNameUpTo(max), Value::String(s)) => {
                kubernetes(
                    kube_rules::dns1123_label(s),
                    || format!("Invalid Kubernetes name {s:?}"),
                    "lowercase letters, digits and `-`, starting and ending with a letter or digit",
                )?;
                if s.len() > *max {
                    return Err((
                        format!("Name too long for Kubernetes ({} characters)", s.len()),
                        format!(
                            "{} It has {}: shorten it by {}.",
                            self.doc(),
                            s.len(),
                            s.len() - max
                        ),
                    ));
                }
                Ok(())
            }
            (Validator::KubernetesSubdomain, Value::String(s)) => kubernetes(
                kube_rules::dns1123_subdomain(s),
                || format!("Invalid Kubernetes name {s:?}"),
                "a DNS-1123 subdomain: at most 253 lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit",
            ),
            (Validator::Image, Value::String(s)) => kubernetes(
                kube_rules::image(s),
                || format!("Invalid image {s:?}"),
                "an image reference such as `flink:2.3.0-scala_2.12-java17` or `registry.example.com/team/flink-job:1.4`",
            ),
            (Validator::Custom { check, .. }, v) => check(v),
            _ => Ok(()),
        }
    }
}

fn check_host_port(text: &str) -> Result<(), String> {
    let (host, port) = text.rsplit_once(':').ok_or_else(|| {
        format!("{text:?} has no port: write it as host:port, e.g. zk-0.zk:2181.")
    })?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
    {
        return Err(format!(
            "{host:?} is not a valid host name or address: write it as host:port, e.g. zk-0.zk:2181."
        ));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!(
            "{port:?} is not a port: use a number from 1 to 65535, e.g. zk-0.zk:2181."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: &Validator, value: Value) -> bool {
        v.check(&value).is_empty()
    }

    fn map(entries: &[(&str, &str)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), Value::string(*v)))
                .collect(),
        )
    }

    /// The keys the failures of `value` are reported on.
    fn failed_keys(v: &Validator, value: Value) -> Vec<String> {
        v.check(&value)
            .into_iter()
            .map(|f| match f.step {
                Some(PathStep::Key(k)) => k,
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn labels_per_key_with_the_api_servers_words() {
        let v = Validator::Labels;
        assert!(ok(
            &v,
            map(&[("app.kubernetes.io/name", "flink"), ("team", "")])
        ));
        let bad = map(&[
            ("bad label!", "x"),
            ("good", "bad value!"),
            (&"k".repeat(63), &"v".repeat(63)),
            ("long", &"v".repeat(64)),
        ]);
        assert_eq!(failed_keys(&v, bad.clone()), ["bad label!", "good", "long"]);
        let failures = v.check(&bad);
        assert_eq!(failures[0].summary, "Invalid label key \"bad label!\"");
        assert!(
            failures[0].detail.starts_with(
                "Kubernetes would refuse it: name part must consist of alphanumeric characters"
            ),
            "{}",
            failures[0].detail
        );
        assert!(failures[2]
            .detail
            .contains("must be no more than 63 characters"));
        assert_eq!(failed_keys(&v, map(&[(&"k".repeat(64), "")])).len(), 1);
    }

    #[test]
    fn annotations_keys_and_their_total_size() {
        let v = Validator::Annotations { reserved: 100 };
        assert!(ok(&v, map(&[("Example.COM/Key", "any value at all: ☃")])));
        assert_eq!(failed_keys(&v, map(&[("a/b/c", "")])), ["a/b/c"]);
        let limit = kube_rules::ANNOTATIONS_LIMIT - 100;
        let fits = "x".repeat(limit - 1);
        assert!(ok(&v, map(&[("k", &fits)])));
        let over = "x".repeat(limit);
        let failures = v.check(&map(&[("k", &over)]));
        assert_eq!(failures.len(), 1);
        assert!(failures[0].step.is_none());
        assert!(failures[0]
            .detail
            .contains(&format!("take {} bytes", limit + 1)));
    }

    #[test]
    fn env_names_images_and_subdomains() {
        let v = Validator::EnvNames;
        assert!(ok(
            &v,
            map(&[("JAVA_TOOL_OPTIONS", "x"), ("my.env-name", "")])
        ));
        assert_eq!(
            failed_keys(&v, map(&[("1 bad=name", "x"), ("OK", "")])),
            ["1 bad=name"]
        );
        assert!(ok(&Validator::Image, Value::string("flink:2.3")));
        assert!(!ok(&Validator::Image, Value::string("")));
        assert!(!ok(&Validator::Image, Value::string("flink 2.3")));
        let s = Validator::KubernetesSubdomain;
        assert!(ok(&s, Value::string("registry.pull-secret")));
        assert!(ok(&s, Value::string("a".repeat(253))));
        assert!(!ok(&s, Value::string("a".repeat(254))));
        assert!(!ok(&s, Value::string("Bad_Name")));
    }

    #[test]
    fn names_the_provider_derives_from() {
        let v = Validator::KubernetesNameUpTo(46);
        assert!(ok(&v, Value::string("a".repeat(46))));
        let failures = v.check(&Value::string("a".repeat(47)));
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].detail.contains("shorten it by 1"),
            "{}",
            failures[0].detail
        );
        assert!(!ok(&v, Value::string("Upper")));
    }

    #[test]
    fn one_of_lists_allowed_values() {
        let v = Validator::OneOf(&["kubernetes", "zookeeper"]);
        assert!(ok(&v, Value::string("zookeeper")));
        let failures = v.check(&Value::string("etcd"));
        assert!(failures[0].detail.contains("`kubernetes`, `zookeeper`"));
    }

    #[test]
    fn host_port_rules() {
        let v = Validator::HostPort;
        assert!(ok(&v, Value::string("zk-0.zk.svc:2181")));
        assert!(ok(&v, Value::string("[::1]:2181")));
        assert!(!ok(&v, Value::string("zk-0")));
        assert!(!ok(&v, Value::string("zk:0")));
        assert!(!ok(&v, Value::string("zk:99999")));
        assert!(!ok(&v, Value::string(":2181")));
        assert!(!ok(&v, Value::string("zk host:2181")));
    }

    #[test]
    fn each_reports_the_index() {
        let v = Validator::Each(Box::new(Validator::HostPort));
        let list = Value::List(vec![Value::string("a:1"), Value::string("b")]);
        let failures = v.check(&list);
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].step, Some(PathStep::Index(1)));
    }

    #[test]
    fn kubernetes_names() {
        let v = Validator::KubernetesName;
        assert!(ok(&v, Value::string("flink-ha-1")));
        assert!(!ok(&v, Value::string("Flink")));
        assert!(!ok(&v, Value::string("-a")));
        assert!(!ok(&v, Value::string("a".repeat(64))));
    }

    #[test]
    fn int_at_least() {
        let v = Validator::IntAtLeast(1);
        assert!(ok(&v, Value::Number(1i64.into())));
        assert!(!ok(&v, Value::Number(0i64.into())));
    }
}
