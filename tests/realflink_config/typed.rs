//! Flink's own reading of a rendered file: its typed getters (`TypedRead.java`, compiled against the
//! version's jars) and the memory computation of its launch scripts (`BashJavaUtils`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use flink_provider::flink::options::{Catalogue, OptionType};
use flink_provider::flink::values::{
    duration_nanos, iso_duration_nanos, memory_bytes, type_mismatch,
};
use flink_provider::flink::FlinkVersion;

/// Asserts that Flink's typed getters read every key of `config` (written to `conf/config.yaml`)
/// as the value we meant, by the option's type in the version's catalogue.
pub fn assert_typed(
    version: FlinkVersion,
    lib: &Path,
    work: &Path,
    conf: &Path,
    config: &BTreeMap<String, String>,
) {
    let cat = Catalogue::of(version);
    let keys: Vec<(String, OptionType)> = config
        .keys()
        .map(|k| {
            (
                k.clone(),
                cat.get(k)
                    .map(|s| s.ty.clone())
                    .unwrap_or(OptionType::String),
            )
        })
        .collect();
    let typed = typed_reads(lib, work, conf, &keys);
    let mistyped: Vec<String> = keys
        .iter()
        .filter_map(|(k, ty)| {
            let want = expected_typed(ty, &config[k]);
            let got = typed.get(k).cloned().unwrap_or_else(|| "<nothing>".into());
            (got != want).then(|| format!("{k} ({ty:?}): Flink typed {got:?}, we meant {want:?}"))
        })
        .collect();
    assert!(
        mistyped.is_empty(),
        "{version}: Flink's typed reads differ:\n{}",
        mistyped.join("\n")
    );
    eprintln!(
        "{version}: Flink's typed getters read all {} keys as meant",
        keys.len()
    );
}

