//! ZooKeeper HA with real parts: Debian's ZooKeeper 3.8 (started from the jars `libzookeeper-java`
//! installs) and real Flink JobManagers on our rendered `high-availability.type: zookeeper`
//! configuration. Two deployments with the same name in two namespaces (so two deployment ids)
//! share one quorum and one `path_root`; each becomes leader at the same time (they would contend
//! for one leadership if they shared a cluster id) and Flink's znodes lie under
//! `<path_root>/<deployment id>` only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flink_provider::flink::render::HighAvailability;
use flink_provider::flink::FlinkVersion;

use crate::support::free_port;
use crate::{start_deployment, workdir, Started};

/// A ZooKeeper server, killed on every path.
struct ZooKeeper {
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
    fn start(work: &Path) -> ZooKeeper {
        let classpath = zookeeper_classpath();
        let port = free_port();
        let data = work.join("zookeeper-data");
        std::fs::create_dir_all(&data).unwrap();
        let cfg = work.join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\nclientPort={port}\nclientPortAddress=127.0.0.1\ndataDir={}\n\
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

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn quorum(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every znode under `root` (`ls -R` of ZooKeeper's own command-line client), `root` included.
    fn znodes(&self, root: &str) -> Vec<String> {
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

/// Flink's znodes of one deployment must show its leadership: the leader latch / connection info of
/// the leading components under `<root>/<id>/leader`.
fn assert_leader_znodes(what: &str, znodes: &[String], root: &str, id: &str, started: &Started) {
    let prefix = format!("{root}/{id}");
    let leader: Vec<&String> = znodes
        .iter()
        .filter(|z| z.starts_with(&format!("{prefix}/leader/")))
        .collect();
    assert!(
        leader.iter().any(|z| z.ends_with("connection_info")),
        "{what}: no leader connection_info znode under {prefix}/leader:\n{}\n{}",
        znodes.join("\n"),
        started.log()
    );
}

fn check(version: FlinkVersion, root: &str) {
    let t0 = Instant::now();
    let work = workdir(&format!("zk-{}", version.tested_patch()));
    let zk = ZooKeeper::start(&work);
    eprintln!("ZooKeeper serving after {:?}", t0.elapsed());
    // The same deployment name in two namespaces: two deployment ids, as the provider derives them.
    let ids: Vec<String> = ["team-a", "team-b"]
        .iter()
        .map(|ns| flink_provider::resources::deployment_id(ns, "orders"))
        .collect();
    let deployments = [("team-a", ids[0].as_str()), ("team-b", ids[1].as_str())];
    let mut started: Vec<Started> = deployments
        .iter()
        .map(|(ns, id)| {
            let w = work.join(ns);
            std::fs::create_dir_all(w.join("conf")).unwrap();
            start_deployment(
                version,
                &w,
                ns,
                id,
                HighAvailability::ZooKeeper {
                    quorum: zk.quorum(),
                    path_root: Some(root.to_string()),
                    storage_dir: None,
                },
                &[],
            )
        })
        .collect();
    for (s, (ns, id)) in started.iter_mut().zip(&deployments) {
        let what = format!("{version} ZooKeeper HA {ns}/{id}");
        s.wait_for_overview(&what, Duration::from_secs(120));
        let flink = s.flink_config();
        assert_eq!(
            flink
                .get("high-availability.cluster-id")
                .map(String::as_str),
            Some(*id),
            "{what}"
        );
        assert_eq!(
            flink.get("high-availability.zookeeper.path.root"),
            Some(&root.to_string()),
            "{what}"
        );
        eprintln!("{what}: leader, REST up after {:?}", t0.elapsed());
    }
    // Leadership is written a moment after the REST endpoint answers: wait for both subtrees.
    let deadline = Instant::now() + Duration::from_secs(30);
    let znodes = loop {
        let znodes = zk.znodes(root);
        let both = deployments.iter().all(|(_, id)| {
            znodes.iter().any(|z| {
                z.starts_with(&format!("{root}/{id}/leader/")) && z.ends_with("connection_info")
            })
        });
        if both || Instant::now() > deadline {
            break znodes;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("{version}: znodes under {root}:\n  {}", znodes.join("\n  "));
    for (s, (ns, id)) in started.iter().zip(&deployments) {
        assert_leader_znodes(&format!("{version} {ns}/{id}"), &znodes, root, id, s);
    }
    let stray: Vec<&String> = znodes
        .iter()
        .filter(|z| {
            z.as_str() != root
                && !deployments.iter().any(|(_, id)| {
                    let prefix = format!("{root}/{id}");
                    **z == prefix || z.starts_with(&format!("{prefix}/"))
                })
        })
        .collect();
    assert!(
        stray.is_empty(),
        "{version}: znodes outside <path_root>/<deployment id>: {stray:?}"
    );
    // The HA storage directory is our blob storage layout's, per namespace and deployment.
    for (s, (_, id)) in started.iter().zip(&deployments) {
        let dir = &s.configuration["high-availability.storageDir"];
        assert!(
            dir.contains(id),
            "{version}: HA storage dir {dir} lacks {id}"
        );
    }
    drop(started);
    drop(zk);
    eprintln!("{version}: ZooKeeper HA check took {:?}", t0.elapsed());
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn zookeeper_ha_2_3_scopes_each_deployment_under_its_id() {
    check(FlinkVersion::V2_3, "/flink");
}

#[test]
fn zookeeper_ha_1_20_scopes_each_deployment_under_its_id() {
    check(FlinkVersion::V1_20, "/flinkops/ha");
}
