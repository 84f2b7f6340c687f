//! How the user's pod templates (`pod_template`, `jobmanager_pod_template`,
//! `taskmanager_pod_template`) meet the pods the provider renders (pure), the way the Flink
//! Kubernetes Operator merges `podTemplate` with `jobManager.podTemplate` /
//! `taskManager.podTemplate` (`FlinkUtils.mergePodTemplates` with
//! `kubernetes.operator.pod-template.merge-arrays-by-name`): the role's template over the common
//! one, then the provider's rendering over both. Objects merge key by key; lists of named things
//! (containers, init containers, volumes, volume mounts, env, ports, pull secrets) merge by
//! `name`; other lists of objects (tolerations, topology spread) append; a list of plain values
//! (args, command) is the role's over the common one's.
//!
//! On what the provider renders, its value wins, and a user value that differs is a
//! [`Conflict`] reported on the user's path, saying what to write instead: the main container's
//! image and args, the provider's volumes, mounts, env and ports (by name, or a mount at one of
//! its paths), its labels, the pod's security context and service account. Two things the
//! template may set over the rendering: the main container's `resources.requests` (the limits
//! stay `resources.<role>`, which sizes Flink's process) and its probes, and, in its own containers, any
//! security context field (those it leaves out get the provider's container defaults, so a plain
//! sidecar still meets Pod Security `restricted`).

use serde_json::{Map, Value as Json};

/// The container Flink runs in, as Flink's native Kubernetes integration names it.
pub const MAIN_CONTAINER: &str = "flink-main-container";

/// One step of a path inside a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An object's key.
    Key(String),
    /// A list's index.
    Index(usize),
}

/// A path inside a template, e.g. `spec.containers[0].image`.
pub type Path = Vec<Step>;

/// Shows `path` as Terraform shows a path inside a dynamic value.
pub fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A user value the provider's rendering contradicts.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// Where, in the user's template.
    pub path: Path,
    /// One line.
    pub summary: String,
    /// What to write instead.
    pub detail: String,
}

/// Whether every item of `list` is an object with a string `name`.
fn named(list: &[Json]) -> bool {
    !list.is_empty() && list.iter().all(|i| i["name"].is_string())
}

fn name_of(item: &Json) -> &str {
    item["name"].as_str().unwrap_or_default()
}

