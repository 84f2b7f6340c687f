//! Each pod's memory limit as a kubelet enforces it: a memory cgroup per pod (cgroup v1's memory
//! controller, or v2 where its memory controller is on) limited to the container's
//! `resources.limits.memory` (else its requests), under one cgroup of this server that goes with
//! it. The kernel kills a process that goes over; the cgroup's OOM-kill count tells an exit after
//! such a kill apart, which is reported as `OOMKilled`. Where no memory cgroup can be made, pods
//! run without one, and the kubelet says so at start.

use std::path::{Path, PathBuf};

/// Where the memory controller is mounted, and how its files are named there.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Version {
    V1,
    V2,
}

impl Version {
    fn limit_file(self) -> &'static str {
        match self {
            Version::V1 => "memory.limit_in_bytes",
            Version::V2 => "memory.max",
        }
    }

    /// The file with the `oom_kill <n>` line.
    fn events_file(self) -> &'static str {
        match self {
            Version::V1 => "memory.oom_control",
            Version::V2 => "memory.events",
        }
    }
}

/// This server's cgroup, parent of the pods' ones; removed when dropped.
pub struct Root {
    dir: PathBuf,
    version: Version,
}

impl Root {
    /// Creates this server's cgroup in the memory hierarchy, or says why there is none.
    pub fn create() -> Result<Root, String> {
        let v1 = Path::new("/sys/fs/cgroup/memory");
        let v2 = Path::new("/sys/fs/cgroup");
        let (base, version) = if v1.join(Version::V1.limit_file()).exists() {
            (v1, Version::V1)
        } else if std::fs::read_to_string(v2.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"))
        {
            (v2, Version::V2)
        } else {
            return Err("no cgroup memory controller is mounted".into());
        };
        let dir = base.join(format!("kube-test-server-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if version == Version::V2 {
            std::fs::write(dir.join("cgroup.subtree_control"), "+memory")
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(Root { dir, version })
    }

    /// A cgroup for pod number `n` limited to `bytes`.
    pub fn pod(&self, n: u32, bytes: u64) -> Result<PodMemory, String> {
        let dir = self.dir.join(format!("pod-{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let pod = PodMemory {
            dir,
            version: self.version,
        };
        let limit = pod.dir.join(self.version.limit_file());
        std::fs::write(&limit, bytes.to_string())
            .map_err(|e| format!("{}: {e}", limit.display()))?;
        Ok(pod)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// One pod's memory cgroup; removed when dropped (its processes must be gone by then).
pub struct PodMemory {
    dir: PathBuf,
    version: Version,
}

impl PodMemory {
    /// The file a process joins the cgroup through (writing its pid).
    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// How many processes the kernel killed in it for going over the limit.
    pub fn oom_kills(&self) -> u64 {
        std::fs::read_to_string(self.dir.join(self.version.events_file()))
            .map(|text| oom_kills_in(&text))
            .unwrap_or_default()
    }
}

impl Drop for PodMemory {
    fn drop(&mut self) {
        // The kernel lets a cgroup go only once its last process has been reaped.
        for _ in 0..20 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

fn oom_kills_in(events: &str) -> u64 {
    events
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_default()
}

/// Bytes of a Kubernetes memory quantity (`1024Mi`, `1Gi`, `512M`, `1073741824`, `1e9`); `None`
/// for what is not one, or a fraction of a byte.
pub fn quantity_bytes(quantity: &str) -> Option<u64> {
    let q = quantity.trim();
    let split = q
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let factor: f64 = match suffix {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "m" => 1e-3,
        _ => return None,
    };
    let bytes = number.parse::<f64>().ok()? * factor;
    (bytes >= 1.0 && bytes.is_finite()).then(|| bytes.ceil() as u64)
}

/// The memory a container may use: its limit, else its request.
pub fn container_limit(container: &serde_json::Value) -> Option<u64> {
    let resources = &container["resources"];
    [
        &resources["limits"]["memory"],
        &resources["requests"]["memory"],
    ]
    .into_iter()
    .find_map(|q| q.as_str().and_then(quantity_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn memory_quantities_are_bytes() {
        assert_eq!(quantity_bytes("1024Mi"), Some(1 << 30));
        assert_eq!(quantity_bytes("1Gi"), Some(1 << 30));
        assert_eq!(quantity_bytes("512M"), Some(512_000_000));
        assert_eq!(quantity_bytes("1073741824"), Some(1 << 30));
        assert_eq!(quantity_bytes("1e3"), Some(1000));
        assert_eq!(quantity_bytes("lots"), None);
        assert_eq!(quantity_bytes("100m"), None, "a tenth of a byte");
    }

    #[test]
    fn the_limit_wins_over_the_request() {
        let both =
            json!({"resources": {"limits": {"memory": "1Gi"}, "requests": {"memory": "1Mi"}}});
        assert_eq!(container_limit(&both), Some(1 << 30));
        let request = json!({"resources": {"requests": {"memory": "64Mi"}}});
        assert_eq!(container_limit(&request), Some(64 << 20));
        assert_eq!(container_limit(&json!({})), None);
    }

    #[test]
    fn oom_kills_are_read_from_either_version() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
        assert_eq!(oom_kills_in(v1), 2);
        let v2 = "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(oom_kills_in(v2), 1);
        assert_eq!(oom_kills_in(""), 0);
    }
}
