//! A kube client from the provider configuration: a kubeconfig file (and context), an explicit API
//! server with token or client certificate, or the pod's service account.

use super::ClusterAccess;
use super::KubeError;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::time::Duration;

/// Builds a client for `access`, and the API server's URL it talks to.
pub async fn connect(access: &ClusterAccess) -> Result<(Client, String), KubeError> {
    let config = config_for(access).await?;
    let server = config.cluster_url.to_string();
    let config = bounded(config);
    let client = Client::try_from(config).map_err(|e| KubeError::Configure {
        setting: Setting::Connection,
        message: e.to_string(),
    })?;
    Ok((client, server))
}

/// Checks that `access` leads to a client without asking the API server anything: the
/// kubeconfig exists and parses, its context exists, the server is an http(s) URL, certificates
/// parse. What the configuration gets wrong is known at plan this way; whether the server answers
/// is the cluster's state and is learnt when a request needs it. The pod's own service account
/// is not checked: a provider that only renders configuration (`flink_configuration`) needs none.
pub async fn check(access: &ClusterAccess) -> Result<(), KubeError> {
    match access {
        ClusterAccess::InCluster => Ok(()),
        _ => config_for(access).await.map(drop),
    }
}

/// The provider setting a configuration error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The kubeconfig file (its path, or what it holds other than contexts).
    ConfigPath,
    /// The kubeconfig context.
    ConfigContext,
    /// The explicit API server URL.
    Host,
    /// The explicit API server CA.
    ClusterCaCertificate,
    /// The pod's service account (no kubeconfig given).
    InCluster,
    /// The client built from otherwise valid settings.
    Connection,
}

impl Setting {
    /// The attribute of the provider's `kubernetes` block this setting is, if it is one.
    pub fn attribute(self) -> Option<&'static str> {
        match self {
            Setting::ConfigPath => Some("config_path"),
            Setting::ConfigContext => Some("config_context"),
            Setting::Host => Some("host"),
            Setting::ClusterCaCertificate => Some("cluster_ca_certificate"),
            Setting::InCluster | Setting::Connection => None,
        }
    }
}

/// The kube configuration `access` describes.
async fn config_for(access: &ClusterAccess) -> Result<Config, KubeError> {
    let error = |setting, message: String| KubeError::Configure { setting, message };
    let config = match access {
        ClusterAccess::Kubeconfig { path, context } => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|e| {
                let why = match &e {
                    kube::config::KubeconfigError::ReadConfig(io, _) => io.to_string(),
                    other => super::failure::causes(other),
                };
                error(
                    Setting::ConfigPath,
                    format!("kubeconfig {path} cannot be read: {why}"),
                )
            })?;
            let contexts: Vec<String> =
                kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
            let options = KubeConfigOptions {
                context: context.clone(),
                ..Default::default()
            };
            let config = Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| kubeconfig_error(path, context.as_deref(), &contexts, e))?;
            checked_scheme(
                config,
                Setting::ConfigPath,
                &format!("the server in {path}"),
            )?
        }
        ClusterAccess::Explicit { .. } => explicit_config(access)?,
        ClusterAccess::InCluster => Config::incluster().map_err(|e| {
            error(
                Setting::InCluster,
                format!(
                    "no kubeconfig was given (config_path, KUBE_CONFIG_PATH) and this is not a \
                     pod with a service account: {e}"
                ),
            )
        })?,
    };
    Ok(config)
}

/// A kubeconfig that does not lead to a configuration, on the setting that can fix it.
fn kubeconfig_error(
    path: &str,
    context: Option<&str>,
    contexts: &[String],
    error: kube::config::KubeconfigError,
) -> KubeError {
    use kube::config::KubeconfigError as E;
    let known = if contexts.is_empty() {
        "it has none".to_string()
    } else {
        format!("it has {}", contexts.join(", "))
    };
    let (setting, message) = match (&error, context) {
        (E::LoadContext(name), Some(_)) => (
            Setting::ConfigContext,
            format!("kubeconfig {path} has no context {name:?}: {known}"),
        ),
        (E::LoadContext(name), None) => (
            Setting::ConfigPath,
            format!("the current context of kubeconfig {path}, {name:?}, is not among its contexts: {known}"),
        ),
        (E::CurrentContextNotSet, _) => (
            Setting::ConfigPath,
            format!("kubeconfig {path} has no current context: set config_context ({known})"),
        ),
        (E::LoadClusterOfContext(cluster), _) => (
            if context.is_some() { Setting::ConfigContext } else { Setting::ConfigPath },
            format!("kubeconfig {path}: the context's cluster {cluster:?} is not among its clusters"),
        ),
        _ => (
            Setting::ConfigPath,
            format!("kubeconfig {path}: {}", super::failure::causes(&error)),
        ),
    };
    KubeError::Configure { setting, message }
}

/// `config`, if its server is an http or https URL (kube takes `10.0.0.1:6443` too, and only the
/// first request would fail).
fn checked_scheme(config: Config, setting: Setting, what: &str) -> Result<Config, KubeError> {
    match config.cluster_url.scheme_str() {
        Some("https" | "http") => Ok(config),
        _ => Err(KubeError::Configure {
            setting,
            message: format!(
                "{what}, {}, is not a URL: write it as https://HOST:PORT",
                config.cluster_url
            ),
        }),
    }
}

/// How long connecting to the API server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the API server may leave a sent request without a byte of answer. kube sets none by
/// default, so a server that accepts and never answers held a plan for as long as one waited.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// `config` with every wait on the API server bounded (counted from each request sent, not from
/// when its pooled connection went idle). The provider's port-forwards carry one short REST
/// request each, so the bound does not cut them.
fn bounded(mut config: Config) -> Config {
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
    config.write_timeout = Some(READ_TIMEOUT);
    config.reset_reader_on_write = true;
    // kube's own retry layer (15 tries of 429, 503 and 504, waits growing to 1000 s) held an
    // apply against an unavailable server for many minutes, past the resource's timeouts and
    // under the provider's own retries: `retry.rs` is the one policy, bounded.
    config.default_retry = false;
    config
}

fn explicit_config(access: &ClusterAccess) -> Result<Config, KubeError> {
    let ClusterAccess::Explicit {
        host,
        token,
        ca_certificate,
        client_identity,
        insecure,
    } = access
    else {
        return Err(KubeError::Configure {
            setting: Setting::Host,
            message: "not an explicit cluster".into(),
        });
    };
    let uri = host.parse().map_err(|e| KubeError::Configure {
        setting: Setting::Host,
        message: format!("host {host:?}: {e}"),
    })?;
    let mut config = Config::new(uri);
    config.accept_invalid_certs = *insecure;
    if let Some(pem) = ca_certificate {
        let certs = pem_blocks(pem).map_err(|e| KubeError::Configure {
            setting: Setting::ClusterCaCertificate,
            message: format!("cluster_ca_certificate: {e}"),
        })?;
        config.root_cert = Some(certs);
    }
    if let Some(token) = token {
        config.auth_info.token = Some(token.clone().into());
    }
    if let Some((cert, key)) = client_identity {
        config.auth_info.client_certificate_data = Some(base64_of(cert));
        config.auth_info.client_key_data = Some(base64_of(key).into());
    }
    checked_scheme(config, Setting::Host, "host")
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The DER blocks of every certificate in a PEM text.
fn pem_blocks(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<Vec<u8>> = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.map(|c| c.to_vec()).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(certs)
}
