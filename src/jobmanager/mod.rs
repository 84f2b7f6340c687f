//! The only code that talks to Flink: the JobManager's REST API.
//!
//! Data flow: a caller hands in how the JobManager is reached (a [`Reach`]: which pod or URL,
//! which credentials; the deployment owns that) -> [`client`] asks Flink about the job and waits
//! for its cancel and end, `savepoints` for its savepoints and their disposal, `rescale` for in-place rescaling -> [`transport`]
//! sends one request over a byte stream (plain, or mutual TLS) -> [`answers`] reads what Flink
//! said into types, without IO.
//! Every failure is an [`Error`].

pub mod answers;
pub mod client;
mod error;
mod rescale;
mod savepoints;
#[cfg(test)]
pub(crate) mod stopped_by_hand;
pub mod transport;

pub use answers::{is_terminal, Retained};
pub use client::{JobManager, Limit, Reach};
pub use error::Error;
pub use transport::{Call, InvalidUrl, Peer, RestTls, RestUrl, Security};
