//! Faults on demand: the next N API requests that match a verb, a kind, a namespace and a name
//! (each optional) fail with a status as a real API server answers it, wait before being served
//! (a while, or until the test disarms the faults), or lose their connection halfway through the
//! answer; a watch can be paused (its events held, then sent in order, as over a stalled
//! connection) or ended early (as the API server ends one at its timeout, upon which the client
//! watches again from the last resourceVersion it saw). Tests arm them through
//! `POST /testserver/faults` (served only when the server was started with faults enabled:
//! `--faults` on the command line, [`crate::Options::faults`] in process), or `--fault SPEC` at
//! start for manual runs.
//!
//! The answers follow k8s.io/apimachinery/pkg/api/errors: 409 is `NewConflict` (the optimistic
//! concurrency message an update or apply gets when the object changed under it), 429 is
//! `NewTooManyRequests` with `details.retryAfterSeconds` and a `Retry-After` header (what the
//! max-in-flight and priority-and-fairness filters send), 500 is `NewInternalError`, 503 is
//! `NewServiceUnavailable`, 403 is `NewForbidden`, any other code `NewGenericServerResponse`'s shape. A reset is served
//! after the request took effect, as when a connection drops on the way back: the client cannot
//! tell whether its write happened.

use crate::status::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Mutex;

/// What a fault does to a request it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Answer with this status instead of serving the request (which then has no effect).
    Status {
        /// HTTP status code (409, 429, 500, 503, ...).
        code: u16,
        /// `Retry-After` seconds (sent with 429 and 503; 429 defaults to 1 as the real filters).
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Wait this long, then serve the request.
    Delay {
        /// Milliseconds.
        millis: u64,
    },
    /// Wait until the faults are disarmed, then serve the request: a request held in flight for
    /// as long as the test needs, whatever the machine's speed.
    Hold,
    /// Serve the request, then close the connection after half of the answer's body.
    Reset,
    /// A watch, open or opened later, sends nothing for this long: the events that happen
    /// meanwhile are held, then sent in order, as a stalled connection delivers them.
    PauseWatch {
        /// Milliseconds.
        millis: u64,
    },
    /// A watch, open or opened later, ends its stream now (cleanly, as the API server ends a
    /// watch at its timeout); events it had not sent yet are not sent.
    EndWatch,
}

impl Action {
    /// Whether the action is done to a watch's stream (taken by the watch, open or opening, not
    /// by a request as it comes in).
    pub fn on_watch_stream(&self) -> bool {
        matches!(self, Action::PauseWatch { .. } | Action::EndWatch)
    }
}

/// One armed fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`); any when absent.
    #[serde(default)]
    pub verb: Option<String>,
    /// The kind (`ConfigMap`) or its resource (`configmaps`), any case; any when absent.
    #[serde(default)]
    pub kind: Option<String>,
    /// The namespace; any when absent.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The object's name; any when absent (a list has none, so a named fault skips lists; a
    /// watch has the one its `metadata.name=` field selector names).
    #[serde(default)]
    pub name: Option<String>,
    /// How many matching requests it still takes.
    pub count: u32,
    /// What it does to them.
    pub action: Action,
}

/// A request as faults see it.
pub struct Request<'a> {
    /// Its verb.
    pub verb: &'a str,
    /// Its kind.
    pub kind: &'static crate::kinds::ResourceKind,
    /// Its namespace, if namespaced.
    pub namespace: Option<&'a str>,
    /// The object's name, if it names one.
    pub name: Option<&'a str>,
}

