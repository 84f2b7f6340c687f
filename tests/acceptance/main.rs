//! Acceptance tests: the real `terraform` CLI drives the real provider binary through plan, apply,
//! import and destroy, and every apply is followed by a plan that must show no changes.
//!
//! Layout: `harness` (temporary workspaces, the CLI configuration with dev_overrides or a given
//! provider installation, assertions), `cluster` (the Kubernetes API test server, or a real
//! cluster named by `FLINK_TEST_KUBECONFIG`), `release` and `https_server` (the provider packaged
//! by scripts/release.sh, the mirrors and registry made from it, served over HTTPS), then one
//! module per resource type or cross-cutting promise (`install`: `terraform init` as users run it).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod api_faults;
mod artifacts;
mod blob_storage;
mod certificate_authority;
mod cluster;
mod concurrency;
mod configuration_secrets;
mod connection_resets;
mod data_sources;
mod deployment;
mod deployment_ingress;
mod deployment_logging;
mod deployment_tls;
mod destroy;
mod handshake;
mod harness;
mod high_availability;
mod https_server;
mod ingress;
mod install;
mod interrupt;
mod jobmanager_sampler;
mod kill_matrix;
mod kubernetes_ha;
mod lifecycle;
mod lifecycle_ha;
mod local_cluster;
mod modules;
mod ownership;
mod pod_security;
mod pod_template;
mod provider_config;
mod refresh;
mod release;
mod rescale;
mod s3_artifacts;
mod s3_predecessor;
mod verify;
#[path = "../realflink_ha/zookeeper_server.rs"]
mod zookeeper_server;
