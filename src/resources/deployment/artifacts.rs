//! The job's artifacts (pure): where each jar comes from, and what the pods do about it. An
//! `http(s)://` jar is downloaded into the `usrlib` emptyDir by the `fetch-artifacts` init
//! container (and checked against its `sha256` or `dependency_sha256` there, before the
//! JobManager starts); a
//! `local://` (or `file://`) jar is already in the image, so there is no download and no `usrlib`
//! volume hiding the image's own `usrlib/`. Flink's `standalone-job` entrypoint puts every jar in
//! `/opt/flink/usrlib` on the job's classpath (`ClusterEntrypointUtils.tryFindUserLibDirectory`);
//! an image jar elsewhere is named with `--jars` (`StandaloneApplicationClusterConfigurationParserFactory`,
//! Flink 1.19 to 2.3), whose `LocalArtifactFetcher` takes the file where it is, and which makes it
//! a job jar that the TaskManagers load from the JobManager's blob server.

use super::resolve::Artifact;

/// Where Flink's `standalone-job` looks for the job's jars.
pub const USRLIB_DIR: &str = "/opt/flink/usrlib";
/// The image of the init container that downloads artifacts, unless `fetcher_image` says
/// otherwise.
pub const DEFAULT_FETCHER_IMAGE: &str = "busybox:1.36";

/// The image of the init container that copies `s3://` artifacts with the blob storage's
/// credentials, unless `s3_fetcher_image` says otherwise.
pub const DEFAULT_S3_FETCHER_IMAGE: &str = "amazon/aws-cli:2.22.0";

/// Where one artifact comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source<'a> {
    /// Downloaded by the init container into `usrlib/<file>`.
    Download { url: &'a str, file: &'a str },
    /// Copied from S3 (`s3://` or `s3a://bucket/key`) by the S3 init container into
    /// `usrlib/<file>`, with the blob storage's credentials and endpoint.
    S3 { uri: &'a str, file: &'a str },
    /// A file of the image, at this absolute path.
    InImage { path: &'a str },
}

/// The source of `uri`, `None` for a scheme the provider cannot run.
pub fn source(uri: &str) -> Option<Source<'_>> {
    let file = || {
        uri.split(['?', '#'])
            .next()
            .and_then(|u| u.rsplit('/').next())
            .filter(|n| !n.is_empty() && !n.contains(':'))
            .unwrap_or("job.jar")
    };
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return Some(Source::Download {
            url: uri,
            file: file(),
        });
    }
    if uri.starts_with("s3://") || uri.starts_with("s3a://") {
        return Some(Source::S3 { uri, file: file() });
    }
    let path = uri
        .strip_prefix("local://")
        .or_else(|| uri.strip_prefix("file://"))?;
    Some(Source::InImage { path })
}

/// The plan-time check of an artifact URI: a download URL with a host, or an absolute path of a
/// jar in the image.
pub fn check_uri(uri: &str) -> Result<(), (String, String)> {
    let unsupported = || {
        (
            format!("Unsupported artifact URI {uri:?}"),
            "Use local:///<path>.jar for a jar already in the image (e.g. \
             local:///opt/flink/usrlib/job.jar), an http(s):// URL, or an s3:// object \
             (fetched with blob_storage's credentials), which an init container downloads \
             before the JobManager starts."
                .to_string(),
        )
    };
    match source(uri).ok_or_else(unsupported)? {
        Source::Download { url, .. } => {
            let authority = url.split_once("://").map_or("", |(_, rest)| rest);
            let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
            // Without user information and port: `http://:80/` names no host.
            let host = authority.rsplit('@').next().unwrap_or_default();
            let host = match host.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or_default(),
                None => host.split(':').next().unwrap_or_default(),
            };
            if host.is_empty() || url.contains(char::is_whitespace) {
                return Err((
                    format!("Malformed artifact URL {uri:?}"),
                    "Give the URL of the jar with its host, e.g. \
                     https://repo.example.com/jobs/job.jar."
                        .into(),
                ));
            }
            Ok(())
        }
        Source::S3 { uri, .. } => {
            let (bucket, key) = uri
                .split_once("://")
                .and_then(|(_, rest)| rest.split_once('/'))
                .unwrap_or_default();
            if bucket.is_empty()
                || key.is_empty()
                || key.ends_with('/')
                || uri.contains(char::is_whitespace)
            {
                return Err((
                    format!("Malformed S3 artifact URI {uri:?}"),
                    "Name the bucket and the object's key, e.g. s3://jobs/orders/job.jar.".into(),
                ));
            }
            Ok(())
        }
        Source::InImage { path } => {
            let absolute = path.starts_with('/') && !path.starts_with("//");
            let jar = path.ends_with(".jar") && path.len() > ".jar".len() + 1;
            let clean = !path.contains(char::is_whitespace)
                && !path.split('/').any(|segment| segment == "..");
            if absolute && jar && clean {
                return Ok(());
            }
            let scheme = uri.split("://").next().unwrap_or("local");
            Err((
                format!("Invalid path in artifact URI {uri:?}"),
                format!(
                    "A {scheme}:// URI names a jar already in the image by its absolute path, \
                     which ends in .jar: three slashes, e.g. {scheme}:///opt/flink/usrlib/job.jar."
                ),
            ))
        }
    }
}

