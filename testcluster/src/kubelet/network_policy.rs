//! NetworkPolicy ingress, enforced as a network plugin does (`networking.k8s.io/v1` semantics,
//! `test/e2e/network/netpol`): a pod that no policy with `Ingress` among its `policyTypes`
//! selects takes traffic from anywhere; a selected pod takes only what one of their rules allows,
//! by source (pods by `podSelector`, namespaces by `namespaceSelector`, both together, `ipBlock`
//! with `except`) and by port (number or container port name, `protocol`, `endPort`). A rule
//! without `from` admits every source and one without `ports` every port. Replies to a pod's own
//! connections always come back, and so does traffic from the node (the bridge's address), as
//! Calico and Cilium let a node reach its pods: the kubelet's port-forwards come from there.
//! Egress rules are not enforced. Each pod's rules are an nftables table in its network
//! namespace, written again whenever what they allow changes.

use crate::selectors::LabelSelector;
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// A pod as policies see it: its namespace, its labels (the object) and its address.
pub struct PodView<'a> {
    pub namespace: &'a str,
    pub pod: &'a Json,
    pub address: Ipv4Addr,
}

/// Where a rule admits traffic from.
#[derive(Debug, Clone, PartialEq)]
pub enum Sources {
    Any,
    /// Pod addresses, and address blocks with their exceptions.
    Listed {
        addresses: BTreeSet<Ipv4Addr>,
        blocks: Vec<(String, Vec<String>)>,
    },
}

/// One port a rule admits: protocol, first and last port (`None`: every port of the protocol).
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    protocol: String,
    range: Option<(u16, u16)>,
}

/// One admitting rule: its sources and ports (`None`: every port).
#[derive(Debug, Clone, PartialEq)]
pub struct Allow {
    sources: Sources,
    ports: Option<Vec<Port>>,
}

/// A pod's ingress: open, or only what the rules allow.
#[derive(Debug, Clone, PartialEq)]
pub enum Ingress {
    Open,
    Isolated(Vec<Allow>),
}

fn selects(policy: &Json, view: &PodView) -> bool {
    policy["metadata"]["namespace"].as_str() == Some(view.namespace)
        && LabelSelector::from_object(&policy["spec"]["podSelector"]).matches(view.pod)
}

/// `policyTypes` as the API server defaults it: `Ingress`, plus `Egress` when egress rules exist.
fn governs_ingress(policy: &Json) -> bool {
    match policy["spec"]["policyTypes"].as_array() {
        Some(types) if !types.is_empty() => types.iter().any(|t| t == "Ingress"),
        _ => true,
    }
}

/// The ingress of `target` under `policies`, given every pod and namespace there is.
pub fn ingress_of(
    target: &PodView,
    policies: &[Json],
    pods: &[PodView],
    namespaces: &[Json],
) -> Ingress {
    let governing: Vec<&Json> = policies
        .iter()
        .filter(|p| governs_ingress(p) && selects(p, target))
        .collect();
    if governing.is_empty() {
        return Ingress::Open;
    }
    let mut allows = Vec::new();
    for policy in governing {
        let namespace = policy["metadata"]["namespace"].as_str().unwrap_or_default();
        for rule in policy["spec"]["ingress"].as_array().into_iter().flatten() {
            let sources = match rule["from"].as_array().filter(|f| !f.is_empty()) {
                None => Sources::Any,
                Some(peers) => listed_sources(peers, namespace, pods, namespaces),
            };
            let ports = rule["ports"]
                .as_array()
                .filter(|p| !p.is_empty())
                .map(|ports| ports.iter().filter_map(|p| port(p, target.pod)).collect());
            allows.push(Allow { sources, ports });
        }
    }
    Ingress::Isolated(allows)
}

