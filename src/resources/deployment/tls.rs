//! TLS of a deployment on the Kubernetes side: the Secret `flink-<name>-tls` with the keystores,
//! truststores, their passwords and the issued certificates; how pods mount it and receive the
//! passwords (environment variables from the Secret, expanded by Kubernetes into `-D` dynamic
//! properties, so no password is in the ConfigMap or the pod spec); and when the certificates
//! must be issued anew.

use super::layout::Names;
use super::model::{Model, TlsCertificates};
use super::resolve::{self, Resolved};
use crate::flink::tls as flink_tls;
use crate::tls::{DeploymentMaterial, DeploymentTlsRequest, KeyAlgorithm};
use crate::value::Attr;
use base64::Engine;
use kube::api::DynamicObject;
use serde_json::{json, Map, Value as Json};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Where the stores are mounted.
pub const TLS_DIR: &str = "/opt/flink/tls";
const VOLUME: &str = "flink-tls";
const INTERNAL_PASSWORD_ENV: &str = "FLINK_TLS_INTERNAL_PASSWORD";
const REST_PASSWORD_ENV: &str = "FLINK_TLS_REST_PASSWORD";
/// Secret keys beside the four store files.
const INTERNAL_PASSWORD: &str = "internal.password";
const REST_PASSWORD: &str = "rest.password";
const INTERNAL_CERT: &str = "internal.crt";
const REST_CERT: &str = "rest.crt";
const INTERNAL_FINGERPRINT: &str = "internal.sha1";

/// How `kubernetes_objects` reports a TLS Secret whose certificates are not the recorded ones.
pub const CERTIFICATES_CHANGED: &str =
    "changed outside Terraform: its certificates differ from the ones Terraform issued";

/// DNS names of the JobManager's Services in all the forms a client may use, and `localhost`
/// for port-forwards.
pub fn dns_names(d: &Resolved) -> Vec<String> {
    let names = Names::of(&d.name);
    let mut out = Vec::new();
    for service in [&names.rest, &names.jobmanager] {
        out.push(service.clone());
        out.push(format!("{service}.{}", d.namespace));
        out.push(format!("{service}.{}.svc", d.namespace));
        out.push(format!("{service}.{}.svc.cluster.local", d.namespace));
    }
    out.push("localhost".into());
    out
}

/// What to issue for `d` with an authority of `algorithm`.
pub fn request(d: &Resolved, algorithm: KeyAlgorithm, validity_hours: i64) -> DeploymentTlsRequest {
    DeploymentTlsRequest {
        label: format!("{}/{}", d.namespace, d.name),
        dns_names: dns_names(d),
        algorithm,
        validity: time::Duration::hours(validity_hours),
    }
}

/// The Secret's data for issued material.
pub fn secret_data(material: &DeploymentMaterial) -> Map<String, Json> {
    let b64 = |bytes: &[u8]| Json::String(base64::engine::general_purpose::STANDARD.encode(bytes));
    let mut data = Map::new();
    data.insert(
        flink_tls::INTERNAL_KEYSTORE.into(),
        b64(&material.internal_keystore.bytes),
    );
    data.insert(
        flink_tls::INTERNAL_TRUSTSTORE.into(),
        b64(&material.internal_truststore.bytes),
    );
    data.insert(
        flink_tls::REST_KEYSTORE.into(),
        b64(&material.rest_keystore.bytes),
    );
    data.insert(
        flink_tls::REST_TRUSTSTORE.into(),
        b64(&material.rest_truststore.bytes),
    );
    data.insert(
        INTERNAL_PASSWORD.into(),
        b64(material.internal_keystore.password.as_bytes()),
    );
    data.insert(
        REST_PASSWORD.into(),
        b64(material.rest_keystore.password.as_bytes()),
    );
    data.insert(
        INTERNAL_CERT.into(),
        b64(material.internal.certificate_pem.as_bytes()),
    );
    data.insert(
        REST_CERT.into(),
        b64(material.rest.certificate_pem.as_bytes()),
    );
    data.insert(
        INTERNAL_FINGERPRINT.into(),
        b64(material.internal.fingerprint_sha1.as_bytes()),
    );
    data
}

