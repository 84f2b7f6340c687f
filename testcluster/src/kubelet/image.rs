//! Container images as the local kubelet runs them: an official `flink:<tag>` (the provider's
//! default images are such tags) maps to the PyPI distribution of a Flink release, fetched once by
//! `scripts/fetch-flink.sh` into `~/.cache/flinkops/flink/<version>/`. Tags name a release
//! (`2.3.0`, `2.3.0-scala_2.12-java17`) or, as the official image's floating tags do, a minor
//! (`2.2`, `2.2-java17`, `2.2-scala_2.12-java17`), which is its newest patch release: the newest
//! `x.y.z` of `apache-flink-libraries` on the package index (`PIP_INDEX_URL`, else PyPI), or, when
//! the index cannot be asked, the newest already cached. A custom image built `FROM flink:<tag>`
//! with files added (`COPY job.jar /opt/flink/usrlib/`) is made known with `--image
//! NAME=BASE+DIR` ([`CustomImage`]): the base's distribution, with DIR's files laid over the
//! image's filesystem. Anything else cannot be pulled here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// A custom image: an official Flink image with a directory's files added, as a Dockerfile
/// `FROM <base>` with `COPY` lines builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomImage {
    /// The official image it is built from (`flink:2.3.0`).
    pub base: String,
    /// Its files, at their paths in the image (`DIR/opt/flink/usrlib/job.jar` is
    /// `/opt/flink/usrlib/job.jar`).
    pub overlay: PathBuf,
}

/// Where the distribution is mounted read-only (the machine's cache): an overlay cannot add there.
const DISTRIBUTION_DIRS: [&str; 3] = ["opt/flink/lib", "opt/flink/bin", "opt/flink/opt"];

impl CustomImage {
    /// Reads `NAME=BASE+DIR` (`my-job:1=flink:2.3.0+/tmp/my-job`): the name pods give as their
    /// image, the official image it is built from, and the directory of its added files, which
    /// may hold files under `opt/` only (the image's private part here; the rest of a pod's
    /// filesystem is the machine's), and none in Flink's own `lib/`, `bin/` or `opt/`.
    pub fn parse(spec: &str) -> Result<(String, CustomImage), String> {
        let usage = || {
            format!(
                "--image {spec:?}: expected NAME=BASE+DIR, e.g. my-job:1=flink:2.3.0+/tmp/my-job"
            )
        };
        let (name, rest) = spec.split_once('=').ok_or_else(usage)?;
        let (base, dir) = rest.rsplit_once('+').ok_or_else(usage)?;
        if name.is_empty() || base.is_empty() || dir.is_empty() {
            return Err(usage());
        }
        if flink_tag(base).is_none() {
            return Err(format!(
                "--image {spec:?}: the base {base:?} is not an official Flink image (flink:<version>)"
            ));
        }
        let overlay = PathBuf::from(dir);
        let entries = std::fs::read_dir(&overlay)
            .map_err(|e| format!("--image {spec:?}: {}: {e}", overlay.display()))?;
        for entry in entries.flatten() {
            if entry.file_name() != "opt" {
                return Err(format!(
                    "--image {spec:?}: {} is outside opt/: the local kubelet lays an image's files \
                     over its private /opt only",
                    entry.path().display()
                ));
            }
        }
        for sub in DISTRIBUTION_DIRS {
            if overlay.join(sub).exists() {
                return Err(format!(
                    "--image {spec:?}: {} would add to Flink's own /{sub}, which the local kubelet \
                     mounts read-only from the distribution cache; put jars in opt/flink/usrlib \
                     or another directory",
                    overlay.join(sub).display()
                ));
            }
        }
        Ok((
            name.to_string(),
            CustomImage {
                base: base.to_string(),
                overlay,
            },
        ))
    }
}

/// The official image `image` runs on and the files added to it: a custom image's base and
/// overlay, or the image itself.
pub fn resolve<'a>(
    image: &'a str,
    custom: &'a std::collections::BTreeMap<String, CustomImage>,
) -> (&'a str, Option<&'a Path>) {
    match custom.get(image) {
        Some(c) => (c.base.as_str(), Some(c.overlay.as_path())),
        None => (image, None),
    }
}

