//! Real checks of high availability: the HA configuration `flink_provider::flink::render` produces
//! works with real parts. `zookeeper` starts Debian's ZooKeeper and real Flink JobManagers on our
//! rendered ZooKeeper HA configuration and shows each becomes leader under its own
//! `<path_root>/<deployment id>`; `kubernetes` starts the Kubernetes API test server in-process and
//! a real JobManager on our rendered Kubernetes HA configuration, shows Flink's own fabric8 client
//! elects it leader and writes its HA ConfigMaps there, and checks every request it made is allowed
//! by the provider's Roles. Missing Java, Flink jars or ZooKeeper fail the tests; nothing is skipped.

// A test binary: a failed setup step should stop the test with its error.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flink_provider::flink::logging::render_log4j_console;
use flink_provider::flink::render::{render, HighAvailability, ProcessResources, RenderInput};
use flink_provider::flink::FlinkVersion;

mod kubernetes;
mod rbac;
#[path = "../realflink_config/support.rs"]
mod support;
mod zookeeper;
mod zookeeper_server;

use support::{
    flink_home, free_port, http_get, java_module_options, start_session_jobmanager, JobManager,
};

/// One JobManager of a deployment, started on our rendered configuration.
pub struct Started {
    /// The process.
    pub jm: JobManager,
    /// Its REST port.
    pub rest_port: u16,
    /// What we rendered.
    pub configuration: BTreeMap<String, String>,
    /// Its working directory (configuration, logs, blob storage).
    pub work: PathBuf,
    /// The Flink distribution it runs (`lib/`, `bin/`).
    pub home: PathBuf,
}

