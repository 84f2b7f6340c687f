//! The columns and cells of every served kind but Pod, as their printers in
//! `pkg/printers/internalversion/printers.go` give them; a kind without a printer gets the
//! default table's `Name` and `Created At`.

use super::{column, production_kinds, since, wide, Column, AGE, NAME};
use serde_json::{json, Value as Json};

/// A kind's cells for one object.
pub type Cells = fn(&Json) -> Vec<Json>;

/// The columns and cell function for `kind`.
pub fn printer(kind: &str) -> (&'static [Column], Cells) {
    match kind {
        "Pod" => (super::pods::COLUMNS, super::pods::cells),
        "Deployment" => (DEPLOYMENT, deployment),
        "ReplicaSet" => (REPLICA_SET, replica_set),
        "PersistentVolumeClaim" => (production_kinds::CLAIM, production_kinds::claim),
        "NetworkPolicy" => (
            production_kinds::NETWORK_POLICY,
            production_kinds::network_policy,
        ),
        "Ingress" => (production_kinds::INGRESS, production_kinds::ingress),
        "PodDisruptionBudget" => (
            production_kinds::DISRUPTION_BUDGET,
            production_kinds::disruption_budget,
        ),
        "EndpointSlice" => (
            production_kinds::ENDPOINT_SLICE,
            production_kinds::endpoint_slice,
        ),
        "ConfigMap" => (CONFIG_MAP, config_map),
        "Secret" => (SECRET, secret),
        "Service" => (SERVICE, service),
        "ServiceAccount" => (SERVICE_ACCOUNT, service_account),
        "Namespace" => (NAMESPACE, namespace),
        "Endpoints" => (ENDPOINTS, endpoints),
        "Role" => (ROLE, role),
        "RoleBinding" => (ROLE_BINDING, role_binding),
        "Event" => (EVENT, event),
        _ => (DEFAULT, default),
    }
}

pub(super) fn name(o: &Json) -> Json {
    o["metadata"]["name"].clone()
}

pub(super) fn age(o: &Json) -> Json {
    json!(since(&o["metadata"]["creationTimestamp"]))
}

fn count(o: &Json) -> usize {
    o.as_object()
        .map(|m| m.len())
        .or_else(|| o.as_array().map(Vec::len))
        .unwrap_or(0)
}

pub(super) fn int(o: &Json, path: &str) -> i64 {
    o.pointer(path).and_then(Json::as_i64).unwrap_or(0)
}

pub(super) fn text<'a>(o: &'a Json, path: &str) -> &'a str {
    o.pointer(path).and_then(Json::as_str).unwrap_or_default()
}

/// `labels.FormatLabels`: sorted `k=v,k=v`, `<none>` when empty.
fn format_labels(map: &Json) -> String {
    let pairs: Vec<String> = map
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    if pairs.is_empty() {
        "<none>".into()
    } else {
        pairs.join(",")
    }
}

