//! The Flink snapshots under a directory: the directories holding a `_metadata` file, which is
//! what Flink writes last when a savepoint or checkpoint completes, so a directory without one is
//! no state to restore from. Savepoints sit one level down (`<dir>/savepoint-<job>-<id>`),
//! checkpoints two (`<dir>/<job id>/chk-<n>`). `file:` directories are read on the provider's own
//! file system; `s3:` (also `s3a:`, `s3p:`) ones through signed `ListObjectsV2` requests, one
//! level at a time with a `/` delimiter so the state files of large snapshots are never listed.

use super::{bucket_and_prefix, signed_list, sigv4, tag, S3Access, StorageError};
use std::time::SystemTime;
use time::OffsetDateTime;

/// Directories below a snapshot directory that hold state files, never a `_metadata` of their own.
const STATE_FILE_DIRECTORIES: [&str; 2] = ["shared", "taskowned"];

/// How deep below the directory a snapshot can be: a checkpoint's `<job id>/chk-<n>`.
const DEPTH: usize = 2;

/// At most this many listings per lookup, so a directory holding unexpected thousands of
/// subdirectories bounds the plan rather than stalling it.
const MAX_LISTINGS: usize = 200;

/// A completed snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Its directory, in the scheme of the directory looked under (what
    /// `execution.savepoint.path` takes).
    pub location: String,
    /// When its `_metadata` was written.
    pub completed: OffsetDateTime,
}

impl Snapshot {
    /// Whether it is a checkpoint (`chk-<n>`) rather than a savepoint.
    pub fn is_checkpoint(&self) -> bool {
        self.location
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .is_some_and(|last| last.starts_with("chk-"))
    }
}

/// Where a directory is, and how it is read.
pub enum Store<'a> {
    /// On the provider's own file system (`file:`).
    Local,
    /// In S3, with these settings (their `base_uri` is ignored: the directory names the bucket).
    S3(&'a S3Access<'a>),
}

/// Whether the provider can look under `dir` itself: `file:` and S3 URIs.
pub fn readable_scheme(dir: &str) -> Option<Scheme> {
    match dir.split_once(':').map(|(scheme, _)| scheme) {
        Some("file") => Some(Scheme::File),
        Some("s3" | "s3a" | "s3p") => Some(Scheme::S3),
        _ => None,
    }
}

/// The schemes [`readable_scheme`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `file:`.
    File,
    /// `s3:`, `s3a:`, `s3p:`.
    S3,
}

/// Every completed snapshot under `dir`, oldest first; none when `dir` does not exist.
pub async fn under(dir: &str, store: &Store<'_>) -> Result<Vec<Snapshot>, StorageError> {
    let mut found = match store {
        Store::Local => {
            let root = local_path(dir);
            let dir = dir.trim_end_matches('/').to_string();
            tokio::task::spawn_blocking(move || local_snapshots(&root, &dir))
                .await
                .map_err(|e| StorageError::Settings(format!("the lookup stopped: {e}")))??
        }
        Store::S3(access) => s3_snapshots(dir, access).await?,
    };
    found.sort_by_key(|s| s.completed);
    Ok(found)
}

/// Whether `location` holds a completed snapshot (its `_metadata`).
pub async fn is_complete(location: &str, store: &Store<'_>) -> Result<bool, StorageError> {
    match store {
        Store::Local => {
            let metadata = local_path(location).join("_metadata");
            Ok(std::fs::metadata(&metadata).is_ok_and(|m| m.is_file()))
        }
        Store::S3(access) => {
            let (_, prefix) = bucket_and_prefix(location)?;
            let access = S3Access {
                base_uri: location,
                ..**access
            };
            let key = format!("{prefix}/_metadata");
            let query = format!("list-type=2&max-keys=1&prefix={}", sigv4::encode(&key));
            let body = signed_list(&access, &query).await?;
            Ok(entries(&body, "Contents")
                .iter()
                .any(|c| unescape(tag(c, "Key")) == key))
        }
    }
}

