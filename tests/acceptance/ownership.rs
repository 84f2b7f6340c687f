//! Ownership (issue 23): two resources never share or silently adopt one set of objects. Each
//! resource instance marks its objects with its `instance_id` (annotation
//! `flink.flinkops.io/owner-instance`); a second workspace declaring the same names is refused
//! at plan, naming the object and saying to import, and the first workspace sees no drift;
//! import takes the marker over; objects from a provider version without markers, under a
//! resource in state, get one at the first apply; and a second state that listed the same
//! unmarked objects (the bug this fixes) is refused at apply, and its destroy leaves them.

use crate::cluster::Cluster;
use crate::destroy::platform;
use crate::harness::{unwrapped, Workspace};

const MARKER: &str = "flink.flinkops.io/owner-instance";

/// Every kind the provider's resources own, for kubectl.
const KINDS: &str =
    "configmaps,secrets,services,serviceaccounts,roles,rolebindings,deployments,networkpolicies,ingresses";

/// `kind/name=marker` of every object labelled by the provider (an empty marker when none).
fn markers(cluster: &Cluster) -> Vec<String> {
    let template = format!(
        "jsonpath={{range .items[*]}}{{.kind}}/{{.metadata.name}}={{.metadata.annotations.{}}}{{\"\\n\"}}{{end}}",
        MARKER.replace('.', "\\.")
    );
    let text = cluster.kubectl(&[
        "get",
        KINDS,
        "-l",
        "app.kubernetes.io/managed-by=terraform-provider-flink",
        "-o",
        &template,
    ]);
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort();
    lines
}

/// The instance id of `address` in the workspace's state.
fn instance_of(ws: &Workspace, address: &str) -> String {
    let values = ws.resource_values(address);
    let id = values["instance_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(id.len(), 36, "{address}: {values}");
    id
}

/// The deployment alone, without blob storage, HA or TLS.
fn lone_deployment(cluster: &Cluster) -> String {
    format!(
        r#"{provider}
resource "flink_deployment" "job" {{
  name          = "job"
  namespace     = "{ns}"
  flink_version = "2.3"
  wait_for_job  = false
  artifact = {{
    jar_uri = "https://artifacts.example.com/job.jar"
  }}
}}
"#,
        provider = cluster.provider_block(),
        ns = cluster.namespace,
    )
}

/// The error a workspace gets for `kind/name` in `ns`, already marked by `instance`.
fn taken(kind: &str, ns: &str, name: &str, instance: &str) -> String {
    format!(
        "{kind} {ns}/{name} is already managed by another Terraform resource (instance \
         {instance}); import it instead, or choose another name"
    )
}

#[test]
fn a_second_workspace_with_the_same_names_is_refused_at_plan() {
    let cluster = Cluster::start("owners");
    let ns = cluster.namespace.clone();
    let a = Workspace::new();
    a.config(&platform(&cluster, ""));
    a.apply();
    let before = markers(&cluster);
    // Every object carries its resource's marker.
    assert!(before.iter().all(|l| !l.ends_with('=')), "{before:?}");
    for address in [
        "flink_certificate_authority.ca",
        "flink_high_availability.k8s",
        "flink_blob_storage.state",
        "flink_deployment.job",
    ] {
        let id = instance_of(&a, address);
        assert!(
            before.iter().any(|l| l.ends_with(&format!("={id}"))),
            "{address}: {before:?}"
        );
    }
    let deployment = instance_of(&a, "flink_deployment.job");
    let before_blob = instance_of(&a, "flink_blob_storage.state");
    assert!(
        before.contains(&format!("ConfigMap/flink-job-config={deployment}")),
        "{before:?}"
    );

    // Workspace B declares the same platform: each resource is refused at plan (the deployment,
    // which depends on them, is not planned after their errors).
    let b = Workspace::new();
    b.config(&platform(&cluster, ""));
    let said = unwrapped(&b.plan_error());
    let expected = [
        taken(
            "ConfigMap",
            &ns,
            "flink-ha-k8s",
            &instance_of(&a, "flink_high_availability.k8s"),
        ),
        taken(
            "Secret",
            &ns,
            "flink-platform-ca",
            &instance_of(&a, "flink_certificate_authority.ca"),
        ),
        taken(
            "ConfigMap",
            &ns,
            "flink-blob-storage-state",
            &instance_of(&a, "flink_blob_storage.state"),
        ),
        "with flink_high_availability.k8s".to_string(),
        format!("terraform import <address of this flink_blob_storage> {ns}/state"),
        "The same holds for Secret flink-blob-storage-state.".to_string(),
    ];
    for expected in expected {
        assert!(said.contains(&expected), "missing {expected:?} in:\n{said}");
    }
    // The deployment alone is refused at plan too, and an apply stops at the same plan.
    b.config(&lone_deployment(&cluster));
    let said = unwrapped(&b.plan_error());
    for expected in [
        taken("ConfigMap", &ns, "flink-job-config", &deployment),
        "with flink_deployment.job".to_string(),
        format!("terraform import <address of this flink_deployment> {ns}/job"),
    ] {
        assert!(said.contains(&expected), "missing {expected:?} in:\n{said}");
    }
    let run = b.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    assert!(
        unwrapped(&run.text).contains(&taken("ConfigMap", &ns, "flink-job-config", &deployment)),
        "{}",
        run.text
    );
    assert_eq!(markers(&cluster), before, "B changed A's objects");
    a.assert_no_changes();
    // B has nothing in state, so its destroy touches nothing of A's.
    b.destroy();
    assert_eq!(markers(&cluster), before, "B's destroy touched A's objects");
    a.assert_no_changes();

    // A replacing its own resources (tainted, or -replace) is no other resource: the plan
    // passes, and the apply deletes the old objects before it creates the new ones.
    let tainted = a.terraform(&["taint", "flink_high_availability.k8s"]);
    assert_eq!(tainted.code, 0, "{}", tainted.text);
    let (changes, plan) = a.plan();
    assert!(changes && plan.contains("must be replaced"), "{plan}");
    let run = a.terraform(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-replace=flink_blob_storage.state",
    ]);
    assert_eq!(run.code, 0, "{}", run.text);
    a.assert_no_changes();
    assert_ne!(instance_of(&a, "flink_blob_storage.state"), before_blob);
    a.destroy();
    assert_eq!(cluster.managed_objects(), Vec::<String>::new());
}