/// The plan-time check of a `sha256`: 64 hexadecimal characters.
pub fn check_sha256(digest: &str) -> Result<(), (String, String)> {
    if digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(());
    }
    Err((
        format!("Invalid sha256 {digest:?}"),
        format!(
            "Give the SHA-256 digest of the jar as 64 hexadecimal characters, as `sha256sum \
             job.jar` prints it ({} characters given).",
            digest.chars().count()
        ),
    ))
}

/// The job jar first, then the additional dependencies.
fn uris(artifact: &Artifact) -> impl Iterator<Item = &String> {
    std::iter::once(&artifact.jar_uri).chain(&artifact.additional_dependencies)
}

/// The digest to check for `uri` of `artifact`, if one is given.
fn digest<'a>(artifact: &'a Artifact, uri: &String) -> Option<&'a str> {
    if uri == &artifact.jar_uri {
        artifact.sha256.as_deref()
    } else {
        artifact.dependency_sha256.get(uri).map(String::as_str)
    }
}

/// The downloads of the `http(s)://` init container: URL, file name in `usrlib`, the digest to
/// check.
pub fn downloads(artifact: &Artifact) -> Vec<(&str, &str, Option<&str>)> {
    uris(artifact)
        .filter_map(|uri| match source(uri)? {
            Source::Download { url, file } => Some((url, file, digest(artifact, uri))),
            _ => None,
        })
        .collect()
}

/// The copies of the S3 init container: URI, file name in `usrlib`, the digest to check.
pub fn s3_downloads(artifact: &Artifact) -> Vec<(&str, &str, Option<&str>)> {
    uris(artifact)
        .filter_map(|uri| match source(uri)? {
            Source::S3 { uri: object, file } => Some((object, file, digest(artifact, uri))),
            _ => None,
        })
        .collect()
}

/// Whether anything is fetched into `usrlib` before the JobManager starts.
pub fn fetches(artifact: &Artifact) -> bool {
    !downloads(artifact).is_empty() || !s3_downloads(artifact).is_empty()
}

/// Quotes a word for `sh`.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// The lines that check a fetched file's digest, failing with `container`'s name.
fn digest_check(container: &str, target: &str, shown: &str, expected: &str) -> String {
    let expected = expected.to_ascii_lowercase();
    format!(
        "actual=$(sha256sum {target} | cut -d ' ' -f 1)\n\
         if [ \"$actual\" != {expected} ]; then echo \"{container}: sha256 mismatch \
         for \"{shown}\": expected {expected}, actual $actual\" >&2; exit 1; fi"
    )
}

/// The init container's script: each download in turn, then its digest. A failure prints a line
/// naming the URL (wget's own output is quiet) and keeps wget's exit code, so the pod's
/// `initContainerStatuses` and log say what failed.
pub fn fetch_script(downloads: &[(&str, &str, Option<&str>)]) -> String {
    let mut lines = vec!["set -u".to_string()];
    for (url, file, digest) in downloads {
        let target = quote(&format!("{USRLIB_DIR}/{file}"));
        let shown = quote(url);
        lines.push(format!(
            "wget -q -O {target} {shown} || {{ code=$?; echo \"fetch-artifacts: cannot \
             download \"{shown}\" (wget exit code $code)\" >&2; exit $code; }}"
        ));
        if let Some(expected) = digest {
            lines.push(digest_check("fetch-artifacts", &target, &shown, expected));
        }
    }
    lines.join("\n")
}

/// The name of the init container that copies `s3://` artifacts.
pub const S3_FETCHER: &str = "fetch-s3-artifacts";

