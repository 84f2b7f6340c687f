//! The v1 defaults of a pod spec, wherever one is written (a Pod's own, a workload's template),
//! as `pkg/apis/core/v1/zz_generated.defaults.go` calls them from `SetObjectDefaults_Pod` and
//! `SetObjectDefaults_PodTemplate` (and the apps and batch templates' equivalents):
//! `SetDefaults_PodSpec` for the spec, `SetDefaults_Container` and the generated port and env
//! defaults for every container, `SetDefaults_Probe` and `SetDefaults_HTTPGetAction` for probes
//! and lifecycle hooks, and the volume sources' defaults. `SetDefaults_Pod` adds what only a Pod
//! gets, never a template: `enableServiceLinks` and requests defaulted to limits.
//!
//! Each default fills a field the client left out (absent, `null`, or an empty string, which Go
//! decodes as unset), never one it gave.

use super::fill;
use serde_json::{json, Map, Value as Json};

/// The defaults every pod spec gets; `restart_policy` is false for a Job's template (see
/// [`super::on_write`]).
pub fn default_pod_spec(spec: &mut Json, restart_policy: bool) {
    let Some(fields) = spec.as_object_mut() else {
        return;
    };
    // `SetDefaults_PodSpec`.
    fill(fields, "dnsPolicy", "ClusterFirst");
    if restart_policy {
        fill(fields, "restartPolicy", "Always");
    }
    fill(fields, "securityContext", json!({}));
    fill(fields, "terminationGracePeriodSeconds", 30);
    fill(fields, "schedulerName", "default-scheduler");
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for container in objects_mut(fields, list) {
            default_container(container);
        }
    }
    for volume in objects_mut(fields, "volumes") {
        default_volume(volume);
    }
}

/// What `SetDefaults_Pod` adds to a Pod's spec (and not to a template's, so that a workload's
/// stored template stays as written): `enableServiceLinks: true`, and each container's requests
/// default to its limits, resource by resource.
pub fn default_pod(spec: &mut Json) {
    let Some(fields) = spec.as_object_mut() else {
        return;
    };
    fill(fields, "enableServiceLinks", true);
    for list in ["initContainers", "containers"] {
        for container in objects_mut(fields, list) {
            let Some(resources) = container.get_mut("resources").and_then(Json::as_object_mut)
            else {
                continue;
            };
            let Some(limits) = resources.get("limits").and_then(Json::as_object).cloned() else {
                continue;
            };
            let requests = resources.entry("requests").or_insert_with(|| json!({}));
            if requests.is_null() {
                *requests = json!({});
            }
            if let Some(requests) = requests.as_object_mut() {
                for (resource, amount) in limits {
                    requests.entry(resource).or_insert(amount);
                }
            }
        }
    }
}

/// `SetDefaults_Container` with the generated defaults of its ports, env and probes.
fn default_container(container: &mut Map<String, Json>) {
    let policy = pull_policy(container.get("image").and_then(Json::as_str));
    fill(container, "imagePullPolicy", policy);
    fill(container, "terminationMessagePath", "/dev/termination-log");
    fill(container, "terminationMessagePolicy", "File");
    for port in objects_mut(container, "ports") {
        fill(port, "protocol", "TCP");
    }
    for env in objects_mut(container, "env") {
        if let Some(field_ref) = env
            .get_mut("valueFrom")
            .and_then(|v| v.get_mut("fieldRef"))
            .and_then(Json::as_object_mut)
        {
            default_field_selector(field_ref);
        }
    }
    for kind in ["startupProbe", "readinessProbe", "livenessProbe"] {
        let Some(probe) = container.get_mut(kind).and_then(Json::as_object_mut) else {
            continue;
        };
        // `SetDefaults_Probe`: Go's zero is unset for these plain int32 fields.
        for (field, default) in [
            ("timeoutSeconds", 1),
            ("periodSeconds", 10),
            ("successThreshold", 1),
            ("failureThreshold", 3),
        ] {
            if probe.get(field).is_none_or(|v| v.is_null() || v == 0) {
                probe.insert(field.into(), default.into());
            }
        }
        default_http_get(probe);
    }
    if let Some(lifecycle) = container.get_mut("lifecycle").and_then(Json::as_object_mut) {
        for hook in ["postStart", "preStop"] {
            if let Some(handler) = lifecycle.get_mut(hook).and_then(Json::as_object_mut) {
                default_http_get(handler);
            }
        }
    }
}

/// `SetDefaults_HTTPGetAction` of a probe's or hook's `httpGet`, where it has one.
fn default_http_get(handler: &mut Map<String, Json>) {
    if let Some(http) = handler.get_mut("httpGet").and_then(Json::as_object_mut) {
        fill(http, "path", "/");
        fill(http, "scheme", "HTTP");
    }
}

