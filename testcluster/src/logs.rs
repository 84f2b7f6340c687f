//! `pods/log`: a container's output as the local kubelet wrote it (`kubectl logs [-c NAME]`, the
//! pod's only app container when none is named, any other container by name), the run before a
//! restart with `previous=true` (`--previous`), the last `tailLines` of it, and with `follow=true`
//! (`kubectl logs -f`) what it writes next, until the container stops running or the pod goes, as
//! a kubelet streams it. Refusals carry the API server's and kubelet's words.

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

/// The status of container `container` of `pod`, app or init container.
fn container_status<'a>(pod: &'a Json, container: &str) -> Option<&'a Json> {
    ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|list| pod["status"][list].as_array())
        .flatten()
        .find(|c| c["name"] == container)
}

/// Whether `container` of `pod` runs (its log may grow).
fn running(pod: &Json, container: &str) -> bool {
    container_status(pod, container).is_some_and(|c| c["state"]["running"].is_object())
}

fn names(pod: &Json, list: &str) -> Vec<String> {
    pod["spec"][list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect()
}

/// The container a log request is for: the one named, or the pod's only app container, as the
/// API server decides (`pkg/registry/core/pod/strategy.go`, `validateContainer`). A pod of
/// several app containers needs one named, whatever its annotations: kubectl reads
/// `kubectl.kubernetes.io/default-container` (or takes the first) before it asks.
fn which_container(pod: &Json, name: &str, asked: Option<&String>) -> Result<String, ApiError> {
    let app = names(pod, "containers");
    let mut all = names(pod, "initContainers");
    all.extend(app.iter().cloned());
    match asked.filter(|c| !c.is_empty()) {
        Some(c) if all.contains(c) => Ok(c.clone()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        ))),
        None if app.len() == 1 => Ok(app[0].clone()),
        None => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            all.join(" ")
        ))),
    }
}

/// Answers `GET .../pods/<name>/log`.
pub fn serve(
    shared: &Arc<Shared>,
    namespace: &str,
    name: &str,
    q: &BTreeMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    let pod = shared.store.get(pods()?, namespace, name)?;
    let container = which_container(&pod, name, q.get("container"))?;
    let previous = q.get("previous").is_some_and(|p| p == "true");
    let pod_dir = shared
        .pods_dir
        .get()
        .map(|dir| dir.join(namespace).join(name));
    let file = pod_dir.map(|dir| {
        if previous {
            crate::kubelet::log_files::previous(&dir, &container)
        } else {
            crate::kubelet::log_files::current(&dir, &container)
        }
    });
    let Some((file, text)) = file.and_then(|f| Some((f.clone(), std::fs::read_to_string(f).ok()?)))
    else {
        if previous {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            )));
        }
        let reason = container_status(&pod, &container)
            .and_then(|c| c["state"]["waiting"]["reason"].as_str())
            .unwrap_or("ContainerCreating");
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    };
    let sent = text.len() as u64;
    let text = match q.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => tail(&text, n),
        None => text,
    };
    let body = if q.get("follow").is_some_and(|f| f == "true") && !previous {
        follow(
            shared.clone(),
            namespace,
            name,
            &container,
            file,
            text,
            sent,
        )
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
    container: &str,
    file: PathBuf,
    first: String,
    mut offset: u64,
) -> Body {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(16);
    let (namespace, name, container) = (
        namespace.to_string(),
        name.to_string(),
        container.to_string(),
    );
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
            if !pod.as_ref().is_some_and(|p| running(p, &container)) {
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
        let state = |s: Json| {
            json!({"status": {
                "containerStatuses": [{"name": "main", "state": s}],
                "initContainerStatuses": [{"name": "init", "state": {"running": {}}}],
            }})
        };
        assert!(running(
            &state(json!({"running": {"startedAt": "x"}})),
            "main"
        ));
        assert!(!running(
            &state(json!({"waiting": {"reason": "CrashLoopBackOff"}})),
            "main"
        ));
        assert!(running(&state(json!({"waiting": {}})), "init"));
        assert!(!running(&json!({"status": {}}), "main"));
    }

    #[test]
    fn the_container_is_the_one_named_or_the_only_app_container() {
        let pod = json!({"spec": {
            "initContainers": [{"name": "fetch"}],
            "containers": [{"name": "main"}],
        }});
        assert_eq!(which_container(&pod, "p", None).unwrap(), "main");
        let fetch = "fetch".to_string();
        assert_eq!(which_container(&pod, "p", Some(&fetch)).unwrap(), "fetch");
        let other = "other".to_string();
        let refused = which_container(&pod, "p", Some(&other)).unwrap_err();
        assert!(refused
            .body()
            .to_string()
            .contains("container other is not valid for pod p"));
        let two = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let refused = which_container(&two, "p", None).unwrap_err();
        assert!(
            refused
                .body()
                .to_string()
                .contains("a container name must be specified for pod p, choose one of: [a b]\""),
            "{}",
            refused.body()
        );
        let b = "b".to_string();
        assert_eq!(which_container(&two, "p", Some(&b)).unwrap(), "b");
        // The annotation is kubectl's to read; the API server still asks for a name.
        let annotated = json!({
            "metadata": {"annotations": {"kubectl.kubernetes.io/default-container": "b"}},
            "spec": {"initContainers": [{"name": "fetch"}],
                     "containers": [{"name": "a"}, {"name": "b"}]},
        });
        let refused = which_container(&annotated, "p", None).unwrap_err();
        assert!(
            refused
                .body()
                .to_string()
                .contains("choose one of: [fetch a b]\""),
            "{}",
            refused.body()
        );
    }
}
