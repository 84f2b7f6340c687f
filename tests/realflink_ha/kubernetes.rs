//! Kubernetes HA with real Flink against the Kubernetes API test server, which enforces RBAC as a
//! real API server does (`testcluster/src/auth.rs`: Roles bound to ServiceAccounts, verbs,
//! `resourceNames`, a list's or watch's `metadata.name` field selector). The server runs
//! in-process with the provider's ServiceAccounts, Roles and RoleBindings of both components
//! ([`flink_provider::resources::kubernetes_ha_rules`]); a real JobManager runs on our rendered
//! `high-availability.type: kubernetes` configuration (our `kubernetes.cluster-id` and
//! `kubernetes.namespace`) with a kubeconfig holding the JobManager account's token, and a real
//! TaskManager with the TaskManager account's. The JobManager must elect itself leader and write
//! its HA ConfigMaps, labelled as [`HA_CONFIGMAP_LABELS`] says, within its narrowed grant; the
//! TaskManager must find the leader and register within its read-only one; no request of either
//! may be refused; and the TaskManager's token may read the cluster ConfigMap but not write it or
//! create one (403). The provider's destroy path (`Cluster::delete_labelled` with
//! `ha_config_map_selector`) then removes exactly the HA ConfigMaps.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flink_provider::flink::render::HighAvailability;
use flink_provider::flink::FlinkVersion;
use flink_provider::resources::{kubernetes_ha_rules, HaComponent};
use kube_test_server::kinds;
use kube_test_server::selectors::{FieldSelector, LabelSelector};
use kube_test_server::store::Write;
use serde_json::{json, Value as Json};

use crate::rbac::{assert_in_namespace, Request};
use crate::{start_deployment, workdir, Started};

/// The labels real Flink puts on every HA ConfigMap it creates (seen on 2.3.0 against the test
/// server; Flink's `Constants.LABEL_APP_KEY` / `LABEL_TYPE_KEY` = `LABEL_TYPE_NATIVE_TYPE`; 2.3 has
/// no `configmap-type` label), `<cluster-id>` standing for the deployment id. The provider finds the
/// ConfigMaps to delete on destroy with these.
pub const HA_CONFIGMAP_LABELS: &[(&str, &str)] =
    &[("app", "<cluster-id>"), ("type", "flink-native-kubernetes")];

/// The test server in its own runtime, stopped with it.
struct Server {
    running: kube_test_server::RunningServer,
    _runtime: tokio::runtime::Runtime,
}

fn start_server() -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let running = runtime
        .block_on(kube_test_server::start("127.0.0.1:0"))
        .unwrap();
    Server {
        running,
        _runtime: runtime,
    }
}

impl Server {
    fn shared(&self) -> &Arc<kube_test_server::http::Shared> {
        &self.running.shared
    }

    fn create_namespace(&self, name: &str) {
        let kind = kinds::find("", "v1", "namespaces").unwrap();
        let write = Write {
            manager: "realflink-ha",
            dry_run: false,
            subresource: None,
        };
        self.shared()
            .store
            .create(
                kind,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
                &write,
            )
            .unwrap();
    }

    fn create(&self, plural: &str, namespace: &str, object: Json) {
        let kind = kinds::KINDS.iter().find(|k| k.plural == plural).unwrap();
        let write = Write {
            manager: "realflink-ha",
            dry_run: false,
            subresource: None,
        };
        self.shared()
            .store
            .create(kind, namespace, object, &write)
            .unwrap();
    }

