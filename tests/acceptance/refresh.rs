//! Listing cost: a plan lists each kind of object once per namespace, however many deployments
//! the configuration has, and an apply that creates deployments lists only each one's own objects
//! (the test server counts and logs the requests; on a real cluster neither is available and only
//! the plans are checked). A planned create checks that none of its objects exists yet (issue 23,
//! ownership) from the same shared lists.

use crate::cluster::Cluster;
use crate::harness::Workspace;

#[test]
fn refresh_lists_each_kind_once_per_namespace_and_creates_list_their_own_objects() {
    let cluster = Cluster::start("refresh");
    let ns = cluster.namespace.clone();
    let deployment = |i: usize| {
        format!(
            "resource \"flink_deployment\" \"d{i}\" {{\n  name          = \"job-{i}\"\n  namespace     = \"{ns}\"\n  flink_version = \"2.3\"\n  wait_for_job  = false\n  artifact      = {{ jar_uri = \"https://example.com/job.jar\" }}\n}}\n"
        )
    };
    let mut config = cluster.provider_block();
    (0..5).for_each(|i| config.push_str(&deployment(i)));
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
        // The nine kinds a deployment owns (ConfigMap, Secret, ServiceAccount, Role,
        // RoleBinding, Service, Deployment, NetworkPolicy, Ingress) and its pods (for `status`),
        // listed once for all five deployments.
        assert_eq!(lists, 10, "{counts:?}");
        assert!(
            counts.keys().all(|k| k.starts_with("list ")),
            "a refresh only lists: {counts:?}"
        );
    }

    // Five more: the apply's refresh lists the namespace once per kind, each create then lists
    // its own objects. A namespace-wide list per created deployment would cost N^2 as the
    // namespace fills.
    (5..10).for_each(|i| config.push_str(&deployment(i)));
    ws.config(&config);
    let logged_before = cluster.request_log().map(|log| log.len());
    ws.apply();
    if let (Some(before), Some(log)) = (logged_before, cluster.request_log()) {
        let during = &log[before..];
        let namespace_wide = during
            .iter()
            .filter(|l| {
                l.contains(
                    "labelSelector=app.kubernetes.io%2Fmanaged-by%3Dterraform-provider-flink ->",
                ) || l.contains("labelSelector=flink.flinkops.io%2Fdeployment-id ->")
            })
            .count();
        // The apply's refresh and the plan after it (`Workspace::apply` checks it is empty), ten
        // kinds each, and the ownership check of the creates when Terraform plans them again in
        // the apply's own provider process (nine kinds, once for all five, from the shared lists).
        assert!(
            namespace_wide <= 29,
            "{namespace_wide} namespace-wide lists:\n{during:#?}"
        );
        assert!(
            during
                .iter()
                .any(|l| l.contains("flink.flinkops.io%2Fowner-name%3Djob-7")),
            "a created deployment lists its own objects:\n{during:#?}"
        );
    }
    ws.destroy();
}
