//! `flink_client_credentials`, an ephemeral resource: hands the certificate authority's REST client
//! certificate and private key to whatever needs to call a TLS-enabled JobManager during a run
//! (a provider configuration, a write-only attribute, an ephemeral output), read from the
//! authority's Secret each time. Terraform never stores the result in state or plan files.

use super::certificate_authority::objects;
use super::{owned, Context, EphemeralResource};
use crate::kubernetes::Kind;
use crate::schema::{Attribute, Diagnostics, Schema, Validator};
use crate::value::Value;
use async_trait::async_trait;

/// The `flink_client_credentials` ephemeral resource type.
pub struct ClientCredentials;

const TYPE: &str = "flink_client_credentials";

fn schema() -> Schema {
    Schema::new(
        "The REST client credentials of a `flink_certificate_authority`, for calling the REST API \
         of TLS-enabled deployments (which require a client certificate). Read from the \
         authority's Secret while Terraform runs; as an ephemeral resource (Terraform 1.10+) its \
         private key never reaches state or plan files. Use it where Terraform accepts ephemeral \
         values: provider configurations, write-only attributes, ephemeral outputs and locals.",
        vec![
            Attribute::string("name")
                .required()
                .validate(Validator::KubernetesName)
                .description("Name of the certificate authority."),
            Attribute::string("namespace")
                .optional()
                .validate(Validator::KubernetesName)
                .description("Namespace of the certificate authority. Defaults to `default`."),
            Attribute::string("client_certificate_pem")
                .computed()
                .description("The client certificate (PEM)."),
            Attribute::string("client_private_key_pem")
                .computed()
                .sensitive()
                .description("The client certificate's private key (PKCS#8 PEM)."),
            Attribute::string("ca_certificate_pem")
                .computed()
                .description(
                    "The CA certificate (PEM), to verify the JobManager's REST certificate.",
                ),
        ],
    )
}

#[async_trait]
impl EphemeralResource for ClientCredentials {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn open(&self, ctx: &Context, config: &Value, diags: &mut Diagnostics) -> Value {
        let name = config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let namespace = config
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let owner = objects::owner(namespace, name);
        let Some(observed) = owned::observe(ctx, &owner, objects::KINDS, TYPE, diags).await else {
            return Value::Null;
        };
        let Some((_, secret)) = observed.iter().find(|(kind, _)| *kind == Kind::Secret) else {
            diags.error(
                "Certificate authority not found",
                format!(
                    "No Secret {} of a flink_certificate_authority in namespace {namespace}. \
                     Check name and namespace, and that the authority was applied.",
                    objects::secret_name(name)
                ),
            );
            return Value::Null;
        };
        let material = match objects::material_of(secret) {
            Ok(m) => m,
            Err(e) => {
                diags.error(
                    "Unusable certificate authority Secret",
                    format!(
                        "Secret {namespace}/{}: {e}. Run terraform apply on the authority to \
                         restore it.",
                        objects::secret_name(name)
                    ),
                );
                return Value::Null;
            }
        };
        Value::object([
            ("name", Value::string(name)),
            (
                "namespace",
                config.get("namespace").cloned().unwrap_or(Value::Null),
            ),
            (
                "client_certificate_pem",
                Value::string(material.client.certificate_pem.as_str()),
            ),
            (
                "client_private_key_pem",
                Value::string(material.client.private_key_pem()),
            ),
            (
                "ca_certificate_pem",
                Value::string(material.ca.certificate_pem.as_str()),
            ),
        ])
    }
}