/// What an official tag names.
#[derive(Debug, Clone, PartialEq)]
pub enum Tag {
    /// A release, `x.y.z`.
    Release(String),
    /// A minor, `x.y`: its newest patch release.
    Minor(String),
}

/// What an official image tag names: `flink:2.3.0-scala_2.12-java17` -> release `2.3.0`,
/// `flink:2.2-java17` -> minor `2.2`; `None` for other images and tags (`latest`, `2`).
pub fn flink_tag(image: &str) -> Option<Tag> {
    let (repository, tag) = image.rsplit_once(':')?;
    let repository = repository.rsplit('/').next()?;
    if repository != "flink" {
        return None;
    }
    let mut words = tag.split('-');
    let version = words.next()?;
    // What may follow the version in official tags: scala_<v> and java<NN>.
    let suffixes_known = words.all(|w| {
        w.strip_prefix("scala_")
            .is_some_and(|v| v.split('.').all(numeric))
            || w.strip_prefix("java").is_some_and(numeric)
    });
    let parts: Vec<&str> = version.split('.').collect();
    if !suffixes_known || !parts.iter().all(|p| numeric(p)) {
        return None;
    }
    match parts.len() {
        3 => Some(Tag::Release(version.to_string())),
        2 => Some(Tag::Minor(version.to_string())),
        _ => None,
    }
}

fn numeric(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_digit())
}

/// The newest patch release of `minor` among `versions` (final releases `x.y.z` only; patches
/// compared as numbers).
pub fn newest_patch<'a>(
    minor: &str,
    versions: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    versions
        .into_iter()
        .filter_map(|v| {
            let (m, patch) = v.rsplit_once('.')?;
            (m == minor && numeric(patch)).then(|| (patch.parse::<u64>().ok(), v))
        })
        .max_by_key(|(patch, _)| *patch)
        .map(|(_, v)| v.to_string())
}

/// The release an official tag runs here, asking the package index for a minor's newest patch.
pub fn flink_release(image: &str, fetch_script: &Path) -> Result<String, String> {
    match flink_tag(image) {
        Some(Tag::Release(version)) => Ok(version),
        Some(Tag::Minor(minor)) => {
            let versions = known_versions(fetch_script);
            newest_patch(&minor, versions.iter().map(String::as_str)).ok_or_else(|| {
                format!("image {image:?}: no Flink {minor}.x release on the package index")
            })
        }
        None => Err(format!(
            "image {image:?} is not an official Flink image this machine can run"
        )),
    }
}

/// The versions of `apache-flink-libraries` on the package index, asked once per process; the
/// cached distributions when it cannot be asked.
fn known_versions(fetch_script: &Path) -> Vec<String> {
    static INDEX: Mutex<Option<Vec<String>>> = Mutex::new(None);
    let Ok(mut asked) = INDEX.lock() else {
        return cached_versions();
    };
    if let Some(versions) = asked.as_ref() {
        return versions.clone();
    }
    match index_versions() {
        Ok(versions) => {
            *asked = Some(versions.clone());
            versions
        }
        Err(e) => {
            eprintln!(
                "kubelet: the package index did not list Flink releases ({e}); minor tags map to \
                 the newest of those {} cached",
                fetch_script.display()
            );
            cached_versions()
        }
    }
}

/// Asks the package index's simple page, as `scripts/fetch-flink.sh` does.
fn index_versions() -> Result<Vec<String>, String> {
    const ASK: &str = r#"
import os, re, urllib.request
index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
with urllib.request.urlopen(f"{index}/apache-flink-libraries/", timeout=20) as r:
    page = r.read().decode()
for v in sorted(set(re.findall(r"apache[-_]flink[-_]libraries-([0-9]+\.[0-9]+\.[0-9]+)[-.]", page))):
    print(v)
"#;
    let out = Command::new("python3")
        .args(["-c", ASK])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect())
}

/// The releases in the distribution cache of `scripts/fetch-flink.sh`.
fn cached_versions() -> Vec<String> {
    let cache = std::env::var_os("FLINK_DIST_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/flinkops/flink"))
        });
    cache
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(".complete").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

