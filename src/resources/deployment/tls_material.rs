//! The TLS material an apply puts in the deployment's Secret (IO): the existing Secret's when
//! state's certificates are still the ones it holds, else certificates newly issued with the
//! `flink_certificate_authority` whose Secret is read from the cluster.

use super::computed;
use super::layout::{self, Names};
use super::model::{Model, TlsCertificates};
use super::pending;
use super::rendering::TlsData;
use super::tls;
use super::TYPE;
use crate::kubernetes::Kind;
use crate::resources::{certificate_authority, owned, Context};
use crate::schema::{AttributePath, Diagnostics};
use crate::value::Attr;

/// What an apply does about TLS.
pub enum Material {
    /// TLS is off.
    Off,
    /// The Secret's data; `model.tls_certificates` now records it.
    Ready(TlsData),
    /// The material could not be had (reported in `diags`): nothing may be applied.
    Missing,
}

/// The material for the spec that runs of `model`, recorded in `model.tls_certificates`.
pub async fn for_apply(ctx: &Context, model: &mut Model, diags: &mut Diagnostics) -> Material {
    let running = pending::running_spec(model).into_owned();
    if !tls::enabled(&running) {
        return Material::Off;
    }
    match material(ctx, &running, diags).await {
        Some((certificates, data)) => {
            model.tls_certificates = Attr::Known(certificates);
            Material::Ready(data)
        }
        None => {
            model.tls_certificates = Attr::Null;
            Material::Missing
        }
    }
}

/// The TLS Secret's data and what state records of it: the existing Secret's when the plan
/// kept its certificates and it still holds them, else newly issued with the authority.
async fn material(
    ctx: &Context,
    model: &Model,
    diags: &mut Diagnostics,
) -> Option<(TlsCertificates, TlsData)> {
    let (ns, name) = (model.namespace.known()?, model.name.known()?);
    let secret_name = Names::of(name).tls_secret;
    let owner = layout::owner(ns, name);
    let observed = owned::observe(ctx, &owner, &[Kind::Secret], TYPE, diags).await?;
    let existing = observed
        .iter()
        .map(|(_, o)| o)
        .find(|o| o.metadata.name.as_deref() == Some(secret_name.as_str()));
    if let (Some(recorded), Some(secret)) = (model.tls_certificates.known(), existing) {
        if tls::holds(secret, recorded) {
            return Some((recorded.clone(), tls::existing_data(secret)));
        }
    }
    let settings = model.tls.known()?;
    let Some(authority) = settings.authority.known() else {
        diags.attribute_error(
            AttributePath::root("tls").attr("authority"),
            "TLS needs a certificate authority",
            "Set tls.authority = flink_certificate_authority.x.spec.",
        );
        return None;
    };
    let ca_owner = certificate_authority::objects::owner(&authority.namespace, &authority.name);
    let ca_objects = owned::observe(ctx, &ca_owner, &[Kind::Secret], TYPE, diags).await?;
    let material = ca_objects
        .iter()
        .find(|(_, o)| o.metadata.name.as_deref() == Some(authority.secret_name.as_str()))
        .map(|(_, o)| certificate_authority::objects::material_of(o));
    let authority_material = match material {
        Some(Ok(m)) if m.ca.certificate_pem == authority.ca_certificate_pem => m,
        Some(Ok(_)) => {
            diags.attribute_error(
                AttributePath::root("tls").attr("authority"),
                "The certificate authority changed",
                format!(
                    "Secret {}/{} holds a different CA than tls.authority names. Apply the \
                     flink_certificate_authority first, then this deployment.",
                    authority.namespace, authority.secret_name
                ),
            );
            return None;
        }
        Some(Err(e)) => {
            diags.attribute_error(
                AttributePath::root("tls").attr("authority"),
                "Unusable certificate authority",
                format!(
                    "Secret {}/{}: {e}. Apply the flink_certificate_authority to restore it.",
                    authority.namespace, authority.secret_name
                ),
            );
            return None;
        }
        None => {
            diags.attribute_error(
                AttributePath::root("tls").attr("authority"),
                "Certificate authority not found",
                format!(
                    "No Secret {}/{} of a flink_certificate_authority. Apply the authority \
                     first, and check that the provider may read Secrets in namespace {}.",
                    authority.namespace, authority.secret_name, authority.namespace
                ),
            );
            return None;
        }
    };
    let resolved = computed::resolved(model)?;
    let validity = settings
        .validity_period_hours
        .known()
        .copied()
        .unwrap_or(8760);
    let request = tls::request(&resolved, authority_material.algorithm, validity);
    match crate::tls::DeploymentMaterial::issue(&authority_material, &request) {
        Ok(material) => {
            tracing::info!(deployment = %name, "issued TLS certificates");
            Some((tls::certificates(&material), tls::secret_data(&material)))
        }
        Err(e) => {
            diags.error(
                "Issuing the deployment's TLS certificates failed",
                e.to_string(),
            );
            None
        }
    }
}