/// `file:///x`, `file:/x` and `file://localhost/x` as a path.
fn local_path(uri: &str) -> std::path::PathBuf {
    let rest = uri.trim_start_matches("file:");
    let rest = rest
        .strip_prefix("//localhost")
        .or_else(|| rest.strip_prefix("//"))
        .unwrap_or(rest);
    std::path::Path::new("/").join(rest.trim_start_matches('/'))
}

fn local_snapshots(root: &std::path::Path, uri: &str) -> Result<Vec<Snapshot>, StorageError> {
    let mut found = Vec::new();
    let mut pending = vec![(root.to_path_buf(), uri.to_string(), 0usize)];
    let mut listings = 0;
    while let Some((path, location, depth)) = pending.pop() {
        listings += 1;
        if listings > MAX_LISTINGS {
            break;
        }
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(StorageError::Unreachable {
                    endpoint: path.display().to_string(),
                    message: e.to_string(),
                })
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_file() && name == "_metadata" && depth > 0 {
                let written = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                found.push(Snapshot {
                    location: location.clone(),
                    completed: OffsetDateTime::from(written),
                });
            } else if kind.is_dir()
                && depth < DEPTH
                && !STATE_FILE_DIRECTORIES.contains(&name.as_str())
            {
                pending.push((entry.path(), format!("{location}/{name}"), depth + 1));
            }
        }
    }
    Ok(found)
}

async fn s3_snapshots(dir: &str, access: &S3Access<'_>) -> Result<Vec<Snapshot>, StorageError> {
    let dir = dir.trim_end_matches('/');
    let (bucket, prefix) = bucket_and_prefix(dir)?;
    let scheme = dir.split_once("://").map_or("s3", |(s, _)| s);
    let access = S3Access {
        base_uri: dir,
        ..*access
    };
    let mut found = Vec::new();
    let mut pending = vec![(listing_prefix(prefix), 0usize)];
    let mut listings = 0;
    while let Some((key_prefix, depth)) = pending.pop() {
        let mut token: Option<String> = None;
        loop {
            listings += 1;
            if listings > MAX_LISTINGS {
                return Ok(found);
            }
            let mut query = String::new();
            if let Some(token) = &token {
                query.push_str(&format!("continuation-token={}&", sigv4::encode(token)));
            }
            query.push_str(&format!(
                "delimiter=%2F&list-type=2&prefix={}",
                sigv4::encode(&key_prefix)
            ));
            let body = signed_list(&access, &query).await?;
            for content in entries(&body, "Contents") {
                let key = unescape(tag(content, "Key"));
                if depth > 0 && key == format!("{key_prefix}_metadata") {
                    let completed = OffsetDateTime::parse(
                        tag(content, "LastModified"),
                        &time::format_description::well_known::Rfc3339,
                    )
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                    found.push(Snapshot {
                        location: format!(
                            "{scheme}://{bucket}/{}",
                            key_prefix.trim_end_matches('/')
                        ),
                        completed,
                    });
                }
            }
            if depth < DEPTH {
                for common in entries(&body, "CommonPrefixes") {
                    let child = unescape(tag(common, "Prefix"));
                    let name = child
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or_default();
                    if !STATE_FILE_DIRECTORIES.contains(&name) {
                        pending.push((child, depth + 1));
                    }
                }
            }
            token = (tag(&body, "IsTruncated") == "true")
                .then(|| unescape(tag(&body, "NextContinuationToken")))
                .filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
    }
    Ok(found)
}

/// The key prefix that lists what is under the directory at `prefix` (trimmed of `/`): none for
/// a whole bucket, whose keys do not start with `/`.
fn listing_prefix(prefix: &str) -> String {
    match prefix {
        "" => String::new(),
        prefix => format!("{prefix}/"),
    }
}

/// The bodies of every `<name>` element of a listing.
fn entries<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|part| part.split_once(close.as_str()).map(|(body, _)| body))
        .collect()
}

