//! When a request to the API server is asked again, and how long the provider waits first.
//!
//! Retried: 409 (the apply the provider sends is forced and carries no resourceVersion, so a
//! conflict is a race inside the server and the same apply, re-sent, is read against the object
//! as it is now: the re-read a client-go update does by hand), 429 (after the server's
//! `retryAfterSeconds`, which the real max-in-flight and priority-and-fairness filters set), 500,
//! 502, 503, 504, and a connection lost before the answer was complete (every request the
//! provider sends is idempotent: an apply, a get or list, a delete whose 404 means done). Never
//! retried: any other 4xx (400, 401, 403, 404, 405, 410, 415, 422: the same request gets the same
//! answer) and a wait that timed out (asking again would wait as long again).
//!
//! Bounded: at most [`POLICY`]'s tries and its wait budget per request, and never past the
//! operation's own deadline (`timeouts` on the resource): a wait that would end after it is not
//! waited, and the failure says that the operation's timeout ended the retries. Interruptible: a
//! stop from Terraform (Ctrl-C) ends a request in flight or a back-off at once, as a failure that
//! says so.

use crate::deadline::Deadline;
use crate::interrupt::Interrupt;
use std::future::Future;
use std::time::{Duration, Instant};

/// How often and how long a request is asked again.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    /// How many times one request is tried.
    attempts: u32,
    /// The wait before the second try; each further one waits twice as long.
    first_backoff: Duration,
    /// How long one request may wait between its tries in all.
    wait_budget: Duration,
    /// The longest a server's `Retry-After` is followed; longer ones wait this long.
    longest_wait: Duration,
}

/// The policy of every request to the API server: six tries, waits of 0.2 s to 3.2 s (or as the
/// server asks, up to 10 s), 30 s of waiting in all.
pub(super) const POLICY: Policy = Policy {
    attempts: 6,
    first_backoff: Duration::from_millis(200),
    wait_budget: Duration::from_secs(30),
    longest_wait: Duration::from_secs(10),
};

/// A request that failed for good: the last answer, how many times it was tried, and for how
/// long.
#[derive(Debug)]
pub(super) struct Failed {
    /// The last answer (or transport error), or the stop that cut it short.
    pub error: Last,
    /// How many times the request was sent.
    pub attempts: u32,
    /// From the first try to the last answer.
    pub elapsed: Duration,
    /// The operation's timeout setting, when its deadline ended the retries (the answer was
    /// retryable, and tries and wait budget were left).
    pub timed_out: Option<String>,
}

/// How a request ended for good.
#[derive(Debug)]
pub(super) enum Last {
    /// The server's last answer, or the transport's error.
    Answer(kube::Error),
    /// Terraform asked the provider to stop before an answer came.
    Interrupted,
}

impl Failed {
    /// Whether the last answer was this status code.
    pub fn is(&self, code: u16) -> bool {
        matches!(&self.error, Last::Answer(kube::Error::Api(status)) if status.code == code)
    }

    /// What to say of the request, given what its `last` answer says: when it was asked more
    /// than once, how often and for how long, and when the operation's timeout ended the
    /// retries, that it did.
    pub fn said(&self, last: &str) -> String {
        let tries = match self.attempts {
            1 => last.to_string(),
            n => format!(
                "{last}; the last of {n} tries over {:.1} s",
                self.elapsed.as_secs_f64()
            ),
        };
        match &self.timed_out {
            None => tries,
            Some(setting) => format!(
                "{tries}; the operation's timeout ({setting}) ended the retries: the next try \
                 would come after it"
            ),
        }
    }
}

/// Whether asking again can get a different answer.
pub(super) fn retryable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 409 | 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => !super::failure::timed_out(error),
        _ => false,
    }
}

/// How long to wait before try `attempt + 1` (`attempt` counts from 1): the server's
/// `retryAfterSeconds` when it gave one, else an exponential back-off from 200 ms.
fn wait_before_next(policy: &Policy, error: &kube::Error, attempt: u32) -> Duration {
    let backoff = policy.first_backoff * 2u32.pow(attempt.saturating_sub(1).min(6));
    let asked = match error {
        kube::Error::Api(status) => status
            .details
            .as_ref()
            .map(|d| Duration::from_secs(u64::from(d.retry_after_seconds)))
            .filter(|d| !d.is_zero()),
        _ => None,
    };
    asked.unwrap_or(backoff).min(policy.longest_wait)
}

