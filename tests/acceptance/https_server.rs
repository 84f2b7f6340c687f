//! A static HTTPS file server on loopback, for the install tests: it serves a directory (a provider
//! network mirror, or a registry's answers) under a certificate from a CA made for the test, which
//! Terraform trusts through `SSL_CERT_FILE` (Go reads that variable on Linux), so `terraform init`
//! talks to it exactly as to a real mirror over HTTPS. It records every path asked for, so a test
//! can tell which source Terraform really used.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running server; stops when dropped.
pub struct HttpsServer {
    /// `https://127.0.0.1:<port>`, without a trailing slash.
    pub base_url: String,
    /// The test CA's certificate (PEM), for `SSL_CERT_FILE`.
    pub ca_file: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    accept_loop: Option<std::thread::JoinHandle<()>>,
    _ca_dir: tempfile::TempDir,
}

impl HttpsServer {
    /// Serves the files under `root`: `GET /a/b` answers `root/a/b`, anything else 404.
    pub fn serve(root: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let (ca_pem, config) = identity();
        let ca_dir = tempfile::tempdir().unwrap();
        let ca_file = ca_dir.path().join("mirror-ca.pem");
        std::fs::write(&ca_file, ca_pem).unwrap();
        // Non-blocking accept, so the loop sees `stop` and the server ends with the test.
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let accept_loop = {
            let (stop, requests, root) = (stop.clone(), requests.clone(), root.to_path_buf());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (config, requests, root) =
                                (config.clone(), requests.clone(), root.clone());
                            std::thread::spawn(move || answer(stream, config, &root, &requests));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        };
        HttpsServer {
            base_url: format!("https://127.0.0.1:{port}"),
            ca_file,
            requests,
            stop,
            accept_loop: Some(accept_loop),
            _ca_dir: ca_dir,
        }
    }

    /// The paths asked for so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.accept_loop.take() {
            let _ = thread.join();
        }
    }
}

/// A CA and a certificate for 127.0.0.1 signed by it, as a server on loopback would have.
fn identity() -> (String, Arc<rustls::ServerConfig>) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "install tests mirror CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params
        .distinguished_name
        .push(DnType::CommonName, "install tests mirror");
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (ca.pem(), Arc::new(config))
}

/// One connection, one request (`Connection: close`): enough for Go's HTTP client, which opens
/// another connection for the next request.
fn answer(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    root: &Path,
    requests: &Mutex<Vec<String>>,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(connection) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let mut reader = BufReader::new(&mut tls);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return; // a client that refused our certificate ends here
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => return,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    drop(reader);
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string();
    requests.lock().unwrap().push(path.clone());
    let file = file_under(root, &path).and_then(|p| std::fs::read(p).ok());
    let (status, body) = match file {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not found\n".to_vec()),
    };
    let content_type = if path.ends_with(".json") || !path.contains('.') {
        "application/json"
    } else {
        "application/octet-stream"
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = tls.write_all(head.as_bytes());
    let _ = tls.write_all(&body);
    let _ = tls.flush();
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// The file a URL path names under `root`; `None` for anything that climbs out of it.
fn file_under(root: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = Path::new(url_path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let path = root.join(relative);
    path.is_file().then_some(path)
}