/// What Flink's own typed getters make of each rendered key (see `TypedRead.java`), in the form
/// `expected_typed` predicts.
pub fn typed_reads(
    lib: &Path,
    work: &Path,
    conf: &Path,
    keys: &[(String, OptionType)],
) -> BTreeMap<String, String> {
    let src = work.join("TypedRead.java");
    std::fs::write(&src, include_str!("TypedRead.java")).unwrap();
    let cp = format!("{}/*", lib.display());
    let javac = Command::new("javac")
        .arg("-nowarn")
        .arg("-d")
        .arg(work)
        .arg("-cp")
        .arg(&cp)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        javac.status.success(),
        "javac TypedRead: {}",
        String::from_utf8_lossy(&javac.stderr)
    );
    let mut child = Command::new("java")
        .arg("-cp")
        .arg(format!("{cp}:{}", work.display()))
        .arg("TypedRead")
        .arg(conf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for (k, ty) in keys {
        let (name, class) = match ty {
            OptionType::Boolean => ("Boolean", ""),
            OptionType::Integer => ("Integer", ""),
            OptionType::Long => ("Long", ""),
            OptionType::Double => ("Double", ""),
            OptionType::Duration => ("Duration", ""),
            OptionType::MemorySize => ("MemorySize", ""),
            OptionType::Map => ("Map", ""),
            OptionType::Enum { class, .. } => ("Enum", class.as_str()),
            _ => ("String", ""),
        };
        input.push_str(&format!("{k}\t{name}\t{class}\n"));
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The typed value we mean by `ours`, as `TypedRead` prints Flink's.
fn expected_typed(ty: &OptionType, ours: &str) -> String {
    match ty {
        OptionType::Boolean => ours.to_lowercase(),
        OptionType::Duration => duration_nanos(ours)
            .or_else(|| iso_duration_nanos(ours))
            .map(|n| n.to_string())
            .unwrap_or_default(),
        OptionType::MemorySize => memory_bytes(ours)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        OptionType::Double => ours
            .parse::<f64>()
            .map(|d| format!("{d:?}"))
            .unwrap_or_default(),
        OptionType::Enum { constants, .. } => constants
            .iter()
            .find(|c| c.eq_ignore_ascii_case(ours))
            .cloned()
            .unwrap_or_default(),
        OptionType::Map => {
            let m: BTreeMap<&str, &str> = ours
                .split(',')
                .filter_map(|kv| kv.split_once(':'))
                .collect();
            let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{{{}}}", inner.join(", "))
        }
        _ => ours.to_string(),
    }
}

/// What Flink's launch scripts compute from the file (`BashJavaUtils`, as the image's
/// `jobmanager.sh`/`taskmanager.sh` run it): the JVM memory options of both process kinds.
pub fn memory_params(home: &Path, conf: &Path, version: FlinkVersion) {
    for command in ["GET_JM_RESOURCE_PARAMS", "GET_TM_RESOURCE_PARAMS"] {
        let out = Command::new("java")
            .arg("-cp")
            .arg(format!(
                "{}:{}/*",
                home.join("bin/bash-java-utils.jar").display(),
                home.join("lib").display()
            ))
            .arg("org.apache.flink.runtime.util.bash.BashJavaUtils")
            .arg(command)
            .arg("--configDir")
            .arg(conf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let results = text
            .lines()
            .filter(|l| l.starts_with("BASH_JAVA_UTILS_EXEC_RESULT:"))
            .count();
        assert!(
            out.status.success() && results >= 2,
            "{version}: BashJavaUtils {command} rejected the configuration:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Our value checks agree with Flink's parsers: each sample value of each type is accepted by
/// `type_mismatch` exactly when Flink's typed getter reads it.
pub fn assert_value_checks_agree(version: FlinkVersion, lib: &Path, work: &Path) {
    let cat = Catalogue::of(version);
    let mode = cat
        .get("execution.checkpointing.mode")
        .map(|s| s.ty.clone())
        .unwrap();
    let samples: Vec<(OptionType, &str)> = [
        (
            OptionType::Boolean,
            &["true", "FALSE", "True", " true", "yes", "1", ""][..],
        ),
        (
            OptionType::Integer,
            &["4", "+4", "-4", "4 ", "4.0", "2147483648", "0x10", ""],
        ),
        (OptionType::Long, &["4000000000", "-1", "1e3", " 1"]),
        (
            OptionType::Double,
            &["0.5", " 0.5", "1e3", "-2", "abc", ".5"],
        ),
        (
            OptionType::Duration,
            &[
                "10 s",
                "10s",
                "1min",
                "500 ms",
                "2 h",
                "1 d",
                "30",
                " 7 seconds ",
                "1.5 s",
                "-1 s",
                "PT10S",
                "pt1m",
                "10 parsecs",
                "P1DT2H",
            ],
        ),
        (
            OptionType::MemorySize,
            &[
                "1024m",
                "1 gb",
                "512 MB",
                "4g",
                "1073741824",
                "1.5g",
                "1 gigabyte",
                " 64 kb ",
            ],
        ),
        (
            mode,
            &[
                "EXACTLY_ONCE",
                "at_least_once",
                "At_Least_Once",
                " EXACTLY_ONCE",
                "twice",
            ],
        ),
    ]
    .into_iter()
    .flat_map(|(ty, values)| values.iter().map(move |v| (ty.clone(), *v)))
    .collect();
    let conf = work.join("probe");
    std::fs::create_dir_all(&conf).unwrap();
    let mut yaml = String::new();
    let mut keys = Vec::new();
    for (i, (ty, v)) in samples.iter().enumerate() {
        yaml.push_str(&format!(
            "probe.k{i}: {}\n",
            flink_provider::flink::yaml::quote(v)
        ));
        keys.push((format!("probe.k{i}"), ty.clone()));
    }
    std::fs::write(conf.join("config.yaml"), yaml).unwrap();
    let flink = typed_reads(lib, work, &conf, &keys);
    assert_eq!(
        flink.len(),
        keys.len(),
        "{version}: TypedRead answered {} of {} probes",
        flink.len(),
        keys.len()
    );
    let rejected = flink.values().filter(|r| r.starts_with("ERROR")).count();
    eprintln!(
        "{version}: our value checks agree with Flink on {} samples ({rejected} rejected by both)",
        keys.len()
    );
    let disagree: Vec<String> = samples
        .iter()
        .zip(&keys)
        .filter_map(|((ty, v), (k, _))| {
            let flink_ok = flink
                .get(k)
                .is_some_and(|r| !r.starts_with("ERROR") && r != "null");
            let ours_ok = type_mismatch(ty, v, cat.iso_durations).is_none();
            (flink_ok != ours_ok)
                .then(|| format!("{ty:?} {v:?}: Flink accepts: {flink_ok}, we accept: {ours_ok}"))
        })
        .collect();
    assert!(
        disagree.is_empty(),
        "{version}: value checks disagree with Flink:\n{}",
        disagree.join("\n")
    );
}
