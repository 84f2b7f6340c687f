//! The job's artifacts as users give them: a `local://` jar built into a custom image runs as a
//! real Flink job with no download and no volume over `usrlib/`, from `usrlib/` and from another
//! directory of the image (through `--jars`); a downloaded jar whose `sha256`
//! does not match fails the apply within seconds naming the URL and both digests, before any
//! JobManager starts; and plan refuses artifact URIs and digests that cannot work, on their
//! attribute paths.

use crate::cluster::Cluster;
use crate::harness::Workspace;
use crate::local_cluster::{job_jar, pod, serve};
use std::time::Instant;

const IMAGE: &str = "registry.example.com/my-job:1";
/// The same job, its jar outside `usrlib/`.
const IMAGE_ELSEWHERE: &str = "registry.example.com/my-job:2";

fn local_job(cluster: &Cluster) -> String {
    local_job_at(cluster, IMAGE, "/opt/flink/usrlib/my-job.jar")
}

fn local_job_at(cluster: &Cluster, image: &str, path: &str) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "local" {{
  name          = "local-jar"
  namespace     = "{ns}"
  flink_version = "2.3"
  image         = "{image}"
  # Each image change starts the job afresh: this test keeps no savepoints.
  upgrade_strategy = "STATELESS"
  artifact = {{
    jar_uri     = "local://{path}"
    entry_class = "Counter"
  }}
  resources = {{
    jobmanager  = {{ memory = "1024m" }}
    taskmanager = {{ memory = "1024m" }}
  }}
  wait_timeout = "4 min"
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

fn checked_download(cluster: &Cluster, port: u16, sha256: &str) -> String {
    format!(
        r#"
resource "flink_deployment" "checked" {{
  name          = "checked"
  namespace     = "{ns}"
  flink_version = "2.3"
  artifact = {{
    jar_uri     = "http://10.245.0.1:{port}/counter.jar"
    sha256      = "{sha256}"
    entry_class = "Counter"
  }}
  wait_timeout = "4 min"
}}
"#,
        ns = cluster.namespace,
    )
}

#[test]
fn a_local_jar_runs_from_its_image_and_a_wrong_sha256_fails_the_apply_naming_both_digests() {
    // Not under /tmp: pods mount an emptyDir there.
    let work = tempfile::tempdir_in(crate::harness::host_files_dir()).unwrap();
    let jar = std::fs::read(job_jar(work.path())).unwrap();
    // The image a Dockerfile `FROM flink:2.3.0` + `COPY my-job.jar /opt/flink/usrlib/` builds.
    let image = work.path().join("my-job-image");
    let usrlib = image.join("opt/flink/usrlib");
    std::fs::create_dir_all(&usrlib).unwrap();
    std::fs::write(usrlib.join("my-job.jar"), &jar).unwrap();
    let elsewhere = work.path().join("my-job-image-2");
    std::fs::create_dir_all(elsewhere.join("opt/flink/jobs")).unwrap();
    std::fs::write(elsewhere.join("opt/flink/jobs/my-job.jar"), &jar).unwrap();
    let cluster = Cluster::start_with_images(
        "artifacts",
        &[
            format!("{IMAGE}=flink:2.3.0+{}", image.display()),
            format!("{IMAGE_ELSEWHERE}=flink:2.3.0+{}", elsewhere.display()),
        ],
    );
    if !cluster.local_pods() {
        eprintln!(
            "skipped: needs the test server's --image (a real cluster would pull {IMAGE} from a \
             registry, which this test does not build)"
        );
        return;
    }
    let ws = Workspace::new();
    ws.config(&local_job(&cluster));
    // Runs, and the next plan is empty.
    ws.apply();
    let local = ws.resource_values("flink_deployment.local");
    assert_eq!(local["status"], "RUNNING", "{local}");
    let deployment_id = local["id"].as_str().unwrap().to_string();
    for component in ["jobmanager", "taskmanager"] {
        let spec = &pod(&cluster, component, &deployment_id)["spec"];
        assert!(
            spec.get("initContainers").is_none(),
            "{component}: {spec:#}"
        );
        let volumes = spec["volumes"].to_string();
        assert!(!volumes.contains("usrlib"), "{component}: {volumes}");
        assert_eq!(spec["containers"][0]["image"], IMAGE);
    }

    // A second deployment downloads the same jar, but expects another digest.
    let port = serve(jar.clone());
    let actual: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&jar)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let expected = "0".repeat(64);
    ws.config(&format!(
        "{}{}",
        local_job(&cluster),
        checked_download(&cluster, port, &expected)
    ));
    let started = Instant::now();
    let run = ws.terraform(&["apply", "-auto-approve", "-no-color"]);
    eprintln!(
        "the checksum mismatch failed the apply after {:?}",
        started.elapsed()
    );
    assert_ne!(run.code, 0, "{}", run.text);
    // Terraform wraps the diagnostic's lines.
    let text = run.text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("the deployment cannot run: Init:"),
        "{}",
        run.text
    );
    assert!(
        text.contains("the init container fetch-artifacts failed with exit code 1"),
        "{}",
        run.text
    );
    assert!(
        text.contains(&format!(
            "sha256 mismatch for http://10.245.0.1:{port}/counter.jar: expected {expected}, \
             actual {actual}"
        )),
        "{}",
        run.text
    );
    // The local job kept running through it.
    assert_eq!(
        ws.resource_values("flink_deployment.local")["status"],
        "RUNNING"
    );

    // Outside usrlib (and outside Flink's own user.artifacts.base-dir, /opt/flink/artifacts)
    // the jar reaches Flink through --jars, and the TaskManagers (whose
    // classpath has only lib/ and usrlib/) load its classes from the JobManager's blob server:
    // the job runs its tasks.
    ws.config(&local_job_at(
        &cluster,
        IMAGE_ELSEWHERE,
        "/opt/flink/jobs/my-job.jar",
    ));
    ws.apply();
    let local = ws.resource_values("flink_deployment.local");
    assert_eq!(local["status"], "RUNNING", "{local}");
    let args = pod(&cluster, "jobmanager", &deployment_id)["spec"]["containers"][0]["args"].clone();
    assert_eq!(
        args,
        serde_json::json!([
            "standalone-job",
            "--job-classname",
            "Counter",
            "--jars",
            "local:///opt/flink/jobs/my-job.jar"
        ])
    );
    ws.destroy();
}