    /// The provider's ServiceAccount, Role and RoleBinding of `component`, named `name`, and a
    /// kubeconfig at `path` with the token a pod of that account mounts.
    fn grant(
        &self,
        namespace: &str,
        name: &str,
        rules: Vec<flink_provider::resources::HaRule>,
        path: &std::path::Path,
    ) {
        self.create(
            "serviceaccounts",
            namespace,
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}),
        );
        let rules: Vec<Json> = rules.iter().map(|r| r.to_json()).collect();
        self.create(
            "roles",
            namespace,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                   "metadata": {"name": name}, "rules": rules}),
        );
        self.create(
            "rolebindings",
            namespace,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": name},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                   "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]}),
        );
        let token = self.shared().tokens.issue(namespace, name);
        let kubeconfig: String = self
            .running
            .kubeconfig
            .lines()
            .map(|line| match line.strip_prefix("    token: ") {
                Some(_) => format!("    token: {token}\n"),
                None => format!("{line}\n"),
            })
            .collect();
        assert!(kubeconfig.contains(&token));
        std::fs::write(path, kubeconfig).unwrap();
    }

    fn config_maps(&self, namespace: &str) -> Vec<Json> {
        let kind = kinds::find("", "v1", "configmaps").unwrap();
        self.shared()
            .store
            .list(
                kind,
                Some(namespace),
                &LabelSelector::parse("").unwrap(),
                &FieldSelector::parse("").unwrap(),
            )
            .0
    }

    fn request_log(&self) -> Vec<String> {
        self.shared()
            .request_log
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The leader annotation fabric8's ConfigMap lock writes.
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

fn check(version: FlinkVersion) {
    let t0 = Instant::now();
    let work = workdir(&format!("k8s-{}", version.tested_patch()));
    let server = start_server();
    let kubeconfig = work.join("kubeconfig");
    std::fs::write(&kubeconfig, &server.running.kubeconfig).unwrap();
    let namespace = "team-a";
    let id = flink_provider::resources::deployment_id(namespace, "orders");
    let id = id.as_str();
    server.create_namespace(namespace);
    // The pods' grants, as the provider renders them for the deployment's first run.
    let job_id = flink_provider::resources::job_id_of(id);
    let (jm_kubeconfig, tm_kubeconfig) = (work.join("jm-kubeconfig"), work.join("tm-kubeconfig"));
    server.grant(
        namespace,
        "flink-orders-jobmanager",
        kubernetes_ha_rules(HaComponent::JobManager, id, &job_id),
        &jm_kubeconfig,
    );
    server.grant(
        namespace,
        "flink-orders-taskmanager",
        kubernetes_ha_rules(HaComponent::TaskManager, id, &job_id),
        &tm_kubeconfig,
    );
    let mut started: Started = start_deployment(
        version,
        &work,
        namespace,
        id,
        HighAvailability::Kubernetes { storage_dir: None },
        &[("KUBECONFIG", jm_kubeconfig.as_path())],
    );
    let what = format!("{version} Kubernetes HA {namespace}/{id}");
    let dump = |server: &Server, started: &Started| {
        format!(
            "requests:\n{}\nConfigMaps: {}\n{}",
            server.request_log().join("\n"),
            serde_json::to_string_pretty(&server.config_maps(namespace)).unwrap_or_default(),
            started.log()
        )
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = started.jm.child.try_wait().unwrap() {
            panic!(
                "{what}: JobManager exited with {status}:\n{}",
                dump(&server, &started)
            );
        }
        if let Ok((200, _)) = crate::support::http_get(started.rest_port, "/overview") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: /overview did not answer in 120 s:\n{}",
            dump(&server, &started)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("{what}: leader, REST up after {:?}", t0.elapsed());
    let flink = started.flink_config();
    assert_eq!(
        flink.get("kubernetes.cluster-id").map(String::as_str),
        Some(id)
    );
    assert_eq!(
        flink.get("kubernetes.namespace").map(String::as_str),
        Some(namespace)
    );
    let config_maps = server.config_maps(namespace);
    eprintln!(
        "{what}: ConfigMaps {:?}",
        config_maps
            .iter()
            .map(|c| (&c["metadata"]["name"], &c["metadata"]["labels"]))
            .collect::<Vec<_>>()
    );
    let expected: BTreeMap<String, String> = HA_CONFIGMAP_LABELS
        .iter()
        .map(|(k, v)| (k.to_string(), v.replace("<cluster-id>", id)))
        .collect();
    assert!(
        !config_maps.is_empty(),
        "{what}: no ConfigMaps:\n{}",
        dump(&server, &started)
    );
    for cm in &config_maps {
        let name = cm["metadata"]["name"].as_str().unwrap_or_default();
        assert!(
            name.starts_with(id),
            "{what}: ConfigMap {name} not named after the cluster id"
        );
        let labels: BTreeMap<String, String> =
            serde_json::from_value(cm["metadata"]["labels"].clone()).unwrap_or_default();
        assert_eq!(labels, expected, "{what}: labels of {name}");
    }
    let leader = config_maps
        .iter()
        .find(|c| c["metadata"]["annotations"][LEADER_ANNOTATION].is_string())
        .unwrap_or_else(|| {
            panic!(
                "{what}: no ConfigMap holds the leader annotation:\n{}",
                dump(&server, &started)
            )
        });
    eprintln!(
        "{what}: leader record {}",
        leader["metadata"]["annotations"][LEADER_ANNOTATION]
    );

    // A TaskManager with the read-only grant finds the ResourceManager through the cluster
    // ConfigMap and registers.
    let tm = started.start_taskmanager(&[("KUBECONFIG", tm_kubeconfig.as_path())]);
    let mut tm = tm;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = tm.child.try_wait().unwrap() {
            panic!(
                "{what}: TaskManager exited with {status}:\n{}\n{}",
                tm.log_tail(),
                dump(&server, &started)
            );
        }
        if let Ok((200, body)) = crate::support::http_get(started.rest_port, "/overview") {
            let overview: Json = serde_json::from_str(&body).unwrap();
            if overview["taskmanagers"] == 1 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no TaskManager registered in 120 s:\n--- taskmanager\n{}\n{}",
            tm.log_tail(),
            dump(&server, &started)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("{what}: TaskManager registered after {:?}", t0.elapsed());

    let log = server.request_log();
    let refused: Vec<&String> = log.iter().filter(|l| l.ends_with("-> 403")).collect();
    assert!(
        refused.is_empty(),
        "{what}: requests the provider's Roles refused:\n{refused:?}\n--- taskmanager\n{}\n{}",
        tm.log_tail(),
        dump(&server, &started)
    );
    let cluster_config_map = flink_provider::resources::cluster_config_map(id);
    assert!(
        config_maps
            .iter()
            .any(|c| c["metadata"]["name"] == cluster_config_map.as_str()),
        "{what}: no {cluster_config_map}"
    );

    // The TaskManager's token reads the cluster ConfigMap, and may not write it or create one.
    let tm_token = server
        .shared()
        .tokens
        .issue(namespace, "flink-orders-taskmanager");
    let base = format!(
        "https://{}/api/v1/namespaces/{namespace}/configmaps",
        server.running.addr
    );
    let curl = |method: &str, url: &str, content_type: &str, body: &str| -> (u16, String) {
        let out = std::process::Command::new("curl")
            .args(["-sk", "-o", "-", "-w", "\n%{http_code}", "-X", method])
            .args(["-H", &format!("Authorization: Bearer {tm_token}")])
            .args(["-H", &format!("Content-Type: {content_type}")])
            .args(["--data", body, url])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or_default();
        (code.trim().parse().unwrap_or(0), body.to_string())
    };
    let named = format!("{base}/{cluster_config_map}");
    let (code, body) = curl("GET", &named, "application/json", "");
    assert_eq!(
        code, 200,
        "{what}: the TaskManager reads {cluster_config_map}: {body}"
    );
    for (method, url, content_type, body) in [
        (
            "PATCH",
            named.as_str(),
            "application/merge-patch+json",
            r#"{"data":{"forged":"leader"}}"#.to_string(),
        ),
        ("PUT", named.as_str(), "application/json", {
            let (_, current) = curl("GET", &named, "application/json", "");
            current
        }),
        ("DELETE", named.as_str(), "application/json", String::new()),
        (
            "POST",
            base.as_str(),
            "application/json",
            format!(
                r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{id}-forged-config-map"}}}}"#
            ),
        ),
    ] {
        let (code, answer) = curl(method, url, content_type, &body);
        assert_eq!(
            code, 403,
            "{what}: the TaskManager's {method} {url}: {answer}"
        );
        assert!(
            answer.contains("system:serviceaccount:team-a:flink-orders-taskmanager"),
            "{answer}"
        );
        eprintln!(
            "{what}: TaskManager {method} refused: {}",
            answer.lines().next().unwrap_or_default()
        );
    }
    drop(tm);

    let requests: Vec<Request> = log.iter().filter_map(|l| Request::parse(l)).collect();
    let unparsed: Vec<&String> = log
        .iter()
        .filter(|l| Request::parse(l).is_none())
        .filter(|l| {
            let path = l.split_whitespace().nth(1).unwrap_or_default();
            let depth = path
                .split('?')
                .next()
                .unwrap_or_default()
                .trim_matches('/')
                .split('/')
                .count();
            !(l.starts_with("GET /version") || l.starts_with("GET /api") && depth <= 3)
        })
        .collect();
    assert!(
        unparsed.is_empty(),
        "{what}: requests neither resource nor discovery: {unparsed:?}"
    );
    eprintln!(
        "{what}: {} API requests, e.g.:\n  {}",
        log.len(),
        log.iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    assert_in_namespace(&what, &requests, namespace);
    drop(started);

    // What destroy does with Flink's ConfigMaps, through the provider's own code and selector.
    let unrelated = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "other-cluster-config-map", "namespace": namespace,
        "labels": {"app": "another-deployment", "type": "flink-native-kubernetes"}}});
    server
        .shared()
        .store
        .create(
            kinds::find("", "v1", "configmaps").unwrap(),
            namespace,
            unrelated,
            &Write {
                manager: "realflink-ha",
                dry_run: false,
                subresource: None,
            },
        )
        .unwrap();
    let selector = flink_provider::resources::ha_config_map_selector(id);
    let access = flink_provider::provider::ClusterAccess::Kubeconfig {
        path: kubeconfig.display().to_string(),
        context: None,
    };
    let deleted = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let cluster = flink_provider::kubernetes::Cluster::connect(&access)
            .await
            .unwrap();
        cluster
            .delete_labelled(
                namespace,
                flink_provider::kubernetes::Kind::ConfigMap,
                &selector,
            )
            .await
            .unwrap()
    });
    assert_eq!(deleted, config_maps.len(), "{what}: deleted by {selector}");
    let left: Vec<String> = server
        .config_maps(namespace)
        .iter()
        .map(|c| {
            c["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(left, ["other-cluster-config-map"], "{what}: after cleanup");
    eprintln!("{what}: check took {:?}", t0.elapsed());
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn kubernetes_ha_2_3_elects_a_leader_through_the_test_server() {
    check(FlinkVersion::V2_3);
}
