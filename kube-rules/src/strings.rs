//! The string rules of `k8s.io/apimachinery/pkg/util/validation` (`IsDNS1123Label`,
//! `IsDNS1123Subdomain`, `IsDNS1035Label`, `IsQualifiedName`, `IsValidLabelValue`,
//! `IsConfigMapKey`, `IsEnvVarName` and the relaxed environment variable name of 1.32,
//! `IsValidPortNum`, `IsValidPortName`) and the image rule of `pkg/apis/core/validation`, each
//! returning its messages, worded as there. An empty list means the value is valid.

fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// `RegexError`: the message, its examples and the regex.
fn regex_error(message: &str, regex: &str, examples: &[&str]) -> String {
    let mut out = message.to_string();
    if examples.is_empty() {
        return format!("{out} (regex used for validation is '{regex}')");
    }
    out.push_str(" (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{e}', "));
    }
    out.push_str(&format!("regex used for validation is '{regex}')"));
    out
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, optionally requiring a leading letter (DNS-1035).
fn is_label(s: &str, alpha_first: bool) -> bool {
    let b = s.as_bytes();
    let Some((&first, &last)) = b.first().zip(b.last()) else {
        return false;
    };
    let first_ok = if alpha_first {
        first.is_ascii_lowercase()
    } else {
        first.is_ascii_lowercase() || first.is_ascii_digit()
    };
    first_ok
        && (last.is_ascii_lowercase() || last.is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn is_subdomain(s: &str) -> bool {
    s.split('.').all(|part| is_label(part, false))
}

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

/// `IsDNS1123Label`.
pub fn dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !is_label(value, false) {
        if is_subdomain(value) {
            errs.push("must not contain dots".into());
        } else {
            errs.push(regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// `IsDNS1123Subdomain`.
pub fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if !is_subdomain(value) {
        errs.push(regex_error(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            &["example.com"],
        ));
    }
    errs
}

/// `IsDNS1035Label` (Service names).
pub fn dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !is_label(value, true) {
        errs.push(regex_error(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
            "[a-z]([-a-z0-9]*[a-z0-9])?",
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])`.
fn is_qualified_part(s: &str) -> bool {
    let b = s.as_bytes();
    let Some((&first, &last)) = b.first().zip(b.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// `IsQualifiedName` (label and annotation keys).
pub fn qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".into());
            } else {
                errs.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".into());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len_error(63)));
    }
    if !is_qualified_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// `IsValidLabelValue`.
pub fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !value.is_empty() && !is_qualified_part(value) {
        errs.push(regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?",
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `hasChDirPrefix`.
fn ch_dir_prefix(value: &str) -> Option<String> {
    match value {
        "." => Some("must not be '.'".into()),
        ".." => Some("must not be '..'".into()),
        v if v.starts_with("..") => Some("must not start with '..'".into()),
        _ => None,
    }
}

/// `IsConfigMapKey` (ConfigMap and Secret keys).
pub fn config_map_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
    if !ok {
        errs.push(regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            "[-._a-zA-Z0-9]+",
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    errs.extend(ch_dir_prefix(value));
    errs
}

/// `IsEnvVarName`: the rule every API server version accepts (`[-._a-zA-Z][-._a-zA-Z0-9]*`, and
/// no `..` prefix), where the relaxed rule of 1.32 needs a new enough cluster.
pub fn env_var_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let b = value.as_bytes();
    let ok = b.first().is_some_and(|c| !c.is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
    if !ok {
        errs.push(regex_error(
            "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
            "[-._a-zA-Z][-._a-zA-Z0-9]*",
            &["my.env-name", "MY_ENV.NAME", "MyEnvName1"],
        ));
    }
    errs.extend(ch_dir_prefix(value));
    errs
}

/// A container's `image`: required, and without leading or trailing whitespace (the checks of
/// `validateContainerCommon` and `ValidatePodSpec`); whitespace inside is refused too, since no
/// image reference has any and the kubelet could never pull it.
pub fn image(value: &str) -> Vec<String> {
    if value.is_empty() {
        return vec!["Required value".into()];
    }
    if value.trim() != value {
        return vec!["must not have leading or trailing whitespace".into()];
    }
    if value.chars().any(char::is_whitespace) {
        return vec!["must not contain whitespace".into()];
    }
    Vec::new()
}

/// `IsRelaxedEnvVarName` (the `RelaxedEnvironmentVariableValidation` rule, on by default in 1.32).
pub fn relaxed_env_var_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.is_empty() {
        errs.push("environment variable name must be non-empty".into());
    }
    if value.chars().any(|c| !(' '..='~').contains(&c) || c == '=') {
        errs.push(
            "a valid environment variable name must consist only of printable ASCII characters other than '='"
                .into(),
        );
    }
    errs
}

/// `IsValidPortNum`.
pub fn port_number(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) {
        Vec::new()
    } else {
        vec!["must be between 1 and 65535, inclusive".into()]
    }
}

/// `IsValidPortName` (IANA_SVC_NAME).
pub fn port_name(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push(max_len_error(15));
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !name.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names_as_is_env_var_name() {
        for ok in ["JAVA_HOME", "my.env-name", "_x", "-a", "MyEnvName1"] {
            assert!(env_var_name(ok).is_empty(), "{ok}");
        }
        assert_eq!(
            env_var_name("1 bad=name"),
            ["a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"]
        );
        assert_eq!(env_var_name("").len(), 1);
        assert_eq!(env_var_name("1A").len(), 1);
        assert_eq!(env_var_name("..A"), ["must not start with '..'"]);
    }

    #[test]
    fn images() {
        assert!(image("flink:2.3.0-scala_2.12-java17").is_empty());
        assert_eq!(image(""), ["Required value"]);
        assert_eq!(
            image(" flink"),
            ["must not have leading or trailing whitespace"]
        );
        assert_eq!(image("flink 2"), ["must not contain whitespace"]);
    }

    #[test]
    fn lengths_at_their_boundaries() {
        let at = |n: usize| "a".repeat(n);
        assert!(dns1123_label(&at(63)).is_empty());
        assert_eq!(
            dns1123_label(&at(64)),
            ["must be no more than 63 characters"]
        );
        assert!(dns1035_label(&at(63)).is_empty());
        assert_eq!(dns1035_label(&at(64)).len(), 1);
        assert!(dns1123_subdomain(&at(253)).is_empty());
        assert_eq!(dns1123_subdomain(&at(254)).len(), 1);
        assert!(label_value(&at(63)).is_empty());
        assert_eq!(label_value(&at(64)), ["must be no more than 63 characters"]);
        assert!(qualified_name(&at(63)).is_empty());
        assert_eq!(
            qualified_name(&at(64)),
            ["name part must be no more than 63 characters"]
        );
        let prefix = format!("{}/n", at(253));
        assert!(qualified_name(&prefix).is_empty());
        let too_long = format!("{}/n", at(254));
        assert_eq!(
            qualified_name(&too_long),
            ["prefix part must be no more than 253 characters"]
        );
        assert_eq!(qualified_name("bad label!").len(), 1);
        assert!(qualified_name("Upper.Case_ok-1").is_empty());
    }

    #[test]
    fn flink_ha_config_map_names_are_subdomains_not_labels() {
        // Flink's HA ConfigMaps: a UUID cluster id and a 32-digit job id, longer than a label.
        let long = format!(
            "{}-{}-config-map",
            "4c9a3a42-0484-55fc-96ac-8bf98640cd6a",
            "0".repeat(32)
        );
        assert!(long.len() > 63 && dns1123_subdomain(&long).is_empty());
        assert!(!dns1123_label(&long).is_empty());
        assert!(!dns1123_subdomain("a..b").is_empty() && !dns1123_subdomain("-a").is_empty());
        assert_eq!(
            dns1123_subdomain(&"a".repeat(254)),
            ["must be no more than 253 characters"]
        );
    }

    #[test]
    fn names_as_apimachinery_words_them() {
        // RegexError's examples run together as `'a',  or 'b', regex ...`, two spaces and all.
        assert_eq!(dns1123_label("A")[0], "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
        assert!(dns1123_subdomain("flink-ha.config-map").is_empty());
        assert_eq!(
            dns1123_subdomain("Bad_Name"),
            [
                r"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ]
        );
        assert_eq!(dns1123_label("a.b"), ["must not contain dots"]);
        assert_eq!(
            dns1123_label(&"a".repeat(64)),
            ["must be no more than 63 characters"]
        );
        assert!(dns1035_label("1abc")[0].starts_with("a DNS-1035 label must consist"));
        assert!(dns1035_label("abc-1").is_empty());
    }

    #[test]
    fn label_keys_values_and_config_keys() {
        assert!(qualified_name("app.kubernetes.io/name").is_empty());
        assert_eq!(qualified_name("/x"), ["prefix part must be non-empty"]);
        assert_eq!(qualified_name("a/b/c").len(), 1);
        assert!(qualified_name("-x")[0]
            .starts_with("name part must consist of alphanumeric characters"));
        assert!(label_value("").is_empty());
        assert!(label_value("a b")[0].starts_with("a valid label must be an empty string"));
        assert!(config_map_key("flink-conf.yaml").is_empty());
        assert_eq!(config_map_key("..data"), ["must not start with '..'"]);
        assert_eq!(config_map_key("a/b").len(), 1);
        assert!(relaxed_env_var_name("1_OK.but-relaxed").is_empty());
        assert_eq!(relaxed_env_var_name("A=B").len(), 1);
        assert_eq!(port_number(0), ["must be between 1 and 65535, inclusive"]);
        assert!(port_name("rest").is_empty());
        assert_eq!(
            port_name("8081"),
            ["must contain at least one letter (a-z)"]
        );
    }
}
