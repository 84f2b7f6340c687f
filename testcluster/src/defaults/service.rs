//! What the real server fills in a Service it stores, for a single-stack IPv4 cluster:
//! `SetDefaults_Service` (`pkg/apis/core/v1/defaults.go`: `sessionAffinity`, `type`, each port's
//! `protocol` and `targetPort`, the traffic policies), then the Service REST storage's IP
//! handling (`pkg/registry/core/service/storage`): `clusterIPs` normalized from `clusterIP`
//! (`NormalizeClusterIPs`), allocated values kept across an update that leaves them out
//! (`patchAllocatedValues`), `ipFamilyPolicy` and `ipFamilies` (`initIPFamilyFields`), and a
//! cluster IP allocated from the service range (`allocClusterIPs`).
//!
//! The cluster IP is only an address on record: pods here reach a Service by its name, which
//! their hosts file maps to a pod it selects (see `kubelet::network`), so nothing routes it.

use super::fill;
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The service range, kubeadm's default `--service-cluster-ip-range` (10.96.0.0/12).
const RANGE_START: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const RANGE_SIZE: u32 = 1 << 20;

/// `SetDefaults_Service` and the storage's IP-family fields, given the stored Service on an
/// update. Allocation is apart ([`allocate_cluster_ip`]): it needs the addresses in use.
pub fn default_service(service: &mut Json, old: Option<&Json>) {
    let old_spec = old.and_then(|o| o.get("spec"));
    let Some(spec) = service.get_mut("spec").and_then(Json::as_object_mut) else {
        return;
    };
    fill(spec, "sessionAffinity", "None");
    if spec.get("sessionAffinity").is_some_and(|a| a == "ClientIP")
        && spec
            .get("sessionAffinityConfig")
            .and_then(|c| c.pointer("/clientIP/timeoutSeconds"))
            .is_none_or(Json::is_null)
    {
        spec.insert(
            "sessionAffinityConfig".into(),
            json!({"clientIP": {"timeoutSeconds": 10800}}),
        );
    }
    fill(spec, "type", "ClusterIP");
    let kind = string(spec, "type").unwrap_or_default();
    for port in spec
        .get_mut("ports")
        .and_then(Json::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Json::as_object_mut)
    {
        fill(port, "protocol", "TCP");
        // `targetPort` is an IntOrString: 0 and "" are unset.
        if port
            .get("targetPort")
            .is_none_or(|t| t.is_null() || t == 0 || t == "")
        {
            let number = port.get("port").cloned().unwrap_or(Json::Null);
            port.insert("targetPort".into(), number);
        }
    }
    let externally_accessible = matches!(kind.as_str(), "NodePort" | "LoadBalancer")
        || spec
            .get("externalIPs")
            .and_then(Json::as_array)
            .is_some_and(|ips| !ips.is_empty());
    if externally_accessible {
        fill(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(kind.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        fill(spec, "internalTrafficPolicy", "Cluster");
    }
    if kind == "LoadBalancer" {
        fill(spec, "allocateLoadBalancerNodePorts", true);
    }
    if kind == "ExternalName" {
        return;
    }
    match old_spec {
        // `NormalizeClusterIPs` on create: an old client's singular field gives the plural.
        None => {
            if let Some(ip) = string(spec, "clusterIP") {
                if list(spec, "clusterIPs").is_empty() {
                    spec.insert("clusterIPs".into(), json!([ip]));
                }
            }
        }
        // `patchAllocatedValues`: a write that leaves the allocated address out keeps it, as the
        // cluster IP is immutable.
        Some(old_spec) if old_spec["type"] != "ExternalName" => {
            for field in ["clusterIP", "clusterIPs"] {
                let unset = spec.get(field).is_none_or(|v| {
                    v.is_null() || v == "" || v.as_array().is_some_and(Vec::is_empty)
                });
                if unset && !old_spec[field].is_null() {
                    spec.insert(field.into(), old_spec[field].clone());
                }
            }
        }
        Some(_) => {}
    }
    ip_family_fields(spec, old_spec);
}

/// `initIPFamilyFields` on a cluster with the IPv4 family only.
fn ip_family_fields(spec: &mut Map<String, Json>, old_spec: Option<&Json>) {
    let headless = string(spec, "clusterIP").as_deref() == Some("None");
    let selectorless = spec
        .get("selector")
        .and_then(Json::as_object)
        .is_none_or(Map::is_empty);
    if spec.get("ipFamilyPolicy").is_none_or(Json::is_null) {
        let policy = match old_spec.map(|s| &s["ipFamilyPolicy"]) {
            Some(Json::String(old)) => old.clone(),
            // A headless Service without a selector lists endpoints of any family.
            _ if headless && selectorless => "RequireDualStack".into(),
            _ => "SingleStack".into(),
        };
        spec.insert("ipFamilyPolicy".into(), policy.into());
    }
    // The families of the addresses given, then the cluster's own.
    let mut families = list(spec, "ipFamilies");
    for (i, ip) in list(spec, "clusterIPs").iter().enumerate() {
        let Some(ip) = ip.as_str().filter(|ip| *ip != "None") else {
            break;
        };
        if i >= families.len() {
            families.push(if ip.contains(':') { "IPv6" } else { "IPv4" }.into());
        }
    }
    if families.is_empty() {
        families.push("IPv4".into());
    }
    // Headless and selectorless: the only case a single-stack cluster lists both families.
    if headless
        && selectorless
        && families.len() < 2
        && spec
            .get("ipFamilyPolicy")
            .is_some_and(|p| p != "SingleStack")
    {
        let other = if families[0] == "IPv4" {
            "IPv6"
        } else {
            "IPv4"
        };
        families.push(other.into());
    }
    spec.insert("ipFamilies".into(), Json::Array(families));
}

/// `allocClusterIPs`: a Service that needs a cluster IP and has none gets the lowest free
/// address of the range (the real allocator picks at random), past `.1`, which a real cluster's
/// `kubernetes` Service holds. `taken` are the addresses other Services hold.
pub fn allocate_cluster_ip(service: &mut Json, taken: &BTreeSet<Ipv4Addr>) {
    let Some(spec) = service.get_mut("spec").and_then(Json::as_object_mut) else {
        return;
    };
    if string(spec, "type").as_deref() == Some("ExternalName")
        || string(spec, "clusterIP").is_some()
    {
        return;
    }
    if let Some(Json::String(first)) = list(spec, "clusterIPs").first() {
        // Given as the plural only: the singular follows it (the allocator's own write-back).
        spec.insert("clusterIP".into(), first.clone().into());
        return;
    }
    let Some(free) = (2..RANGE_SIZE - 1)
        .map(|offset| Ipv4Addr::from(RANGE_START + offset))
        .find(|ip| !taken.contains(ip))
    else {
        return;
    };
    spec.insert("clusterIP".into(), free.to_string().into());
    spec.insert("clusterIPs".into(), json!([free.to_string()]));
}

/// The cluster IPs a stored Service holds.
pub fn cluster_ips(service: &Json) -> impl Iterator<Item = Ipv4Addr> + '_ {
    service["spec"]["clusterIPs"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(std::iter::once(&service["spec"]["clusterIP"]))
        .filter_map(|ip| ip.as_str()?.parse().ok())
}

fn string(spec: &Map<String, Json>, key: &str) -> Option<String> {
    spec.get(key)
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

fn list(spec: &Map<String, Json>, key: &str) -> Vec<Json> {
    spec.get(key)
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(mut service: Json, taken: &[Ipv4Addr]) -> Json {
        default_service(&mut service, None);
        allocate_cluster_ip(&mut service, &taken.iter().copied().collect());
        service
    }

    #[test]
    fn a_service_gets_set_defaults_service_and_a_cluster_ip() {
        let service = created(
            json!({"spec": {"selector": {"app": "x"}, "ports": [{"name": "rest", "port": 8081}]}}),
            &[Ipv4Addr::new(10, 96, 0, 2)],
        );
        assert_eq!(
            service["spec"],
            json!({
                "selector": {"app": "x"},
                "ports": [{"name": "rest", "port": 8081, "protocol": "TCP", "targetPort": 8081}],
                "sessionAffinity": "None",
                "type": "ClusterIP",
                "internalTrafficPolicy": "Cluster",
                "ipFamilyPolicy": "SingleStack",
                "ipFamilies": ["IPv4"],
                "clusterIP": "10.96.0.3",
                "clusterIPs": ["10.96.0.3"],
            })
        );
    }

    #[test]
    fn headless_services_get_no_address() {
        let selected = created(
            json!({"spec": {"clusterIP": "None", "selector": {"app": "x"}}}),
            &[],
        );
        assert_eq!(selected["spec"]["clusterIPs"], json!(["None"]));
        assert_eq!(selected["spec"]["ipFamilyPolicy"], "SingleStack");
        assert_eq!(selected["spec"]["ipFamilies"], json!(["IPv4"]));
        let selectorless = created(json!({"spec": {"clusterIP": "None"}}), &[]);
        assert_eq!(selectorless["spec"]["ipFamilyPolicy"], "RequireDualStack");
        assert_eq!(selectorless["spec"]["ipFamilies"], json!(["IPv4", "IPv6"]));
        let external = created(
            json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
            &[],
        );
        assert_eq!(
            external["spec"],
            json!({"type": "ExternalName", "externalName": "example.com", "sessionAffinity": "None"})
        );
    }

    #[test]
    fn given_values_are_kept() {
        let given = json!({"spec": {
            "type": "NodePort",
            "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
            "ports": [{"port": 53, "protocol": "UDP", "targetPort": "dns"}],
            "externalTrafficPolicy": "Local",
            "internalTrafficPolicy": "Local",
            "ipFamilyPolicy": "SingleStack",
            "ipFamilies": ["IPv4"],
            "clusterIP": "10.96.5.5",
            "clusterIPs": ["10.96.5.5"],
        }});
        assert_eq!(created(given.clone(), &[]), given);
        let client_ip = created(json!({"spec": {"sessionAffinity": "ClientIP"}}), &[]);
        assert_eq!(
            client_ip["spec"]["sessionAffinityConfig"],
            json!({"clientIP": {"timeoutSeconds": 10800}})
        );
        let singular = created(json!({"spec": {"clusterIP": "10.96.7.7"}}), &[]);
        assert_eq!(singular["spec"]["clusterIPs"], json!(["10.96.7.7"]));
    }

    #[test]
    fn an_update_keeps_the_allocated_address_and_policy() {
        let stored = created(json!({"spec": {"selector": {"app": "x"}}}), &[]);
        let mut replaced = json!({"spec": {"selector": {"app": "y"}}});
        default_service(&mut replaced, Some(&stored));
        allocate_cluster_ip(&mut replaced, &cluster_ips(&stored).collect());
        assert_eq!(replaced["spec"]["clusterIP"], stored["spec"]["clusterIP"]);
        assert_eq!(replaced["spec"]["clusterIPs"], stored["spec"]["clusterIPs"]);
        assert_eq!(replaced["spec"]["ipFamilyPolicy"], "SingleStack");
        assert_eq!(
            cluster_ips(&stored).collect::<Vec<_>>(),
            [Ipv4Addr::new(10, 96, 0, 2); 2]
        );
    }
}