/// `metav1.LabelSelectorAsSelector(...).String()`: requirements sorted by key.
pub(super) fn format_selector(selector: &Json) -> String {
    let mut terms: Vec<(String, String)> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), format!("{k}={}", v.as_str().unwrap_or_default())))
        .collect();
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = text(e, "/key").to_string();
        let mut values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
            .collect();
        values.sort_unstable();
        let term = match text(e, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.clone(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        terms.push((key, term));
    }
    terms.sort();
    if terms.is_empty() {
        return "<none>".into();
    }
    terms
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

const DEPLOYMENT: &[Column] = &[
    NAME,
    column("Ready", "string", "Number of the pod with ready state"),
    column("Up-to-date", "string", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
    column("Available", "string", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
    AGE,
    wide("Containers", "string", "Names of each container in the template."),
    wide("Images", "string", "Images referenced by each container in the template."),
    wide("Selector", "string", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
];

/// The template's containers' `field`s, comma-separated, as the wide columns show them.
fn template_containers(o: &Json, field: &str) -> Json {
    let containers = o["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    json!(containers
        .iter()
        .map(|c| c[field].as_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join(","))
}

fn deployment(o: &Json) -> Vec<Json> {
    vec![
        name(o),
        json!(format!(
            "{}/{}",
            int(o, "/status/readyReplicas"),
            int(o, "/spec/replicas")
        )),
        json!(int(o, "/status/updatedReplicas")),
        json!(int(o, "/status/availableReplicas")),
        age(o),
        template_containers(o, "name"),
        template_containers(o, "image"),
        json!(format_selector(&o["spec"]["selector"])),
    ]
}

const REPLICA_SET: &[Column] = &[
    NAME,
    column("Desired", "integer", "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1."),
    column("Current", "integer", "Replicas is the most recently observed number of non-terminating pods."),
    column("Ready", "integer", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition."),
    AGE,
    wide("Containers", "string", "Names of each container in the template."),
    wide("Images", "string", "Images referenced by each container in the template."),
    wide("Selector", "string", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
];

fn replica_set(o: &Json) -> Vec<Json> {
    vec![
        name(o),
        json!(int(o, "/spec/replicas")),
        json!(int(o, "/status/replicas")),
        json!(int(o, "/status/readyReplicas")),
        age(o),
        template_containers(o, "name"),
        template_containers(o, "image"),
        json!(format_selector(&o["spec"]["selector"])),
    ]
}

const CONFIG_MAP: &[Column] = &[
    NAME,
    column("Data", "string", "Data contains the configuration data."),
    AGE,
];

fn config_map(o: &Json) -> Vec<Json> {
    vec![
        name(o),
        json!(count(&o["data"]) + count(&o["binaryData"])),
        age(o),
    ]
}

const SECRET: &[Column] = &[
    NAME,
    column(
        "Type",
        "string",
        "Used to facilitate programmatic handling of secret data.",
    ),
    column("Data", "string", "Data contains the secret data."),
    AGE,
];

fn secret(o: &Json) -> Vec<Json> {
    let kind = match text(o, "/type") {
        "" => "Opaque",
        t => t,
    };
    vec![name(o), json!(kind), json!(count(&o["data"])), age(o)]
}

const SERVICE: &[Column] = &[
    NAME,
    column("Type", "string", "type determines how the Service is exposed."),
    column("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually assigned randomly."),
    column("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
    column("Port(s)", "string", "The list of ports that are exposed by this service."),
    AGE,
    wide("Selector", "string", "Route service traffic to pods with label keys and values matching this selector."),
];

fn service(o: &Json) -> Vec<Json> {
    let kind = match text(o, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = o["spec"]["clusterIPs"]
        .as_array()
        .and_then(|ips| ips.first())
        .and_then(Json::as_str)
        .or_else(|| o["spec"]["clusterIP"].as_str())
        .filter(|ip| !ip.is_empty())
        .unwrap_or("<none>");
    let external: Vec<&str> = o["spec"]["externalIPs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .collect();
    let external_ip = match kind {
        "ExternalName" => text(o, "/spec/externalName").to_string(),
        "LoadBalancer" => {
            let ingress: Vec<String> = o["status"]["loadBalancer"]["ingress"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| match text(i, "/ip") {
                    "" => text(i, "/hostname").to_string(),
                    ip => ip.to_string(),
                })
                .chain(external.iter().map(|s| s.to_string()))
                .collect();
            if ingress.is_empty() {
                "<pending>".into()
            } else {
                ingress.join(",")
            }
        }
        _ if external.is_empty() => "<none>".into(),
        _ => external.join(","),
    };
    let ports: Vec<String> = o["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let protocol = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64().filter(|n| *n != 0) {
                Some(node) => format!("{}:{node}/{protocol}", int(p, "/port")),
                None => format!("{}/{protocol}", int(p, "/port")),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        name(o),
        json!(kind),
        json!(cluster_ip),
        json!(external_ip),
        json!(ports),
        age(o),
        json!(format_labels(&o["spec"]["selector"])),
    ]
}

const SERVICE_ACCOUNT: &[Column] = &[
    NAME,
    column("Secrets", "string", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."),
    AGE,
];

fn service_account(o: &Json) -> Vec<Json> {
    vec![name(o), json!(count(&o["secrets"])), age(o)]
}

const NAMESPACE: &[Column] = &[
    NAME,
    column("Status", "string", "The status of the namespace"),
    AGE,
];

fn namespace(o: &Json) -> Vec<Json> {
    vec![name(o), json!(text(o, "/status/phase")), age(o)]
}

const ENDPOINTS: &[Column] = &[
    NAME,
    column(
        "Endpoints",
        "string",
        "The set of all endpoints is the union of all subsets.",
    ),
    AGE,
];

/// `formatEndpoints`: the first three `ip:port`, then `+ N more...`.
fn endpoints(o: &Json) -> Vec<Json> {
    let subsets = o["subsets"].as_array().cloned().unwrap_or_default();
    let (max, mut list, mut count, mut more) = (3, Vec::new(), 0, false);
    for ss in &subsets {
        let addresses = ss["addresses"].as_array().cloned().unwrap_or_default();
        let ports = ss["ports"].as_array().cloned().unwrap_or_default();
        let targets: Vec<Option<i64>> = if ports.is_empty() {
            vec![None]
        } else {
            ports.iter().map(|p| p["port"].as_i64()).collect()
        };
        for port in targets {
            count += addresses.len();
            for a in &addresses {
                if list.len() == max {
                    more = true;
                    break;
                }
                let ip = text(a, "/ip");
                list.push(match port {
                    Some(p) if ip.contains(':') => format!("[{ip}]:{p}"),
                    Some(p) => format!("{ip}:{p}"),
                    None => ip.to_string(),
                });
            }
        }
    }
    let joined = list.join(",");
    let cell = if subsets.is_empty() || (joined.is_empty() && !more) {
        "<none>".to_string()
    } else if more {
        format!("{joined} + {} more...", count - max)
    } else {
        joined
    };
    vec![name(o), json!(cell), age(o)]
}

const ROLE: &[Column] = &[
    NAME,
    column("Created At", "date", "CreationTimestamp is a timestamp representing the server time when this object was created."),
];

fn role(o: &Json) -> Vec<Json> {
    vec![name(o), o["metadata"]["creationTimestamp"].clone()]
}

const ROLE_BINDING: &[Column] = &[
    NAME,
    column("Role", "string", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace."),
    AGE,
    wide("Users", "string", "Users in the roleBinding"),
    wide("Groups", "string", "Groups in the roleBinding"),
    wide("ServiceAccounts", "string", "ServiceAccounts in the roleBinding"),
];

/// `rbac.SubjectsStrings`: users, groups, and service accounts as `namespace/name`.
fn role_binding(o: &Json) -> Vec<Json> {
    let subjects = o["subjects"].as_array().cloned().unwrap_or_default();
    let of = |kind: &str| {
        subjects
            .iter()
            .filter(|s| s["kind"] == kind)
            .map(|s| match kind {
                "ServiceAccount" => format!("{}/{}", text(s, "/namespace"), text(s, "/name")),
                _ => text(s, "/name").to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        name(o),
        json!(format!(
            "{}/{}",
            text(o, "/roleRef/kind"),
            text(o, "/roleRef/name")
        )),
        age(o),
        json!(of("User")),
        json!(of("Group")),
        json!(of("ServiceAccount")),
    ]
}

const EVENT: &[Column] = &[
    column("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
    column("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
    column("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    column("Object", "string", "The object that this event is about."),
    wide("Subobject", "string", "If the reference is to an object field, the JSON path of that field."),
    wide("Source", "string", "The component reporting this event."),
    column("Message", "string", "A human-readable description of the status of this operation."),
    wide("First Seen", "string", "The time at which the event was first recorded."),
    wide("Count", "string", "The number of times this event has occurred."),
    Column { priority: 1, ..NAME },
];

/// `printEvent`: LAST SEEN as `age (xN over age)` once repeated.
fn event(o: &Json) -> Vec<Json> {
    let first = match o["firstTimestamp"].as_str() {
        Some(_) => since(&o["firstTimestamp"]),
        None => since(&o["eventTime"]),
    };
    let last = match o["lastTimestamp"].as_str() {
        Some(_) => since(&o["lastTimestamp"]),
        None => first.clone(),
    };
    let times = int(o, "/count");
    let last_seen = if times > 1 {
        format!("{last} (x{times} over {first})")
    } else {
        last
    };
    let source = match (text(o, "/source/component"), text(o, "/source/host")) {
        ("", _) => text(o, "/reportingComponent").to_string(),
        (c, "") => c.to_string(),
        (c, h) => format!("{c}, {h}"),
    };
    vec![
        json!(last_seen),
        o["type"].clone(),
        o["reason"].clone(),
        json!(format!(
            "{}/{}",
            text(o, "/involvedObject/kind").to_lowercase(),
            text(o, "/involvedObject/name")
        )),
        json!(text(o, "/involvedObject/fieldPath")),
        json!(source),
        o["message"].clone(),
        json!(first),
        json!(times),
        name(o),
    ]
}

const DEFAULT: &[Column] = &[
    NAME,
    column("Created At", "date", "CreationTimestamp is a timestamp representing the server time when this object was created."),
];

fn default(o: &Json) -> Vec<Json> {
    role(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_ready_up_to_date_available_and_wide() {
        let d = json!({"metadata": {"name": "web"}, "spec": {"replicas": 3, "selector": {"matchLabels": {"b": "2", "a": "1"}},
                       "template": {"spec": {"containers": [{"name": "x", "image": "i:1"}, {"name": "y", "image": "j"}]}}},
                       "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}});
        let c = deployment(&d);
        assert_eq!(c[1..4], [json!("1/3"), json!(2), json!(1)]);
        assert_eq!(c[5..], [json!("x,y"), json!("i:1,j"), json!("a=1,b=2")]);
    }

    #[test]
    fn services_endpoints_secrets() {
        let s = json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "None", "ports": [{"port": 8081}, {"port": 53, "protocol": "UDP", "nodePort": 30053}], "selector": {"app": "x"}}});
        let c = service(&s);
        assert_eq!(
            c[1..5],
            [
                json!("ClusterIP"),
                json!("None"),
                json!("<none>"),
                json!("8081/TCP,53:30053/UDP")
            ]
        );
        assert_eq!(c[6], "app=x");
        let e = json!({"metadata": {"name": "e"}, "subsets": [{"addresses": [{"ip": "1.1.1.1"}, {"ip": "1.1.1.2"}, {"ip": "1.1.1.3"}, {"ip": "1.1.1.4"}], "ports": [{"port": 80}]}]});
        assert_eq!(
            endpoints(&e)[1],
            "1.1.1.1:80,1.1.1.2:80,1.1.1.3:80 + 1 more..."
        );
        assert_eq!(endpoints(&json!({"metadata": {"name": "e"}}))[1], "<none>");
        assert_eq!(
            secret(&json!({"metadata": {"name": "x"}, "data": {"a": "", "b": ""}}))[1..3],
            [json!("Opaque"), json!(2)]
        );
    }

    #[test]
    fn events_and_role_bindings() {
        let e = json!({"metadata": {"name": "web.1"}, "type": "Warning", "reason": "FailedCreate", "count": 3,
                       "firstTimestamp": "2020-01-01T00:00:00Z", "lastTimestamp": "2020-01-01T00:00:00Z",
                       "involvedObject": {"kind": "Deployment", "name": "web"}, "source": {"component": "replicaset-controller"},
                       "message": "Error creating: x"});
        let c = event(&e);
        assert!(c[0].as_str().unwrap().contains(" (x3 over "), "{c:?}");
        assert_eq!(c[3], "deployment/web");
        assert_eq!(c[5], "replicaset-controller");
        let rb = json!({"metadata": {"name": "rb"}, "roleRef": {"kind": "Role", "name": "r"},
                        "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "ns"}, {"kind": "User", "name": "u"}]});
        let c = role_binding(&rb);
        assert_eq!(c[1], "Role/r");
        assert_eq!(c[3..], [json!("u"), json!(""), json!("ns/sa")]);
    }
}
