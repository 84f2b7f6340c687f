//! `pods/portforward` as kubectl speaks it: SPDY streams (`portforward.k8s.io`), over an
//! upgraded connection or tunnelled through WebSocket. Per forwarded connection the client
//! opens two streams with the same `requestID`, an error stream and a data stream, each naming
//! the pod `port`; every stream is answered with a SYN_REPLY, and once both are there the data
//! stream is joined to a TCP connection to the pod's address. A refused connection is reported
//! on the error stream, as the kubelet does.

use crate::spdy::{self, Frame, Headers};
use std::collections::HashMap;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The streams of one forwarded connection, as they arrive.
#[derive(Default)]
struct Pair {
    error: Option<u32>,
    data: Option<u32>,
    port: u16,
}

/// A data stream joined to its TCP connection.
struct Joined {
    to_pod: Option<OwnedWriteHalf>,
    from_pod: JoinHandle<()>,
}

/// Serves one SPDY connection `io` for the pod at `address` until the client goes.
pub async fn serve<S>(io: S, address: String)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut read, mut write) = tokio::io::split(io);
    let (to_client, mut outgoing) = mpsc::channel::<Vec<u8>>(64);
    let sending = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            if write.write_all(&frame).await.is_err() {
                break;
            }
        }
        let _ = write.shutdown().await;
    });
    let mut reader = spdy::Reader::default();
    let mut writer = spdy::Writer::default();
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    let mut joined: HashMap<u32, Joined> = HashMap::new();
    let mut buffer = Vec::new();
    let mut chunk = vec![0u8; 32 * 1024];
    'connection: loop {
        let n = match read.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..n]);
        loop {
            let frame = match reader.next(&mut buffer) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(_) => break 'connection,
            };
            match frame {
                Frame::SynStream {
                    stream, headers, ..
                } => {
                    if to_client.send(writer.syn_reply(stream, &[])).await.is_err() {
                        break 'connection;
                    }
                    if let Some((data, pair)) = opened(&mut pairs, stream, &headers) {
                        if let Some(connection) = connect(&address, &pair, &to_client).await {
                            joined.insert(data, connection);
                        }
                    }
                }
                Frame::Data { stream, fin, data } => {
                    if let Some(Joined {
                        to_pod: Some(pod), ..
                    }) = joined.get_mut(&stream)
                    {
                        if !data.is_empty() && pod.write_all(&data).await.is_err() {
                            let _ = to_client
                                .send(spdy::rst_stream(stream, spdy::PROTOCOL_ERROR))
                                .await;
                        }
                    }
                    if fin {
                        if let Some(mut pod) = joined.get_mut(&stream).and_then(|j| j.to_pod.take())
                        {
                            let _ = pod.shutdown().await;
                        }
                    }
                }
                Frame::RstStream { stream, .. } => {
                    if let Some(gone) = joined.remove(&stream) {
                        gone.from_pod.abort();
                    }
                }
                Frame::Ping(id) => {
                    let _ = to_client.send(spdy::ping(id)).await;
                }
                Frame::GoAway => break 'connection,
                Frame::SynReply { .. } | Frame::Ignored(_) => {}
            }
        }
    }
    for (_, gone) in joined {
        gone.from_pod.abort();
    }
    drop(to_client);
    let _ = sending.await;
}

/// Records a new stream; once both streams of its connection are open, the pair (taken out of
/// `pairs`) with its data stream.
fn opened(
    pairs: &mut HashMap<String, Pair>,
    stream: u32,
    headers: &Headers,
) -> Option<(u32, Pair)> {
    // kubectl sends these names lower-cased, as SPDY requires.
    let request = spdy::header(headers, "requestid")
        .unwrap_or_default()
        .to_string();
    let pair = pairs.entry(request.clone()).or_default();
    pair.port = spdy::header(headers, "port")
        .and_then(|p| p.parse().ok())
        .unwrap_or_default();
    match spdy::header(headers, "streamtype") {
        Some("error") => pair.error = Some(stream),
        Some("data") => pair.data = Some(stream),
        _ => {}
    }
    match (pair.error, pair.data) {
        (Some(_), Some(data)) => pairs.remove(&request).map(|pair| (data, pair)),
        _ => None,
    }
}

/// Connects the pair's data stream to the pod's port, or says on its error stream why not.
async fn connect(address: &str, pair: &Pair, to_client: &mpsc::Sender<Vec<u8>>) -> Option<Joined> {
    let (Some(error), Some(data)) = (pair.error, pair.data) else {
        return None;
    };
    match tokio::net::TcpStream::connect((address, pair.port)).await {
        Ok(tcp) => {
            let (mut from_pod, to_pod) = tcp.into_split();
            let to_client = to_client.clone();
            let from_pod = tokio::spawn(async move {
                let frame = |bytes: &[u8]| spdy::data(data, bytes, false);
                if !crate::portforward::pump(&mut from_pod, &to_client, frame).await {
                    return;
                }
                let _ = to_client.send(spdy::data(data, &[], true)).await;
                let _ = to_client.send(spdy::data(error, &[], true)).await;
            });
            Some(Joined {
                to_pod: Some(to_pod),
                from_pod,
            })
        }
        Err(e) => {
            let message = format!(
                "error forwarding port {} to pod at {address}: {e}",
                pair.port
            );
            let _ = to_client
                .send(spdy::data(error, message.as_bytes(), true))
                .await;
            let _ = to_client.send(spdy::data(data, &[], true)).await;
            None
        }
    }
}