impl Fault {
    fn matches(&self, request: &Request) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref()
                .is_none_or(|w| have.is_some_and(|h| h.eq_ignore_ascii_case(w)))
        };
        self.count > 0
            && same(&self.verb, Some(request.verb))
            && (same(&self.kind, Some(request.kind.kind))
                || same(&self.kind, Some(request.kind.plural)))
            && same(&self.namespace, request.namespace)
            && same(&self.name, request.name)
    }

    /// Parses the command line's `--fault` form: comma-separated `key=value` pairs with the keys
    /// `verb`, `kind`, `namespace`, `name`, `count` (default 1) and one of `status=CODE` (with
    /// `retry-after=SECONDS`), `delay-ms=MILLIS`, `hold`, `reset`, `pause-watch-ms=MILLIS` or
    /// `end-watch`; e.g. `verb=patch,kind=configmaps,count=3,status=503` or
    /// `kind=pods,pause-watch-ms=5000`.
    pub fn parse(spec: &str) -> Result<Fault, String> {
        let mut fault = Fault {
            verb: None,
            kind: None,
            namespace: None,
            name: None,
            count: 1,
            action: Action::Reset,
        };
        let mut action = None;
        let mut retry_after = None;
        for pair in spec.split(',').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let number = |what: &str| {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{what}={value:?} is not a number"))
            };
            match key {
                "verb" => fault.verb = Some(value.to_string()),
                "kind" => fault.kind = Some(value.to_string()),
                "namespace" => fault.namespace = Some(value.to_string()),
                "name" => fault.name = Some(value.to_string()),
                "count" => fault.count = number("count")? as u32,
                "status" => {
                    action = Some(Action::Status {
                        code: number("status")? as u16,
                        retry_after: None,
                    })
                }
                "retry-after" => retry_after = Some(number("retry-after")?),
                "delay-ms" => {
                    action = Some(Action::Delay {
                        millis: number("delay-ms")?,
                    })
                }
                "reset" => action = Some(Action::Reset),
                "hold" => action = Some(Action::Hold),
                "pause-watch-ms" => {
                    action = Some(Action::PauseWatch {
                        millis: number("pause-watch-ms")?,
                    })
                }
                "end-watch" => action = Some(Action::EndWatch),
                other => return Err(format!("unknown fault key {other:?}")),
            }
        }
        fault.action = match action {
            Some(Action::Status { code, .. }) => Action::Status { code, retry_after },
            Some(other) => other,
            None => {
                return Err(format!(
                    "{spec:?}: say status=CODE, delay-ms=MILLIS, hold, reset, pause-watch-ms=MILLIS or end-watch"
                ))
            }
        };
        Ok(fault)
    }
}

/// The armed faults of a server.
#[derive(Debug, Default)]
pub struct Faults {
    armed: Mutex<Vec<Fault>>,
    disarmed: tokio::sync::Notify,
    /// Counts the faults armed, so that open watches look for one done to their stream.
    armings: tokio::sync::watch::Sender<u64>,
}

impl Faults {
    /// Arms `fault` after those already armed.
    pub fn arm(&self, fault: Fault) {
        if let Ok(mut armed) = self.armed.lock() {
            armed.push(fault);
        }
        self.armings.send_modify(|n| *n += 1);
    }

    /// Changes each time a fault is armed: an open watch waits on it, then takes what is done to
    /// its stream with [`Faults::take_for_watch_stream`]. Subscribe before the first take, so
    /// that no fault armed in between is missed.
    pub fn armings(&self) -> tokio::sync::watch::Receiver<u64> {
        self.armings.subscribe()
    }

    /// The faults still armed (a spent one is dropped).
    pub fn armed(&self) -> Vec<Fault> {
        self.armed.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// Disarms every fault, and releases the requests held.
    pub fn clear(&self) {
        if let Ok(mut armed) = self.armed.lock() {
            armed.clear();
        }
        self.disarmed.notify_waiters();
    }

    /// Ends when the faults are next disarmed. Taken before [`Faults::take`], so a request that
    /// a hold takes is released by any disarm after it was taken.
    pub fn until_disarmed(&self) -> tokio::sync::futures::Notified<'_> {
        self.disarmed.notified()
    }