#[test]
fn import_takes_the_marker_over_and_the_next_plan_is_empty() {
    let cluster = Cluster::start("owners-import");
    let ns = cluster.namespace.clone();
    let a = Workspace::new();
    a.config(&lone_deployment(&cluster));
    a.apply();
    let instance = instance_of(&a, "flink_deployment.job");
    // Another workspace takes the deployment over by import: it keeps the objects' marker.
    let b = Workspace::new();
    b.config(&lone_deployment(&cluster));
    b.import("flink_deployment.job", &format!("{ns}/job"));
    assert_eq!(instance_of(&b, "flink_deployment.job"), instance);
    b.assert_no_changes();
    b.config(&lone_deployment(&cluster).replace(
        "wait_for_job  = false",
        "wait_for_job  = false\n  parallelism   = 2",
    ));
    b.apply();
    let now = markers(&cluster);
    assert!(!now.is_empty());
    assert!(
        now.iter().all(|l| l.ends_with(&format!("={instance}"))),
        "{now:?}"
    );
    // A left it to B: removed from A's state, it is B's alone.
    let rm = a.terraform(&["state", "rm", "flink_deployment.job"]);
    assert_eq!(rm.code, 0, "{}", rm.text);
    b.destroy();
    assert_eq!(cluster.managed_objects(), Vec::<String>::new());
}

/// Writes `state` (a pulled state without the deployment's instance id: what a provider version
/// without markers wrote) into `ws`.
fn push_legacy_state(ws: &Workspace, state: &serde_json::Value) {
    std::fs::write(ws.path().join("old.tfstate"), state.to_string()).unwrap();
    let pushed = ws.terraform(&["state", "push", "-force", "old.tfstate"]);
    assert_eq!(pushed.code, 0, "{}", pushed.text);
}

