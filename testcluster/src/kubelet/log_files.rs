//! Where the local kubelet keeps each container's output, as a kubelet keeps one log per container
//! instance: `<pod dir>/logs/<container>.log` is the current (or, once it ended, the last) run,
//! `<container>.previous.log` the run before it, which `kubectl logs --previous` serves. A restart
//! moves the current log to the previous one, so older runs are gone as on a node.

use std::path::{Path, PathBuf};

/// The log of `container`'s current or last run in the pod whose directory is `pod_dir`.
pub fn current(pod_dir: &Path, container: &str) -> PathBuf {
    pod_dir.join("logs").join(format!("{container}.log"))
}

/// The log of the run before the current one.
pub fn previous(pod_dir: &Path, container: &str) -> PathBuf {
    pod_dir
        .join("logs")
        .join(format!("{container}.previous.log"))
}

/// Before a new run of `container`: its last run becomes the previous one. Returns the current
/// log's path, its directory created.
pub fn rotate(pod_dir: &Path, container: &str) -> std::io::Result<PathBuf> {
    let current = current(pod_dir, container);
    if let Some(dir) = current.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if current.exists() {
        std::fs::rename(&current, previous(pod_dir, container))?;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_keeps_only_the_run_before() {
        let dir = tempfile::tempdir().unwrap();
        for run in ["first", "second", "third"] {
            let log = rotate(dir.path(), "init").unwrap();
            std::fs::write(&log, run).unwrap();
        }
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(current(dir.path(), "init")), "third");
        assert_eq!(read(previous(dir.path(), "init")), "second");
        assert!(!previous(dir.path(), "main").exists());
    }
}
