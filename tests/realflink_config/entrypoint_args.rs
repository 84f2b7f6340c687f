//! The JobManager's arguments as Flink's own `standalone-job` parser reads them, for every
//! supported version: the rendered Deployment of `tests/golden/deployment/local-jars-2.3.json`
//! (an image jar outside `usrlib/` passed with `--jars`, then the job's own arguments) parsed by
//! `StandaloneApplicationClusterConfigurationParserFactory` of each release's jars. `--jars` takes
//! every following argument that is not one of its options, `--window` included, so without the
//! `--` the provider renders before them the job would get none.

use flink_provider::flink::FlinkVersion;
use std::process::Command;

use crate::support::flink_home;

/// The JobManager container's arguments in the golden file, without the image's `standalone-job`.
fn rendered_jobmanager_args() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/deployment/local-jars-2.3.json"
    );
    let objects: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let jobmanager = objects
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            o["kind"] == "Deployment"
                && o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-jobmanager"))
        })
        .expect("the JobManager's Deployment");
    let args = jobmanager["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert_eq!(args[0], "standalone-job");
    args[1..]
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn flink_reads_the_rendered_jars_and_job_arguments_apart() {
    let args = rendered_jobmanager_args();
    assert!(args.contains(&"--".to_string()), "{args:?}");
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("ParseEntrypointArgs.java");
    std::fs::write(&src, include_str!("ParseEntrypointArgs.java")).unwrap();
    for version in FlinkVersion::ALL {
        let lib = flink_home(version.tested_patch()).join("lib");
        let classes = work.path().join(version.tested_patch());
        let cp = format!("{}/*", lib.display());
        let javac = Command::new("javac")
            .arg("-nowarn")
            .arg("-d")
            .arg(&classes)
            .arg("-cp")
            .arg(&cp)
            .arg(&src)
            .output()
            .unwrap();
        assert!(
            javac.status.success(),
            "javac against {}: {}",
            version.tested_patch(),
            String::from_utf8_lossy(&javac.stderr)
        );
        let parse = |args: &[String]| {
            let out = Command::new("java")
                .arg("-cp")
                .arg(format!("{cp}:{}", classes.display()))
                .arg("org.apache.flink.container.entrypoint.ParseEntrypointArgs")
                .args(["--configDir", "/nonexistent"])
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                version.tested_patch(),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let parsed = parse(&args);
        assert!(
            parsed.contains("jars=local:///opt/flink/artifacts/clicks.jar\n"),
            "{}: {parsed}",
            version.tested_patch()
        );
        assert!(
            parsed.contains("args=--window|5 min\n"),
            "{}: {parsed}",
            version.tested_patch()
        );
        // Why the `--` is there: without it Flink takes the job's arguments for jars.
        let without: Vec<String> = args.iter().filter(|a| *a != "--").cloned().collect();
        let swallowed = parse(&without);
        assert!(
            swallowed.contains("jars=local:///opt/flink/artifacts/clicks.jar|--window|5 min\n"),
            "{}: {swallowed}",
            version.tested_patch()
        );
    }
}
