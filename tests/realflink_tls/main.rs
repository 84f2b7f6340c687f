//! Real Flink takes our TLS material as we mean it: for Flink 1.20.5 and 2.3.0 and for ECDSA and
//! RSA keys, issue an authority and a deployment's stores with `flink_provider::tls`, render the
//! SSL keys with `flink_provider::flink::tls` (passwords and the pinned fingerprint as dynamic
//! properties, as pods get them), start a real JobManager and TaskManager on exactly those bytes,
//! and show that (1) REST refuses a client without a certificate, (2) accepts the authority's
//! client certificate and serves `/overview`, (3) counts one TaskManager, which registered over
//! internal TLS, and (4) refuses a client certificate from another CA. Missing jars fail the test.

// A test binary: a failed setup step should stop the test with its error.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flink_provider::flink::logging::render_log4j_console;
use flink_provider::flink::render::{render, ProcessResources, RenderInput};
use flink_provider::flink::tls::{ssl_configuration, ssl_dynamic_properties};
use flink_provider::flink::FlinkVersion;
use flink_provider::tls::{
    AuthorityMaterial, DeploymentMaterial, DeploymentTlsRequest, KeyAlgorithm,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[allow(dead_code)]
#[path = "../realflink_config/support.rs"]
mod support;
use support::{flink_home, free_port, JobManager};

/// Real Flink processes are heavy: one check at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A rustls client for the REST endpoint: trusts the authority's CA, presents `client` if given.
fn client_config(
    ca: &AuthorityMaterial,
    client: Option<&flink_provider::tls::Issued>,
) -> Arc<rustls::ClientConfig> {
    tls_client(&ca.ca, client)
}

/// A rustls client trusting `anchor`, presenting `client` if given.
fn tls_client(
    anchor: &flink_provider::tls::Issued,
    client: Option<&flink_provider::tls::Issued>,
) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            anchor.certificate_der.clone(),
        ))
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some(c) => builder
            .with_client_auth_cert(
                vec![rustls::pki_types::CertificateDer::from(
                    c.certificate_der.clone(),
                )],
                rustls::pki_types::PrivateKeyDer::try_from(c.private_key_der().to_vec()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// Whether a TLS handshake with `config` to localhost:port completes (the server accepts the
/// client's certificate, or asks for none).
async fn handshake(config: Arc<rustls::ClientConfig>, port: u16) -> Result<(), String> {
    let connector = tokio_rustls::TlsConnector::from(config);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    // In TLS 1.3 a refused client certificate shows on the first read after the handshake.
    let mut byte = [0u8; 1];
    match tokio::time::timeout(Duration::from_secs(2), tls.read(&mut byte)).await {
        Ok(Err(e)) => Err(format!("after handshake: {e}")),
        _ => Ok(()),
    }
}

/// `GET path` over TLS to localhost:port: the response head and body, or the error.
async fn https_get(
    config: Arc<rustls::ClientConfig>,
    port: u16,
    path: &str,
) -> Result<(u16, String), String> {
    let connector = tokio_rustls::TlsConnector::from(config);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tls.write_all(
        format!("GET {path} HTTP/1.0\r\nHost: localhost\r\nAccept: application/json\r\n\r\n")
            .as_bytes(),
    )
    .await
    .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    tls.read_to_end(&mut buf)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, body.to_string()))
}

fn java_opens(configuration: &BTreeMap<String, String>) -> Vec<String> {
    ["env.java.default-opts.all", "env.java.opts.all"]
        .iter()
        .find_map(|k| configuration.get(*k))
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

fn spawn(
    java_args: Vec<String>,
    lib: &Path,
    class: &str,
    program_args: Vec<String>,
    log: &Path,
) -> JobManager {
    let out = std::fs::File::create(log).unwrap();
    let child = Command::new("java")
        .args(&java_args)
        .arg("-cp")
        .arg(format!("{}/*", lib.display()))
        .arg(class)
        .args(&program_args)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    JobManager {
        child,
        log: log.to_path_buf(),
    }
}

/// The TaskManager's JVM options and dynamic properties, computed by Flink's own BashJavaUtils
/// as the launch scripts do.
fn taskmanager_params(home: &Path, conf: &Path, dynamic: &[String]) -> (Vec<String>, Vec<String>) {
    let out = Command::new("java")
        .arg("-cp")
        .arg(format!(
            "{}:{}/*",
            home.join("bin/bash-java-utils.jar").display(),
            home.join("lib").display()
        ))
        .arg("org.apache.flink.runtime.util.bash.BashJavaUtils")
        .arg("GET_TM_RESOURCE_PARAMS")
        .arg("--configDir")
        .arg(conf)
        .args(dynamic)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let results: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("BASH_JAVA_UTILS_EXEC_RESULT:"))
        .collect();
    assert_eq!(results.len(), 2, "BashJavaUtils said:\n{text}");
    let split = |s: &str| s.split_whitespace().map(str::to_string).collect();
    (split(results[0]), split(results[1]))
}

