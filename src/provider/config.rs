//! The provider's own configuration: how to reach the Kubernetes cluster. Parsed in two stages, as
//! typed (the [`KubernetesConfig`] model, which may hold unknowns at plan time) and then resolved
//! ([`Connection`], in `kubernetes`) once every value is known.

use crate::kubernetes::{ClusterAccess, Connection, KubeError};
use crate::schema::{Attribute, AttributePath, Diagnostics, Schema};
use crate::value::{self, Attr, Value};
use serde::{Deserialize, Serialize};

/// The provider configuration schema.
pub fn schema() -> Schema {
    Schema::new(
        "The Flink provider runs Apache Flink applications on Kubernetes. It converges native \
         Kubernetes objects directly (no operator in the cluster) and reads them back, so drift \
         shows up in `terraform plan`.",
        vec![Attribute::single_nested(
            "kubernetes",
            vec![
                Attribute::string("config_path").description(
                    "Path to a kubeconfig file. Defaults to the `KUBE_CONFIG_PATH` environment \
                     variable, else the in-cluster service account.",
                ),
                Attribute::string("config_context").description(
                    "Context of the kubeconfig to use. Defaults to its current context.",
                ),
                Attribute::string("host").description(
                    "API server URL, e.g. `https://10.0.0.1:6443`, instead of a kubeconfig.",
                ),
                Attribute::string("token")
                    .sensitive()
                    .description("Bearer token for `host`."),
                Attribute::string("cluster_ca_certificate")
                    .description("PEM-encoded CA certificate of the API server at `host`."),
                Attribute::string("client_certificate")
                    .description("PEM-encoded client certificate for `host`; needs `client_key`."),
                Attribute::string("client_key")
                    .sensitive()
                    .description("PEM-encoded private key of `client_certificate`."),
                Attribute::bool("insecure").description(
                    "Skip verification of the API server's certificate. For test clusters only.",
                ),
            ],
        )
        .optional()
        .description("How to reach the Kubernetes cluster that runs the Flink deployments.")],
    )
}

/// The `kubernetes` block as configured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KubernetesConfig {
    /// Kubeconfig path.
    #[serde(default)]
    pub config_path: Attr<String>,
    /// Kubeconfig context.
    #[serde(default)]
    pub config_context: Attr<String>,
    /// Explicit API server URL.
    #[serde(default)]
    pub host: Attr<String>,
    /// Bearer token.
    #[serde(default)]
    pub token: Attr<String>,
    /// API server CA (PEM).
    #[serde(default)]
    pub cluster_ca_certificate: Attr<String>,
    /// Client certificate (PEM).
    #[serde(default)]
    pub client_certificate: Attr<String>,
    /// Client key (PEM).
    #[serde(default)]
    pub client_key: Attr<String>,
    /// Skip TLS verification.
    #[serde(default)]
    pub insecure: Attr<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct ProviderConfig {
    #[serde(default)]
    kubernetes: Attr<KubernetesConfig>,
}

/// Checks the configuration; unknown values are accepted (they are checked again at configure).
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    let Some(k8s) = parse(config, diags) else {
        return;
    };
    let path = AttributePath::root("kubernetes");
    if k8s.client_certificate.known().is_some() && k8s.client_key.is_null() {
        diags.attribute_error(
            path.attr("client_key"),
            "Missing client_key",
            "client_certificate needs its private key: set client_key too.",
        );
    }
    if k8s.host.known().is_some() && k8s.config_path.known().is_some() {
        diags.attribute_error(
            path.attr("host"),
            "Conflicting cluster settings",
            "Set either host (with token or client certificate) or config_path, not both.",
        );
    }
    if let Some(host) = k8s.host.known() {
        if !(host.starts_with("https://") || host.starts_with("http://")) {
            diags.attribute_error(
                path.attr("host"),
                "Invalid host",
                format!("{host:?} is not a URL: write it as https://HOST:PORT."),
            );
        }
    }
}

fn parse(config: &Value, diags: &mut Diagnostics) -> Option<KubernetesConfig> {
    match value::from_value::<ProviderConfig>(config) {
        Ok(c) => match c.kubernetes {
            Attr::Known(k) => Some(k),
            Attr::Null => Some(KubernetesConfig::default()),
            Attr::Unknown => None,
        },
        Err(e) => {
            diags.error("Invalid provider configuration", e.to_string());
            None
        }
    }
}

