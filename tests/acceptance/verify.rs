//! `verify = true` on flink_blob_storage against a real S3-protocol server that checks
//! credentials (s3s-fs, installed by .ci/run): good credentials pass, a wrong secret key fails the
//! apply with the store's reason and writes nothing.

use crate::cluster::Cluster;
use crate::harness::Workspace;
use std::process::{Child, Command, Stdio};
use std::time::SystemTime;

/// A real S3-protocol server over a temporary directory, one bucket per directory in it.
pub(crate) struct S3Server {
    child: Child,
    pub(crate) endpoint: String,
    root: tempfile::TempDir,
}

impl S3Server {
    /// Puts `bytes` as object `key` of `bucket` (s3s-fs serves its directory's files).
    pub(crate) fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = self.root.path().join(bucket).join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Puts `bytes` as object `key` of `bucket`, last modified at `modified` (its file's mtime,
    /// which s3s-fs answers as `LastModified`).
    pub(crate) fn put_at(&self, bucket: &str, key: &str, bytes: &[u8], modified: SystemTime) {
        self.put(bucket, key, bytes);
        let file = std::fs::File::options()
            .write(true)
            .open(self.root.path().join(bucket).join(key))
            .unwrap();
        file.set_modified(modified).unwrap();
    }

    /// Deletes object `key` of `bucket`.
    pub(crate) fn remove(&self, bucket: &str, key: &str) {
        std::fs::remove_file(self.root.path().join(bucket).join(key)).unwrap();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn s3_server(access_key: &str, secret_key: &str, bucket: &str) -> S3Server {
    s3_server_at("127.0.0.1", access_key, secret_key, bucket)
}

/// An S3 server listening at `host` (the local cluster's pods reach this machine at
/// `lifecycle::HOST`) with one account and an empty `bucket`.
pub(crate) fn s3_server_at(
    host: &str,
    access_key: &str,
    secret_key: &str,
    bucket: &str,
) -> S3Server {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join(bucket)).unwrap();
    let port = free_port();
    let child = Command::new("s3s-fs")
        .args(["--host", host, "--port", &port.to_string()])
        .args(["--access-key", access_key, "--secret-key", secret_key])
        .arg(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("s3s-fs must be installed for this test (.ci/run installs it: cargo install s3s-fs --features binary)");
    for _ in 0..100 {
        if std::net::TcpStream::connect((host, port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    S3Server {
        child,
        endpoint: format!("http://{host}:{port}"),
        root,
    }
}

fn config(cluster: &Cluster, endpoint: &str, secret_key: &str) -> String {
    format!(
        r#"{provider}
resource "flink_blob_storage" "s3" {{
  name              = "verified"
  namespace         = "{ns}"
  base_uri          = "s3://state/flink"
  endpoint          = "{endpoint}"
  path_style_access = true
  access_key        = "flink-writer"
  secret_key        = "{secret_key}"
  verify            = true
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

#[test]
fn verify_passes_with_good_credentials_and_refuses_bad_ones() {
    let s3 = s3_server("flink-writer", "correct-secret", "state");
    let cluster = Cluster::start("verify");

    let bad = Workspace::new();
    bad.config(&config(&cluster, &s3.endpoint, "wrong-secret"));
    let run = bad.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(
        run.code, 0,
        "a wrong secret key must fail the apply:\n{}",
        run.text
    );
    assert!(run.text.contains("S3 access check failed"), "{}", run.text);
    assert!(
        run.text.contains("(403)"),
        "the store's status: {}",
        run.text
    );
    assert!(run.text.contains("Nothing was written"), "{}", run.text);
    assert!(
        cluster.managed_objects().is_empty(),
        "{:?}",
        cluster.managed_objects()
    );
    let state = bad.terraform(&["state", "list"]);
    assert!(
        state.text.trim().is_empty(),
        "nothing recorded: {}",
        state.text
    );

    let good = Workspace::new();
    good.config(&config(&cluster, &s3.endpoint, "correct-secret"));
    good.apply();
    good.destroy();
}

#[test]
fn verify_needs_an_s3_base_uri() {
    let ws = Workspace::new();
    ws.config(
        r#"resource "flink_blob_storage" "gs" {
  name     = "gs"
  base_uri = "gs://bucket/flink"
  verify   = true
}"#,
    );
    let out = ws.plan_error();
    assert!(out.contains("Cannot verify this blob storage"), "{out}");
}