/// XML's five predefined entities, as S3 escapes keys.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_give_their_entries_and_keys_unescaped() {
        let xml = "<ListBucketResult><Contents><Key>a/b&amp;c/_metadata</Key><LastModified>2026-12-02T10:00:00.000Z</LastModified></Contents>\
                   <CommonPrefixes><Prefix>a/chk-1/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>a/shared/</Prefix></CommonPrefixes></ListBucketResult>";
        let keys: Vec<String> = entries(xml, "Contents")
            .iter()
            .map(|c| unescape(tag(c, "Key")))
            .collect();
        assert_eq!(keys, ["a/b&c/_metadata"]);
        let prefixes: Vec<&str> = entries(xml, "CommonPrefixes")
            .iter()
            .map(|c| tag(c, "Prefix"))
            .collect();
        assert_eq!(prefixes, ["a/chk-1/", "a/shared/"]);
    }

    #[test]
    fn a_whole_bucket_is_listed_without_a_prefix() {
        // S3 keys never start with `/`: a prefix of "/" lists nothing in AWS S3 or MinIO (s3s-fs
        // is lenient there, so the acceptance tests against it cannot tell).
        let prefix = |dir: &str| listing_prefix(bucket_and_prefix(dir).unwrap().1);
        assert_eq!(prefix("s3://savepoints"), "");
        assert_eq!(prefix("s3://savepoints/"), "");
        assert_eq!(prefix("s3://state/flink/savepoints"), "flink/savepoints/");
        assert_eq!(prefix("s3a://state/flink/savepoints/"), "flink/savepoints/");
    }

    #[test]
    fn file_uris_of_every_spelling_are_the_same_path() {
        for uri in ["file:///tmp/x", "file:/tmp/x", "file://localhost/tmp/x"] {
            assert_eq!(local_path(uri), std::path::Path::new("/tmp/x"), "{uri}");
        }
    }

    #[tokio::test]
    async fn local_snapshots_are_the_directories_with_metadata() {
        let root = std::env::temp_dir().join(format!("snapshots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let write = |relative: &str| {
            let path = root.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"x").unwrap();
            // mtimes of files written in the same instant can tie: space them out.
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        write("savepoints/savepoint-aaaaaa-1/_metadata");
        write("savepoints/savepoint-aaaaaa-2/data-file");
        write("checkpoints/0123/chk-7/_metadata");
        write("checkpoints/0123/shared/_metadata");
        write("checkpoints/0123/chk-8/9/_metadata");
        let dir = format!("file://{}", root.display());
        let savepoints = under(&format!("{dir}/savepoints"), &Store::Local)
            .await
            .unwrap();
        let checkpoints = under(&format!("{dir}/checkpoints/"), &Store::Local)
            .await
            .unwrap();
        let locations = |found: &[Snapshot]| -> Vec<String> {
            found.iter().map(|s| s.location.clone()).collect()
        };
        assert_eq!(
            locations(&savepoints),
            [format!("{dir}/savepoints/savepoint-aaaaaa-1")],
            "a directory without _metadata is no snapshot"
        );
        assert_eq!(
            locations(&checkpoints),
            [format!("{dir}/checkpoints/0123/chk-7")],
            "neither a shared-state directory nor anything deeper than a checkpoint is one"
        );
        assert!(!savepoints[0].is_checkpoint() && checkpoints[0].is_checkpoint());
        assert!(savepoints[0].completed < checkpoints[0].completed);
        assert!(is_complete(&checkpoints[0].location, &Store::Local)
            .await
            .unwrap());
        let incomplete = format!("{dir}/savepoints/savepoint-aaaaaa-2");
        assert!(!is_complete(&incomplete, &Store::Local).await.unwrap());
        let missing = format!("{dir}/nothing-here");
        assert!(under(&missing, &Store::Local).await.unwrap().is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
