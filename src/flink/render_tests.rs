//! Unit tests of [`super`]: layering, key names per version, HA, Queryable State and overrides.

use super::*;
use crate::flink::FlinkVersion;

fn input(v: FlinkVersion) -> RenderInput {
    RenderInput {
        version: v,
        namespace: "team-a".into(),
        deployment_id: "dep-1".into(),
        job_id: Some("0000000000000000000000000000000A".into()),
        user: BTreeMap::new(),
        from_secrets: Default::default(),
        parallelism: Some(2),
        task_slots: Some(1),
        jobmanager: ProcessResources {
            memory: Some("1600m".into()),
            cpu: Some(0.5),
        },
        taskmanager: ProcessResources {
            memory: Some("2 gb".into()),
            cpu: Some(1.0),
        },
        blob_storage: Some("s3://b/p".into()),
        high_availability: None,
        queryable_state: false,
        owned: BTreeMap::new(),
    }
}

#[test]
fn key_names_follow_the_version() {
    let r = render(&input(FlinkVersion::V1_19));
    assert_eq!(
        r.configuration["state.checkpoints.dir"],
        "s3://b/p/flink-jobs/namespaces/team-a/deployments/dep-1/checkpoints"
    );
    assert!(r.configuration.contains_key("state.savepoints.dir"));
    let r = render(&input(FlinkVersion::V2_3));
    assert!(r.configuration.contains_key("execution.checkpointing.dir"));
    assert!(r
        .configuration
        .contains_key("execution.checkpointing.savepoint-dir"));
    assert!(!r.configuration.contains_key("state.checkpoints.dir"));
    assert_eq!(r.configuration["kubernetes.jobmanager.cpu.amount"], "0.5");
    assert_eq!(
        r.configuration["$internal.pipeline.job-id"],
        "0000000000000000000000000000000a"
    );
    assert_eq!(r.configuration["high-availability.cluster-id"], "dep-1");
    assert!(r.configuration["env.java.default-opts.all"].contains("--add-opens"));
    assert!(r.issues.is_empty(), "{:?}", r.issues);
}

#[test]
fn user_alias_replaces_the_derived_key() {
    let mut i = input(FlinkVersion::V2_3);
    i.user
        .insert("state.savepoints.dir".into(), "s3://other/sp".into());
    let r = render(&i);
    assert_eq!(r.configuration["state.savepoints.dir"], "s3://other/sp");
    assert!(!r
        .configuration
        .contains_key("execution.checkpointing.savepoint-dir"));
}

#[test]
fn user_jvm_options_keep_the_module_options() {
    let mut i = input(FlinkVersion::V2_3);
    i.user
        .insert("env.java.default-opts.all".into(), "-XX:+UseG1GC".into());
    i.user
        .insert("env.java.opts.all".into(), "-Dfoo=bar".into());
    let r = render(&i);
    let opts = &r.configuration["env.java.default-opts.all"];
    assert!(
        opts.starts_with("--add-exports") && opts.ends_with(" -XX:+UseG1GC"),
        "{opts}"
    );
    assert_eq!(r.configuration["env.java.opts.all"], "-Dfoo=bar");
}

#[test]
fn high_availability() {
    let mut i = input(FlinkVersion::V2_3);
    i.high_availability = Some(HighAvailability::Kubernetes { storage_dir: None });
    let r = render(&i);
    assert_eq!(r.configuration["high-availability.type"], "kubernetes");
    assert_eq!(r.configuration["kubernetes.cluster-id"], "dep-1");
    assert!(r.configuration["high-availability.storageDir"].ends_with("/deployments/dep-1/ha"));
    i.high_availability = Some(HighAvailability::ZooKeeper {
        quorum: "zk:2181".into(),
        path_root: None,
        storage_dir: Some("s3://ha".into()),
    });
    i.user
        .insert("high-availability.type".into(), "NONE".into());
    let r = render(&i);
    assert_eq!(r.configuration["high-availability.type"], "zookeeper");
    assert_eq!(r.configuration["high-availability.storageDir"], "s3://ha");
    assert_eq!(
        r.configuration["high-availability.zookeeper.path.root"],
        "/flink"
    );
    assert!(r
        .issues
        .iter()
        .any(|x| x.key == "high-availability.type" && x.summary.contains("overridden")));
    i.blob_storage = None;
    i.high_availability = Some(HighAvailability::Kubernetes { storage_dir: None });
    assert!(render(&i).has_errors());
    i.blob_storage = Some("s3://b".into());
    assert!(!render(&i).has_errors());
    i.deployment_id = "Dep_1".into();
    assert!(render(&i)
        .issues
        .iter()
        .any(|x| x.summary.contains("Kubernetes cluster id")));
    assert!(is_kubernetes_cluster_id(
        "5c1f1e36-7d0b-4c0e-9d0e-2a0f6f0b1a11"
    ));
    assert!(!is_kubernetes_cluster_id("-a") && !is_kubernetes_cluster_id(&"a".repeat(46)));
}

