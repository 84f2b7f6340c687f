//! Each pod's memory limit as a kubelet enforces it: a memory cgroup per pod (cgroup v1's memory
//! controller, or v2 where its memory controller is on) limited as the kubelet's pod cgroup is
//! (`ResourceConfigForPod`): the sum of its app containers' `resources.limits.memory`, or an init
//! container's when larger, only when every app container has one, under one cgroup of this
//! server that goes with it. The kernel kills a process that goes over; the cgroup's OOM-kill
//! count tells an exit after such a kill apart, which is reported as `OOMKilled` (for the first
//! container found exited after it: the count does not say whose process it was). Where no memory
//! cgroup can be made, pods run without one, and the kubelet says so at start.

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

/// A container's memory limit.
fn container_limit(container: &serde_json::Value) -> Option<u64> {
    container["resources"]["limits"]["memory"]
        .as_str()
        .and_then(quantity_bytes)
}

/// The memory a pod may use (its spec `spec`): the sum of its app containers' limits, or the
/// largest init container limit when that is more (init containers run before them, one at a
/// time); none unless every app container has a limit, as a request limits nothing.
pub fn pod_limit(spec: &serde_json::Value) -> Option<u64> {
    let list = |key: &str| spec[key].as_array().cloned().unwrap_or_default();
    let app = list("containers");
    if app.is_empty() {
        return None;
    }
    let sum = app.iter().map(container_limit).sum::<Option<u64>>()?;
    let init = list("initContainers")
        .iter()
        .filter_map(container_limit)
        .max()
        .unwrap_or(0);
    Some(sum.max(init))
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
    fn a_pod_is_limited_to_its_containers_limits_together() {
        let limited = |memory: &str| json!({"resources": {"limits": {"memory": memory}}});
        let both =
            json!({"resources": {"limits": {"memory": "1Gi"}, "requests": {"memory": "1Mi"}}});
        let sidecar = limited("64Mi");
        let spec = json!({"containers": [both, sidecar]});
        assert_eq!(pod_limit(&spec), Some((1 << 30) + (64 << 20)));
        let request = json!({"resources": {"requests": {"memory": "64Mi"}}});
        let spec = json!({"containers": [limited("1Gi"), request]});
        assert_eq!(
            pod_limit(&spec),
            None,
            "one container without a limit: none"
        );
        assert_eq!(pod_limit(&json!({"containers": [{}]})), None);
        let spec = json!({"initContainers": [limited("2Gi"), {}], "containers": [limited("1Gi")]});
        assert_eq!(
            pod_limit(&spec),
            Some(2 << 30),
            "a larger init container's limit"
        );
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
