//! The `terraform-provider-flink` binary: speaks the go-plugin handshake and serves protocol 6.

fn main() {}