/// The S3 init container's script: `aws s3 cp` of each object (an `s3a://` URI read as the
/// `s3://` one it names) at the blob storage's `endpoint`, with path-style addressing when the
/// storage says so (in a configuration file under the container's writable `/tmp`), then its
/// digest. A failure names the object and keeps aws's exit code and message.
pub fn s3_fetch_script(
    downloads: &[(&str, &str, Option<&str>)],
    endpoint: Option<&str>,
    path_style: bool,
) -> String {
    let mut lines = vec!["set -u".to_string()];
    if path_style {
        lines.push(
            "printf '[default]\\ns3 =\\n    addressing_style = path\\n' > /tmp/aws-config\n\
             export AWS_CONFIG_FILE=/tmp/aws-config"
                .to_string(),
        );
    }
    let endpoint = endpoint
        .map(|e| format!(" --endpoint-url {}", quote(e)))
        .unwrap_or_default();
    for (uri, file, digest) in downloads {
        let target = quote(&format!("{USRLIB_DIR}/{file}"));
        let object = quote(&uri.replacen("s3a://", "s3://", 1));
        lines.push(format!(
            "aws s3 cp --only-show-errors{endpoint} {object} {target} || {{ code=$?; echo \
             \"{S3_FETCHER}: cannot copy \"{object}\" (aws exit code $code)\" >&2; exit $code; }}"
        ));
        if let Some(expected) = digest {
            lines.push(digest_check(S3_FETCHER, &target, &object, expected));
        }
    }
    lines.join("\n")
}

/// The JobManager's `--jars` value: the image's jars outside `usrlib` (Flink finds those in it
/// by itself), comma-separated as Flink's parser splits it. Each as `local://`: Flink's
/// `ArtifactFetchManager` takes a `local://` file where it is, but copies a `file://` one into
/// `user.artifacts.base-dir`, which a read-only root filesystem does not allow.
pub fn jars_outside_usrlib(artifact: &Artifact) -> Option<String> {
    let outside: Vec<String> = uris(artifact)
        .filter_map(|uri| match source(uri)? {
            Source::InImage { path } if !in_usrlib(path) => Some(format!("local://{path}")),
            _ => None,
        })
        .collect();
    (!outside.is_empty()).then(|| outside.join(","))
}

