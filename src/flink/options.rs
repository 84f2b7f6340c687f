//! The option catalogue of each supported version: every key Flink's own `ConfigOption` fields
//! define (flink-dist and the table API), its value type, and whether it is deprecated or an
//! alternative name of another key. The data files `options/<minor>.tsv` are generated from the
//! real jars by `tools/flink-options/generate.sh` and embedded here; they also carry the Java 17
//! module options of the distribution's default configuration and Flink's sensitive-key fragments.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::versions::FlinkVersion;

/// The value type of an option, as Flink's `ConfigOption` declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionType {
    /// `true` / `false`.
    Boolean,
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    Long,
    /// Floating point (`Float` or `Double`).
    Double,
    /// Any text.
    String,
    /// A duration such as `10 s`, `1min`, `500ms`.
    Duration,
    /// A memory size such as `1024m`, `1 gb`.
    MemorySize,
    /// One of the constants (matched case-insensitively, as Flink does).
    Enum {
        /// The Java enum class, e.g. `org.apache.flink.core.execution.CheckpointingMode`.
        class: String,
        /// Its constants.
        constants: Vec<String>,
    },
    /// `k1:v1,k2:v2`.
    Map,
    /// A `;`-separated list of the inner type.
    List(Box<OptionType>),
    /// Another class (not checked).
    Other(String),
}

/// Whether a key is current, deprecated, or another name of a current key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionStatus {
    /// A current key.
    Current,
    /// A deprecated option with no named replacement.
    Deprecated,
    /// A deprecated alternative name of `replacement`.
    DeprecatedKey {
        /// The key to use instead.
        replacement: String,
    },
    /// A fallback name of `replacement` (still read, not deprecated).
    Fallback {
        /// The primary key.
        replacement: String,
    },
}

/// One key of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSpec {
    /// The value type.
    pub ty: OptionType,
    /// Current, deprecated or alias.
    pub status: OptionStatus,
}

/// The catalogue of one Flink version.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// The Flink release the data was extracted from, e.g. `1.20.5`.
    pub flink_release: String,
    /// `env.java.opts.all` of the distribution's default configuration (Java 17 module options).
    pub java_opts: String,
    /// Fragments Flink's `GlobalConfiguration` treats as sensitive (lower case).
    pub sensitive: Vec<String>,
    /// Whether durations may also be ISO-8601 (`PT10S`): Flink 2.1 on.
    pub iso_durations: bool,
    /// Every key.
    pub options: BTreeMap<String, OptionSpec>,
}

impl Catalogue {
    /// The catalogue of `version` (parsed once, then shared).
    pub fn of(version: FlinkVersion) -> &'static Catalogue {
        static CELLS: [OnceLock<Catalogue>; 6] = [const { OnceLock::new() }; 6];
        let i = FlinkVersion::ALL
            .iter()
            .position(|v| *v == version)
            .unwrap_or(0);
        CELLS[i].get_or_init(|| parse(data(version)).unwrap_or_default())
    }

    /// The spec of `key`, if Flink defines it.
    pub fn get(&self, key: &str) -> Option<&OptionSpec> {
        self.options.get(key)
    }

    /// The name this version reads `key` under: the replacement of a deprecated or fallback name,
    /// else `key` itself. E.g. `state.checkpoints.dir` is `execution.checkpointing.dir` from 1.20.
    pub fn preferred<'a>(&'a self, key: &'a str) -> &'a str {
        match self.options.get(key).map(|s| &s.status) {
            Some(OptionStatus::DeprecatedKey { replacement })
            | Some(OptionStatus::Fallback { replacement }) => replacement,
            _ => key,
        }
    }

    /// Whether this version ships the Queryable State options.
    pub fn has_queryable_state(&self) -> bool {
        self.options.contains_key("queryable-state.enable")
    }
}

/// The embedded data file of `version`.
pub fn data(version: FlinkVersion) -> &'static str {
    match version {
        FlinkVersion::V1_19 => include_str!("options/1.19.tsv"),
        FlinkVersion::V1_20 => include_str!("options/1.20.tsv"),
        FlinkVersion::V2_0 => include_str!("options/2.0.tsv"),
        FlinkVersion::V2_1 => include_str!("options/2.1.tsv"),
        FlinkVersion::V2_2 => include_str!("options/2.2.tsv"),
        FlinkVersion::V2_3 => include_str!("options/2.3.tsv"),
    }
}

