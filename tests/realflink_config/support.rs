//! Process and HTTP plumbing of the real-Flink check: the real jars, a JobManager killed on every
//! path, free ports and a plain HTTP/1.0 GET.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A JobManager process, killed on every path.
pub struct JobManager {
    /// The java process.
    pub child: Child,
    /// Its stdout and stderr.
    pub log: PathBuf,
}

impl Drop for JobManager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl JobManager {
    /// The last 60 lines of its output.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The directory of a real Flink release (downloaded if missing); fails when it cannot be had.
pub fn flink_home(release: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-flink.sh");
    let out = Command::new(&script)
        .arg(release)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} {release} failed: the real Flink jars are required",
        script.display()
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// `GET path` over plain HTTP/1.0: the status code and body.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let (head, body) = buf.split_once("\r\n\r\n").unwrap_or((&buf, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, body.to_string()))
}

/// The Java 17 module options (`--add-opens`, `--add-exports`) a rendered configuration carries,
/// from the key Flink's launch scripts read them from (`env.java.default-opts.all` from 1.19 on,
/// else `env.java.opts.all`).
#[allow(dead_code)] // not every test binary that includes this file starts a JobManager this way
pub fn java_module_options(
    configuration: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    ["env.java.default-opts.all", "env.java.opts.all"]
        .into_iter()
        .find_map(|k| configuration.get(k))
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Starts a session JobManager (`StandaloneSessionClusterEntrypoint`) of the jars in `lib` on the
/// configuration directory `conf`, with the given JVM options and environment; output goes to
/// `work/jobmanager.out`.
#[allow(dead_code)] // not every test binary that includes this file starts a JobManager this way
pub fn start_session_jobmanager(
    lib: &Path,
    conf: &Path,
    work: &Path,
    jvm_options: &[String],
    env: &[(&str, &Path)],
) -> JobManager {
    let log = work.join("jobmanager.out");
    let out = std::fs::File::create(&log).unwrap();
    let mut command = Command::new("java");
    command
        .arg("-Xmx512m")
        .args(jvm_options)
        .arg("-cp")
        .arg(format!("{}/*", lib.display()))
        .arg("org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint")
        .arg("--configDir")
        .arg(conf)
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    for (k, v) in env {
        command.env(k, v);
    }
    JobManager {
        child: command.spawn().unwrap(),
        log,
    }
}