/// `over` merged onto `base` (the role's template over the common one): `over` wins.
pub fn merge_user(base: &Json, over: &Json) -> Json {
    match (base, over) {
        (_, Json::Null) => base.clone(),
        (Json::Object(b), Json::Object(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let merged = match b.get(k) {
                    Some(bv) => merge_user(bv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Json::Object(out)
        }
        (Json::Array(b), Json::Array(o)) if named(b) && named(o) => {
            let mut out = b.clone();
            for item in o {
                match out.iter_mut().find(|i| name_of(i) == name_of(item)) {
                    Some(existing) => *existing = merge_user(existing, item),
                    None => out.push(item.clone()),
                }
            }
            Json::Array(out)
        }
        (Json::Array(b), Json::Array(o)) if b.iter().chain(o).all(Json::is_object) => {
            let mut out = b.clone();
            out.extend(o.iter().filter(|i| !b.contains(i)).cloned());
            Json::Array(out)
        }
        _ => over.clone(),
    }
}

/// The provider's rendering `ours` over the user's template `user`: the pod template that is
/// applied. Conflicts are found by [`conflicts`] first; here `ours` simply wins.
pub fn merge_ours(user: &Json, ours: &Json) -> Json {
    match (user, ours) {
        (Json::Object(u), Json::Object(o)) => {
            let mut out = u.clone();
            for (k, v) in o {
                let merged = match u.get(k) {
                    Some(uv) => merge_ours(uv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Json::Object(out)
        }
        (Json::Array(u), Json::Array(o)) if named(u) && named(o) => {
            // The provider's items first (the main container leads, as kubectl's default), then
            // the user's own in their order.
            let mut out: Vec<Json> = o
                .iter()
                .map(
                    |item| match u.iter().find(|i| name_of(i) == name_of(item)) {
                        Some(theirs) => merge_ours(theirs, item),
                        None => item.clone(),
                    },
                )
                .collect();
            out.extend(
                u.iter()
                    .filter(|i| !o.iter().any(|x| name_of(x) == name_of(i)))
                    .cloned(),
            );
            Json::Array(out)
        }
        (Json::Array(u), Json::Array(o))
            if u.iter().chain(o).all(Json::is_object) && !o.is_empty() =>
        {
            let mut out = o.clone();
            out.extend(u.iter().filter(|i| !o.contains(i)).cloned());
            Json::Array(out)
        }
        (Json::Array(u), Json::Array(o)) if o.is_empty() => Json::Array(u.clone()),
        _ => ours.clone(),
    }
}

/// What the user's template may set over the rendering, taken out of `ours` before the merge:
/// the main container's requests and probes (the template's; a probe whole, as the kubelet
/// takes one handler per probe), and the security context fields of containers the user added
/// (none of the provider's there).
pub fn yield_to_user(user: &Json, ours: &mut Json) {
    let Some(user_main) = user["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| name_of(c) == MAIN_CONTAINER))
    else {
        return;
    };
    let Some(ours_main) = ours
        .get_mut("spec")
        .and_then(|s| s.get_mut("containers"))
        .and_then(Json::as_array_mut)
        .and_then(|cs| cs.iter_mut().find(|c| name_of(c) == MAIN_CONTAINER))
    else {
        return;
    };
    for probe in PROBES {
        if user_main.get(probe).is_some_and(|p| !p.is_null()) {
            if let Some(main) = ours_main.as_object_mut() {
                main.remove(probe);
            }
        }
    }
    let Some(requests) = user_main["resources"]["requests"].as_object() else {
        return;
    };
    if let Some(our_requests) = ours_main
        .get_mut("resources")
        .and_then(|r| r.get_mut("requests"))
        .and_then(Json::as_object_mut)
    {
        for key in requests.keys() {
            our_requests.remove(key);
        }
    }
}

/// The main container's probes, each the template's to replace.
const PROBES: [&str; 3] = ["startupProbe", "readinessProbe", "livenessProbe"];

/// The provider's container security defaults on the containers and init containers the user
/// added, each field only where the user's container leaves it out.
pub fn secure_user_containers(pod: &mut Json, defaults: &Json, ours: &Json) {
    let provider_names: Vec<String> = ["containers", "initContainers"]
        .iter()
        .flat_map(|list| ours["spec"][list].as_array().into_iter().flatten())
        .map(|c| name_of(c).to_string())
        .collect();
    for c in containers_mut(pod) {
        if provider_names.iter().any(|n| n == name_of(c)) {
            continue;
        }
        let Some(c) = c.as_object_mut() else { continue };
        let context = c
            .entry("securityContext")
            .or_insert_with(|| Json::Object(Map::new()));
        if let (Some(context), Some(defaults)) = (context.as_object_mut(), defaults.as_object()) {
            for (k, v) in defaults {
                context.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
}

/// Every container and init container of a pod (template).
pub fn containers_mut(pod: &mut Json) -> impl Iterator<Item = &mut Json> {
    pod.get_mut("spec")
        .and_then(Json::as_object_mut)
        .into_iter()
        .flat_map(|spec| spec.iter_mut())
        .filter(|(list, _)| *list == "containers" || *list == "initContainers")
        .flat_map(|(_, list)| list.as_array_mut().into_iter().flatten())
}

/// What to write instead of a user value at `logical` (a path with named items by name, e.g.
/// `spec.containers[flink-main-container].image`).
fn advice(logical: &str, role: &str) -> String {
    let main = format!("spec.containers[{MAIN_CONTAINER}]");
    let rest = logical.strip_prefix(&main);
    match (logical, rest) {
        (_, Some(".image")) => "Set the deployment's `image` instead.".into(),
        (_, Some(r)) if r.starts_with(".args") || r.starts_with(".command") => {
            "The provider starts Flink with its own arguments (from `artifact` and the Flink \
             configuration): remove them from the template, and pass the job's arguments as \
             `artifact.main_args`."
                .into()
        }
        (_, Some(r)) if r.starts_with(".resources.limits") => format!(
            "The main container's limits are `resources.{role}` (cpu, and memory, which also \
             sizes Flink's process): set them there. The template may set lower \
             `resources.requests`."
        ),
        (_, Some(r)) if r.contains("securityContext.readOnlyRootFilesystem") => {
            "Set `pod.read_only_root_filesystem` instead.".into()
        }
        (_, Some(r)) if r.contains("securityContext") => {
            "The provider keeps Flink's container to Pod Security `restricted` (no privilege \
             escalation, every capability dropped): remove the field, or set it as the \
             provider does."
                .into()
        }
        ("spec.serviceAccountName", _) | ("spec.serviceAccount", _) => {
            "Set `pod.service_account` instead.".into()
        }
        (l, _)
            if l.starts_with("spec.securityContext.runAs")
                || l.starts_with("spec.securityContext.fsGroup") =>
        {
            "Set `pod.run_as_user` (the uid, gid and fsGroup of every container) instead.".into()
        }
        (l, _) if l.starts_with("spec.securityContext") => {
            "The provider sets the pod's security context (the runtime's default seccomp \
             profile, a non-root user): remove the field or set it as the provider does."
                .into()
        }
        ("spec.automountServiceAccountToken", _) => {
            "The provider mounts the service account token only where Flink calls the API \
             server (Kubernetes HA): remove the field, and give a sidecar that needs a token a \
             projected serviceAccountToken volume of its own."
                .into()
        }
        (l, _) if l.starts_with("metadata.labels") => {
            "The provider selects its pods by this label: use another key, or `pod.labels`.".into()
        }
        (l, _) if l.starts_with("metadata.annotations") => {
            "The provider sets this annotation: use another key, or `pod.annotations`.".into()
        }
        (l, _) if l.starts_with("spec.nodeSelector") => {
            "Set `pod.node_selector` instead, or use another key.".into()
        }
        _ => "The provider sets this field: remove it from the template.".into(),
    }
}

/// The kind of named list the last step of `logical` is, for messages.
fn list_word(list: &str) -> &'static str {
    match list {
        "volumes" => "volume",
        "volumeMounts" => "volume mount",
        "env" => "environment variable",
        "ports" => "port",
        "initContainers" => "init container",
        "containers" => "container",
        _ => "entry",
    }
}

/// The user values of `user` that `ours` contradicts, for the role `role` (`jobmanager` or
/// `taskmanager`).
pub fn conflicts(user: &Json, ours: &Json, role: &str) -> Vec<Conflict> {
    let mut out = Vec::new();
    walk(user, ours, &mut Vec::new(), "", role, &mut out);
    out
}

fn walk(
    user: &Json,
    ours: &Json,
    path: &mut Path,
    logical: &str,
    role: &str,
    out: &mut Vec<Conflict>,
) {
    let join = |k: &str| {
        if logical.is_empty() {
            k.to_string()
        } else {
            format!("{logical}.{k}")
        }
    };
    match (user, ours) {
        (Json::Object(u), Json::Object(o)) => {
            for (k, uv) in u {
                let Some(ov) = o.get(k) else {
                    // Flink's container starts by its image's entrypoint, which a `command`
                    // would replace though the provider sets none.
                    if k == "command" && logical == format!("spec.containers[{MAIN_CONTAINER}]") {
                        path.push(Step::Key(k.clone()));
                        out.push(Conflict {
                            path: path.clone(),
                            summary: format!("{} is set by the provider", display(path)),
                            detail: advice(&join(k), role),
                        });
                        path.pop();
                    }
                    continue;
                };
                path.push(Step::Key(k.clone()));
                walk(uv, ov, path, &join(k), role, out);
                path.pop();
            }
        }
        (Json::Array(u), Json::Array(o)) if named(u) && named(o) => {
            let list = logical.rsplit('.').next().unwrap_or_default();
            for (i, item) in u.iter().enumerate() {
                path.push(Step::Index(i));
                let name = name_of(item);
                match o.iter().find(|x| name_of(x) == name) {
                    // The main container takes what the template adds to it.
                    Some(theirs) if list == "containers" && name == MAIN_CONTAINER => {
                        walk(item, theirs, path, &format!("{logical}[{name}]"), role, out)
                    }
                    Some(theirs) if !is_subset(item, theirs) => {
                        path.push(Step::Key("name".into()));
                        out.push(Conflict {
                            path: path.clone(),
                            summary: format!("The provider's {} {name:?}", list_word(list)),
                            detail: format!(
                                "The provider renders a {} named {name:?} in {} (its own \
                                 configuration, state or TLS material depend on it): give yours \
                                 another name.",
                                list_word(list),
                                display(&path[..path.len() - 2])
                            ),
                        });
                        path.pop();
                    }
                    Some(_) => {}
                    None if list == "volumeMounts" => {
                        let at = &item["mountPath"];
                        if let Some(theirs) = o.iter().find(|x| &x["mountPath"] == at) {
                            path.push(Step::Key("mountPath".into()));
                            out.push(Conflict {
                                path: path.clone(),
                                summary: format!("Mount path {at} is the provider's"),
                                detail: format!(
                                    "The provider mounts its volume {:?} at {at}: mount yours \
                                     elsewhere.",
                                    name_of(theirs)
                                ),
                            });
                            path.pop();
                        }
                    }
                    None => {}
                }
                path.pop();
            }
        }
        // Lists of objects append; the provider's items stay as they are.
        (Json::Array(u), Json::Array(_)) if u.iter().all(Json::is_object) => {}
        (Json::Number(a), Json::String(b)) | (Json::String(b), Json::Number(a))
            if a.to_string() == *b => {}
        (u, o) if u != o && !u.is_null() => out.push(Conflict {
            path: path.clone(),
            summary: format!("{} is set by the provider", display(path)),
            detail: format!(
                "The provider renders {o} here, the template {u}. {}",
                advice(logical, role)
            ),
        }),
        _ => {}
    }
}

/// Whether everything `user` sets, `ours` sets alike.
fn is_subset(user: &Json, ours: &Json) -> bool {
    match (user, ours) {
        (Json::Object(u), Json::Object(o)) => u
            .iter()
            .all(|(k, v)| v.is_null() || o.get(k).is_some_and(|ov| is_subset(v, ov))),
        _ => user == ours,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours() -> Json {
        json!({
            "metadata": {"labels": {"app": "flink", "component": "jobmanager"}},
            "spec": {
                "serviceAccountName": "flink-orders",
                "securityContext": {"runAsUser": 9999},
                "containers": [{
                    "name": MAIN_CONTAINER, "image": "flink:2.3.0", "args": ["standalone-job"],
                    "resources": {"requests": {"cpu": "1", "memory": "1600Mi"},
                                  "limits": {"cpu": "1", "memory": "1600Mi"}},
                    "volumeMounts": [{"name": "flink-config", "mountPath": "/opt/flink/conf"}],
                    "securityContext": {"allowPrivilegeEscalation": false},
                }],
                "volumes": [{"name": "flink-config", "configMap": {"name": "flink-orders-config"}}],
                "tolerations": [{"key": "a", "operator": "Exists"}],
            }
        })
    }

    #[test]
    fn the_role_template_wins_over_the_common_one_and_named_lists_merge() {
        let common = json!({"spec": {
            "priorityClassName": "low",
            "containers": [{"name": "log-shipper", "image": "busybox:1", "args": ["a"]}],
            "tolerations": [{"key": "x", "operator": "Exists"}],
        }});
        let role = json!({"spec": {
            "priorityClassName": "high",
            "containers": [{"name": "log-shipper", "args": ["b"]}, {"name": "proxy", "image": "p"}],
            "tolerations": [{"key": "y", "operator": "Exists"}],
        }});
        let merged = merge_user(&common, &role);
        assert_eq!(merged["spec"]["priorityClassName"], "high");
        assert_eq!(
            merged["spec"]["containers"],
            json!([{"name": "log-shipper", "image": "busybox:1", "args": ["b"]},
                   {"name": "proxy", "image": "p"}])
        );
        assert_eq!(merged["spec"]["tolerations"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn the_rendering_wins_the_main_container_leads_and_user_items_follow() {
        let user = json!({"metadata": {"labels": {"team": "a"}}, "spec": {
            "containers": [
                {"name": "sidecar", "image": "busybox:1"},
                {"name": MAIN_CONTAINER, "imagePullPolicy": "Always",
                 "volumeMounts": [{"name": "extra", "mountPath": "/extra"}]},
            ],
            "volumes": [{"name": "extra", "emptyDir": {}}],
            "tolerations": [{"key": "b", "operator": "Exists"}],
            "affinity": {"nodeAffinity": {}},
        }});
        assert!(conflicts(&user, &ours(), "jobmanager").is_empty());
        let pod = merge_ours(&user, &ours());
        let containers = pod["spec"]["containers"].as_array().unwrap();
        assert_eq!(containers[0]["name"], MAIN_CONTAINER);
        assert_eq!(containers[0]["image"], "flink:2.3.0");
        assert_eq!(containers[0]["imagePullPolicy"], "Always");
        assert_eq!(
            containers[0]["volumeMounts"],
            json!([{"name": "flink-config", "mountPath": "/opt/flink/conf"},
                   {"name": "extra", "mountPath": "/extra"}])
        );
        assert_eq!(containers[1]["name"], "sidecar");
        assert_eq!(pod["spec"]["volumes"].as_array().unwrap().len(), 2);
        assert_eq!(pod["spec"]["tolerations"].as_array().unwrap().len(), 2);
        assert_eq!(pod["metadata"]["labels"]["team"], "a");
        assert_eq!(pod["metadata"]["labels"]["app"], "flink");
        assert!(pod["spec"]["affinity"]["nodeAffinity"].is_object());
    }

    fn conflict_paths(user: Json) -> Vec<(String, String)> {
        conflicts(&user, &ours(), "jobmanager")
            .into_iter()
            .map(|c| (display(&c.path), c.detail))
            .collect()
    }

    #[test]
    fn what_the_provider_owns_is_a_conflict_on_the_users_path_saying_what_to_write() {
        let found = conflict_paths(json!({"metadata": {"labels": {"component": "x"}}, "spec": {
            "serviceAccountName": "other",
            "securityContext": {"runAsUser": 1000},
            "containers": [
                {"name": "sidecar", "image": "busybox:1"},
                {"name": MAIN_CONTAINER, "image": "my/flink:1", "command": ["java"],
                 "resources": {"limits": {"memory": "4Gi"}},
                 "volumeMounts": [{"name": "mine", "mountPath": "/opt/flink/conf"}]},
            ],
            "volumes": [{"name": "flink-config", "emptyDir": {}}],
        }}));
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "metadata.labels.component",
                "spec.containers[1].command",
                "spec.containers[1].image",
                "spec.containers[1].resources.limits.memory",
                "spec.containers[1].volumeMounts[0].mountPath",
                "spec.securityContext.runAsUser",
                "spec.serviceAccountName",
                "spec.volumes[0].name",
            ]
        );
        let detail = |p: &str| &found.iter().find(|(q, _)| q == p).unwrap().1;
        assert!(detail("spec.containers[1].image").contains("`image`"));
        assert!(detail("spec.containers[1].command").contains("artifact.main_args"));
        assert!(detail("spec.serviceAccountName").contains("pod.service_account"));
        assert!(detail("spec.securityContext.runAsUser").contains("pod.run_as_user"));
        assert!(
            detail("spec.containers[1].resources.limits.memory").contains("resources.jobmanager")
        );
        assert!(detail("spec.volumes[0].name").contains("another name"));
    }

    #[test]
    fn values_alike_and_lower_requests_are_no_conflict() {
        let user = json!({"spec": {
            "serviceAccountName": "flink-orders",
            "volumes": [{"name": "flink-config", "configMap": {"name": "flink-orders-config"}}],
            "containers": [{"name": MAIN_CONTAINER, "image": "flink:2.3.0",
                            "resources": {"requests": {"cpu": "250m"}}}],
        }});
        let mut rendered = ours();
        yield_to_user(&user, &mut rendered);
        assert!(conflicts(&user, &rendered, "jobmanager").is_empty());
        let pod = merge_ours(&user, &rendered);
        let resources = &pod["spec"]["containers"][0]["resources"];
        assert_eq!(
            resources["requests"],
            json!({"cpu": "250m", "memory": "1600Mi"})
        );
        assert_eq!(resources["limits"], json!({"cpu": "1", "memory": "1600Mi"}));
    }

    #[test]
    fn a_templates_probe_replaces_the_providers_whole() {
        let user = json!({"spec": {"containers": [{"name": MAIN_CONTAINER,
            "livenessProbe": {"httpGet": {"path": "/overview", "port": "rest"}}}]}});
        let mut rendered = ours();
        rendered["spec"]["containers"][0]["livenessProbe"] =
            json!({"tcpSocket": {"port": "rpc"}, "periodSeconds": 10});
        rendered["spec"]["containers"][0]["readinessProbe"] =
            json!({"tcpSocket": {"port": "rest"}, "periodSeconds": 2});
        yield_to_user(&user, &mut rendered);
        assert!(conflicts(&user, &rendered, "jobmanager").is_empty());
        let main = &merge_ours(&user, &rendered)["spec"]["containers"][0];
        assert_eq!(
            main["livenessProbe"],
            json!({"httpGet": {"path": "/overview", "port": "rest"}}),
            "no tcpSocket left beside the template's handler"
        );
        assert_eq!(main["readinessProbe"]["tcpSocket"]["port"], "rest");
    }

    #[test]
    fn user_containers_get_the_security_defaults_they_leave_out() {
        let defaults = json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                              "readOnlyRootFilesystem": true});
        let user = json!({"spec": {"containers": [
            {"name": "sidecar", "image": "busybox:1",
             "securityContext": {"readOnlyRootFilesystem": false}},
        ], "initContainers": [{"name": "setup", "image": "busybox:1"}]}});
        let mut pod = merge_ours(&user, &ours());
        secure_user_containers(&mut pod, &defaults, &ours());
        let sidecar = &pod["spec"]["containers"][1]["securityContext"];
        assert_eq!(sidecar["readOnlyRootFilesystem"], false, "the user's own");
        assert_eq!(sidecar["allowPrivilegeEscalation"], false);
        assert_eq!(
            pod["spec"]["initContainers"][0]["securityContext"],
            defaults
        );
        assert_eq!(
            pod["spec"]["containers"][0]["securityContext"],
            json!({"allowPrivilegeEscalation": false}),
            "the provider's container keeps its own"
        );
    }
}
