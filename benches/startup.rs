//! Start-up benchmark: time from spawning the release binary (as Terraform does, with the magic
//! cookie and a client certificate for AutoMTLS) to its handshake line on stdout. The baseline, run
//! in the same process, is spawning `true` to completion: the floor of starting any process here.
//!
//! Run with `cargo bench --bench startup`; `STARTUP_RUNS` sets the number of runs (default 200).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    clippy::print_stdout
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn client_cert_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem()
}

fn provider_start(cert: &str) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_terraform-provider-flink"))
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "6")
        .env("PLUGIN_CLIENT_CERT", cert)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let elapsed = start.elapsed();
    assert!(
        line.starts_with("1|6|tcp|127.0.0.1:"),
        "unexpected handshake {line:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    elapsed
}

fn process_floor() -> Duration {
    let start = Instant::now();
    Command::new("true").status().unwrap();
    start.elapsed()
}

fn summary(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let p95 = samples[(samples.len() * 95 / 100).min(samples.len() - 1)];
    (median, p95)
}

fn main() {
    let runs: usize = std::env::var("STARTUP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let cert = client_cert_pem();
    // Warm the page cache before measuring.
    provider_start(&cert);
    process_floor();
    let mut provider = Vec::with_capacity(runs);
    let mut floor = Vec::with_capacity(runs);
    for _ in 0..runs {
        provider.push(provider_start(&cert));
        floor.push(process_floor());
    }
    let (p_med, p_95) = summary(provider);
    let (f_med, f_95) = summary(floor);
    println!("start to handshake, {runs} runs (interleaved)");
    println!("{:<34} {:>10} {:>10}", "", "median", "p95");
    println!(
        "{:<34} {:>10.2?} {:>10.2?}",
        "terraform-provider-flink", p_med, p_95
    );
    println!(
        "{:<34} {:>10.2?} {:>10.2?}",
        "baseline: spawn `true`", f_med, f_95
    );
    println!(
        "ratio (provider / baseline, median): {:.2}x",
        p_med.as_secs_f64() / f_med.as_secs_f64()
    );
}
