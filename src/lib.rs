//! terraform-provider-flink: a Terraform provider (plugin protocol 6) that runs Apache Flink
//! applications on Kubernetes with the operational features of Ververica Platform.
//!
//! # Layout
//! The modules follow the data flow, and arrows only point down:
//! `protocol` (gRPC, handshake) -> `schema` and `value` (types, values with unknowns, diagnostics)
//! -> `provider` (one handler per RPC) -> `resources` (one file or folder per Terraform type, each
//! a typed resource over its own model; `flink_deployment` a pipeline of stages: model, resolved,
//! rendered, computed) -> `flink` and `tls` (pure rendering, no IO)
//! -> `kubernetes` (the only Kubernetes API client) and `jobmanager` (the only code that talks to
//! Flink's REST API; the deployment hands it how its JobManager is reached). `interrupt` carries
//! Terraform's StopProvider (Ctrl-C) down that flow as a plain signal, and `deadline` the end that
//! a resource's `timeouts` set for its operation.

pub mod deadline;
pub mod docs;
pub mod flink;
#[cfg(test)]
mod golden;
pub mod interrupt;
pub mod jobmanager;
pub mod kubernetes;
pub mod logging;
pub mod protocol;
pub mod provider;
pub mod resources;
pub mod schema;
pub mod storage;
pub mod tls;
pub mod value;
