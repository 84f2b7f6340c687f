//! `pods/log`: the container's output as the local kubelet wrote it (`kubectl logs`), the last
//! `tailLines` of it, and with `follow=true` (`kubectl logs -f`) what it writes next, until the
//! container stops running or the pod goes, as a kubelet streams it.

use crate::http::{Body, Shared};
use crate::status::ApiError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::Response;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often a followed log is read for new output.
const FOLLOW_POLL: Duration = Duration::from_millis(250);

fn pods() -> Result<&'static crate::kinds::ResourceKind, ApiError> {
    crate::kinds::find("", "v1", "pods").ok_or_else(|| ApiError::not_found("pods", "", "pods"))
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut tail = lines[lines.len().saturating_sub(n)..].join("\n");
    tail.push('\n');
    tail
}

/// Whether the pod's container runs (its log may grow).
fn running(pod: &Json) -> bool {
    pod.pointer("/status/containerStatuses/0/state/running")
        .is_some()
}

/// Answers `GET .../pods/<name>/log`.
pub fn serve(
    shared: &Arc<Shared>,
    namespace: &str,
    name: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    shared.store.get(pods()?, namespace, name)?;
    let file = shared
        .pods_dir
        .get()
        .map(|dir| dir.join(namespace).join(name).join("container.log"));
    let Some((file, text)) = file.and_then(|f| Some((f.clone(), std::fs::read_to_string(f).ok()?)))
    else {
        return Err(ApiError::bad_request(format!(
            "container \"flink-main-container\" in pod \"{name}\" is waiting to start: \
             ContainerCreating"
        )));
    };
    let sent = text.len() as u64;
    let text = match q.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => tail(&text, n),
        None => text,
    };
    let body = if q.get("follow").is_some_and(|f| f == "true") {
        follow(shared.clone(), namespace, name, file, text, sent)
    } else {
        Full::new(Bytes::from(text)).boxed()
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    Ok(response)
}

/// `first`, then what is appended to `file` after its first `offset` bytes, until the pod's
/// container stops running, the pod goes or the client hangs up.
fn follow(
    shared: Arc<Shared>,
    namespace: &str,
    name: &str,
    file: PathBuf,
    first: String,
    mut offset: u64,
) -> Body {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(16);
    let (namespace, name) = (namespace.to_string(), name.to_string());
    tokio::spawn(async move {
        if tx.send(Ok(Frame::data(Bytes::from(first)))).await.is_err() {
            return;
        }
        loop {
            let pod = pods()
                .ok()
                .and_then(|kind| shared.store.get(kind, &namespace, &name).ok());
            let more = read_from(&file, offset);
            if !more.is_empty() {
                offset += more.len() as u64;
                if tx.send(Ok(Frame::data(Bytes::from(more)))).await.is_err() {
                    return;
                }
                continue;
            }
            if !pod.as_ref().is_some_and(running) {
                return;
            }
            tokio::select! {
                () = tx.closed() => return,
                () = tokio::time::sleep(FOLLOW_POLL) => {}
            }
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    StreamBody::new(stream).boxed()
}

/// The bytes of `file` after `offset` (none when it cannot be read).
fn read_from(file: &PathBuf, offset: u64) -> Vec<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let mut bytes = Vec::new();
    if let Ok(mut f) = std::fs::File::open(file) {
        if f.seek(SeekFrom::Start(offset)).is_ok() {
            let _ = f.take(1 << 20).read_to_end(&mut bytes);
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_tail_is_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail("a\n", 5), "a\n");
    }

    #[test]
    fn only_a_running_container_is_followed() {
        let state = |s: Json| json!({"status": {"containerStatuses": [{"state": s}]}});
        assert!(running(&state(json!({"running": {"startedAt": "x"}}))));
        assert!(!running(&state(
            json!({"waiting": {"reason": "CrashLoopBackOff"}})
        )));
        assert!(!running(&json!({"status": {}})));
    }
}
