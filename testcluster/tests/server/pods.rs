//! Pod subresources through kube-rs: `portforward` (WebSocket, v4.channel.k8s.io) reaches the
//! pod's IP and port both ways, with the error channel saying why when nothing listens there; and
//! `log` answers for a pod without output as Kubernetes does for a container not started.

use super::server;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams, PostParams};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A pod object whose status points at `ip` (no kubelet runs here: the test plays its part).
pub(crate) async fn pod_at(client: kube::Client, name: &str, ip: &str) -> Api<Pod> {
    let pods: Api<Pod> = Api::default_namespaced(client);
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "flink:2.3.0"}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let mut status = pods.get_status(name).await.unwrap();
    status.status = Some(serde_json::from_value(json!({"phase": "Running", "podIP": ip})).unwrap());
    status.metadata.resource_version = None;
    pods.replace_status(name, &PostParams::default(), &status)
        .await
        .unwrap();
    pods
}

#[tokio::test]
async fn portforward_reaches_the_pod_both_ways() {
    let (_server, client) = server().await;
    // The "pod": an echo service on loopback, upper-casing what it gets.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await.unwrap();
        s.write_all(&buf[..n].to_ascii_uppercase()).await.unwrap();
    });
    let pods = pod_at(client, "echo", "127.0.0.1").await;
    let mut forwarder = pods.portforward("echo", &[port]).await.unwrap();
    let mut stream = forwarder.take_stream(port).unwrap();
    stream.write_all(b"hello pod").await.unwrap();
    let mut answer = vec![0u8; 9];
    stream.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HELLO POD");

    // Nothing listens on the port: the error channel says so.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut forwarder = pods.portforward("echo", &[closed]).await.unwrap();
    let error = forwarder.take_error(closed).unwrap().await.unwrap();
    assert!(error.contains(&format!("port {closed}")), "{error}");
}

#[tokio::test]
async fn portforward_and_logs_of_a_pod_that_is_not_running() {
    let (_server, client) = server().await;
    let pods: Api<Pod> = Api::default_namespaced(client);
    let pod: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pending"},
        "spec": {"containers": [{"name": "main", "image": "flink:2.3.0"}]},
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let refused = pods.portforward("pending", &[8081]).await;
    assert!(refused.is_err(), "forwarded to a pod without an IP");
    let logs = pods
        .logs("pending", &LogParams::default())
        .await
        .unwrap_err();
    assert!(logs.to_string().contains("waiting to start"), "{logs}");
    assert!(pods.portforward("missing", &[8081]).await.is_err());
}
