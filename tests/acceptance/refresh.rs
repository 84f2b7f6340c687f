//! Refresh cost: a plan lists each kind of object once per namespace, however many deployments
//! the configuration has (the test server counts the requests; on a real cluster the count is not
//! available and only the plan is checked).

use crate::cluster::Cluster;
use crate::harness::Workspace;

#[test]
fn refresh_lists_each_kind_once_per_namespace() {
    let cluster = Cluster::start("refresh");
    let ns = cluster.namespace.clone();
    let mut config = cluster.provider_block();
    for i in 0..5 {
        config.push_str(&format!(
            "resource \"flink_deployment\" \"d{i}\" {{\n  name          = \"job-{i}\"\n  namespace     = \"{ns}\"\n  flink_version = \"2.3\"\n  wait_for_job  = false\n  artifact      = {{ jar_uri = \"https://example.com/job.jar\" }}\n}}\n"
        ));
    }
    let ws = Workspace::new();
    ws.config(&config);
    ws.apply();
    cluster.take_request_counts();
    ws.assert_no_changes();
    if let Some(counts) = cluster.take_request_counts() {
        let lists: u64 = counts
            .iter()
            .filter(|(k, _)| k.starts_with("list "))
            .map(|(_, v)| v)
            .sum();
        // The seven kinds a deployment owns (ConfigMap, Secret, ServiceAccount, Role,
        // RoleBinding, Service, Deployment) and its pods (for `status`), listed once for all
        // five deployments.
        assert_eq!(lists, 8, "{counts:?}");
        assert!(
            counts.keys().all(|k| k.starts_with("list ")),
            "a refresh only lists: {counts:?}"
        );
    }
    ws.destroy();
}