/// What state records of issued material.
pub fn certificates(material: &DeploymentMaterial) -> TlsCertificates {
    TlsCertificates {
        internal_fingerprint_sha256: Attr::Known(material.internal.fingerprint_sha256.clone()),
        internal_fingerprint_sha1: Attr::Known(material.internal.fingerprint_sha1.clone()),
        internal_not_after: Attr::Known(material.internal.not_after.clone()),
        rest_fingerprint_sha256: Attr::Known(material.rest.fingerprint_sha256.clone()),
        rest_not_after: Attr::Known(material.rest.not_after.clone()),
        authority_fingerprint_sha256: Attr::Known(material.authority_fingerprint_sha256.clone()),
    }
}

fn decoded(secret: &DynamicObject, key: &str) -> Option<String> {
    let encoded = secret.data.get("data")?.get(key)?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Whether a TLS Secret holds the certificates `recorded` names (compared by fingerprint).
pub fn holds(secret: &DynamicObject, recorded: &TlsCertificates) -> bool {
    let fingerprint = |key: &str| {
        decoded(secret, key).and_then(|pem| crate::tls::Issued::fingerprint_of_pem(&pem))
    };
    let (Some(internal), Some(rest)) = (
        recorded.internal_fingerprint_sha256.known(),
        recorded.rest_fingerprint_sha256.known(),
    ) else {
        return false;
    };
    fingerprint(INTERNAL_CERT).as_ref() == Some(internal)
        && fingerprint(REST_CERT).as_ref() == Some(rest)
}

/// What state records, read back from an existing Secret (for import).
pub fn certificates_in(secret: &DynamicObject, authority_pem: &str) -> Option<TlsCertificates> {
    let internal = crate::tls::Issued::facts_of_pem(&decoded(secret, INTERNAL_CERT)?)?;
    let rest = crate::tls::Issued::facts_of_pem(&decoded(secret, REST_CERT)?)?;
    Some(TlsCertificates {
        internal_fingerprint_sha256: Attr::Known(internal.0),
        internal_fingerprint_sha1: Attr::Known(decoded(secret, INTERNAL_FINGERPRINT)?),
        internal_not_after: Attr::Known(internal.1),
        rest_fingerprint_sha256: Attr::Known(rest.0),
        rest_not_after: Attr::Known(rest.1),
        authority_fingerprint_sha256: Attr::Known(crate::tls::Issued::fingerprint_of_pem(
            authority_pem,
        )?),
    })
}

/// The Secret's data as it is, to apply again unchanged.
pub fn existing_data(secret: &DynamicObject) -> Map<String, Json> {
    secret
        .data
        .get("data")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Pod additions: the volume, its mount, the password variables and the `-D` arguments.
pub struct PodTls {
    pub volume: Json,
    pub mount: Json,
    pub env: Vec<Json>,
    pub args: Vec<String>,
}

/// How pods of `d` get TLS (`internal_fingerprint_sha1` pins the internal certificate).
pub fn pod_tls(secret_name: &str, internal_fingerprint_sha1: Option<&str>) -> PodTls {
    let env = [(INTERNAL_PASSWORD_ENV, INTERNAL_PASSWORD), (REST_PASSWORD_ENV, REST_PASSWORD)]
        .iter()
        .map(|(var, key)| {
            json!({"name": var, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}})
        })
        .collect();
    let args = flink_tls::ssl_dynamic_properties(
        &format!("$({INTERNAL_PASSWORD_ENV})"),
        &format!("$({REST_PASSWORD_ENV})"),
        internal_fingerprint_sha1,
    )
    .into_iter()
    .map(|(k, v)| format!("-D{k}={v}"))
    .collect();
    let items: Vec<Json> = [
        flink_tls::INTERNAL_KEYSTORE,
        flink_tls::INTERNAL_TRUSTSTORE,
        flink_tls::REST_KEYSTORE,
        flink_tls::REST_TRUSTSTORE,
    ]
    .iter()
    .map(|f| json!({"key": f, "path": f}))
    .collect();
    PodTls {
        volume: json!({"name": VOLUME, "secret": {"secretName": secret_name, "items": items, "defaultMode": 0o440}}),
        mount: json!({"name": VOLUME, "mountPath": TLS_DIR, "readOnly": true}),
        env,
        args,
    }
}

/// Why the certificates must be issued anew at the next apply, if they must: no certificates
/// yet, a new authority, new validity, the renewal window reached, or the Secret lost or altered.
pub fn reissue_reason(
    prior: &Model,
    planned: &Model,
    secret_status: Option<&str>,
    now: OffsetDateTime,
) -> Option<&'static str> {
    let Some(recorded) = prior.tls_certificates.known() else {
        return Some("TLS turned on");
    };
    if recorded.internal_fingerprint_sha256.known().is_none() {
        return Some("not issued yet");
    }
    let authority = |m: &Model| {
        m.tls
            .known()
            .and_then(|t| t.authority.known())
            .map(|a| a.ca_certificate_pem.clone())
    };
    if authority(prior) != authority(planned) {
        return Some("the authority changed");
    }
    let setting = |m: &Model, f: fn(&super::model::Tls) -> &Attr<i64>| {
        m.tls.known().and_then(|t| f(t).known().copied())
    };
    if setting(prior, |t| &t.validity_period_hours)
        != setting(planned, |t| &t.validity_period_hours)
    {
        return Some("validity_period_hours changed");
    }
    if matches!(secret_status, Some(s) if s == CERTIFICATES_CHANGED || s.starts_with("deleted")) {
        return Some("the TLS Secret was deleted or altered outside Terraform");
    }
    let window = time::Duration::hours(setting(planned, |t| &t.early_renewal_hours).unwrap_or(720));
    let due = [&recorded.internal_not_after, &recorded.rest_not_after]
        .into_iter()
        .filter_map(|a| a.known())
        .filter_map(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .any(|not_after| now + window >= not_after);
    due.then_some("a certificate is within early_renewal_hours of its expiry")
}

/// Whether `model` has TLS on (unknown counts as off for naming objects).
pub fn enabled(model: &Model) -> bool {
    resolve::tls_enabled(model) == Some(true)
}

/// The TLS certificates the plan expects: the recorded ones unless they must be issued anew.
pub fn planned_certificates(prior: &Model, planned: &Model) -> Attr<TlsCertificates> {
    if !enabled(planned) {
        return Attr::Null;
    }
    let secret_status = planned.name.known().and_then(|name| {
        let key = format!("Secret/{}", Names::of(name).tls_secret);
        prior
            .kubernetes_objects
            .known()
            .and_then(|o| o.get(&key).cloned())
    });
    match reissue_reason(
        prior,
        planned,
        secret_status.as_deref(),
        time::OffsetDateTime::now_utc(),
    ) {
        Some(reason) => {
            tracing::debug!(
                reason,
                "the deployment's TLS certificates will be issued anew"
            );
            Attr::Unknown
        }
        None => prior.tls_certificates.clone(),
    }
}

/// A TLS Secret present but holding other certificates than state records is drift too.
pub fn mark_changed_secret(
    model: &mut Model,
    name: &str,
    observed: &[(crate::kubernetes::Kind, DynamicObject)],
) {
    let secret_name = Names::of(name).tls_secret;
    let (Attr::Known(recorded), Attr::Known(status)) =
        (&model.tls_certificates, &mut model.kubernetes_objects)
    else {
        return;
    };
    let secret = observed.iter().find(|(k, o)| {
        *k == crate::kubernetes::Kind::Secret && o.metadata.name.as_deref() == Some(&secret_name)
    });
    if let Some((_, secret)) = secret {
        if !holds(secret, recorded) {
            status.insert(
                format!("Secret/{secret_name}"),
                CERTIFICATES_CHANGED.to_string(),
            );
        }
    }
}
