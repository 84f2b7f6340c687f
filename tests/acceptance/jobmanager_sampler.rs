//! The job runs at most once (issue 23): while a rollout replaces a deployment's JobManager (a
//! STATEFUL upgrade, a SUSPEND and the resume after it), a thread samples every 200 ms which of
//! the deployment's JobManager pods are Running and report a job RUNNING on Flink's
//! `/jobs/overview` (reached at the pod's IP, as the other local-cluster tests reach Flink). Two
//! at once would be two JobManagers serving the job, each writing its output.

use crate::cluster::Cluster;
use crate::local_cluster::http_get;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the pods are sampled.
const EVERY: Duration = Duration::from_millis(200);

/// What the samples saw.
#[derive(Debug, Default)]
pub struct Samples {
    /// How many samples were taken.
    pub taken: usize,
    /// How many of them found one JobManager serving the job.
    pub serving: usize,
    /// The samples that found more than one, each as the pods and the jobs they ran.
    pub overlaps: Vec<String>,
}

impl Samples {
    /// Asserts no sample saw two JobManagers serving the job, and that the sampler saw the job
    /// served at all (a sampler that never reached Flink proves nothing).
    pub fn assert_one_jobmanager(&self, during: &str) {
        eprintln!(
            "JobManager samples during {during}: {} taken, {} with one serving the job, {} with \
             more",
            self.taken,
            self.serving,
            self.overlaps.len()
        );
        assert!(
            self.overlaps.is_empty(),
            "two JobManagers served the job during {during}: {:?}",
            self.overlaps
        );
        assert!(
            self.serving > 0,
            "no sample during {during} reached a JobManager serving the job ({} taken)",
            self.taken
        );
    }
}

/// A running sampler of one deployment's JobManager pods.
pub struct JobManagerSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Samples>,
}

impl JobManagerSampler {
    /// Starts sampling the JobManager pods of deployment `deployment_id` in the cluster.
    pub fn start(cluster: &Cluster, deployment_id: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let kubectl = cluster.kubectl_args();
        let selector =
            format!("component=jobmanager,flink.flinkops.io/deployment-id={deployment_id}");
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Samples::default();
            while !stopped.load(Ordering::SeqCst) {
                let serving = serving_jobmanagers(&kubectl, &selector);
                samples.taken += 1;
                match serving.len() {
                    0 => {}
                    1 => samples.serving += 1,
                    _ => samples.overlaps.push(serving.join(", ")),
                }
                std::thread::sleep(EVERY);
            }
            samples
        });
        JobManagerSampler { stop, thread }
    }

    /// Stops sampling; what the samples saw.
    pub fn finish(self) -> Samples {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("the sampler thread")
    }
}

/// The JobManager pods matching `selector` that are Running and report a job RUNNING, each as
/// `pod: job id`.
fn serving_jobmanagers(kubectl: &[String], selector: &str) -> Vec<String> {
    let Ok(out) = Command::new("timeout")
        .args(["10", "kubectl"])
        .args(kubectl)
        .args(["get", "pods", "-l", selector, "-o", "json"])
        .output()
    else {
        return Vec::new();
    };
    let Ok(pods) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        return Vec::new();
    };
    pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["status"]["phase"] == "Running")
        .filter_map(|p| {
            let name = p["metadata"]["name"].as_str()?;
            let ip = p["status"]["podIP"].as_str()?;
            let overview = http_get(&format!("{ip}:8081"), "/jobs/overview")?;
            let overview: serde_json::Value = serde_json::from_str(&overview).ok()?;
            let running = overview["jobs"]
                .as_array()?
                .iter()
                .find(|j| j["state"] == "RUNNING")?;
            Some(format!(
                "{name}: {}",
                running["jid"].as_str().unwrap_or("?")
            ))
        })
        .collect()
}