fn check(version: FlinkVersion, algorithm: KeyAlgorithm) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let home = flink_home(version.tested_patch());
    let lib = home.join("lib");
    let work = std::env::temp_dir().join(format!(
        "realflink-tls-{}-{algorithm:?}-{}",
        version.tested_patch(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&work);
    let (conf, tls_dir) = (work.join("conf"), work.join("tls"));
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::create_dir_all(&tls_dir).unwrap();

    let validity = time::Duration::hours(24);
    let authority = AuthorityMaterial::generate(algorithm, validity, "realflink/ca").unwrap();
    let material = DeploymentMaterial::issue(
        &authority,
        &DeploymentTlsRequest {
            label: "realflink/orders".into(),
            dns_names: vec!["localhost".into()],
            algorithm,
            validity,
        },
    )
    .unwrap();
    for (file, store) in [
        ("internal.keystore.p12", &material.internal_keystore),
        ("internal.truststore.p12", &material.internal_truststore),
        ("rest.keystore.p12", &material.rest_keystore),
        ("rest.truststore.p12", &material.rest_truststore),
    ] {
        std::fs::write(tls_dir.join(file), &store.bytes).unwrap();
    }

    let (rest_port, rpc_port, blob_port) = (free_port(), free_port(), free_port());
    let mut owned = ssl_configuration(version, tls_dir.to_str().unwrap());
    for (k, v) in [
        ("rest.address", "localhost".to_string()),
        ("rest.bind-address", "127.0.0.1".into()),
        ("rest.port", rest_port.to_string()),
        ("jobmanager.rpc.address", "127.0.0.1".into()),
        ("jobmanager.bind-host", "127.0.0.1".into()),
        ("jobmanager.rpc.port", rpc_port.to_string()),
        ("blob.server.port", blob_port.to_string()),
        ("taskmanager.bind-host", "127.0.0.1".into()),
        ("taskmanager.host", "127.0.0.1".into()),
    ] {
        owned.insert(k.to_string(), v);
    }
    let rendered = render(&RenderInput {
        version,
        namespace: "realflink".into(),
        deployment_id: "dep-realflink-tls".into(),
        job_id: None,
        user: BTreeMap::new(),
        from_secrets: Default::default(),
        parallelism: Some(1),
        task_slots: Some(1),
        jobmanager: ProcessResources {
            memory: Some("1024m".into()),
            cpu: Some(1.0),
        },
        taskmanager: ProcessResources {
            memory: Some("1024m".into()),
            cpu: Some(1.0),
        },
        blob_storage: Some(format!("file://{}", work.join("blobs").display())),
        high_availability: None,
        queryable_state: false,
        owned,
    });
    assert!(!rendered.has_errors(), "{version}: {:?}", rendered.issues);
    std::fs::write(conf.join("config.yaml"), &rendered.config_yaml).unwrap();
    std::fs::write(
        conf.join("log4j-console.properties"),
        render_log4j_console("INFO", &BTreeMap::new()).unwrap(),
    )
    .unwrap();
    // What a pod gets once Kubernetes expanded the password variables from the Secret.
    let dynamic: Vec<String> = ssl_dynamic_properties(
        &material.internal_keystore.password,
        &material.rest_keystore.password,
        Some(&material.internal.fingerprint_sha1),
    )
    .into_iter()
    .map(|(k, v)| format!("-D{k}={v}"))
    .collect();

    let opens = java_opens(&rendered.configuration);
    let log4j = format!(
        "-Dlog4j.configurationFile=file:{}",
        conf.join("log4j-console.properties").display()
    );
    let mut jm_java = vec!["-Xmx512m".to_string(), log4j.clone()];
    jm_java.extend(opens.iter().cloned());
    jm_java.push(format!("-Dlog.file={}", work.join("jm.log").display()));
    let mut jm_args = vec!["--configDir".to_string(), conf.display().to_string()];
    jm_args.extend(dynamic.iter().cloned());
    let jm = spawn(
        jm_java,
        &lib,
        "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
        jm_args,
        &work.join("jobmanager.out"),
    );

    let (tm_jvm, tm_dynamic) = taskmanager_params(&home, &conf, &dynamic);
    let mut tm_java = tm_jvm;
    tm_java.push(log4j);
    tm_java.extend(opens.iter().cloned());
    tm_java.push(format!("-Dlog.file={}", work.join("tm.log").display()));
    let mut tm_args = vec!["--configDir".to_string(), conf.display().to_string()];
    tm_args.extend(dynamic.iter().cloned());
    tm_args.extend(tm_dynamic);
    let tm = spawn(
        tm_java,
        &lib,
        "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
        tm_args,
        &work.join("taskmanager.out"),
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let trusted = client_config(&authority, Some(&authority.client));
    let context = |what: &str| {
        format!(
            "{version} {algorithm:?}: {what}\n--- jobmanager\n{}\n--- taskmanager\n{}",
            jm.log_tail(),
            tm.log_tail()
        )
    };

    // (2) and (3): with the authority's client certificate, /overview counts the TaskManager.
    let deadline = Instant::now() + Duration::from_secs(90);
    let overview = loop {
        let answer = runtime.block_on(https_get(trusted.clone(), rest_port, "/overview"));
        if let Ok((200, body)) = &answer {
            let overview: serde_json::Value = serde_json::from_str(body).unwrap();
            if overview["taskmanagers"] == 1 && overview["slots-total"] == 1 {
                break overview;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            context(&format!(
                "no TaskManager registered over TLS: last answer {answer:?}"
            ))
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(overview["jobs-failed"], 0, "{overview}");

    // (1) without a client certificate the REST endpoint refuses.
    let anonymous = runtime.block_on(https_get(
        client_config(&authority, None),
        rest_port,
        "/overview",
    ));
    assert!(
        !matches!(anonymous, Ok((200, _))),
        "{}",
        context(&format!(
            "served a client without a certificate: {anonymous:?}"
        ))
    );

    // (4) a client certificate from another CA is refused.
    let stranger = AuthorityMaterial::generate(algorithm, validity, "other/ca").unwrap();
    let foreign = runtime.block_on(https_get(
        client_config(&authority, Some(&stranger.client)),
        rest_port,
        "/overview",
    ));
    assert!(
        !matches!(foreign, Ok((200, _))),
        "{}",
        context(&format!("served another CA's client: {foreign:?}"))
    );

    // Internal connectivity is mutual TLS pinned to the deployment's own certificate: the RPC
    // port completes a handshake with it and refuses the authority's client certificate.
    let internal = runtime.block_on(handshake(
        tls_client(&material.internal, Some(&material.internal)),
        rpc_port,
    ));
    assert!(
        internal.is_ok(),
        "{}",
        context(&format!("internal handshake: {internal:?}"))
    );
    let outsider = runtime.block_on(handshake(
        tls_client(&material.internal, Some(&authority.client)),
        rpc_port,
    ));
    assert!(
        outsider.is_err(),
        "{}",
        context("the RPC port accepted a certificate other than the internal one")
    );
    drop(tm);
    drop(jm);
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn ecdsa_on_2_3() {
    check(FlinkVersion::V2_3, KeyAlgorithm::EcdsaP256);
}

#[test]
fn rsa_on_2_3() {
    check(FlinkVersion::V2_3, KeyAlgorithm::Rsa2048);
}

#[test]
fn ecdsa_on_1_20() {
    check(FlinkVersion::V1_20, KeyAlgorithm::EcdsaP256);
}

#[test]
fn rsa_on_1_20() {
    check(FlinkVersion::V1_20, KeyAlgorithm::Rsa2048);
}
