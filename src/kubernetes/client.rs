//! A kube client from the provider configuration: a kubeconfig file (and context), an explicit API
//! server with token or client certificate, or the pod's service account.

use super::ClusterAccess;
use super::KubeError;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::time::Duration;

/// Builds a client for `access`, and the API server's URL it talks to.
pub async fn connect(access: &ClusterAccess) -> Result<(Client, String), KubeError> {
    let config = match access {
        ClusterAccess::Kubeconfig { path, context } => {
            let kubeconfig = Kubeconfig::read_from(path)
                .map_err(|e| KubeError::Configure(format!("reading kubeconfig {path}: {e}")))?;
            let options = KubeConfigOptions {
                context: context.clone(),
                ..Default::default()
            };
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| KubeError::Configure(format!("kubeconfig {path}: {e}")))?
        }
        ClusterAccess::Explicit { .. } => explicit_config(access)?,
        ClusterAccess::InCluster => Config::incluster().map_err(|e| {
            KubeError::Configure(format!(
                "no kubeconfig was given (config_path, KUBE_CONFIG_PATH) and this is not a pod \
                 with a service account: {e}"
            ))
        })?,
    };
    let server = config.cluster_url.to_string();
    let config = bounded(config);
    let client = Client::try_from(config).map_err(|e| KubeError::Configure(e.to_string()))?;
    Ok((client, server))
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
        return Err(KubeError::Configure("not an explicit cluster".into()));
    };
    let uri = host
        .parse()
        .map_err(|e| KubeError::Configure(format!("host {host:?}: {e}")))?;
    let mut config = Config::new(uri);
    config.accept_invalid_certs = *insecure;
    if let Some(pem) = ca_certificate {
        let certs = pem_blocks(pem)
            .map_err(|e| KubeError::Configure(format!("cluster_ca_certificate: {e}")))?;
        config.root_cert = Some(certs);
    }
    if let Some(token) = token {
        config.auth_info.token = Some(token.clone().into());
    }
    if let Some((cert, key)) = client_identity {
        config.auth_info.client_certificate_data = Some(base64_of(cert));
        config.auth_info.client_key_data = Some(base64_of(key).into());
    }
    Ok(config)
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
