//! What can go wrong talking to a JobManager, as one type: the caller decides from the variant
//! whether to ask again, wait, or tell the user, instead of matching Flink's wording.

/// An error from Flink's REST API or the way to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// There is nothing to talk to: no JobManager pod, or the deployment's ids are unknown.
    #[error("{0}")]
    NoJobManager(String),
    /// The connection failed: port-forward, TCP, TLS handshake or HTTP, perhaps after the
    /// request went out (Flink may have acted on it).
    #[error("{0}")]
    Unreachable(String),
    /// The connection could not be made (the port-forward or TCP connection was lost or refused,
    /// or it dropped during the TLS handshake): the request never went out, so sending it again
    /// is safe, a POST too.
    #[error("{0}")]
    NotConnected(String),
    /// The client's own certificates, key or trusted roots cannot be used.
    #[error("{0}")]
    Credentials(String),
    /// Flink answered with an error status.
    #[error("{method} {path}: {code} {message}")]
    Refused {
        /// The request's method.
        method: &'static str,
        /// Its path.
        path: String,
        /// The HTTP status.
        code: u16,
        /// Flink's error lines.
        message: String,
    },
    /// Flink's answer lacked what the request is for.
    #[error("{0}")]
    Unexpected(String),
    /// A savepoint asked for before every task of the job runs (a job just restarted).
    #[error("Flink: {0}")]
    TasksNotRunning(String),
    /// An operation Flink accepted failed, with Flink's innermost cause.
    #[error("{0}")]
    Failed(String),
    /// An operation did not complete within its limit.
    #[error("the {what} did not complete {within}")]
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// "within 600s (savepoint_timeout)".
        within: String,
    },
    /// The JobManager stopped answering while an operation ran.
    #[error("lost the JobManager while the {what} ran: {cause}")]
    Lost {
        /// What was running.
        what: &'static str,
        /// The last failure.
        cause: Box<Error>,
    },
}
