//! The deployment's NetworkPolicy (pure): which traffic reaches its pods. Its own pods reach each
//! other on every port, because the TaskManagers' RPC and data ports are random unless configured;
//! the REST port, and the Queryable State proxy port when that is on, are open to the namespaces
//! and address ranges of `network_policy`. Egress stays open. Also the check of a CIDR as the API
//! server's NetworkPolicy validation takes it.

use super::layout::{Names, DEPLOYMENT_ID_LABEL, REST_PORT};
use super::pod_template::labels;
use super::resolve::{Resolved, RestPeers};
use crate::kubernetes::{DesiredObject, Kind};
use crate::value::Value;
use serde_json::{json, Value as Json};
use std::net::IpAddr;

/// The label the API server puts on every Namespace, with its name.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The NetworkPolicy `flink-<name>`, unless `network_policy.enabled = false`.
pub fn network_policy(d: &Resolved) -> Option<DesiredObject> {
    let peers = d.network_policy.as_ref()?;
    let own_pods = json!({"podSelector": {"matchLabels": {DEPLOYMENT_ID_LABEL: d.id}}});
    let mut ingress = vec![json!({"from": [own_pods]})];
    let clients = client_peers(peers);
    // An ingress rule without peers admits every source: with none listed, no rule at all.
    if !clients.is_empty() {
        let mut ports = vec![json!({"protocol": "TCP", "port": REST_PORT})];
        if d.queryable_state {
            ports.push(json!({"protocol": "TCP", "port": crate::flink::render::QUERYABLE_STATE_PROXY_PORT}));
        }
        ingress.push(json!({"from": clients, "ports": ports}));
    }
    Some(DesiredObject::new(
        Kind::NetworkPolicy,
        &d.namespace,
        &Names::of(&d.name).network_policy,
        json!({
            "metadata": {"labels": labels(d, None)},
            "spec": {
                "podSelector": {"matchLabels": {DEPLOYMENT_ID_LABEL: d.id}},
                "policyTypes": ["Ingress"],
                "ingress": ingress,
            },
        }),
    ))
}

fn client_peers(peers: &RestPeers) -> Vec<Json> {
    let namespaces = peers
        .namespaces
        .iter()
        .map(|ns| json!({"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: ns}}}));
    let blocks = peers
        .cidrs
        .iter()
        .map(|cidr| json!({"ipBlock": {"cidr": cidr}}));
    namespaces.chain(blocks).collect()
}

/// An IPv4 or IPv6 CIDR in its canonical form (no host bits), as the API server stores it, so
/// what the plan shows is what the cluster keeps.
pub fn cidr_check(value: &Value) -> Result<(), (String, String)> {
    let Some(text) = value.as_str() else {
        return Ok(());
    };
    let invalid = |why: String| Err(("Invalid CIDR".to_string(), why));
    let Some((address, bits)) = text.split_once('/') else {
        return invalid(format!(
            "{text:?} is not a CIDR: write an address and a prefix length, e.g. \"10.0.0.0/8\"."
        ));
    };
    let Ok(address) = address.parse::<IpAddr>() else {
        return invalid(format!("{text:?}: {address:?} is not an IP address."));
    };
    let width = if address.is_ipv4() { 32 } else { 128 };
    let bits = match bits.parse::<u32>() {
        Ok(b)
            if b <= width && !bits.starts_with('+') && (bits == "0" || !bits.starts_with('0')) =>
        {
            b
        }
        _ => {
            return invalid(format!(
                "{text:?}: the prefix length must be a number from 0 to {width}."
            ))
        }
    };
    let network = network_of(address, bits);
    if network != address {
        return invalid(format!(
            "{text:?} has bits set past its prefix: write \"{network}/{bits}\"."
        ));
    }
    Ok(())
}

fn network_of(address: IpAddr, bits: u32) -> IpAddr {
    match address {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), String> {
        cidr_check(&Value::string(text)).map_err(|(_, detail)| detail)
    }

    #[test]
    fn cidrs_in_canonical_form_pass() {
        for ok in [
            "10.0.0.0/8",
            "0.0.0.0/0",
            "192.168.1.7/32",
            "fd00::/8",
            "::/0",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn other_cidrs_say_what_to_write() {
        assert!(check("10.0.0.1/8").unwrap_err().contains("\"10.0.0.0/8\""));
        assert!(check("10.0.0.0").unwrap_err().contains("prefix length"));
        assert!(check("10.0.0.0/33").unwrap_err().contains("0 to 32"));
        assert!(check("10.0.0.0/08").unwrap_err().contains("0 to 32"));
        assert!(check("fd00::1/8").unwrap_err().contains("\"fd00::/8\""));
        assert!(check("example.com/8")
            .unwrap_err()
            .contains("not an IP address"));
    }
}
