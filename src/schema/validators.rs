//! Input checks declared on attributes. Each check knows how to describe itself, so the docs list
//! exactly the values the validator accepts.

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

/// What a failed check reports: summary, detail, and an element index for [`Validator::Each`].
pub(crate) struct Failure {
    pub summary: String,
    pub detail: String,
    pub index: Option<usize>,
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
            Validator::Custom { doc, .. } => (*doc).into(),
        }
    }

    pub(crate) fn check(&self, value: &Value) -> Result<(), Failure> {
        let fail = |summary: String, detail: String| Failure {
            summary,
            detail,
            index: None,
        };
        match (self, value) {
            (Validator::OneOf(allowed), Value::String(s)) if !allowed.contains(&s.as_str()) => {
                Err(fail(
                    format!("Invalid value {s:?}"),
                    format!("{} Got {s:?}.", self.doc()),
                ))
            }
            (Validator::NotBlank, Value::String(s)) if s.trim().is_empty() => Err(fail(
                "Empty value".into(),
                "Set a non-empty value, or remove the attribute to use the default.".into(),
            )),
            (Validator::HostPort, Value::String(s)) => check_host_port(s)
                .map_err(|detail| fail(format!("Malformed host:port {s:?}"), detail)),
            (Validator::NotEmpty, Value::List(items) | Value::Set(items)) if items.is_empty() => {
                Err(fail(
                    "Empty list".into(),
                    "Give at least one element.".into(),
                ))
            }
            (Validator::NotEmpty, Value::Map(items)) if items.is_empty() => {
                Err(fail("Empty map".into(), "Give at least one entry.".into()))
            }
            (Validator::Each(inner), Value::List(items) | Value::Set(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if item.is_wholly_known() && !item.is_null() {
                        inner.check(item).map_err(|f| Failure {
                            index: Some(i),
                            ..f
                        })?;
                    }
                }
                Ok(())
            }
            (Validator::IntAtLeast(min), Value::Number(n)) => match n.as_i64() {
                Some(i) if i >= *min => Ok(()),
                _ => Err(fail(
                    format!("Invalid number {n}"),
                    format!("Use an integer of at least {min}."),
                )),
            },
            (Validator::KubernetesName, Value::String(s)) if !is_dns1123_label(s) => Err(fail(
                format!("Invalid Kubernetes name {s:?}"),
                format!("{} Kubernetes rejects {s:?}.", self.doc()),
            )),
            (Validator::Custom { check, .. }, v) => {
                check(v).map_err(|(summary, detail)| fail(summary, detail))
            }
            _ => Ok(()),
        }
    }
}

/// Whether `s` is a DNS-1123 label, the rule for most Kubernetes object names.
pub fn is_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
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
        v.check(&value).is_ok()
    }

    #[test]
    fn one_of_lists_allowed_values() {
        let v = Validator::OneOf(&["kubernetes", "zookeeper"]);
        assert!(ok(&v, Value::string("zookeeper")));
        let failure = v.check(&Value::string("etcd")).err().unwrap();
        assert!(failure.detail.contains("`kubernetes`, `zookeeper`"));
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
        assert_eq!(v.check(&list).err().unwrap().index, Some(1));
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
