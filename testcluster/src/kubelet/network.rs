//! Pod networking on one machine: a bridge `kts0` on 10.245.0.1/16 and, per pod, a network
//! namespace with a veth pair, its own address (the pod IP) and a default route through the
//! bridge. Inside its namespace a pod binds `0.0.0.0` as it would in a cluster; the server and the
//! tests reach it at its IP. Service names resolve through a hosts file that Java reads
//! (`-Djdk.net.hosts.file`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::Command;

const BRIDGE: &str = "kts0";

/// The bridge's address: the pods' default route, and where they reach the API server.
pub const GATEWAY: Ipv4Addr = crate::tls::IN_CLUSTER_IP;

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Creates the bridge unless it exists.
pub fn ensure_bridge() -> Result<(), String> {
    if ip(&["link", "show", BRIDGE]).is_ok() {
        return Ok(());
    }
    ip(&["link", "add", BRIDGE, "type", "bridge"])?;
    ip(&["addr", "add", &format!("{GATEWAY}/16"), "dev", BRIDGE])?;
    ip(&["link", "set", BRIDGE, "up"])
}

/// The address of pod number `n` (1-based, below 65 000).
pub fn pod_address(n: u32) -> Ipv4Addr {
    let n = n + 1;
    Ipv4Addr::new(10, 245, (n / 250) as u8, (n % 250 + 2) as u8)
}

/// The network namespace name of pod number `n`.
pub fn namespace_name(n: u32) -> String {
    format!("kts-pod-{n}")
}

/// Creates pod `n`'s namespace, wired to the bridge with `address`.
pub fn create_pod_network(n: u32, address: Ipv4Addr) -> Result<(), String> {
    let netns = namespace_name(n);
    let host_end = format!("vkts{n}");
    let _ = ip(&["netns", "del", &netns]);
    let _ = ip(&["link", "del", &host_end]);
    ip(&["netns", "add", &netns])?;
    ip(&[
        "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", &netns,
    ])?;
    ip(&["link", "set", &host_end, "master", BRIDGE, "up"])?;
    let cidr = format!("{address}/16");
    ip(&["-n", &netns, "addr", "add", &cidr, "dev", "eth0"])?;
    ip(&["-n", &netns, "link", "set", "eth0", "up"])?;
    ip(&["-n", &netns, "link", "set", "lo", "up"])?;
    ip(&[
        "-n",
        &netns,
        "route",
        "add",
        "default",
        "via",
        &GATEWAY.to_string(),
    ])
}

/// Removes pod `n`'s namespace (its veth pair goes with it).
pub fn delete_pod_network(n: u32) {
    let _ = ip(&["netns", "del", &namespace_name(n)]);
    let _ = ip(&["link", "del", &format!("vkts{n}")]);
}

/// A hosts file: `localhost`, the pod's own name, and every Service name form mapped to the first
/// ready pod it selects.
pub fn hosts_file(
    own_name: &str,
    own_address: Ipv4Addr,
    services: &BTreeMap<String, Ipv4Addr>,
) -> String {
    let mut text = format!("127.0.0.1 localhost\n{own_address} {own_name}\n");
    for (name, address) in services {
        text.push_str(&format!("{address} {name}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_distinct_and_in_the_pod_range() {
        assert_eq!(pod_address(1), Ipv4Addr::new(10, 245, 0, 4));
        assert_ne!(pod_address(248), pod_address(249));
        assert_eq!(pod_address(300).octets()[1], 245);
    }
}