#[test]
fn identities_owned_and_queryable_state() {
    let mut i = input(FlinkVersion::V1_20);
    i.user
        .insert("high-availability.cluster-id".into(), "mine".into());
    i.user.insert(
        "high-availability.zookeeper.path.namespace".into(),
        "old".into(),
    );
    i.user
        .insert("security.ssl.rest.enabled".into(), "false".into());
    i.owned
        .insert("security.ssl.rest.enabled".into(), "true".into());
    i.queryable_state = true;
    let r = render(&i);
    assert_eq!(r.configuration["high-availability.cluster-id"], "dep-1");
    assert!(!r
        .configuration
        .contains_key("high-availability.zookeeper.path.namespace"));
    let on_ids: Vec<_> = r
        .issues
        .iter()
        .filter(|x| x.key.starts_with("high-availability."))
        .collect();
    assert!(
        on_ids.len() == 2 && on_ids.iter().all(|x| x.is_error()),
        "{on_ids:?}"
    );
    assert_eq!(r.configuration["security.ssl.rest.enabled"], "true");
    assert_eq!(r.configuration["queryable-state.proxy.ports"], "9069");
    assert!(r.has_errors());
    assert!(r
        .issues
        .iter()
        .any(|x| x.key == "security.ssl.rest.enabled" && !x.is_error()));
    assert!(r
        .issues
        .iter()
        .any(|x| x.key == "queryable_state" && x.summary.contains("deprecated")));
}

#[test]
fn bad_inputs_are_errors() {
    let mut i = input(FlinkVersion::V2_0);
    i.job_id = Some("xyz".into());
    i.jobmanager.memory = Some("a lot".into());
    i.blob_storage = Some("ftp://x".into());
    i.parallelism = Some(0);
    i.taskmanager.cpu = Some(-1.0);
    let keys: Vec<String> = render(&i)
        .issues
        .into_iter()
        .filter(|x| x.is_error())
        .map(|x| x.key)
        .collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
}

#[test]
fn keys_from_secrets_are_checked_as_user_keys_but_stay_out_of_the_file() {
    let mut i = input(FlinkVersion::V2_3);
    for key in [
        "fs.azure.account.key.acme.blob.core.windows.net",
        "parallelism.default",
        "state.checkpoints.dir",
        "no.such.option",
    ] {
        i.from_secrets.insert(key.into());
    }
    let r = render(&i);
    let errors: Vec<(&str, &str)> = r
        .issues
        .iter()
        .filter(|i| i.is_error())
        .map(|i| (i.key.as_str(), i.summary.as_str()))
        .collect();
    assert_eq!(errors, [("no.such.option", "Unknown Flink option")]);
    let warned: Vec<&str> = r
        .issues
        .iter()
        .filter(|i| !i.is_error())
        .map(|i| i.key.as_str())
        .collect();
    assert_eq!(warned, ["state.checkpoints.dir"], "a deprecated name warns");
    for key in [
        "fs.azure.account.key.acme.blob.core.windows.net",
        "parallelism.default",
        "execution.checkpointing.dir",
    ] {
        assert!(!r.configuration.contains_key(key), "{key}");
        assert!(!r.config_yaml.contains(key), "{key}");
    }
}

#[test]
fn keys_the_provider_sets_cannot_come_from_secrets() {
    let mut i = input(FlinkVersion::V2_3);
    i.high_availability = Some(HighAvailability::Kubernetes { storage_dir: None });
    i.owned.insert("rest.port".into(), "8081".into());
    for key in [
        "kubernetes.cluster-id",
        "high-availability.storageDir",
        "rest.port",
        "high-availability.type",
    ] {
        i.from_secrets.insert(key.into());
    }
    let r = render(&i);
    let errors: Vec<(&str, &str)> = r
        .issues
        .iter()
        .filter(|i| i.is_error())
        .map(|i| (i.key.as_str(), i.summary.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "high-availability.type",
                "Configure high availability with high_availability"
            ),
            ("kubernetes.cluster-id", "Key is set by the provider"),
            ("high-availability.storageDir", "Key is set by the provider"),
            ("high-availability.type", "Key is set by the provider"),
            ("rest.port", "Key is set by the provider"),
        ]
    );
    let identity = r.issues.iter().find(|i| i.key == "kubernetes.cluster-id");
    assert!(identity.is_some_and(|i| i
        .detail
        .contains("Remove it from flink_configuration_from_secrets")));
}