/// The distribution directory of `release` (with `lib/` and `bin/bash-java-utils.jar`),
/// downloading it through `fetch_script` when it is not cached yet.
pub fn distribution(release: &str, fetch_script: &Path) -> Result<PathBuf, String> {
    let out = Command::new(fetch_script)
        .arg(release)
        .output()
        .map_err(|e| format!("{}: {e}", fetch_script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "no Flink {release} distribution: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The file systems the official image keeps in `opt/` (`flink-dist`'s `opt` assembly) that the
/// PyPI distribution lacks: their jars cannot be had here, only their names.
const OPT_FILESYSTEMS: &[&str] = &[
    "s3-fs-presto",
    "s3-fs-hadoop",
    "gs-fs-hadoop",
    "azure-fs-hadoop",
    "oss-fs-hadoop",
];

/// The plugins the official image of `release` ships ready in `plugins/` (`flink-dist`'s
/// `plugins` assembly: the metrics reporters and the GPU resource), as (directory, jar); the
/// OpenTelemetry reporter from 2.0 on. PyPI's distribution has none of them, so their jars here
/// are empty archives that load nothing: what they stand for is the layout, which a volume
/// mounted over `plugins/` hides on a real cluster as it does here.
pub fn plugins(release: &str) -> Vec<(String, String)> {
    let major = release
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    let otel = major.is_some_and(|m| m >= 2);
    [
        ("metrics-jmx", "flink-metrics-jmx"),
        ("metrics-graphite", "flink-metrics-graphite"),
        ("metrics-influx", "flink-metrics-influxdb"),
        ("metrics-prometheus", "flink-metrics-prometheus"),
        ("metrics-statsd", "flink-metrics-statsd"),
        ("metrics-datadog", "flink-metrics-datadog"),
        ("metrics-slf4j", "flink-metrics-slf4j"),
        ("metrics-otel", "flink-metrics-otel"),
        ("external-resource-gpu", "flink-external-resource-gpu"),
    ]
    .into_iter()
    .filter(|(dir, _)| otel || *dir != "metrics-otel")
    .map(|(dir, jar)| (dir.to_string(), format!("{jar}-{release}.jar")))
    .collect()
}

/// The jars in `opt/` of the official image of `release`: what the distribution here has, and
/// the file systems' jars by name.
pub fn opt_jars(release: &str, distribution: &Path) -> Vec<String> {
    let mut jars: Vec<String> = std::fs::read_dir(distribution.join("opt"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jar"))
        .chain(
            OPT_FILESYSTEMS
                .iter()
                .map(|fs| format!("flink-{fs}-{release}.jar")),
        )
        .collect();
    jars.sort();
    jars.dedup();
    jars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_has_the_reporters_of_the_release() {
        let dirs =
            |release| -> Vec<String> { plugins(release).into_iter().map(|(d, _)| d).collect() };
        assert!(dirs("1.20.3").contains(&"metrics-prometheus".to_string()));
        assert!(!dirs("1.20.3").contains(&"metrics-otel".to_string()));
        assert!(dirs("2.3.0").contains(&"metrics-otel".to_string()));
        assert!(plugins("2.3.0").contains(&(
            "metrics-prometheus".to_string(),
            "flink-metrics-prometheus-2.3.0.jar".to_string()
        )));
    }

    #[test]
    fn opt_has_the_distributions_jars_and_the_file_systems() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("opt")).unwrap();
        std::fs::write(dir.path().join("opt/flink-python-2.3.0.jar"), "").unwrap();
        let jars = opt_jars("2.3.0", dir.path());
        assert!(jars.contains(&"flink-python-2.3.0.jar".to_string()));
        assert!(jars.contains(&"flink-s3-fs-presto-2.3.0.jar".to_string()));
        assert!(!jars.iter().any(|j| j.contains("1.20")));
    }

    #[test]
    fn official_tags_name_a_release_or_a_minor() {
        let release = |v: &str| Some(Tag::Release(v.into()));
        let minor = |v: &str| Some(Tag::Minor(v.into()));
        assert_eq!(flink_tag("flink:2.3.0-scala_2.12-java17"), release("2.3.0"));
        assert_eq!(
            flink_tag("docker.io/library/flink:1.20.5"),
            release("1.20.5")
        );
        assert_eq!(flink_tag("flink:2.2"), minor("2.2"));
        assert_eq!(flink_tag("flink:2.2-java17"), minor("2.2"));
        assert_eq!(flink_tag("flink:1.20-scala_2.12-java11"), minor("1.20"));
        assert_eq!(flink_tag("flink:latest"), None);
        assert_eq!(flink_tag("flink:2"), None);
        assert_eq!(flink_tag("flink:2.2-debian"), None);
        assert_eq!(flink_tag("registry.example.com/other:1.2.3"), None);
        assert_eq!(flink_tag("busybox:1.36"), None);
    }

    #[test]
    fn a_minor_is_its_newest_patch() {
        // What PyPI listed for apache-flink-libraries (pip index versions, December 2026).
        let index = [
            "2.3.0", "2.2.1", "2.2.0", "2.1.3", "2.1.2", "2.1.1", "2.1.0", "2.0.2", "2.0.1",
            "2.0.0", "1.20.5", "1.20.4", "1.19.3", "1.14.6", "0.0",
        ];
        assert_eq!(newest_patch("2.2", index).as_deref(), Some("2.2.1"));
        assert_eq!(newest_patch("1.20", index).as_deref(), Some("1.20.5"));
        assert_eq!(newest_patch("2.1", index).as_deref(), Some("2.1.3"));
        assert_eq!(newest_patch("2.4", index), None);
        // Patches are numbers, and pre-releases are not releases.
        assert_eq!(
            newest_patch("1.9", ["1.9.9", "1.9.10", "1.9.11rc1"]).as_deref(),
            Some("1.9.10")
        );
    }

    #[test]
    fn custom_images_are_an_official_base_and_files_under_opt() {
        let dir = tempfile::tempdir().unwrap();
        let usrlib = dir.path().join("opt/flink/usrlib");
        std::fs::create_dir_all(&usrlib).unwrap();
        std::fs::write(usrlib.join("job.jar"), b"jar").unwrap();
        let spec = format!(
            "registry.example.com/my-job:1=flink:2.3.0+{}",
            dir.path().display()
        );
        let (name, image) = CustomImage::parse(&spec).unwrap();
        assert_eq!(name, "registry.example.com/my-job:1");
        assert_eq!(image.base, "flink:2.3.0");
        let custom = [(name.clone(), image)].into();
        assert_eq!(resolve(&name, &custom), ("flink:2.3.0", Some(dir.path())));
        assert_eq!(resolve("flink:2.2", &custom), ("flink:2.2", None));
        // An unknown image stays unknown, so it still cannot be pulled.
        assert_eq!(resolve("my-job:2", &custom).1, None);

        let refused = |spec: String, says: &str| {
            let e = CustomImage::parse(&spec).unwrap_err();
            assert!(e.contains(says), "{e}");
        };
        let d = dir.path().display();
        refused("my-job:1".into(), "expected NAME=BASE+DIR");
        refused(
            format!("my-job:1=busybox:1.36+{d}"),
            "not an official Flink image",
        );
        refused("my-job:1=flink:2.3.0+/nonexistent".into(), "/nonexistent");
        std::fs::create_dir_all(dir.path().join("opt/flink/lib")).unwrap();
        refused(
            format!("my-job:1=flink:2.3.0+{d}"),
            "Flink's own /opt/flink/lib",
        );
        std::fs::remove_dir(dir.path().join("opt/flink/lib")).unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        refused(format!("my-job:1=flink:2.3.0+{d}"), "outside opt/");
    }

    #[test]
    fn a_release_tag_needs_no_index_and_other_images_are_refused() {
        let script = Path::new("/nonexistent/fetch-flink.sh");
        assert_eq!(
            flink_release("flink:2.3.0-java17", script).as_deref(),
            Ok("2.3.0")
        );
        let refused = flink_release("busybox:1.36", script).unwrap_err();
        assert!(refused.contains("not an official Flink image"), "{refused}");
    }
}