fn listed_sources(
    peers: &[Json],
    policy_namespace: &str,
    pods: &[PodView],
    namespaces: &[Json],
) -> Sources {
    let mut addresses = BTreeSet::new();
    let mut blocks = Vec::new();
    for peer in peers {
        if let Some(block) = peer.get("ipBlock").filter(|b| b.is_object()) {
            let cidr = block["cidr"].as_str().unwrap_or_default();
            // Pods here have IPv4 addresses only.
            if cidr.contains('.') {
                let except = block["except"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .filter(|c| c.contains('.'))
                    .map(String::from)
                    .collect();
                blocks.push((cidr.to_string(), except));
            }
            continue;
        }
        let pod_selector = peer.get("podSelector").filter(|s| s.is_object());
        let namespace_selector = peer.get("namespaceSelector").filter(|s| s.is_object());
        let in_namespace = |ns: &str| match namespace_selector {
            // Without a namespaceSelector a peer means pods of the policy's own namespace.
            None => ns == policy_namespace,
            Some(selector) => {
                let selector = LabelSelector::from_object(selector);
                namespaces
                    .iter()
                    .any(|n| n["metadata"]["name"].as_str() == Some(ns) && selector.matches(n))
            }
        };
        let pod_matches =
            |pod: &Json| pod_selector.is_none_or(|s| LabelSelector::from_object(s).matches(pod));
        for view in pods {
            if in_namespace(view.namespace) && pod_matches(view.pod) {
                addresses.insert(view.address);
            }
        }
    }
    Sources::Listed { addresses, blocks }
}

/// A rule's port on `target`: a number, or the name of one of its container ports.
fn port(spec: &Json, target: &Json) -> Option<Port> {
    let protocol = spec["protocol"]
        .as_str()
        .unwrap_or("TCP")
        .to_ascii_lowercase();
    let first = match &spec["port"] {
        Json::Null => {
            return Some(Port {
                protocol,
                range: None,
            })
        }
        Json::Number(n) => u16::try_from(n.as_u64()?).ok()?,
        Json::String(name) => named_port(target, name, &protocol)?,
        _ => return None,
    };
    let last = spec["endPort"]
        .as_u64()
        .and_then(|e| u16::try_from(e).ok())
        .filter(|_| spec["port"].is_number())
        .unwrap_or(first);
    Some(Port {
        protocol,
        range: Some((first, last.max(first))),
    })
}

fn named_port(pod: &Json, name: &str, protocol: &str) -> Option<u16> {
    pod["spec"]["containers"]
        .as_array()?
        .iter()
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .find(|p| {
            p["name"].as_str() == Some(name)
                && p["protocol"]
                    .as_str()
                    .unwrap_or("TCP")
                    .eq_ignore_ascii_case(protocol)
        })
        .and_then(|p| p["containerPort"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
}

/// The nftables script that gives a pod's namespace `ingress`, replacing whatever it had.
pub fn nft_script(ingress: &Ingress, node: Ipv4Addr) -> String {
    let mut script = String::from("flush ruleset\n");
    let Ingress::Isolated(allows) = ingress else {
        return script;
    };
    script.push_str(
        "table inet kts-network-policy {\n  chain ingress {\n    type filter hook input priority 0; policy drop;\n    ct state established,related accept\n    iifname \"lo\" accept\n",
    );
    script.push_str(&format!("    ip saddr {node} accept\n"));
    for allow in allows {
        let mut matches: Vec<String> = Vec::new();
        match &allow.sources {
            Sources::Any => matches.push(String::new()),
            Sources::Listed { addresses, blocks } => {
                if !addresses.is_empty() {
                    let list: Vec<String> = addresses.iter().map(Ipv4Addr::to_string).collect();
                    matches.push(format!("ip saddr {{ {} }} ", list.join(", ")));
                }
                for (cidr, except) in blocks {
                    let mut m = format!("ip saddr {cidr} ");
                    if !except.is_empty() {
                        m.push_str(&format!("ip saddr != {{ {} }} ", except.join(", ")));
                    }
                    matches.push(m);
                }
            }
        }
        let ports: Vec<String> = match &allow.ports {
            None => vec![String::new()],
            Some(ports) => ports.iter().map(port_match).collect(),
        };
        for source in &matches {
            for port in &ports {
                script.push_str(&format!("    {source}{port}accept\n"));
            }
        }
    }
    script.push_str("  }\n}\n");
    script
}

fn port_match(port: &Port) -> String {
    match port.range {
        None => format!("meta l4proto {} ", port.protocol),
        Some((first, last)) if first == last => format!("{} dport {first} ", port.protocol),
        Some((first, last)) => format!("{} dport {first}-{last} ", port.protocol),
    }
}

/// Loads `script` into the network namespace `netns`.
pub fn apply(netns: &str, script: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", netns, "nft", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("nft: no stdin")?
        .write_all(script.as_bytes())
        .map_err(|e| format!("nft: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft in {netns}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A pod this kubelet runs: namespace, name, network namespace number and address.
pub struct Running {
    pub namespace: String,
    pub name: String,
    pub n: u32,
    pub address: Ipv4Addr,
}

/// Brings every running pod's rules in line with the policies, pods and namespaces in `store`;
/// `applied` remembers each pod's last script so unchanged ones are not written again.
pub fn enforce(
    store: &crate::store::Store,
    running: &[Running],
    applied: &mut std::collections::BTreeMap<u32, String>,
) {
    let policies = super::pods::all(store, "networkpolicies");
    let namespaces = super::pods::all(store, "namespaces");
    let pods = super::pods::pods(store);
    let found: Vec<(&Running, PodView)> = running
        .iter()
        .filter_map(|r| {
            let key = (r.namespace.clone(), r.name.clone());
            let pod = pods.iter().find(|p| super::pods::key(p) == key)?;
            Some((
                r,
                PodView {
                    namespace: &r.namespace,
                    pod,
                    address: r.address,
                },
            ))
        })
        .collect();
    let views: Vec<PodView> = found
        .iter()
        .map(|(_, v)| PodView {
            namespace: v.namespace,
            pod: v.pod,
            address: v.address,
        })
        .collect();
    applied.retain(|n, _| running.iter().any(|r| r.n == *n));
    for (pod, view) in &found {
        let ingress = ingress_of(view, &policies, &views, &namespaces);
        let script = nft_script(&ingress, super::network::GATEWAY);
        if applied.get(&pod.n) == Some(&script) {
            continue;
        }
        match apply(&super::network::namespace_name(pod.n), &script) {
            Ok(()) => {
                applied.insert(pod.n, script);
            }
            Err(e) => eprintln!("kubelet: pod {}: network policy not applied: {e}", pod.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(labels: Json, ports: Json) -> Json {
        json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "ports": ports}]}})
    }

    fn policy(namespace: &str, spec: Json) -> Json {
        json!({"metadata": {"name": "p", "namespace": namespace}, "spec": spec})
    }

    fn namespace(name: &str) -> Json {
        json!({"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}})
    }

    const NODE: Ipv4Addr = Ipv4Addr::new(10, 245, 0, 1);

    #[test]
    fn a_pod_no_policy_selects_is_open() {
        let jm = pod(json!({"app": "flink"}), json!([]));
        let target = PodView {
            namespace: "a",
            pod: &jm,
            address: Ipv4Addr::new(10, 245, 0, 2),
        };
        let other = policy(
            "a",
            json!({"podSelector": {"matchLabels": {"app": "other"}}, "ingress": []}),
        );
        let elsewhere = policy("b", json!({"podSelector": {}}));
        assert_eq!(
            ingress_of(&target, &[other, elsewhere], &[], &[]),
            Ingress::Open
        );
        assert_eq!(nft_script(&Ingress::Open, NODE), "flush ruleset\n");
    }

    #[test]
    fn a_selected_pod_takes_only_what_rules_allow() {
        let jm = pod(
            json!({"app": "flink", "id": "d1"}),
            json!([{"name": "rest", "containerPort": 8081}]),
        );
        let tm = pod(json!({"app": "flink", "id": "d1"}), json!([]));
        let client = pod(json!({"app": "client"}), json!([]));
        let stranger = pod(json!({"app": "client"}), json!([]));
        let views = [
            PodView {
                namespace: "a",
                pod: &jm,
                address: Ipv4Addr::new(10, 245, 0, 2),
            },
            PodView {
                namespace: "a",
                pod: &tm,
                address: Ipv4Addr::new(10, 245, 0, 3),
            },
            PodView {
                namespace: "ingress",
                pod: &client,
                address: Ipv4Addr::new(10, 245, 0, 4),
            },
            PodView {
                namespace: "b",
                pod: &stranger,
                address: Ipv4Addr::new(10, 245, 0, 5),
            },
        ];
        let p = policy(
            "a",
            json!({
                "podSelector": {"matchLabels": {"id": "d1"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [{"podSelector": {"matchLabels": {"id": "d1"}}}]},
                    {"from": [
                        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}},
                        {"ipBlock": {"cidr": "192.168.0.0/16", "except": ["192.168.1.0/24"]}},
                    ], "ports": [{"port": "rest"}, {"protocol": "UDP", "port": 9000, "endPort": 9010}]},
                ],
            }),
        );
        let ingress = ingress_of(
            &views[0],
            &[p],
            &views,
            &[namespace("a"), namespace("ingress"), namespace("b")],
        );
        let script = nft_script(&ingress, NODE);
        assert!(script.contains("policy drop;"), "{script}");
        assert!(script.contains("ip saddr 10.245.0.1 accept"), "{script}");
        assert!(
            script.contains("ip saddr { 10.245.0.2, 10.245.0.3 } accept"),
            "{script}"
        );
        assert!(
            script.contains("ip saddr { 10.245.0.4 } tcp dport 8081 accept"),
            "{script}"
        );
        assert!(
            script.contains("ip saddr { 10.245.0.4 } udp dport 9000-9010 accept"),
            "{script}"
        );
        assert!(
            script.contains(
                "ip saddr 192.168.0.0/16 ip saddr != { 192.168.1.0/24 } tcp dport 8081 accept"
            ),
            "{script}"
        );
        assert!(!script.contains("10.245.0.5"), "{script}");
    }

    #[test]
    fn rules_without_peers_or_ports_admit_everything_of_that_kind() {
        let jm = pod(json!({"id": "d1"}), json!([]));
        let target = PodView {
            namespace: "a",
            pod: &jm,
            address: Ipv4Addr::new(10, 245, 0, 2),
        };
        let any_source = policy(
            "a",
            json!({"podSelector": {}, "ingress": [{"ports": [{"port": 8081}]}]}),
        );
        let script = nft_script(&ingress_of(&target, &[any_source], &[], &[]), NODE);
        assert!(script.contains("\n    tcp dport 8081 accept\n"), "{script}");
        let deny_all = policy("a", json!({"podSelector": {}, "policyTypes": ["Ingress"]}));
        let script = nft_script(&ingress_of(&target, &[deny_all], &[], &[]), NODE);
        assert_eq!(
            script.matches("accept").count(),
            3,
            "replies, loopback and the node: {script}"
        );
        let egress_only = policy("a", json!({"podSelector": {}, "policyTypes": ["Egress"]}));
        assert_eq!(ingress_of(&target, &[egress_only], &[], &[]), Ingress::Open);
    }

    #[test]
    fn a_peer_with_both_selectors_means_those_pods_in_those_namespaces() {
        let jm = pod(json!({"id": "d1"}), json!([]));
        let wanted = pod(json!({"role": "scraper"}), json!([]));
        let unwanted = pod(json!({"role": "other"}), json!([]));
        let views = [
            PodView {
                namespace: "a",
                pod: &jm,
                address: Ipv4Addr::new(10, 245, 0, 2),
            },
            PodView {
                namespace: "monitoring",
                pod: &wanted,
                address: Ipv4Addr::new(10, 245, 0, 6),
            },
            PodView {
                namespace: "monitoring",
                pod: &unwanted,
                address: Ipv4Addr::new(10, 245, 0, 7),
            },
            PodView {
                namespace: "a",
                pod: &wanted,
                address: Ipv4Addr::new(10, 245, 0, 8),
            },
        ];
        let p = policy(
            "a",
            json!({"podSelector": {}, "ingress": [{"from": [{
                "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["monitoring"]}]},
                "podSelector": {"matchLabels": {"role": "scraper"}},
            }]}]}),
        );
        let script = nft_script(
            &ingress_of(
                &views[0],
                &[p],
                &views,
                &[namespace("a"), namespace("monitoring")],
            ),
            NODE,
        );
        assert!(
            script.contains("ip saddr { 10.245.0.6 } accept"),
            "{script}"
        );
    }
}
