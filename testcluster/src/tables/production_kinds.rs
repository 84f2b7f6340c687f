//! The columns of the kinds a hardened production deployment adds, as kube-apiserver's printers
//! give them (`pkg/printers/internalversion/printers.go`: `printPersistentVolumeClaim`,
//! `printNetworkPolicy`, `printIngress`, `printPodDisruptionBudget`, `printEndpointSlice`).

use super::kinds::{age, format_selector, int, name, text};
use super::{column, wide, Column, AGE, NAME};
use serde_json::{json, Value as Json};

pub const CLAIM: &[Column] = &[
    NAME,
    column("Status", "string", "Phase represents the current phase of PersistentVolumeClaim."),
    column("Volume", "string", "VolumeName is the binding reference to the PersistentVolume backing this claim."),
    column("Capacity", "string", "Capacity represents the actual resources of the underlying volume."),
    column("Access Modes", "string", "AccessModes contains the actual access modes the volume backing the PVC has."),
    column("StorageClass", "string", "StorageClassName is the name of the StorageClass required by the claim."),
    column("VolumeAttributesClass", "string", "VolumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim."),
    AGE,
    wide("VolumeMode", "string", "VolumeMode defines what type of volume is required by the claim."),
];

/// `helper.GetAccessModesAsString`: the short forms, comma-separated.
fn access_modes(modes: &Json) -> String {
    let short: Vec<&str> = modes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| match m.as_str()? {
            "ReadWriteOnce" => Some("RWO"),
            "ReadOnlyMany" => Some("ROX"),
            "ReadWriteMany" => Some("RWX"),
            "ReadWriteOncePod" => Some("RWOP"),
            _ => None,
        })
        .collect();
    short.join(",")
}

fn or_unset(value: &str) -> String {
    if value.is_empty() {
        "<unset>".into()
    } else {
        value.into()
    }
}

pub fn claim(o: &Json) -> Vec<Json> {
    let bound = text(o, "/status/phase") == "Bound";
    vec![
        name(o),
        json!(text(o, "/status/phase")),
        json!(text(o, "/spec/volumeName")),
        json!(if bound {
            text(o, "/status/capacity/storage")
        } else {
            ""
        }),
        json!(if bound {
            access_modes(&o["status"]["accessModes"])
        } else {
            String::new()
        }),
        json!(text(o, "/spec/storageClassName")),
        json!(or_unset(text(o, "/spec/volumeAttributesClassName"))),
        age(o),
        json!(or_unset(text(o, "/spec/volumeMode"))),
    ]
}

pub const NETWORK_POLICY: &[Column] = &[
    NAME,
    column(
        "Pod-Selector",
        "string",
        "Selects the pods to which this NetworkPolicy object applies.",
    ),
    AGE,
];

/// `metav1.FormatLabelSelector`: `<none>` for the empty selector, which selects every pod.
fn selector_or_none(selector: &Json) -> String {
    match format_selector(selector) {
        s if s.is_empty() => "<none>".into(),
        s => s,
    }
}

pub fn network_policy(o: &Json) -> Vec<Json> {
    vec![
        name(o),
        json!(selector_or_none(&o["spec"]["podSelector"])),
        age(o),
    ]
}

pub const INGRESS: &[Column] = &[
    NAME,
    column(
        "Class",
        "string",
        "The name of the IngressClass cluster resource.",
    ),
    column(
        "Hosts",
        "string",
        "Hosts that incoming requests are matched against before the ingress rule",
    ),
    column(
        "Address",
        "string",
        "Address is a list containing ingress points for the load-balancer",
    ),
    column("Ports", "string", "Ports of TLS configurations that open"),
    AGE,
];

