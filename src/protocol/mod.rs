//! The wire: go-plugin's handshake, the gRPC server and the conversions between protocol messages
//! and the provider's own types. This is the only module that sees prost or tonic types.

mod autotls;
mod convert;
mod goplugin;
mod handshake;
mod requests;
#[cfg(test)]
mod rpc_tests;
mod service;
mod state_rpcs;

pub use handshake::{serve, ServeError, ServeMode};
pub use service::ProviderService;

/// Generated protocol types. Kept private: the rest of the provider never sees them.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub(crate) mod proto {
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}

#[cfg(test)]
pub(crate) use proto::tfplugin6 as wire;

/// In-process gRPC clients for tests: the generated client types, re-exported so tests outside
/// this module can call a served provider.
#[doc(hidden)]
pub mod testing {
    pub use super::proto::plugin::grpc_controller_client::GrpcControllerClient;
    pub use super::proto::plugin::Empty;
    pub use super::proto::tfplugin6::*;
}
