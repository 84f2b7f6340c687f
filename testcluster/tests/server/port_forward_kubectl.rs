//! The real `kubectl port-forward` through the server, both ways kubectl speaks it: SPDY tunnelled
//! in WebSocket (kubectl's first choice since 1.30) and a plain SPDY/3.1 upgrade
//! (`KUBECTL_PORT_FORWARD_WEBSOCKETS=false`). Several connections go through one forward, each
//! reaching the pod's port; a port nothing listens on is reported by kubectl as the kubelet's
//! error, and the forward keeps serving.

use super::pods::pod_at;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

/// An upper-casing echo on loopback, for as many connections as come; its port.
async fn echo() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n].to_ascii_uppercase()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// `kubectl port-forward pod/<pod> :<port>` running, and the local port it listens on.
fn forward(kubeconfig: &std::path::Path, websockets: bool, pod: &str, port: u16) -> (Child, u16) {
    let mut child = Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .env("KUBECTL_PORT_FORWARD_WEBSOCKETS", websockets.to_string())
        .args(["port-forward", &format!("pod/{pod}"), &format!(":{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the real kubectl must be installed for these tests");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // "Forwarding from 127.0.0.1:<local> -> <port>"
    let first = match lines.next() {
        Some(Ok(line)) => line,
        _ => {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("kubectl port-forward did not start: {err}");
        }
    };
    let local = first
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{first}"));
    std::thread::spawn(move || lines.for_each(drop));
    (child, local)
}

fn round_trip(local: u16, text: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", local)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    s.write_all(text.as_bytes()).unwrap();
    let mut answer = vec![0u8; text.len()];
    s.read_exact(&mut answer).unwrap();
    String::from_utf8(answer).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_port_forward_reaches_the_pod_over_websocket_and_spdy() {
    let (server, client) = super::server().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, &server.kubeconfig).unwrap();
    let port = echo().await;
    pod_at(client.clone(), "echo", "127.0.0.1").await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    pod_at(client, "nothing", "127.0.0.1").await;
    tokio::task::spawn_blocking(move || {
        for websockets in [true, false] {
            let (mut child, local) = forward(&kubeconfig, websockets, "echo", port);
            assert_eq!(
                round_trip(local, "first"),
                "FIRST",
                "websockets={websockets}"
            );
            assert_eq!(round_trip(local, "second one"), "SECOND ONE");
            let _ = child.kill();
            let _ = child.wait();

            let (mut child, local) = forward(&kubeconfig, websockets, "nothing", closed);
            let mut s = std::net::TcpStream::connect(("127.0.0.1", local)).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
                .unwrap();
            let mut nothing = Vec::new();
            let _ = s.read_to_end(&mut nothing);
            assert!(nothing.is_empty(), "{nothing:?}");
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(&format!("error forwarding port {closed}")),
                "websockets={websockets}: {stderr}"
            );
        }
    })
    .await
    .unwrap();
}
