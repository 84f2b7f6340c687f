//! ZooKeeper HA with real parts: Debian's ZooKeeper 3.8 (started from the jars `libzookeeper-java`
//! installs) and real Flink JobManagers on our rendered `high-availability.type: zookeeper`
//! configuration. Two deployments with the same name in two namespaces (so two deployment ids)
//! share one quorum and one `path_root`; each becomes leader at the same time (they would contend
//! for one leadership if they shared a cluster id) and Flink's znodes lie under
//! `<path_root>/<deployment id>` only.

use std::time::{Duration, Instant};

use flink_provider::flink::render::HighAvailability;
use flink_provider::flink::FlinkVersion;

use crate::zookeeper_server::ZooKeeper;
use crate::{start_deployment, workdir, Started};

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
    let zk = ZooKeeper::start(&work, "127.0.0.1");
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