#[test]
fn unmarked_objects_are_adopted_by_the_state_that_lists_them_and_refused_elsewhere() {
    let cluster = Cluster::start("owners-upgrade");
    let ns = cluster.namespace.clone();
    let a = Workspace::new();
    a.config(&platform(&cluster, ""));
    a.apply();
    // What a provider version without markers leaves: objects without the annotation, and a
    // state without instance_id, here in two workspaces that both declared the same platform
    // (the bug of issue 23).
    let selector = "app.kubernetes.io/managed-by=terraform-provider-flink";
    cluster.kubectl(&["annotate", KINDS, "-l", selector, &format!("{MARKER}-")]);
    assert!(
        markers(&cluster).iter().all(|l| l.ends_with('=')),
        "{:?}",
        markers(&cluster)
    );
    let pulled = a.terraform(&["state", "pull"]);
    assert_eq!(pulled.code, 0, "{}", pulled.text);
    let mut state: serde_json::Value = serde_json::from_str(&pulled.text).unwrap();
    state["serial"] = (state["serial"].as_u64().unwrap() + 1).into();
    for resource in state["resources"].as_array_mut().unwrap() {
        for instance in resource["instances"].as_array_mut().unwrap() {
            let attributes = instance["attributes"].as_object_mut().unwrap();
            assert!(attributes.remove("instance_id").is_some(), "{attributes:?}");
        }
    }
    push_legacy_state(&a, &state);
    let b = Workspace::new();
    b.config(&platform(&cluster, ""));
    push_legacy_state(&b, &state);

    // A resource in no state may not take unmarked objects, at plan.
    let c = Workspace::new();
    c.config(&lone_deployment(&cluster));
    let said = unwrapped(&c.plan_error());
    assert!(
        said.contains(&format!(
            "ConfigMap {ns}/flink-job-config is already managed by another Terraform resource \
             (no owner marker); import it instead, or choose another name"
        )),
        "{said}"
    );
    assert!(
        said.contains("an earlier provider version created it"),
        "{said}"
    );

    // The upgraded state plans the markers, without an error, and the apply writes them.
    let (changes, plan) = a.plan();
    assert!(changes, "{plan}");
    assert!(plan.contains("instance_id"), "{plan}");
    a.apply();
    let now = markers(&cluster);
    assert!(now.iter().all(|l| !l.ends_with('=')), "{now:?}");
    let deployment = instance_of(&a, "flink_deployment.job");
    assert!(
        now.contains(&format!("ConfigMap/flink-job-config={deployment}")),
        "{now:?}"
    );
    let ha = instance_of(&a, "flink_high_availability.k8s");

    // The other state that listed them sees them taken, its apply is refused before it writes,
    // and its destroy leaves them to A, with a warning for each resource.
    let (changes, plan) = b.plan();
    assert!(changes, "{plan}");
    assert!(
        plan.contains(&format!(
            "managed by another Terraform resource (instance {deployment})"
        )),
        "{plan}"
    );
    let run = b.terraform(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(run.code, 0, "{}", run.text);
    assert!(
        unwrapped(&run.text).contains(&taken("ConfigMap", &ns, "flink-ha-k8s", &ha)),
        "{}",
        run.text
    );
    assert_eq!(markers(&cluster), now, "B's apply changed A's objects");
    let destroyed = unwrapped(&b.destroy());
    for expected in [
        format!("flink_deployment {ns}/job left in place"),
        format!("ConfigMap {ns}/flink-ha-k8s left in place"),
        format!("Secret {ns}/flink-platform-ca left in place"),
        format!("Secret {ns}/flink-blob-storage-state left in place"),
    ] {
        assert!(
            destroyed.contains(&expected),
            "missing {expected:?} in:\n{destroyed}"
        );
    }
    assert_eq!(markers(&cluster), now, "B's destroy touched A's objects");
    a.assert_no_changes();
    a.destroy();
    assert_eq!(cluster.managed_objects(), Vec::<String>::new());
}
