//! The `flink_certificate_authority` schema, its typed model and the renewal rule. No IO.

use crate::resources::cluster_objects;
use crate::schema::{Attribute, AttributePath, Diagnostics, Schema, Validator};
use crate::value::{Attr, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Key algorithms as the `key_algorithm` attribute accepts them.
pub const KEY_ALGORITHMS: &[&str] = &["ECDSA_P256", "RSA_2048", "RSA_4096"];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {
    #[serde(default)]
    pub id: Attr<String>,
    #[serde(default)]
    pub name: Attr<String>,
    #[serde(default)]
    pub namespace: Attr<String>,
    #[serde(default)]
    pub key_algorithm: Attr<String>,
    #[serde(default)]
    pub validity_period_hours: Attr<i64>,
    #[serde(default)]
    pub early_renewal_hours: Attr<i64>,
    #[serde(default)]
    pub secret_name: Attr<String>,
    #[serde(default)]
    pub ca_certificate_pem: Attr<String>,
    #[serde(default)]
    pub ca_fingerprint_sha256: Attr<String>,
    #[serde(default)]
    pub ca_not_after: Attr<String>,
    #[serde(default)]
    pub client_certificate_pem: Attr<String>,
    #[serde(default)]
    pub client_fingerprint_sha256: Attr<String>,
    #[serde(default)]
    pub client_not_after: Attr<String>,
    #[serde(default)]
    pub ready_for_renewal: Attr<bool>,
    #[serde(default)]
    pub spec: Attr<Spec>,
    #[serde(default)]
    pub instance_id: Attr<String>,
    #[serde(default)]
    pub kubernetes_objects: Attr<BTreeMap<String, String>>,
}

crate::resources::typed::named_by_namespace_and_name!(Model);

/// What deployments receive: where the signing key lives and the certificates they must trust.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub name: String,
    pub namespace: String,
    pub secret_name: String,
    pub ca_certificate_pem: String,
    pub client_certificate_pem: String,
}

impl Model {
    /// Blanks everything the next issuance produces (the plan of a re-issue).
    pub fn forget_issued(&mut self) {
        self.ca_certificate_pem = Attr::Unknown;
        self.ca_fingerprint_sha256 = Attr::Unknown;
        self.ca_not_after = Attr::Unknown;
        self.client_certificate_pem = Attr::Unknown;
        self.client_fingerprint_sha256 = Attr::Unknown;
        self.client_not_after = Attr::Unknown;
        self.ready_for_renewal = Attr::Known(false);
        self.spec = Attr::Unknown;
    }

    /// Whether a certificate ends within the renewal window at `now` (or has ended).
    pub fn renewal_due(&self, now: OffsetDateTime) -> bool {
        let window = time::Duration::hours(self.early_renewal_hours.known().copied().unwrap_or(0));
        [&self.ca_not_after, &self.client_not_after]
            .into_iter()
            .filter_map(|a| a.known())
            .filter_map(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .any(|not_after| now + window >= not_after)
    }
}

fn check_hours(value: &Value) -> Result<(), (String, String)> {
    match value {
        Value::Number(n) if n.as_i64().is_some_and(|h| h > 0) => Ok(()),
        Value::Number(n) => Err((
            format!("Invalid validity period {n}"),
            "Give the validity in hours, at least 1, e.g. 87600 for ten years.".into(),
        )),
        _ => Ok(()),
    }
}

/// A renewal window as long as the validity re-issues on every apply: say so.
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    renewal_window_check(config, 87600, 720, &AttributePath::default(), diags);
}

/// Warns when the window in `config` (or its default) is not below the validity.
pub(crate) fn renewal_window_check(
    config: &Value,
    default_validity: i64,
    default_window: i64,
    at: &AttributePath,
    diags: &mut Diagnostics,
) {
    let hours = |name: &str, default: i64| match config.get(name) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::Null) | None => Some(default),
        _ => None,
    };
    if let (Some(validity), Some(window)) = (
        hours("validity_period_hours", default_validity),
        hours("early_renewal_hours", default_window),
    ) {
        if window >= validity {
            diags.attribute_warning(
                at.attr("early_renewal_hours"),
                "Renewal window as long as the validity",
                format!(
                    "early_renewal_hours ({window}) is not below validity_period_hours \
                     ({validity}): every plan re-issues the certificates. Use a smaller window."
                ),
            );
        }
    }
}