/// Runs `call` until it succeeds, fails with what asking again cannot change, the tries or the
/// wait budget run out, the next try would come after `deadline`, or `interrupt` fires.
pub(super) async fn retry<T, F, Fut>(
    interrupt: &Interrupt,
    deadline: &Deadline,
    call: F,
) -> Result<T, Failed>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    retry_with(&POLICY, interrupt, deadline, call).await
}

/// [`retry`] under `policy`.
async fn retry_with<T, F, Fut>(
    policy: &Policy,
    interrupt: &Interrupt,
    deadline: &Deadline,
    mut call: F,
) -> Result<T, Failed>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let started = Instant::now();
    let mut waited = Duration::ZERO;
    let mut attempt = 0;
    let interrupted = |attempts| Failed {
        error: Last::Interrupted,
        attempts,
        elapsed: started.elapsed(),
        timed_out: None,
    };
    loop {
        attempt += 1;
        let error = match interrupt.guard(call()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(_) => return Err(interrupted(attempt)),
        };
        let wait = wait_before_next(policy, &error, attempt);
        let ended =
            !retryable(&error) || attempt >= policy.attempts || waited + wait > policy.wait_budget;
        // The operation's deadline ends the retries only when nothing else did.
        let timed_out = (!ended && deadline.ends_within(wait))
            .then(|| deadline.setting().map(String::from))
            .flatten();
        if ended || timed_out.is_some() {
            return Err(Failed {
                error: Last::Answer(error),
                attempts: attempt,
                elapsed: started.elapsed(),
                timed_out,
            });
        }
        tracing::debug!(error = %error, attempt, wait_ms = wait.as_millis() as u64, "retrying Kubernetes request");
        if interrupt.guard(tokio::time::sleep(wait)).await.is_err() {
            return Err(interrupted(attempt));
        }
        waited += wait;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn answer(code: u16, retry_after_seconds: u32) -> kube::Error {
        let mut status = kube::core::Status::failure("injected", "Injected").with_code(code);
        status.details =
            serde_json::from_value(serde_json::json!({ "retryAfterSeconds": retry_after_seconds }))
                .unwrap();
        kube::Error::Api(status.boxed())
    }

    /// Runs `retry` over answers taken in order (then success); returns the result and how many
    /// calls were made.
    /// [`POLICY`] with waits a hundred times shorter (the server's Retry-After, in whole
    /// seconds, still followed up to a second), so the tests wait in real time.
    const FAST: Policy = Policy {
        attempts: POLICY.attempts,
        first_backoff: Duration::from_millis(2),
        wait_budget: Duration::from_millis(2500),
        longest_wait: Duration::from_secs(1),
    };

    async fn replay(answers: Vec<kube::Error>) -> (Result<&'static str, Failed>, u32) {
        let calls = AtomicU32::new(0);
        let answers = std::sync::Mutex::new(answers.into_iter());
        let result = retry_with(&FAST, &Interrupt::never(), &Deadline::none(), || {
            calls.fetch_add(1, Ordering::SeqCst);
            let next = answers.lock().unwrap().next();
            async move {
                match next {
                    Some(error) => Err(error),
                    None => Ok("applied"),
                }
            }
        })
        .await;
        (result, calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn retryable_answers_are_asked_again_until_one_succeeds() {
        let (result, calls) = replay(vec![
            answer(409, 0),
            answer(503, 0),
            answer(500, 0),
            answer(429, 0),
        ])
        .await;
        assert_eq!(result.unwrap(), "applied");
        assert_eq!(calls, 5);
    }

    #[tokio::test]
    async fn what_asking_again_cannot_change_fails_at_once() {
        for code in [400, 401, 403, 404, 422] {
            let (result, calls) = replay(vec![answer(code, 0)]).await;
            let failed = result.unwrap_err();
            assert!(failed.is(code), "{code}");
            assert_eq!((calls, failed.attempts), (1, 1), "{code}");
        }
    }

    #[tokio::test]
    async fn a_429_waits_as_long_as_the_server_asked() {
        let started = std::time::Instant::now();
        let (result, calls) = replay(vec![answer(429, 1)]).await;
        assert_eq!(result.unwrap(), "applied");
        assert_eq!(calls, 2);
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(
            wait_before_next(&POLICY, &answer(429, 4), 1),
            Duration::from_secs(4)
        );
        assert_eq!(
            wait_before_next(&POLICY, &answer(429, 600), 1),
            Duration::from_secs(10)
        );
        assert_eq!(
            wait_before_next(&POLICY, &answer(503, 0), 3),
            Duration::from_millis(800)
        );
    }

    #[tokio::test]
    async fn the_tries_run_out_with_the_last_answer_and_their_count() {
        let (result, calls) = replay((0..10).map(|_| answer(503, 0)).collect()).await;
        let failed = result.unwrap_err();
        assert_eq!((calls, failed.attempts), (POLICY.attempts, POLICY.attempts));
        assert!(failed.is(503));
    }

    #[tokio::test]
    async fn the_wait_budget_bounds_a_server_that_keeps_asking_for_time() {
        // Each answer asks for a second: a budget of 2.5 s allows two waits, so three tries.
        let (result, calls) = replay((0..10).map(|_| answer(429, 1)).collect()).await;
        assert_eq!(result.unwrap_err().attempts, 3);
        assert_eq!(calls, 3);
    }

    #[tokio::test]
    async fn a_stop_ends_a_back_off_and_a_request_in_flight() {
        // A server that keeps asking for ten seconds, and one that never answers: each ends as
        // soon as the stop comes, as a failure that says it was interrupted.
        let interrupts = crate::interrupt::Interrupts::default();
        let interrupt = interrupts.signal();
        let started = std::time::Instant::now();
        let none = Deadline::none();
        let backing_off = retry_with(&POLICY, &interrupt, &none, || async {
            Err::<(), _>(answer(429, 10))
        });
        let stalled = retry_with(&POLICY, &interrupt, &none, || {
            std::future::pending::<Result<(), kube::Error>>()
        });
        let stop = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            interrupts.stop();
        };
        let (backing_off, stalled, ()) = tokio::join!(backing_off, stalled, stop);
        for failed in [backing_off.unwrap_err(), stalled.unwrap_err()] {
            assert!(matches!(failed.error, Last::Interrupted), "{failed:?}");
            assert_eq!(failed.attempts, 1);
        }
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn the_operations_deadline_ends_the_retries_before_a_wait_would_pass_it() {
        // The real policy's back-off (0.2 s, 0.4 s, 0.8 s, ...) against a deadline 1 s away:
        // tries at 0, 0.2 and 0.6 s; the next wait would end at 1.4 s, so it is not waited.
        let timeout = Duration::from_secs(1);
        let deadline = Deadline::at(Instant::now() + timeout, "timeouts.update = \"1s\"".into());
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let result = retry_with(&POLICY, &Interrupt::never(), &deadline, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(answer(503, 0)) }
        })
        .await;
        assert!(started.elapsed() < timeout, "{:?}", started.elapsed());
        let failed = result.unwrap_err();
        assert!(failed.is(503));
        assert_eq!((calls.load(Ordering::SeqCst), failed.attempts), (3, 3));
        assert_eq!(
            failed.timed_out.as_deref(),
            Some("timeouts.update = \"1s\"")
        );
        let said = failed.said("ServiceUnavailable (503)");
        assert!(
            said.starts_with("ServiceUnavailable (503); the last of 3 tries over 0.6 s"),
            "{said}"
        );
        assert!(
            said.ends_with(
                "; the operation's timeout (timeouts.update = \"1s\") ended the retries: \
                 the next try would come after it"
            ),
            "{said}"
        );

        // A server asking for more time than is left: one try, and no wait at all.
        let deadline = Deadline::at(Instant::now() + timeout, "timeouts.create = \"1s\"".into());
        let started = Instant::now();
        let result = retry_with(&POLICY, &Interrupt::never(), &deadline, || async {
            Err::<(), _>(answer(429, 5))
        })
        .await;
        assert!(started.elapsed() < Duration::from_millis(500));
        let failed = result.unwrap_err();
        assert_eq!(failed.attempts, 1);
        assert!(failed.timed_out.is_some());

        // What asking again cannot change, and tries that ran out, are not the deadline's doing.
        let far = Deadline::at(Instant::now() + Duration::from_secs(3600), "far".into());
        let result = retry_with(&FAST, &Interrupt::never(), &far, || async {
            Err::<(), _>(answer(422, 0))
        })
        .await;
        assert_eq!(result.unwrap_err().timed_out, None);
        let result = retry_with(&FAST, &Interrupt::never(), &far, || async {
            Err::<(), _>(answer(503, 0))
        })
        .await;
        let failed = result.unwrap_err();
        assert_eq!((failed.attempts, failed.timed_out), (POLICY.attempts, None));
    }
}