/// Resolves a known configuration; `None` (without errors) while any setting is unknown.
pub fn resolve(
    config: &Value,
    env_kubeconfig: Option<String>,
    diags: &mut Diagnostics,
) -> Option<Connection> {
    if !config.is_wholly_known() {
        return None;
    }
    let k8s = parse(config, diags)?;
    let known = |a: &Attr<String>| a.known().cloned();
    let cluster = if let Some(host) = known(&k8s.host) {
        ClusterAccess::Explicit {
            host,
            token: known(&k8s.token),
            ca_certificate: known(&k8s.cluster_ca_certificate),
            client_identity: known(&k8s.client_certificate).zip(known(&k8s.client_key)),
            insecure: k8s.insecure.known().copied().unwrap_or(false),
        }
    } else if let Some(path) = known(&k8s.config_path).or(env_kubeconfig) {
        ClusterAccess::Kubeconfig {
            path: expand_home(&path),
            context: known(&k8s.config_context),
        }
    } else {
        ClusterAccess::InCluster
    };
    Some(Connection::new(cluster))
}

/// Reports what `access` gets wrong as an error on the provider attribute that set it (the
/// kubeconfig from `KUBE_CONFIG_PATH` has no attribute: the message says where it came from).
pub async fn check(config: &Value, access: &ClusterAccess, diags: &mut Diagnostics) {
    let Err(KubeError::Configure { setting, message }) = crate::kubernetes::check(access).await
    else {
        return;
    };
    let set = |name: &str| {
        parse(config, &mut Diagnostics::default())
            .and_then(|k8s| match name {
                "config_path" => k8s.config_path.known().map(drop),
                "config_context" => k8s.config_context.known().map(drop),
                "host" => k8s.host.known().map(drop),
                "cluster_ca_certificate" => k8s.cluster_ca_certificate.known().map(drop),
                _ => None,
            })
            .is_some()
    };
    let summary = "Invalid Kubernetes settings";
    match setting.attribute() {
        Some(name) if set(name) => diags.attribute_error(
            AttributePath::root("kubernetes").attr(name),
            summary,
            message,
        ),
        Some("config_path") => diags.error(
            summary,
            format!("{message} (the path came from the KUBE_CONFIG_PATH environment variable)"),
        ),
        _ => diags.error(summary, message),
    }
}

fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        let ty = schema().value_type();
        let mut k8s = Value::object(
            [
                "config_path",
                "config_context",
                "host",
                "token",
                "cluster_ca_certificate",
                "client_certificate",
                "client_key",
                "insecure",
            ]
            .map(|k| (k, Value::Null)),
        );
        for (k, v) in pairs {
            *k8s.get_mut(k).unwrap() = v.clone();
        }
        let value = Value::object([("kubernetes", k8s)]);
        // Round-trip through the wire type to be sure the test value fits the schema.
        crate::value::from_msgpack(&crate::value::to_msgpack(&value, &ty), &ty).unwrap()
    }

    #[test]
    fn kubeconfig_from_environment_when_unset() {
        let mut diags = Diagnostics::default();
        let data = resolve(&config(&[]), Some("/k/config".into()), &mut diags).unwrap();
        assert_eq!(
            data.cluster,
            ClusterAccess::Kubeconfig {
                path: "/k/config".into(),
                context: None
            }
        );
    }

    #[test]
    fn unknown_configuration_resolves_later_without_errors() {
        let mut diags = Diagnostics::default();
        let c = config(&[("host", Value::Unknown)]);
        validate(&c, &mut diags);
        assert!(resolve(&c, None, &mut diags).is_none());
        assert!(!diags.has_errors());
    }

    #[test]
    fn client_certificate_needs_key() {
        let mut diags = Diagnostics::default();
        validate(
            &config(&[("client_certificate", Value::string("PEM"))]),
            &mut diags,
        );
        assert_eq!(
            diags.0[0].path.as_ref().unwrap().to_string(),
            "kubernetes.client_key"
        );
    }
}