/// `SetDefaults_ObjectFieldSelector`.
fn default_field_selector(selector: &mut Map<String, Json>) {
    fill(selector, "apiVersion", "v1");
}

/// `SetDefaults_Volume` (a volume without a source is an `emptyDir`) and its source's defaults:
/// `defaultMode` 0644 (420) for the secret, configMap, downwardAPI and projected sources
/// (`SetDefaults_SecretVolumeSource` and its siblings), the field selectors of downward API
/// items, a projected token's `expirationSeconds` 3600
/// (`SetDefaults_ServiceAccountTokenProjection`), a hostPath's `type` "" (`HostPathUnset`), and a
/// generic ephemeral volume's claim `volumeMode` `Filesystem`. An `emptyDir` stays as given.
fn default_volume(volume: &mut Map<String, Json>) {
    if volume.iter().all(|(k, v)| k == "name" || v.is_null()) {
        volume.insert("emptyDir".into(), json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(source) = volume.get_mut(source).and_then(Json::as_object_mut) {
            fill(source, "defaultMode", 420);
        }
    }
    if let Some(downward) = volume.get_mut("downwardAPI").and_then(Json::as_object_mut) {
        default_downward_items(downward);
    }
    if let Some(projected) = volume.get_mut("projected").and_then(Json::as_object_mut) {
        for source in objects_mut(projected, "sources") {
            if let Some(downward) = source.get_mut("downwardAPI").and_then(Json::as_object_mut) {
                default_downward_items(downward);
            }
            if let Some(token) = source
                .get_mut("serviceAccountToken")
                .and_then(Json::as_object_mut)
            {
                fill(token, "expirationSeconds", 3600);
            }
        }
    }
    if let Some(host_path) = volume.get_mut("hostPath").and_then(Json::as_object_mut) {
        if host_path.get("type").is_none_or(Json::is_null) {
            host_path.insert("type".into(), "".into());
        }
    }
    if let Some(claim) = volume
        .get_mut("ephemeral")
        .and_then(|e| e.get_mut("volumeClaimTemplate"))
        .and_then(|t| t.get_mut("spec"))
        .and_then(Json::as_object_mut)
    {
        // `SetDefaults_PersistentVolumeClaimSpec`.
        fill(claim, "volumeMode", "Filesystem");
    }
}

fn default_downward_items(source: &mut Map<String, Json>) {
    for item in objects_mut(source, "items") {
        if let Some(field_ref) = item.get_mut("fieldRef").and_then(Json::as_object_mut) {
            default_field_selector(field_ref);
        }
    }
}

/// `SetDefaults_Container`'s pull policy: `Always` for the tag `latest`, which an image without
/// tag and digest has (`pkg/util/parsers` `ParseImageName`), else `IfNotPresent`.
fn pull_policy(image: Option<&str>) -> &'static str {
    let Some(image) = image.filter(|i| !i.is_empty()) else {
        // Unparsable: `ParseImageName` fails and the tag is empty.
        return "IfNotPresent";
    };
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    // A tag follows the last `:` of the last path component; a `:` before a `/` is a
    // registry's port.
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = last.rsplit_once(':').map(|(_, tag)| tag);
    match (tag, digest) {
        (Some("latest"), _) | (None, None) => "Always",
        _ => "IfNotPresent",
    }
}