/// Parses a catalogue data file; the error names the first malformed line.
pub fn parse(text: &str) -> Result<Catalogue, String> {
    let mut c = Catalogue::default();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["#flink-version", v] => c.flink_release = v.to_string(),
            ["#java-opts", v] => {
                c.java_opts = if *v == "-" {
                    String::new()
                } else {
                    v.to_string()
                }
            }
            ["#duration-iso8601", v] => c.iso_durations = *v == "yes",
            ["#sensitive", v] => {
                c.sensitive = v.split(',').map(|s| s.trim().to_lowercase()).collect()
            }
            [key, ty, detail, status, repl] if !key.starts_with('#') => {
                let status = match *status {
                    "ok" => OptionStatus::Current,
                    "deprecated" => OptionStatus::Deprecated,
                    "deprecated-key" => OptionStatus::DeprecatedKey {
                        replacement: repl.to_string(),
                    },
                    "fallback" => OptionStatus::Fallback {
                        replacement: repl.to_string(),
                    },
                    other => return Err(format!("line {}: status {other:?}", n + 1)),
                };
                c.options.insert(
                    key.to_string(),
                    OptionSpec {
                        ty: parse_type(ty, detail),
                        status,
                    },
                );
            }
            _ => return Err(format!("line {}: {line:?}", n + 1)),
        }
    }
    Ok(c)
}

fn parse_type(ty: &str, detail: &str) -> OptionType {
    if let Some(inner) = ty.strip_prefix("List<").and_then(|t| t.strip_suffix('>')) {
        return OptionType::List(Box::new(parse_type(inner, detail)));
    }
    match ty {
        "Boolean" => OptionType::Boolean,
        "Integer" => OptionType::Integer,
        "Long" => OptionType::Long,
        "Float" | "Double" => OptionType::Double,
        "String" => OptionType::String,
        "Duration" => OptionType::Duration,
        "MemorySize" => OptionType::MemorySize,
        "Map" => OptionType::Map,
        other => match other
            .strip_prefix("Enum<")
            .and_then(|t| t.strip_suffix('>'))
        {
            Some(class) => OptionType::Enum {
                class: class.to_string(),
                constants: detail.split(',').map(str::to_string).collect(),
            },
            None => OptionType::Other(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_parses_and_names_its_release() {
        for v in FlinkVersion::ALL {
            let c = parse(data(v)).unwrap();
            assert_eq!(c.flink_release, v.tested_patch());
            assert!(c.options.len() > 900, "{v}: {}", c.options.len());
            assert!(
                c.java_opts
                    .contains("--add-opens=java.base/java.lang=ALL-UNNAMED"),
                "{v}"
            );
            assert!(c.sensitive.contains(&"password".to_string()));
            assert_eq!(Catalogue::of(v).options.len(), c.options.len());
            assert_eq!(c.iso_durations, v >= FlinkVersion::V2_1, "{v}");
        }
    }

    #[test]
    fn key_names_per_version() {
        let c119 = Catalogue::of(FlinkVersion::V1_19);
        assert_eq!(
            c119.preferred("state.checkpoints.dir"),
            "state.checkpoints.dir"
        );
        assert_eq!(
            c119.preferred("state.savepoints.dir"),
            "state.savepoints.dir"
        );
        for v in &FlinkVersion::ALL[1..] {
            let c = Catalogue::of(*v);
            assert_eq!(
                c.preferred("state.checkpoints.dir"),
                "execution.checkpointing.dir",
                "{v}"
            );
            assert_eq!(
                c.preferred("state.savepoints.dir"),
                "execution.checkpointing.savepoint-dir"
            );
        }
        for v in FlinkVersion::ALL {
            let c = Catalogue::of(v);
            assert_eq!(c.preferred("high-availability"), "high-availability.type");
            assert!(c.has_queryable_state(), "{v}");
            assert_eq!(
                c.get("security.ssl.enabled").is_some(),
                v.major() == 1,
                "{v}"
            );
        }
    }

    #[test]
    fn types_are_read() {
        let c = Catalogue::of(FlinkVersion::V2_3);
        assert_eq!(
            c.get("parallelism.default").map(|s| &s.ty),
            Some(&OptionType::Integer)
        );
        assert_eq!(
            c.get("taskmanager.memory.process.size").map(|s| &s.ty),
            Some(&OptionType::MemorySize)
        );
        assert_eq!(
            c.get("execution.checkpointing.interval").map(|s| &s.ty),
            Some(&OptionType::Duration)
        );
        assert!(
            matches!(c.get("execution.checkpointing.mode").map(|s| &s.ty), Some(OptionType::Enum { constants, .. }) if constants.contains(&"EXACTLY_ONCE".to_string()))
        );
        assert!(parse("bad line").is_err());
    }
}
