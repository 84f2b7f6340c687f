//! A real ZooKeeper server for tests: Debian's ZooKeeper 3.8, started from the jars
//! `libzookeeper-java` installs, standalone on a free port, with ZooKeeper's own command-line client
//! to list znodes. Killed when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A ZooKeeper server, killed on every path.
pub struct ZooKeeper {
    child: Child,
    port: u16,
    classpath: String,
    log: PathBuf,
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The classpath of Debian's ZooKeeper: every jar in the directory `zookeeper.jar` is installed in
/// (it needs its neighbours: slf4j, netty, jline, ...). Fails when the package is missing.
fn zookeeper_classpath() -> String {
    let out = Command::new("dpkg")
        .args(["-L", "libzookeeper-java"])
        .output();
    let listing = out
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let jar = listing
        .lines()
        .find(|l| l.ends_with("/zookeeper.jar"))
        .unwrap_or_else(|| {
            panic!("ZooKeeper is required: install Debian's `zookeeper` package (.ci/run does)")
        });
    let dir = Path::new(jar).parent().unwrap();
    format!("{}/*", dir.display())
}

impl ZooKeeper {
    /// Starts a standalone server on a free port at `address` (`0.0.0.0` for clients on other
    /// addresses, such as the local cluster's pods), its data and log under `work`.
    pub fn start(work: &Path, address: &str) -> ZooKeeper {
        let classpath = zookeeper_classpath();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let data = work.join("zookeeper-data");
        std::fs::create_dir_all(&data).unwrap();
        let cfg = work.join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\nclientPort={port}\nclientPortAddress={address}\ndataDir={}\n\
                 admin.enableServer=false\n4lw.commands.whitelist=srvr\n",
                data.display()
            ),
        )
        .unwrap();
        let log = work.join("zookeeper.out");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("java")
            .arg("-Xmx256m")
            .arg("-cp")
            .arg(&classpath)
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&cfg)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut zk = ZooKeeper {
            child,
            port,
            classpath,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !zk.serving() {
            if let Some(status) = zk.child.try_wait().unwrap() {
                panic!("ZooKeeper exited with {status}:\n{}", zk.log());
            }
            assert!(
                Instant::now() < deadline,
                "ZooKeeper did not serve in 60 s:\n{}",
                zk.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        zk
    }

    /// Whether the four-letter `srvr` command answers with the server's mode.
    fn serving(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut answer = String::new();
        s.write_all(b"srvr").is_ok()
            && s.read_to_string(&mut answer).is_ok()
            && answer.contains("Mode: standalone")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The quorum for clients on this machine.
    pub fn quorum(&self) -> String {
        self.quorum_at("127.0.0.1")
    }

    /// The quorum for clients that reach this machine at `host`.
    pub fn quorum_at(&self, host: &str) -> String {
        format!("{host}:{}", self.port)
    }

    /// Every znode under `root` (`ls -R` of ZooKeeper's own command-line client), `root` included.
    pub fn znodes(&self, root: &str) -> Vec<String> {
        let out = Command::new("java")
            .arg("-Xmx128m")
            .arg("-cp")
            .arg(&self.classpath)
            .arg("org.apache.zookeeper.ZooKeeperMain")
            .args(["-server", &self.quorum(), "ls", "-R", root])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "ZooKeeperMain ls -R {root} failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('/'))
            .map(str::to_string)
            .collect()
    }
}
