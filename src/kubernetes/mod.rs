//! The only code that talks to the Kubernetes API server. Resources hand it the objects they want
//! (rendered elsewhere, without IO) and an [`Owner`]; it applies them with server-side apply under
//! one field manager, labels them as managed by this provider and by their owner, prunes owned
//! objects no longer wanted, deletes, and reads back what exists so drift can be shown.
//!
//! Layout: `access` (how to reach the cluster, and the shared connection), `client` (a client
//! from the access), `owner` (labels and selectors),
//! `objects` (desired objects and their API types), `converge` (apply, list, prune, delete),
//! `retry` (which answers are asked again, and how long to wait), `failure` (what a failed
//! request says), `drift` (pure comparison of desired and observed objects).

mod access;
mod client;
mod converge;
pub mod drift;
mod failure;
mod objects;
mod owner;
mod pods;
mod retry;

pub use access::{ClusterAccess, Connection};
pub use client::{check, connect, Setting};
pub use converge::{Cluster, Foreign};
pub use objects::{DesiredObject, Kind};
pub use owner::{marker_of, new_instance_id, Claim, Owner, INSTANCE_KEY};
pub use pods::Unopened;

/// The field manager under which every object is applied.
pub const FIELD_MANAGER: &str = "terraform-provider-flink";

/// A failure talking to the cluster, naming the object and carrying the server's message.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The provider configuration does not lead to a usable client.
    #[error("cannot configure the Kubernetes client: {message}")]
    Configure {
        /// The setting that can fix it.
        setting: Setting,
        /// What is wrong with it.
        message: String,
    },
    /// The API server refused or failed a request about one object.
    #[error("{verb} {kind} {namespace}/{name}: {message}")]
    Object {
        /// What was attempted (apply, get, delete).
        verb: &'static str,
        /// Object kind.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The server's message (or the transport error).
        message: String,
    },
    /// Listing a kind failed.
    #[error("list {kind} in {namespace}: {message}")]
    List {
        /// Object kind.
        kind: String,
        /// Namespace.
        namespace: String,
        /// The server's message.
        message: String,
    },
}
