//! What a pod is given to reach the API server, as a kubelet gives it: the `kubernetes` Service's
//! environment (`KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT`, ...) pointing at the
//! server's in-cluster listener, and, unless the pod or its ServiceAccount opts out with
//! `automountServiceAccountToken: false`, the ServiceAccount's token, the server's CA and the
//! namespace at `/var/run/secrets/kubernetes.io/serviceaccount`, which in-cluster clients (fabric8,
//! client-go, kube-rs) read. Requests with that token are the ServiceAccount's, under RBAC.

use super::container::Mount;
use crate::auth::Tokens;
use crate::kinds;
use crate::store::Store;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

/// Where in-cluster clients look for the token, CA and namespace.
pub const MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// How pods reach the API server.
#[derive(Debug, Clone)]
pub struct InClusterApi {
    /// The server's in-cluster listener.
    pub address: SocketAddr,
    /// PEM of the CA that signed the server's certificate.
    pub ca_pem: String,
}

/// The `kubernetes` Service's variables, as a kubelet sets them in every container.
pub fn environment(api: &InClusterApi) -> BTreeMap<String, String> {
    let (host, port) = (api.address.ip().to_string(), api.address.port().to_string());
    let tcp = format!("tcp://{}", api.address);
    let link = format!("KUBERNETES_PORT_{port}_TCP");
    BTreeMap::from([
        ("KUBERNETES_SERVICE_HOST".to_string(), host.clone()),
        ("KUBERNETES_SERVICE_PORT".to_string(), port.clone()),
        ("KUBERNETES_SERVICE_PORT_HTTPS".to_string(), port.clone()),
        ("KUBERNETES_PORT".to_string(), tcp.clone()),
        (format!("{link}_PROTO"), "tcp".to_string()),
        (format!("{link}_PORT"), port),
        (format!("{link}_ADDR"), host),
        (link, tcp),
    ])
}

/// The pod's ServiceAccount (`default` unless named).
pub fn account_of(spec: &Json) -> &str {
    spec["serviceAccountName"]
        .as_str()
        .or(spec["serviceAccount"].as_str())
        .unwrap_or("default")
}

/// Whether the token is mounted: the pod's `automountServiceAccountToken`, else its account's,
/// else yes.
fn automount(store: &Store, namespace: &str, spec: &Json) -> bool {
    if let Some(choice) = spec["automountServiceAccountToken"].as_bool() {
        return choice;
    }
    kinds::find("", "v1", "serviceaccounts")
        .and_then(|kind| store.get(kind, namespace, account_of(spec)).ok())
        .and_then(|account| account["automountServiceAccountToken"].as_bool())
        .unwrap_or(true)
}

/// Writes the token, CA and namespace under `dir/serviceaccount` and returns their mount, unless
/// the pod opts out.
pub fn mount(
    store: &Store,
    tokens: &Tokens,
    api: &InClusterApi,
    namespace: &str,
    spec: &Json,
    dir: &Path,
) -> Result<Option<Mount>, String> {
    if !automount(store, namespace, spec) {
        return Ok(None);
    }
    let files = dir.join("serviceaccount");
    std::fs::create_dir_all(&files).map_err(|e| format!("{}: {e}", files.display()))?;
    let token = tokens.issue(namespace, account_of(spec));
    for (name, text) in [
        ("token", token.as_str()),
        ("ca.crt", api.ca_pem.as_str()),
        ("namespace", namespace),
    ] {
        std::fs::write(files.join(name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(Some(Mount {
        source: files.display().to_string(),
        path: MOUNT_PATH.to_string(),
        read_only: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_kubernetes_service_variables_name_the_in_cluster_listener() {
        let api = InClusterApi {
            address: "10.245.0.1:40123".parse().unwrap(),
            ca_pem: String::new(),
        };
        let env = environment(&api);
        assert_eq!(env["KUBERNETES_SERVICE_HOST"], "10.245.0.1");
        assert_eq!(env["KUBERNETES_SERVICE_PORT"], "40123");
        assert_eq!(env["KUBERNETES_PORT"], "tcp://10.245.0.1:40123");
        assert_eq!(env["KUBERNETES_PORT_40123_TCP_ADDR"], "10.245.0.1");
    }

    #[test]
    fn a_pod_may_opt_out_of_the_token() {
        let store = Store::new();
        let api = InClusterApi {
            address: "10.245.0.1:1".parse().unwrap(),
            ca_pem: "CA".into(),
        };
        let tokens = Tokens::new("admin".into());
        let dir = tempfile::tempdir().unwrap();
        let opted_out =
            json!({"serviceAccountName": "flink-a", "automountServiceAccountToken": false});
        assert!(mount(&store, &tokens, &api, "team", &opted_out, dir.path())
            .unwrap()
            .is_none());
        let mounted = mount(&store, &tokens, &api, "team", &json!({}), dir.path())
            .unwrap()
            .unwrap();
        assert_eq!(mounted.path, MOUNT_PATH);
        let files = dir.path().join("serviceaccount");
        assert_eq!(
            std::fs::read_to_string(files.join("token")).unwrap(),
            tokens.issue("team", "default")
        );
        assert_eq!(std::fs::read_to_string(files.join("ca.crt")).unwrap(), "CA");
        assert_eq!(
            std::fs::read_to_string(files.join("namespace")).unwrap(),
            "team"
        );
    }
}