/// The objects of the list `key` in `map` (none when it is absent or not a list).
fn objects_mut<'a>(
    map: &'a mut Map<String, Json>,
    key: &str,
) -> impl Iterator<Item = &'a mut Map<String, Json>> {
    map.get_mut(key)
        .and_then(Json::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Json::as_object_mut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(mut spec: Json) -> Json {
        default_pod_spec(&mut spec, true);
        spec
    }

    #[test]
    fn pod_specs_get_set_defaults_pod_spec() {
        let spec = defaulted(json!({"containers": [{"name": "c", "image": "flink:2.3.0"}]}));
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["securityContext"], json!({}));
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert!(spec.get("enableServiceLinks").is_none(), "a Pod's only");

        let mut job = json!({"containers": []});
        default_pod_spec(&mut job, false);
        assert!(job.get("restartPolicy").is_none());
    }

    #[test]
    fn containers_get_set_defaults_container() {
        let spec = defaulted(json!({
            "initContainers": [{"name": "i", "image": "busybox"}],
            "containers": [{
                "name": "c",
                "image": "flink:2.3.0",
                "ports": [{"containerPort": 8081}, {"containerPort": 53, "protocol": "UDP"}],
                "env": [
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "PLAIN", "value": "x"},
                ],
                "lifecycle": {"preStop": {"httpGet": {"port": 8081}}},
            }],
        }));
        let c = &spec["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["terminationMessagePolicy"], "File");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["ports"][1]["protocol"], "UDP");
        assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
        assert_eq!(c["env"][1], json!({"name": "PLAIN", "value": "x"}));
        assert_eq!(
            c["lifecycle"]["preStop"]["httpGet"],
            json!({"port": 8081, "path": "/", "scheme": "HTTP"})
        );
        let i = &spec["initContainers"][0];
        assert_eq!(i["imagePullPolicy"], "Always");
        assert_eq!(i["terminationMessagePolicy"], "File");
        assert!(
            i.get("restartPolicy").is_none(),
            "a sidecar is only one by choice"
        );
    }

    #[test]
    fn the_pull_policy_follows_the_tag() {
        for (image, policy) in [
            ("flink", "Always"),
            ("flink:latest", "Always"),
            ("registry.example.com:5000/flink", "Always"),
            ("registry.example.com:5000/flink:1.20", "IfNotPresent"),
            ("flink:2.3.0-scala_2.12-java17", "IfNotPresent"),
            ("flink@sha256:0123", "IfNotPresent"),
            ("flink:latest@sha256:0123", "Always"),
            ("", "IfNotPresent"),
        ] {
            assert_eq!(pull_policy(Some(image)), policy, "{image}");
        }
    }

    #[test]
    fn volumes_get_their_sources_defaults() {
        let spec = defaulted(json!({"containers": [], "volumes": [
            {"name": "conf", "configMap": {"name": "c"}},
            {"name": "creds", "secret": {"secretName": "s", "defaultMode": 256}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "bare"},
            {"name": "info", "downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
            {"name": "token", "projected": {"sources": [
                {"serviceAccountToken": {"path": "t"}},
                {"downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}},
            ]}},
            {"name": "host", "hostPath": {"path": "/data"}},
        ]}));
        let v = &spec["volumes"];
        assert_eq!(v[0]["configMap"], json!({"name": "c", "defaultMode": 420}));
        assert_eq!(v[1]["secret"]["defaultMode"], 256);
        assert_eq!(v[2], json!({"name": "tmp", "emptyDir": {}}));
        assert_eq!(v[3], json!({"name": "bare", "emptyDir": {}}));
        assert_eq!(v[4]["downwardAPI"]["defaultMode"], 420);
        assert_eq!(
            v[4]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"],
            "v1"
        );
        let projected = &v[5]["projected"];
        assert_eq!(projected["defaultMode"], 420);
        assert_eq!(
            projected["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3600
        );
        assert_eq!(
            projected["sources"][1]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"],
            "v1"
        );
        assert_eq!(v[6]["hostPath"], json!({"path": "/data", "type": ""}));
    }

    #[test]
    fn given_values_are_kept() {
        let given = json!({
            "dnsPolicy": "Default",
            "restartPolicy": "Never",
            "securityContext": {"runAsUser": 9999},
            "terminationGracePeriodSeconds": 0,
            "schedulerName": "other",
            "containers": [{
                "name": "c",
                "image": "flink",
                "imagePullPolicy": "Never",
                "terminationMessagePath": "/tmp/end",
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "ports": [{"containerPort": 1, "protocol": "SCTP"}],
                "env": [{"name": "N", "valueFrom": {"fieldRef": {"apiVersion": "v2", "fieldPath": "x"}}}],
                "readinessProbe": {"httpGet": {"port": 1, "path": "/ready", "scheme": "HTTPS"},
                    "timeoutSeconds": 5, "periodSeconds": 2, "successThreshold": 2, "failureThreshold": 9},
            }],
            "volumes": [{"name": "c", "configMap": {"name": "c", "defaultMode": 511}},
                        {"name": "h", "hostPath": {"path": "/", "type": "Directory"}}],
        });
        assert_eq!(defaulted(given.clone()), given);
    }

    #[test]
    fn pods_get_set_defaults_pod() {
        let mut spec = json!({"containers": [
            {"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}},
            {"name": "b", "resources": {"limits": {"memory": "1Gi"}}},
            {"name": "c"},
        ], "enableServiceLinks": false});
        default_pod(&mut spec);
        assert_eq!(
            spec["containers"][0]["resources"]["requests"],
            json!({"cpu": "500m", "memory": "1Gi"})
        );
        assert_eq!(
            spec["containers"][1]["resources"]["requests"],
            json!({"memory": "1Gi"})
        );
        assert!(spec["containers"][2].get("resources").is_none());
        assert_eq!(spec["enableServiceLinks"], false);
        let mut bare = json!({"containers": []});
        default_pod(&mut bare);
        assert_eq!(bare["enableServiceLinks"], true);
    }
}