    /// The action of the first armed fault `request` matches as it comes in, counting it once
    /// (those done to a watch's stream are left to the watch).
    pub fn take(&self, request: &Request) -> Option<Action> {
        self.take_where(request, |a| !a.on_watch_stream())
    }

    /// What the first armed fault does to the stream of the watch `request` describes
    /// ([`Action::PauseWatch`], [`Action::EndWatch`]), counting it once.
    pub fn take_for_watch_stream(&self, request: &Request) -> Option<Action> {
        self.take_where(request, Action::on_watch_stream)
    }

    fn take_where(&self, request: &Request, wanted: impl Fn(&Action) -> bool) -> Option<Action> {
        let mut armed = self.armed.lock().ok()?;
        let index = armed
            .iter()
            .position(|f| wanted(&f.action) && f.matches(request))?;
        let fault = &mut armed[index];
        fault.count -= 1;
        let action = fault.action.clone();
        if fault.count == 0 {
            armed.remove(index);
        }
        Some(action)
    }
}

/// The error a status fault answers with, as the real server words it, and its `Retry-After`.
pub fn status(request: &Request, code: u16, retry_after: Option<u64>) -> (ApiError, Option<u64>) {
    let kind = request.kind;
    let name = request.name.unwrap_or_default();
    let details = json!({"name": name, "group": kind.group, "kind": kind.plural});
    match code {
        403 => (
            api_error(
                403,
                "Forbidden",
                format!("{} \"{name}\" is forbidden: injected fault", kind.plural),
                details,
            ),
            None,
        ),
        409 => (ApiError::stale(kind.plural, kind.group, name), None),
        429 => {
            let seconds = retry_after.unwrap_or(1);
            let mut details = details;
            details["retryAfterSeconds"] = json!(seconds);
            (
                api_error(
                    429,
                    "TooManyRequests",
                    "Too many requests: please try again later".into(),
                    details,
                ),
                Some(seconds),
            )
        }
        500 => (
            api_error(
                500,
                "InternalError",
                "Internal error occurred: injected fault".into(),
                json!({"causes": [{"message": "injected fault"}]}),
            ),
            None,
        ),
        503 => (
            api_error(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request".into(),
                json!({}),
            ),
            retry_after,
        ),
        other => (
            api_error(
                other,
                "Unknown",
                format!("the server responded with the status code {other} but did not return more information"),
                details,
            ),
            retry_after,
        ),
    }
}