fn plan_error_for(artifact: &str) -> String {
    let ws = Workspace::new();
    ws.config(&format!(
        r#"resource "flink_deployment" "x" {{
  name          = "x"
  flink_version = "2.3"
  artifact      = {artifact}
}}"#
    ));
    let text = ws.plan_error();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn plan_refuses_artifacts_that_cannot_run_on_their_attribute() {
    let relative = plan_error_for(r#"{ jar_uri = "local://opt/flink/usrlib/job.jar" }"#);
    assert!(
        relative.contains("Invalid path in artifact URI"),
        "{relative}"
    );
    assert!(relative.contains("three slashes"), "{relative}");
    assert!(relative.contains("artifact.jar_uri"), "{relative}");

    let no_host = plan_error_for(r#"{ jar_uri = "http://" }"#);
    assert!(no_host.contains("Malformed artifact URL"), "{no_host}");

    let dependency = plan_error_for(
        r#"{ jar_uri = "local:///opt/flink/usrlib/job.jar", additional_dependencies = ["local:///opt/udf.zip"] }"#,
    );
    assert!(dependency.contains("ends in .jar"), "{dependency}");
    assert!(
        dependency.contains("artifact.additional_dependencies[0]"),
        "{dependency}"
    );

    let short = plan_error_for(r#"{ jar_uri = "https://example.com/job.jar", sha256 = "abc" }"#);
    assert!(short.contains("Invalid sha256"), "{short}");
    assert!(short.contains("3 characters given"), "{short}");

    let digest = "a".repeat(64);
    let local = plan_error_for(&format!(
        r#"{{ jar_uri = "local:///opt/flink/usrlib/job.jar", sha256 = "{digest}" }}"#
    ));
    assert!(local.contains("sha256 needs a downloaded jar"), "{local}");
    assert!(local.contains("Pin the image by its digest"), "{local}");
    assert!(local.contains("artifact.sha256"), "{local}");

    let stray = plan_error_for(&format!(
        r#"{{ jar_uri = "https://example.com/job.jar", dependency_sha256 = {{ "https://example.com/udf.jar" = "{digest}" }} }}"#
    ));
    assert!(stray.contains("A digest for no dependency"), "{stray}");
    assert!(
        stray.contains(r#"artifact.dependency_sha256["https://example.com/udf.jar"]"#),
        "{stray}"
    );
}