fn in_usrlib(path: &str) -> bool {
    path.strip_prefix(USRLIB_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// An image jar under `usrlib/` that the download volume mounted there would hide, if the
/// artifact mixes the two.
pub fn hidden_by_downloads(artifact: &Artifact) -> Option<&str> {
    if !fetches(artifact) {
        return None;
    }
    uris(artifact).find_map(|uri| match source(uri)? {
        Source::InImage { path } if in_usrlib(path) => Some(uri.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(jar: &str, deps: &[&str], sha256: Option<&str>) -> Artifact {
        Artifact {
            jar_uri: jar.into(),
            entry_class: None,
            main_args: vec![],
            additional_dependencies: deps.iter().map(|d| d.to_string()).collect(),
            sha256: sha256.map(String::from),
            dependency_sha256: Default::default(),
            fetcher_image: DEFAULT_FETCHER_IMAGE.into(),
            s3_fetcher_image: DEFAULT_S3_FETCHER_IMAGE.into(),
        }
    }

    #[test]
    fn uris_are_downloads_or_paths_in_the_image() {
        assert_eq!(
            source("https://repo.example.com/a/job.jar?x=1"),
            Some(Source::Download {
                url: "https://repo.example.com/a/job.jar?x=1",
                file: "job.jar"
            })
        );
        assert_eq!(
            source("local:///opt/flink/usrlib/job.jar"),
            Some(Source::InImage {
                path: "/opt/flink/usrlib/job.jar"
            })
        );
        assert_eq!(
            source("file:///opt/job.jar"),
            Some(Source::InImage {
                path: "/opt/job.jar"
            })
        );
        assert_eq!(
            source("s3a://jobs/orders/job.jar"),
            Some(Source::S3 {
                uri: "s3a://jobs/orders/job.jar",
                file: "job.jar"
            })
        );
        assert_eq!(source("gs://bucket/job.jar"), None);
    }

    #[test]
    fn plan_accepts_absolute_jar_paths_and_urls_with_a_host() {
        for ok in [
            "local:///opt/flink/usrlib/job.jar",
            "local:///opt/flink/artifacts/my-job-1.0.jar",
            "file:///opt/flink/usrlib/job.jar",
            "https://repo.example.com/job.jar",
            "http://10.0.0.1:8080/job.jar",
        ] {
            assert_eq!(check_uri(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("local://opt/flink/usrlib/job.jar", "three slashes"),
            ("local:///opt/flink/usrlib/job.zip", "ends in .jar"),
            ("local:///opt/flink/usrlib/", "ends in .jar"),
            ("local:///opt/../etc/job.jar", "absolute path"),
            ("local:///opt/my job.jar", "absolute path"),
            ("http://", "with its host"),
            ("https:///job.jar", "with its host"),
            ("gs://bucket/job.jar", "local:///opt/flink/usrlib/job.jar"),
            ("s3://bucket", "bucket and the object's key"),
            ("s3://bucket/dir/", "bucket and the object's key"),
            ("s3:///job.jar", "bucket and the object's key"),
            ("/opt/flink/usrlib/job.jar", "local:///"),
        ] {
            let (summary, detail) = check_uri(bad).unwrap_err();
            assert!(summary.contains(bad), "{summary}");
            assert!(detail.contains(says), "{bad}: {detail}");
        }
    }

    #[test]
    fn sha256_is_64_hex_characters() {
        let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(check_sha256(digest), Ok(()));
        assert_eq!(check_sha256(&digest.to_uppercase()), Ok(()));
        let (_, detail) = check_sha256(&digest[1..]).unwrap_err();
        assert!(detail.contains("63 characters given"), "{detail}");
        assert!(check_sha256(&format!("{}g", &digest[1..])).is_err());
    }

    #[test]
    fn the_fetch_script_names_the_url_and_both_digests_on_failure() {
        let digest = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let mut a = artifact(
            "https://repo.example.com/job.jar",
            &[
                "https://repo.example.com/udf's.jar",
                "https://repo.example.com/checked.jar",
                "local:///opt/lib.jar",
            ],
            Some(digest),
        );
        let other = "1".repeat(64);
        a.dependency_sha256 = [(
            "https://repo.example.com/checked.jar".to_string(),
            other.clone(),
        )]
        .into();
        let found = downloads(&a);
        assert_eq!(
            found,
            [
                ("https://repo.example.com/job.jar", "job.jar", Some(digest)),
                ("https://repo.example.com/udf's.jar", "udf's.jar", None),
                (
                    "https://repo.example.com/checked.jar",
                    "checked.jar",
                    Some(other.as_str())
                ),
            ]
        );
        let script = fetch_script(&found);
        assert!(
            script.contains("wget -q -O '/opt/flink/usrlib/job.jar' 'https://repo.example.com/job.jar' || { code=$?;"),
            "{script}"
        );
        assert!(
            script.contains(&format!(
                "if [ \"$actual\" != {} ]",
                digest.to_ascii_lowercase()
            )),
            "{script}"
        );
        assert!(
            script.contains("expected 9f86d08") && script.contains("actual $actual"),
            "{script}"
        );
        assert!(
            script.contains(r"'/opt/flink/usrlib/udf'\''s.jar'"),
            "{script}"
        );
        assert_eq!(script.matches("sha256sum").count(), 2, "{script}");
    }

    /// The script as busybox's (here the machine's) `sh` runs it: a mismatch fails naming both
    /// digests, a match passes.
    #[test]
    fn the_digest_check_runs_in_sh() {
        let dir = tempfile::tempdir().unwrap();
        let jar = dir.path().join("job.jar");
        std::fs::write(&jar, b"test").unwrap();
        let good = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let check = |expected: &str| {
            let script = fetch_script(&[("http://h/job.jar", "job.jar", Some(expected))]);
            // Only the check: the download is the init container's.
            let check = script
                .lines()
                .skip_while(|l| !l.starts_with("actual="))
                .collect::<Vec<_>>()
                .join("\n")
                .replace(USRLIB_DIR, &dir.path().display().to_string());
            std::process::Command::new("sh")
                .args(["-c", &check])
                .output()
                .unwrap()
        };
        assert!(check(good).status.success());
        let bad = "0".repeat(64);
        let out = check(&bad);
        assert_eq!(out.status.code(), Some(1));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(&format!(
                "sha256 mismatch for http://h/job.jar: expected {bad}, actual {good}"
            )),
            "{said}"
        );
    }

    #[test]
    fn image_jars_outside_usrlib_go_to_jars_and_usrlib_ones_to_nothing() {
        let a = artifact(
            "local:///opt/flink/artifacts/job.jar",
            &["local:///opt/flink/usrlib/udf.jar", "file:///opt/lib/x.jar"],
            None,
        );
        assert_eq!(
            jars_outside_usrlib(&a).as_deref(),
            Some("local:///opt/flink/artifacts/job.jar,local:///opt/lib/x.jar")
        );
        assert!(downloads(&a).is_empty());
        let usrlib = artifact("local:///opt/flink/usrlib/job.jar", &[], None);
        assert_eq!(jars_outside_usrlib(&usrlib), None);
        assert_eq!(hidden_by_downloads(&usrlib), None);
        // Not fooled by a sibling directory's name.
        let sibling = artifact("local:///opt/flink/usrlib2/job.jar", &[], None);
        assert!(jars_outside_usrlib(&sibling).is_some());
    }

    #[test]
    fn a_download_would_hide_the_images_usrlib() {
        let a = artifact(
            "local:///opt/flink/usrlib/job.jar",
            &["https://repo.example.com/udf.jar"],
            None,
        );
        assert_eq!(
            hidden_by_downloads(&a),
            Some("local:///opt/flink/usrlib/job.jar")
        );
        let elsewhere = artifact(
            "local:///opt/flink/artifacts/job.jar",
            &["https://repo.example.com/udf.jar"],
            None,
        );
        assert_eq!(hidden_by_downloads(&elsewhere), None);
    }
}
