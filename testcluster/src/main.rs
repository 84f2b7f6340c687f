//! `kube-test-server --listen 127.0.0.1:0 --kubeconfig PATH`: starts the Kubernetes API test
//! server, writes a kubeconfig for it, prints the address, and serves until SIGINT or SIGTERM.

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: kube-test-server [--listen ADDR] [--kubeconfig PATH]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut listen = "127.0.0.1:0".to_string();
    let mut kubeconfig = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(v)) => listen = v,
            ("--kubeconfig", Some(v)) => kubeconfig = Some(v),
            _ => return usage(),
        }
    }
    let server = match kube_test_server::start(&listen).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kube-test-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &kubeconfig {
        if let Err(e) = std::fs::write(path, &server.kubeconfig) {
            eprintln!("kube-test-server: writing {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on https://{}", server.addr);
    let _ = out.flush();
    drop(out);
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kube-test-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    ExitCode::SUCCESS
}