/// A fresh working directory for one check.
pub fn workdir(name: &str) -> PathBuf {
    let work = std::env::temp_dir().join(format!("realflink-ha-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("conf")).unwrap();
    work
}

/// Renders the configuration of deployment `deployment_id` in `namespace` with `ha` (blob storage
/// on `file://` under `work`, so the HA storage directory comes from our blob storage layout), and
/// starts a real session JobManager of `version` on it, with the environment `env`.
pub fn start_deployment(
    version: FlinkVersion,
    work: &Path,
    namespace: &str,
    deployment_id: &str,
    ha: HighAvailability,
    env: &[(&str, &Path)],
) -> Started {
    let home = flink_home(version.tested_patch());
    let lib = home.join("lib");
    let conf = work.join("conf");
    let (rest_port, rpc_port) = (free_port(), free_port());
    let user: BTreeMap<String, String> = [
        ("rest.address", "127.0.0.1".to_string()),
        ("rest.bind-address", "127.0.0.1".to_string()),
        ("rest.port", rest_port.to_string()),
        ("jobmanager.rpc.address", "127.0.0.1".to_string()),
        ("jobmanager.bind-host", "127.0.0.1".to_string()),
        ("jobmanager.rpc.port", rpc_port.to_string()),
        ("taskmanager.bind-host", "127.0.0.1".to_string()),
        ("taskmanager.host", "127.0.0.1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let input = RenderInput {
        version,
        namespace: namespace.into(),
        deployment_id: deployment_id.into(),
        job_id: None,
        user,
        from_secrets: Default::default(),
        parallelism: Some(1),
        task_slots: Some(1),
        jobmanager: ProcessResources {
            memory: Some("1024m".into()),
            cpu: Some(0.5),
        },
        taskmanager: ProcessResources {
            memory: Some("1024m".into()),
            cpu: Some(0.5),
        },
        blob_storage: Some(format!("file://{}", work.join("blobs").display())),
        high_availability: Some(ha),
        queryable_state: false,
        owned: BTreeMap::new(),
    };
    let rendered = render(&input);
    assert!(
        !rendered.has_errors(),
        "{version} {deployment_id}: {:?}",
        rendered.issues
    );
    std::fs::write(conf.join("config.yaml"), &rendered.config_yaml).unwrap();
    let log4j = render_log4j_console("INFO", &BTreeMap::new()).unwrap();
    std::fs::write(conf.join("log4j-console.properties"), log4j).unwrap();
    let mut jvm = java_module_options(&rendered.configuration);
    assert!(
        jvm.iter().any(|o| o.starts_with("--add-opens")),
        "{version}: no Java module options rendered"
    );
    jvm.push(format!(
        "-Dlog4j.configurationFile=file:{}",
        conf.join("log4j-console.properties").display()
    ));
    jvm.push(format!(
        "-Dlog.file={}",
        work.join("jobmanager.log").display()
    ));
    let jm = start_session_jobmanager(&lib, &conf, work, &jvm, env);
    Started {
        jm,
        rest_port,
        configuration: rendered.configuration,
        work: work.to_path_buf(),
        home,
    }
}

impl Started {
    /// Waits until the REST API answers `/overview` (which needs the leading Dispatcher: with HA,
    /// only after the JobManager won the election), failing with the log when it exits or times out.
    pub fn wait_for_overview(&mut self, what: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.jm.child.try_wait().unwrap() {
                panic!("{what}: JobManager exited with {status}:\n{}", self.log());
            }
            match http_get(self.rest_port, "/overview") {
                Ok((200, body)) => return body,
                _ if Instant::now() > deadline => panic!(
                    "{what}: /overview did not answer in {limit:?}:\n{}",
                    self.log()
                ),
                _ => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }

    /// The configuration the running JobManager reports (`GET /jobmanager/config`).
    pub fn flink_config(&self) -> BTreeMap<String, String> {
        let (code, body) = http_get(self.rest_port, "/jobmanager/config").unwrap();
        assert_eq!(code, 200, "{body}");
        let entries: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        entries
            .iter()
            .filter_map(|e| {
                Some((
                    e["key"].as_str()?.to_string(),
                    e["value"].as_str()?.to_string(),
                ))
            })
            .collect()
    }

    /// Starts a TaskManager of the same deployment on the same configuration, with the
    /// environment `env`, as Flink's launch scripts do: memory options and dynamic properties from
    /// `BashJavaUtils`, then `TaskManagerRunner`. Its output goes to `work/taskmanager.out`.
    pub fn start_taskmanager(&self, env: &[(&str, &Path)]) -> JobManager {
        let conf = self.work.join("conf");
        let lib = self.home.join("lib");
        let out = std::process::Command::new("java")
            .arg("-cp")
            .arg(format!(
                "{}:{}/*",
                self.home.join("bin/bash-java-utils.jar").display(),
                lib.display()
            ))
            .arg("org.apache.flink.runtime.util.bash.BashJavaUtils")
            .arg("GET_TM_RESOURCE_PARAMS")
            .arg("--configDir")
            .arg(&conf)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let results: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("BASH_JAVA_UTILS_EXEC_RESULT:"))
            .collect();
        assert_eq!(results.len(), 2, "BashJavaUtils said:\n{text}");
        let log = self.work.join("taskmanager.out");
        let file = std::fs::File::create(&log).unwrap();
        let mut command = std::process::Command::new("java");
        command
            .args(results[0].split_whitespace())
            .args(java_module_options(&self.configuration))
            .arg(format!(
                "-Dlog4j.configurationFile=file:{}",
                conf.join("log4j-console.properties").display()
            ))
            .arg(format!(
                "-Dlog.file={}",
                self.work.join("taskmanager.log").display()
            ))
            .arg("-cp")
            .arg(format!("{}/*", lib.display()))
            .arg("org.apache.flink.runtime.taskexecutor.TaskManagerRunner")
            .arg("--configDir")
            .arg(&conf)
            .args(results[1].split_whitespace())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (k, v) in env {
            command.env(k, v);
        }
        JobManager {
            child: command.spawn().unwrap(),
            log,
        }
    }

    /// The tail of its console output and of its log file.
    pub fn log(&self) -> String {
        let file = std::fs::read_to_string(self.work.join("jobmanager.log")).unwrap_or_default();
        let lines: Vec<&str> = file.lines().collect();
        format!(
            "--- console ---\n{}\n--- jobmanager.log (tail) ---\n{}",
            self.jm.log_tail(),
            lines[lines.len().saturating_sub(80)..].join("\n")
        )
    }
}