pub fn schema() -> Schema {
    Schema::new(
        "The platform identity of Ververica Platform's TLS setup: a self-signed signing CA, which \
         signs the REST certificate of every TLS-enabled deployment, and a client certificate \
         signed by it, which the JobManagers' REST endpoints require (mutual TLS). Both are \
         generated by the provider; their private keys live only in the Kubernetes Secret \
         `flink-<name>-ca` (keys `ca.crt`, `ca.key`, `client.crt`, `client.key`), never in \
         Terraform state or plan files. People and CI that call a JobManager's REST API get the \
         client key through the `flink_client_credentials` ephemeral resource, or from the \
         Secret if they may read it.\n\n\
         Deployments take the exported `spec` in `tls = { enabled = true, authority = ... }`. \
         When a certificate comes within `early_renewal_hours` of its expiry, or the Secret is \
         deleted or its keys altered outside Terraform, the plan shows the re-issue, and the \
         deployments using the authority re-issue their REST certificates with it.\n\n\
         Destroy deletes its Secret if it is left. Destroy it after the deployments that use it \
         (Terraform does within one workspace): the provider reaches their REST APIs with its \
         client certificate, and a deployment whose authority is gone is destroyed all the same, \
         without a final savepoint.",
        vec![
            Attribute::string("id")
                .computed()
                .use_state_for_unknown()
                .description("`<namespace>/<name>`."),
            Attribute::string("name")
                .required()
                .requires_replace()
                .validate(Validator::KubernetesName)
                .description("Name of the authority; its Secret is `flink-<name>-ca`."),
            Attribute::string("namespace")
                .default_value(Value::string("default"))
                .requires_replace()
                .validate(Validator::KubernetesName)
                .description("Kubernetes namespace of the Secret. Defaults to `default`."),
            Attribute::string("key_algorithm")
                .default_value(Value::string("ECDSA_P256"))
                .validate(Validator::OneOf(KEY_ALGORITHMS))
                .description("Key algorithm of both certificates: `ECDSA_P256` (default), `RSA_2048` or `RSA_4096`. Changing it re-issues the authority."),
            Attribute::number("validity_period_hours")
                .default_value(Value::Number(87600i64.into()))
                .validate(Validator::Custom {
                    doc: "At least 1.",
                    check: check_hours,
                })
                .description("How long the certificates are valid, in hours. Defaults to 87600 (ten years). Changing it re-issues the authority."),
            Attribute::number("early_renewal_hours")
                .default_value(Value::Number(720i64.into()))
                .validate(Validator::IntAtLeast(0))
                .description("Re-issue the certificates when they expire within this many hours (the plan shows it). Defaults to 720 (30 days)."),
            Attribute::string("secret_name")
                .computed()
                .use_state_for_unknown()
                .description("The Kubernetes Secret holding the certificates and private keys."),
            Attribute::string("ca_certificate_pem")
                .computed()
                .description("The signing CA certificate (PEM). Clients trust it to verify a JobManager's REST endpoint."),
            Attribute::string("ca_fingerprint_sha256")
                .computed()
                .description("SHA-256 fingerprint of the CA certificate (hex, colon-separated)."),
            Attribute::string("ca_not_after")
                .computed()
                .description("Expiry of the CA certificate (RFC 3339)."),
            Attribute::string("client_certificate_pem")
                .computed()
                .description("The REST client certificate (PEM), signed by the CA. Its key is in the Secret and in `flink_client_credentials`."),
            Attribute::string("client_fingerprint_sha256")
                .computed()
                .description("SHA-256 fingerprint of the client certificate (hex, colon-separated)."),
            Attribute::string("client_not_after")
                .computed()
                .description("Expiry of the client certificate (RFC 3339)."),
            Attribute::bool("ready_for_renewal")
                .computed()
                .description("Whether a certificate is within `early_renewal_hours` of its expiry, so the next apply re-issues it."),
            Attribute::single_nested(
                "spec",
                vec![
                    Attribute::string("name").computed().description("Name of the authority."),
                    Attribute::string("namespace").computed().description("Namespace of its Secret."),
                    Attribute::string("secret_name").computed().description("The Secret with the signing key."),
                    Attribute::string("ca_certificate_pem").computed().description("The CA certificate."),
                    Attribute::string("client_certificate_pem").computed().description("The client certificate."),
                ],
            )
            .computed()
            .description("The authority as deployments take it: `tls = { enabled = true, authority = flink_certificate_authority.x.spec }`."),
            cluster_objects::instance_attribute(),
            cluster_objects::attribute(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn renewal_is_due_inside_the_window_and_after_expiry() {
        let model = Model {
            early_renewal_hours: Attr::Known(24),
            ca_not_after: Attr::Known("2030-01-10T00:00:00Z".into()),
            client_not_after: Attr::Known("2030-01-10T00:00:00Z".into()),
            ..Model::default()
        };
        assert!(!model.renewal_due(datetime!(2030-01-08 23:59 UTC)));
        assert!(model.renewal_due(datetime!(2030-01-09 00:00 UTC)));
        assert!(model.renewal_due(datetime!(2031-01-01 00:00 UTC)));
        let unissued = Model::default();
        assert!(!unissued.renewal_due(datetime!(2030-01-01 00:00 UTC)));
    }
}
