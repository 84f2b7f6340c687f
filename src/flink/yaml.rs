//! Writes a flat, sorted configuration map as Flink's standard-YAML `config.yaml`: one top-level
//! entry per dotted key (Flink 1.19+ reads flat and nested keys alike), every value a
//! double-quoted YAML string so that YAML never retypes it (`on`, `1e3`, `08`, `~`) and Flink
//! converts it to the option's type as it does for any string. [`from_config_yaml`] reads that
//! form back (import recovers values the ConfigMap's recorded inputs keep only a digest of).

use std::collections::BTreeMap;
use std::fmt::Write;

/// The `config.yaml` text of `config`, deterministic (key order, no timestamps).
pub fn to_config_yaml(config: &BTreeMap<String, String>) -> String {
    let mut out = String::from(
        "# Rendered by terraform-provider-flink. Do not edit: changes are reverted on apply.\n",
    );
    for (k, v) in config {
        let _ = writeln!(out, "{}: {}", quote_key(k), quote(v));
    }
    out
}

/// The entries of a `config.yaml` that [`to_config_yaml`] wrote; lines in any other form are
/// skipped.
pub fn from_config_yaml(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (key, rest) = match line.strip_prefix('"') {
                Some(quoted) => {
                    let (key, len) = unquote(quoted)?;
                    (key, &quoted[len..])
                }
                None => {
                    let (key, _) = line.split_once(": ")?;
                    (key.to_string(), &line[key.len()..])
                }
            };
            let body = rest.strip_prefix(": \"")?;
            let (value, len) = unquote(body)?;
            // The closing quote ends the line.
            (len == body.len()).then_some((key, value))
        })
        .collect()
}

/// The string a double-quoted scalar holds, from after its opening quote, and how many bytes
/// it took up to and including its closing quote.
fn unquote(text: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'x' => {
                    let hex: String = [chars.next()?.1, chars.next()?.1].iter().collect();
                    out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// A key plain when YAML reads it back as the same string, else double-quoted.
fn quote_key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if plain {
        k.to_string()
    } else {
        quote(k)
    }
}

/// A YAML double-quoted scalar.
pub fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(s, "\\x{:02x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("on"), "\"on\"");
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(
            quote_key("$internal.pipeline.job-id"),
            "\"$internal.pipeline.job-id\""
        );
        assert_eq!(quote_key("parallelism.default"), "parallelism.default");
    }

    #[test]
    fn reads_back_what_it_writes() {
        let m: BTreeMap<String, String> = [
            ("parallelism.default", "4"),
            ("$internal.pipeline.job-id", "abc"),
            ("weird \"key\"", "v"),
            ("env.java.opts.all", "a\"b\\c\nd\te\u{1}f: \"g\" ☃"),
            ("big", &"x".repeat(1 << 20)),
            ("empty", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(from_config_yaml(&to_config_yaml(&m)), m);
        assert!(from_config_yaml("a: b\nc: \"unterminated\n").is_empty());
    }

    #[test]
    fn sorted_lines() {
        let m: BTreeMap<String, String> = [("b.x", "1"), ("a.y", "true")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let y = to_config_yaml(&m);
        assert!(y.ends_with("a.y: \"true\"\nb.x: \"1\"\n"), "{y}");
    }
}
