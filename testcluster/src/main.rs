//! `kube-test-server --listen 127.0.0.1:0 --kubeconfig PATH [--run-pods [--pods-dir DIR]]`: starts
//! the Kubernetes API test server, writes a kubeconfig for it, prints the address, and serves until
//! SIGINT or SIGTERM. With `--run-pods` a local kubelet runs the pods of Deployments as real Flink
//! processes (needs root); stopping the server stops them. `--faults` serves
//! `/testserver/faults`, through which requests fail on demand and watches pause or end, and each
//! `--fault SPEC` arms one fault from the start (`verb=patch,kind=configmaps,count=3,status=503`,
//! `kind=pods,pause-watch-ms=5000`; see `faults.rs`). Each `--image NAME=BASE+DIR` makes a custom image known to the local kubelet: the official image
//! BASE with DIR's files added at their paths (`DIR/opt/flink/usrlib/job.jar`).

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: kube-test-server [--listen ADDR] [--kubeconfig PATH] [--run-pods [--pods-dir DIR] [--fetch-flink SCRIPT] [--image NAME=BASE+DIR]...] [--faults] [--fault SPEC]..."
    );
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut listen = "127.0.0.1:0".to_string();
    let mut kubeconfig = None;
    let mut run_pods = false;
    let mut options = kube_test_server::Options::default();
    // Beside a real kubelet's /var/lib/kubelet/pods, not under /tmp: a pod's emptyDir at /tmp
    // must not hide the pod's own files from it.
    let mut pods_dir = std::path::PathBuf::from(format!(
        "/var/lib/kube-test-server/pods-{}",
        std::process::id()
    ));
    // The repository's fetch script, found beside the crate unless given.
    let mut fetch_flink =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-flink.sh");
    let mut images = std::collections::BTreeMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--run-pods" {
            run_pods = true;
            continue;
        }
        if arg == "--faults" {
            options.faults = true;
            continue;
        }
        match (arg.as_str(), args.next()) {
            ("--listen", Some(v)) => listen = v,
            ("--kubeconfig", Some(v)) => kubeconfig = Some(v),
            ("--pods-dir", Some(v)) => pods_dir = v.into(),
            ("--fetch-flink", Some(v)) => fetch_flink = v.into(),
            ("--image", Some(v)) => match kube_test_server::kubelet::CustomImage::parse(&v) {
                Ok((name, image)) => {
                    images.insert(name, image);
                }
                Err(e) => {
                    eprintln!("kube-test-server: {e}");
                    return usage();
                }
            },
            ("--fault", Some(v)) => match kube_test_server::faults::Fault::parse(&v) {
                Ok(fault) => options.armed.push(fault),
                Err(e) => {
                    eprintln!("kube-test-server: --fault {e}");
                    return usage();
                }
            },
            _ => return usage(),
        }
    }
    let server = match kube_test_server::start_with(&listen, options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kube-test-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let _kubelet = if run_pods {
        let options = kube_test_server::kubelet::Options {
            work_dir: pods_dir,
            fetch_script: fetch_flink,
            images,
        };
        match kube_test_server::kubelet::Kubelet::start(&server, options) {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("kube-test-server: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
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