pub fn ingress(o: &Json) -> Vec<Json> {
    let hosts: Vec<&str> = o["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["host"].as_str())
        .collect();
    let addresses: Vec<&str> = o["status"]["loadBalancer"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["ip"].as_str().or_else(|| i["hostname"].as_str()))
        .collect();
    let tls = o["spec"]["tls"].as_array().is_some_and(|t| !t.is_empty());
    vec![
        name(o),
        json!(match text(o, "/spec/ingressClassName") {
            "" => "<none>",
            class => class,
        }),
        json!(if hosts.is_empty() {
            "*".to_string()
        } else {
            hosts.join(",")
        }),
        json!(addresses.join(",")),
        json!(if tls { "80, 443" } else { "80" }),
        age(o),
    ]
}

pub const DISRUPTION_BUDGET: &[Column] = &[
    NAME,
    column("Min Available", "string", "The minimum number of pods that must be available simultaneously.  This can be either an integer or a string specifying a percentage, e.g. \"28%\"."),
    column("Max Unavailable", "string", "The maximum number of pods that may be unavailable simultaneously.  This can be either an integer or a string specifying a percentage, e.g. \"28%\"."),
    column("Allowed Disruptions", "integer", "Number of pod disruptions that are currently allowed."),
    AGE,
];

/// An intstr field as printed, `N/A` when not set.
fn int_or_string(value: &Json) -> String {
    match value {
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.clone(),
        _ => "N/A".into(),
    }
}

pub fn disruption_budget(o: &Json) -> Vec<Json> {
    vec![
        name(o),
        json!(int_or_string(&o["spec"]["minAvailable"])),
        json!(int_or_string(&o["spec"]["maxUnavailable"])),
        json!(int(o, "/status/disruptionsAllowed")),
        age(o),
    ]
}

pub const ENDPOINT_SLICE: &[Column] = &[
    NAME,
    column("AddressType", "string", "The IP protocol for this slice"),
    column("Ports", "string", "The ports exposed by this slice"),
    column("Endpoints", "string", "The endpoints of this slice"),
    AGE,
];

pub fn endpoint_slice(o: &Json) -> Vec<Json> {
    let ports: Vec<String> = o["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["port"].as_i64().map(|p| p.to_string()))
        .collect();
    let addresses: Vec<&str> = o["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["addresses"].as_array().into_iter().flatten())
        .filter_map(Json::as_str)
        .collect();
    vec![
        name(o),
        json!(text(o, "/addressType")),
        json!(if ports.is_empty() {
            "<unset>".to_string()
        } else {
            ports.join(",")
        }),
        json!(if addresses.is_empty() {
            "<unset>".to_string()
        } else {
            addresses.join(",")
        }),
        age(o),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_claim_prints_its_volume_capacity_and_short_access_modes() {
        let o = json!({"metadata": {"name": "rocksdb"},
                       "spec": {"volumeName": "pvc-1", "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"},
                       "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce", "ReadWriteOncePod"]}});
        let cells = claim(&o);
        assert_eq!(
            &cells[..6],
            &[
                json!("rocksdb"),
                json!("Bound"),
                json!("pvc-1"),
                json!("10Gi"),
                json!("RWO,RWOP"),
                json!("")
            ]
        );
        assert_eq!(cells[6], "<unset>");
        assert_eq!(cells[8], "Filesystem");
    }

    #[test]
    fn policies_ingresses_budgets_and_slices_print_as_kubectl_shows_them() {
        let everyone = json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}});
        assert_eq!(network_policy(&everyone)[1], "<none>");
        let jm = json!({"metadata": {"name": "jm"}, "spec": {"podSelector": {"matchLabels": {"component": "jobmanager"}}}});
        assert_eq!(network_policy(&jm)[1], "component=jobmanager");
        let ing = json!({"metadata": {"name": "ui"}, "spec": {"ingressClassName": "nginx", "tls": [{}],
                         "rules": [{"host": "a.example"}, {"host": "b.example"}]}});
        assert_eq!(
            &ingress(&ing)[..5],
            &[
                json!("ui"),
                json!("nginx"),
                json!("a.example,b.example"),
                json!(""),
                json!("80, 443")
            ]
        );
        let pdb = json!({"metadata": {"name": "tm"}, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(
            &disruption_budget(&pdb)[..4],
            &[json!("tm"), json!("50%"), json!("N/A"), json!(1)]
        );
        let slice = json!({"metadata": {"name": "rest-x"}, "addressType": "IPv4", "ports": [{"port": 8081}],
                           "endpoints": [{"addresses": ["10.0.0.5"]}]});
        assert_eq!(
            &endpoint_slice(&slice)[..4],
            &[
                json!("rest-x"),
                json!("IPv4"),
                json!("8081"),
                json!("10.0.0.5")
            ]
        );
    }
}
