//! Container images as the local kubelet runs them: an official `flink:<version>[-...]` tag (the
//! provider's default images are such tags) maps to the PyPI distribution of that Flink version,
//! fetched once by `scripts/fetch-flink.sh` into `~/.cache/flinkops/flink/<version>/`. Anything
//! else cannot be pulled here.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Flink release of an official image tag: `flink:2.3.0-scala_2.12-java17` -> `2.3.0`.
pub fn flink_release(image: &str) -> Option<String> {
    let (repository, tag) = image.rsplit_once(':')?;
    let repository = repository.rsplit('/').next()?;
    if repository != "flink" {
        return None;
    }
    let release = tag.split('-').next()?;
    let parts: Vec<&str> = release.split('.').collect();
    let numeric = parts
        .iter()
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    (numeric && parts.len() == 3).then(|| release.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_tags_map_to_releases() {
        assert_eq!(
            flink_release("flink:2.3.0-scala_2.12-java17").as_deref(),
            Some("2.3.0")
        );
        assert_eq!(
            flink_release("docker.io/library/flink:1.20.5").as_deref(),
            Some("1.20.5")
        );
        assert_eq!(flink_release("flink:latest"), None);
        assert_eq!(flink_release("registry.example.com/other:1.2.3"), None);
        assert_eq!(flink_release("busybox:1.36"), None);
    }
}
