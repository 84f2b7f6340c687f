//! kube-test-server: a Kubernetes API test server (placeholder until its issue lands).

fn main() {}
