//! TLS benchmark: issuing one deployment's full TLS material (the self-signed internal
//! certificate, the CA-signed REST certificate, both PKCS#12 keystores and truststores) with
//! `flink_provider::tls`, next to `openssl` and `keytool` doing the same work from the same
//! authority, run in the same invocation. ECDSA P-256 and RSA 2048.
//!
//! Run with `cargo bench --bench tls`; `TLS_RUNS` sets the runs per side (default 20 for ours,
//! a quarter of that for the command-line tools).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    clippy::print_stdout
)]

use flink_provider::tls::{
    AuthorityMaterial, DeploymentMaterial, DeploymentTlsRequest, KeyAlgorithm,
};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn ours(authority: &AuthorityMaterial, algorithm: KeyAlgorithm) -> Duration {
    let request = DeploymentTlsRequest {
        label: "bench/orders".into(),
        dns_names: vec![
            "flink-orders-rest".into(),
            "flink-orders-rest.bench".into(),
            "flink-orders-rest.bench.svc".into(),
            "flink-orders-rest.bench.svc.cluster.local".into(),
        ],
        algorithm,
        validity: time::Duration::hours(8760),
    };
    let start = Instant::now();
    let material = DeploymentMaterial::issue(authority, &request).unwrap();
    let elapsed = start.elapsed();
    assert!(material.rest_keystore.bytes.len() > 300);
    elapsed
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (the baseline needs openssl and keytool)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same material with the command-line tools: keys and certificates with openssl, keystores
/// with `openssl pkcs12`, truststores with keytool (what Flink's documentation does).
fn tools(authority_dir: &Path, algorithm: KeyAlgorithm) -> Duration {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    for f in ["ca.crt", "ca.key", "client.crt"] {
        std::fs::copy(authority_dir.join(f), dir.join(f)).unwrap();
    }
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:flink-orders-rest,DNS:flink-orders-rest.bench,DNS:flink-orders-rest.bench.svc,DNS:flink-orders-rest.bench.svc.cluster.local\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let newkey: &[&str] = match algorithm {
        KeyAlgorithm::EcdsaP256 => &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        _ => &["-newkey", "rsa:2048"],
    };
    let start = Instant::now();
    let mut internal = vec![
        "req",
        "-x509",
        "-nodes",
        "-days",
        "365",
        "-subj",
        "/CN=internal",
    ];
    internal.extend_from_slice(newkey);
    internal.extend_from_slice(&["-keyout", "internal.key", "-out", "internal.crt"]);
    run(dir, "openssl", &internal);
    let mut csr = vec!["req", "-new", "-nodes", "-subj", "/CN=rest"];
    csr.extend_from_slice(newkey);
    csr.extend_from_slice(&["-keyout", "rest.key", "-out", "rest.csr"]);
    run(dir, "openssl", &csr);
    run(
        dir,
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "rest.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "365",
            "-extfile",
            "san.ext",
            "-out",
            "rest.crt",
        ],
    );
    let pass = "pass:benchpassword";
    run(
        dir,
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-in",
            "internal.crt",
            "-inkey",
            "internal.key",
            "-name",
            "internal",
            "-out",
            "internal.keystore.p12",
            "-passout",
            pass,
        ],
    );
    run(
        dir,
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-in",
            "rest.crt",
            "-inkey",
            "rest.key",
            "-certfile",
            "ca.crt",
            "-name",
            "rest",
            "-out",
            "rest.keystore.p12",
            "-passout",
            pass,
        ],
    );
    for (alias, cert, store) in [
        ("internal", "internal.crt", "internal.truststore.p12"),
        ("client", "client.crt", "rest.truststore.p12"),
    ] {
        run(
            dir,
            "keytool",
            &[
                "-importcert",
                "-noprompt",
                "-alias",
                alias,
                "-file",
                cert,
                "-keystore",
                store,
                "-storetype",
                "PKCS12",
                "-storepass",
                "benchpassword",
            ],
        );
    }
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("TLS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    println!("one deployment's TLS material (2 certificates, 2 keystores, 2 truststores)");
    println!(
        "{:>10} {:>14} {:>18} {:>8}",
        "keys", "provider", "openssl+keytool", "ratio"
    );
    for algorithm in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
        let authority =
            AuthorityMaterial::generate(algorithm, time::Duration::hours(8760), "bench/ca")
                .unwrap();
        let authority_dir = tempfile::tempdir().unwrap();
        std::fs::write(
            authority_dir.path().join("ca.crt"),
            &authority.ca.certificate_pem,
        )
        .unwrap();
        std::fs::write(
            authority_dir.path().join("ca.key"),
            authority.ca.private_key_pem(),
        )
        .unwrap();
        std::fs::write(
            authority_dir.path().join("client.crt"),
            &authority.client.certificate_pem,
        )
        .unwrap();
        let provider = median((0..runs).map(|_| ours(&authority, algorithm)).collect());
        let baseline = median(
            (0..(runs / 4).max(3))
                .map(|_| tools(authority_dir.path(), algorithm))
                .collect(),
        );
        println!(
            "{:>10} {:>14.2?} {:>18.2?} {:>7.0}x",
            format!("{algorithm:?}"),
            provider,
            baseline,
            baseline.as_secs_f64() / provider.as_secs_f64()
        );
    }
}
