//! The Kubernetes object of a certificate authority (pure): the Secret `flink-<name>-ca` with both
//! certificates and their private keys, the way back from it for read and import, and the drift
//! rule for it (the keys must still belong to the certificates Terraform recorded).

use super::model::{Model, Spec};
use crate::kubernetes::{DesiredObject, Kind, Owner};
use crate::tls::AuthorityMaterial;
use crate::value::Attr;
use base64::Engine;
use kube::api::DynamicObject;
use serde_json::json;

/// Short owner type in labels.
pub const OWNER_KIND: &str = "certificate-authority";
/// Kinds an authority owns.
pub const KINDS: &[Kind] = &[Kind::Secret];
/// Keys of the Secret.
pub const CA_CERT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";
pub const CLIENT_CERT: &str = "client.crt";
pub const CLIENT_KEY: &str = "client.key";

/// Name of the Secret.
pub fn secret_name(name: &str) -> String {
    format!("flink-{name}-ca")
}

/// The owner of an authority's objects.
pub fn owner(namespace: &str, name: &str) -> Owner {
    Owner::new(OWNER_KIND, namespace, name)
}

/// The Secret as it must exist; without material it only names the object (for plans).
pub fn desired(namespace: &str, name: &str, material: Option<&AuthorityMaterial>) -> DesiredObject {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let body = match material {
        Some(m) => json!({
            "type": "Opaque",
            "data": {
                CA_CERT: b64(&m.ca.certificate_pem),
                CA_KEY: b64(m.ca.private_key_pem()),
                CLIENT_CERT: b64(&m.client.certificate_pem),
                CLIENT_KEY: b64(m.client.private_key_pem()),
            }
        }),
        None => json!({"type": "Opaque"}),
    };
    DesiredObject::new(Kind::Secret, namespace, &secret_name(name), body)
}

/// A Secret's value under `key`, decoded.
pub fn secret_value(secret: &DynamicObject, key: &str) -> Option<String> {
    let encoded = secret.data.get("data")?.get(key)?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The material a Secret holds, if it holds a complete and consistent authority.
pub fn material_of(secret: &DynamicObject) -> Result<AuthorityMaterial, String> {
    let get = |key: &str| secret_value(secret, key).ok_or_else(|| format!("key {key} is missing"));
    AuthorityMaterial::from_pems(
        &get(CA_CERT)?,
        &get(CA_KEY)?,
        &get(CLIENT_CERT)?,
        &get(CLIENT_KEY)?,
    )
    .map_err(|e| e.to_string())
}

/// Copies the public side of `material` into the model.
pub fn record(model: &mut Model, material: &AuthorityMaterial) {
    model.ca_certificate_pem = Attr::Known(material.ca.certificate_pem.clone());
    model.ca_fingerprint_sha256 = Attr::Known(material.ca.fingerprint_sha256.clone());
    model.ca_not_after = Attr::Known(material.ca.not_after.clone());
    model.client_certificate_pem = Attr::Known(material.client.certificate_pem.clone());
    model.client_fingerprint_sha256 = Attr::Known(material.client.fingerprint_sha256.clone());
    model.client_not_after = Attr::Known(material.client.not_after.clone());
}

/// Whether the Secret still holds the authority Terraform recorded.
pub fn matches(model: &Model, material: &AuthorityMaterial) -> bool {
    model.ca_certificate_pem.known() == Some(&material.ca.certificate_pem)
        && model.client_certificate_pem.known() == Some(&material.client.certificate_pem)
}

/// The spec, when the certificates are known.
pub fn spec(model: &Model) -> Attr<Spec> {
    match (
        model.name.known(),
        model.namespace.known(),
        model.ca_certificate_pem.known(),
        model.client_certificate_pem.known(),
    ) {
        (Some(name), Some(namespace), Some(ca), Some(client)) => Attr::Known(Spec {
            name: name.clone(),
            namespace: namespace.clone(),
            secret_name: secret_name(name),
            ca_certificate_pem: ca.clone(),
            client_certificate_pem: client.clone(),
        }),
        _ => Attr::Unknown,
    }
}
