//! `pods/portforward`, in the three ways clients ask for it: kubectl's SPDY streams over an
//! `Upgrade: SPDY/3.1` connection, the same tunnelled through WebSocket with the
//! `SPDY/3.1+portforward.k8s.io` subprotocol (kubectl 1.30 and later try this first), and
//! WebSocket with the `v4.channel.k8s.io` subprotocol as kube-rs's `Api::<Pod>::portforward`
//! speaks it: every binary frame starts with a channel byte (port `i` has data channel `2i` and
//! error channel `2i+1`), the server opens each channel with a frame carrying the port
//! (little-endian u16), then bytes flow both ways between the client and a TCP connection to the
//! pod's IP and port. SPDY is served by [`crate::portforward_spdy`].

use crate::status::ApiError;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const CHANNELS: &str = "v4.channel.k8s.io";
const STREAMS: &str = "portforward.k8s.io";
const SPDY_IN_WEBSOCKET: &str = "SPDY/3.1+portforward.k8s.io";

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> &'a str {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn switching(headers: &[(&'static str, &str)]) -> Response<super::http::Body> {
    let mut response = Response::new(Full::new(Bytes::new()).boxed());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    for (name, value) in headers {
        if let Ok(v) = hyper::header::HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, v);
        }
    }
    response
}

/// Answers the upgrade and, once it completes, forwards to the ports of `pod` (its status.podIP)
/// the client asks for.
pub fn serve(
    req: Request<Incoming>,
    pod: &Json,
    q: &BTreeMap<String, String>,
) -> Result<Response<super::http::Body>, ApiError> {
    let address = pod["status"]["podIP"]
        .as_str()
        .ok_or_else(|| ApiError::bad_request("pod has no IP address yet: it is not running"))?
        .to_string();
    if header(&req, "upgrade").eq_ignore_ascii_case("SPDY/3.1") {
        if !header(&req, "x-stream-protocol-version")
            .split(',')
            .any(|p| p.trim() == STREAMS)
        {
            return Err(ApiError::bad_request(format!(
                "port-forward over SPDY speaks {STREAMS} (X-Stream-Protocol-Version)"
            )));
        }
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                crate::portforward_spdy::serve(hyper_util::rt::TokioIo::new(upgraded), address)
                    .await;
            }
        });
        return Ok(switching(&[
            ("upgrade", "SPDY/3.1"),
            ("connection", "Upgrade"),
            ("x-stream-protocol-version", STREAMS),
        ]));
    }
    let offered = header(&req, "sec-websocket-protocol").to_string();
    let protocol = [SPDY_IN_WEBSOCKET, CHANNELS]
        .into_iter()
        .find(|wanted| offered.split(',').any(|p| p.trim() == *wanted))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "port-forward here speaks SPDY/3.1 ({STREAMS}) or the WebSocket subprotocols \
                 {SPDY_IN_WEBSOCKET} and {CHANNELS}; offered: {offered:?}"
            ))
        })?;
    let key = header(&req, "sec-websocket-key").to_string();
    if key.is_empty() {
        return Err(ApiError::bad_request(
            "missing Sec-WebSocket-Key: not a WebSocket upgrade",
        ));
    }
    let ports: Vec<u16> = q
        .get("ports")
        .map(|p| p.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    if ports.is_empty() && protocol == CHANNELS {
        return Err(ApiError::bad_request(
            "at least one port is required (ports=...)",
        ));
    }
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(req).await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(
            hyper_util::rt::TokioIo::new(upgraded),
            Role::Server,
            None,
        )
        .await;
        if protocol == CHANNELS {
            forward(ws, &address, &ports).await;
        } else {
            tunnel(ws, address).await;
        }
    });
    Ok(switching(&[
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-accept", &derive_accept_key(key.as_bytes())),
        ("sec-websocket-protocol", protocol),
    ]))
}

/// Sends what `read` gives, each read made a frame by `frame`, to `to` until `read` ends (true)
/// or the receiver is gone (false).
pub(crate) async fn pump<R>(
    read: &mut R,
    to: &tokio::sync::mpsc::Sender<Vec<u8>>,
    frame: impl Fn(&[u8]) -> Vec<u8>,
) -> bool
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match read.read(&mut buf).await {
            Ok(0) | Err(_) => return true,
            Ok(n) => {
                if to.send(frame(&buf[..n])).await.is_err() {
                    return false;
                }
            }
        }
    }
}

/// SPDY carried in WebSocket binary messages: the messages' bytes, in order, are the SPDY
/// connection's.
async fn tunnel<S>(ws: WebSocketStream<S>, address: String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (spdy_side, pipe) = tokio::io::duplex(64 * 1024);
    let session = tokio::spawn(crate::portforward_spdy::serve(spdy_side, address));
    let (mut from_session, mut to_session) = tokio::io::split(pipe);
    let (mut sink, mut source) = ws.split();
    let outbound = tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match from_session.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sink.send(Message::binary(buf[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    });
    while let Some(Ok(message)) = source.next().await {
        let delivered = match message {
            Message::Binary(bytes) => to_session.write_all(&bytes).await.is_ok(),
            Message::Close(_) => false,
            _ => true,
        };
        if !delivered {
            break;
        }
    }
    let _ = to_session.shutdown().await;
    let _ = session.await;
    outbound.abort();
}

async fn forward<S>(ws: WebSocketStream<S>, address: &str, ports: &[u16])
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut source) = ws.split();
    let (to_client, mut outgoing) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    let mut writers = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let (data, error) = ((2 * i) as u8, (2 * i + 1) as u8);
        for channel in [data, error] {
            let [lo, hi] = port.to_le_bytes();
            let _ = to_client.send(vec![channel, lo, hi]).await;
        }
        match tokio::net::TcpStream::connect((address, *port)).await {
            Ok(tcp) => {
                let (mut read, write) = tcp.into_split();
                writers.push(Some(write));
                let to_client = to_client.clone();
                tokio::spawn(async move {
                    pump(&mut read, &to_client, |bytes| [&[data], bytes].concat()).await;
                });
            }
            Err(e) => {
                writers.push(None);
                let mut frame = vec![error];
                frame.extend_from_slice(
                    format!("error forwarding port {port} to pod at {address}: {e}").as_bytes(),
                );
                let _ = to_client.send(frame).await;
            }
        }
    }
    drop(to_client);
    let sending = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if sink.send(Message::binary(frame)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    while let Some(Ok(message)) = source.next().await {
        match message {
            Message::Binary(frame) if frame.len() > 1 => {
                let index = usize::from(frame[0] / 2);
                if frame[0] % 2 == 0 {
                    if let Some(Some(writer)) = writers.get_mut(index) {
                        if writer.write_all(&frame[1..]).await.is_err() {
                            writers[index] = None;
                        }
                    }
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    for writer in writers.iter_mut().flatten() {
        let _ = writer.shutdown().await;
    }
    sending.abort();
}