fn api_error(
    code: u16,
    reason: &'static str,
    message: String,
    details: serde_json::Value,
) -> ApiError {
    ApiError {
        code,
        reason,
        message,
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(verb: &'a str, name: Option<&'a str>) -> Request<'a> {
        Request {
            verb,
            kind: crate::kinds::find("", "v1", "configmaps").unwrap(),
            namespace: Some("ns"),
            name,
        }
    }

    #[test]
    fn a_fault_takes_its_count_of_matching_requests_and_no_others() {
        let faults = Faults::default();
        faults.arm(Fault::parse("verb=patch,kind=ConfigMap,name=a,count=2,status=503").unwrap());
        assert_eq!(faults.take(&request("get", Some("a"))), None);
        assert_eq!(faults.take(&request("patch", Some("b"))), None);
        assert_eq!(faults.take(&request("list", None)), None);
        let expected = Some(Action::Status {
            code: 503,
            retry_after: None,
        });
        assert_eq!(faults.take(&request("patch", Some("a"))), expected);
        assert_eq!(faults.take(&request("PATCH", Some("a"))), expected);
        assert_eq!(faults.take(&request("patch", Some("a"))), None);
        assert!(faults.armed().is_empty());
    }

    #[test]
    fn the_command_line_form_parses_every_action_and_refuses_nonsense() {
        assert_eq!(
            Fault::parse("kind=configmaps,status=429,retry-after=2")
                .unwrap()
                .action,
            Action::Status {
                code: 429,
                retry_after: Some(2)
            }
        );
        assert_eq!(
            Fault::parse("delay-ms=300").unwrap().action,
            Action::Delay { millis: 300 }
        );
        assert_eq!(Fault::parse("reset,count=4").unwrap().count, 4);
        assert_eq!(
            Fault::parse("kind=pods,pause-watch-ms=5000")
                .unwrap()
                .action,
            Action::PauseWatch { millis: 5000 }
        );
        assert_eq!(Fault::parse("end-watch").unwrap().action, Action::EndWatch);
        assert!(Fault::parse("pause-watch-ms=soon").is_err());
        assert!(Fault::parse("verb=get").is_err());
        assert!(Fault::parse("status=abc").is_err());
        assert!(Fault::parse("colour=red,reset").is_err());
    }

    #[tokio::test]
    async fn a_held_request_waits_until_the_faults_are_disarmed() {
        let faults = Faults::default();
        faults.arm(Fault::parse("verb=patch,hold").unwrap());
        let released = faults.until_disarmed();
        assert_eq!(
            faults.take(&request("patch", Some("a"))),
            Some(Action::Hold)
        );
        let mut released = std::pin::pin!(released);
        assert!(
            poll_once(released.as_mut()).is_pending(),
            "held while armed faults are not cleared"
        );
        faults.clear();
        assert!(poll_once(released.as_mut()).is_ready());
        let fault: Fault =
            serde_json::from_str(r#"{"verb": "patch", "count": 1, "action": "hold"}"#).unwrap();
        assert_eq!(fault.action, Action::Hold);
    }

    /// One poll of `future`, without waiting.
    fn poll_once<F: std::future::Future>(
        future: std::pin::Pin<&mut F>,
    ) -> std::task::Poll<F::Output> {
        let waker = std::task::Waker::noop();
        future.poll(&mut std::task::Context::from_waker(waker))
    }

    #[test]
    fn a_fault_on_watch_streams_is_taken_by_watches_only_and_wakes_open_ones() {
        let faults = Faults::default();
        let mut armings = faults.armings();
        faults.arm(Fault::parse("kind=configmaps,count=2,pause-watch-ms=100").unwrap());
        faults.arm(Fault::parse("kind=configmaps,status=500").unwrap());
        // An open watch is told that something was armed.
        assert!(armings.has_changed().unwrap());
        armings.mark_unchanged();
        // A request coming in takes the status fault, not the pause before it.
        assert_eq!(
            faults.take(&request("watch", None)),
            Some(Action::Status {
                code: 500,
                retry_after: None
            })
        );
        assert_eq!(faults.take(&request("get", Some("a"))), None);
        // A watch's stream takes the pause, once per count; no other fault.
        faults.arm(Fault::parse("kind=configmaps,status=503").unwrap());
        let pause = Some(Action::PauseWatch { millis: 100 });
        assert_eq!(faults.take_for_watch_stream(&request("watch", None)), pause);
        assert_eq!(faults.take_for_watch_stream(&request("watch", None)), pause);
        assert_eq!(faults.take_for_watch_stream(&request("watch", None)), None);
        assert_eq!(faults.armed().len(), 1);
        // A named one takes only the watch that selects that name.
        faults.arm(Fault::parse("name=a,end-watch").unwrap());
        assert_eq!(faults.take_for_watch_stream(&request("watch", None)), None);
        assert_eq!(
            faults.take_for_watch_stream(&request("watch", Some("a"))),
            Some(Action::EndWatch)
        );
    }

    #[test]
    fn a_429_carries_retry_after_in_its_details_as_the_real_server_does() {
        let (error, header) = status(&request("patch", Some("a")), 429, None);
        assert_eq!(header, Some(1));
        let body = error.body();
        assert_eq!(body["reason"], "TooManyRequests");
        assert_eq!(body["details"]["retryAfterSeconds"], 1);
        let (conflict, _) = status(&request("patch", Some("a")), 409, None);
        assert_eq!(conflict.body()["reason"], "Conflict");
    }
}
