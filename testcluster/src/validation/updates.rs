//! What an update may not change, as the registry strategies' `ValidateUpdate` refuses it
//! (`pkg/apis/core/validation`, `pkg/apis/apps/validation`): a Service's cluster IPs once set
//! (`validateUpgradeDowngradeClusterIPs`: "may not change once set"), a Deployment's selector
//! (`ValidateDeploymentUpdate`: "field is immutable"), a Secret's type, and the data of a
//! ConfigMap or Secret marked `immutable` (`ValidateConfigMapUpdate`, `ValidateSecretUpdate`:
//! "field is immutable when `immutable` is set"), which also cannot be unmarked.
//!
//! The object checked is the one to be stored, with the defaults filled: a Service written
//! without its cluster IP keeps the old one before it gets here.

use crate::status::FieldError;
use serde_json::Value as Json;

const IMMUTABLE_WHEN_SET: &str = "field is immutable when `immutable` is set";

/// Every error of updating `old` of `kind` to `object`.
pub fn validate_update(kind: &str, old: &Json, object: &Json) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match kind {
        "Service" => cluster_ips(old, object, &mut errors),
        "Deployment" => {
            let selector = |o: &Json| o.pointer("/spec/selector").cloned();
            if selector(old) != selector(object) {
                errors.push(FieldError::invalid(
                    "spec.selector",
                    &object["spec"]["selector"],
                    "field is immutable",
                ));
            }
        }
        "ConfigMap" => immutable_data(old, object, &["data", "binaryData"], &mut errors),
        "Secret" => {
            if old.get("type") != object.get("type") {
                errors.push(FieldError::invalid(
                    "type",
                    &object["type"],
                    "field is immutable",
                ));
            }
            immutable_data(old, object, &["data"], &mut errors);
        }
        _ => {}
    }
    errors
}

/// A Service's cluster IPs, index by index, unless either side is headless or `ExternalName`.
fn cluster_ips(old: &Json, object: &Json, errors: &mut Vec<FieldError>) {
    let external =
        |o: &Json| o.pointer("/spec/type").and_then(Json::as_str) == Some("ExternalName");
    let headless = |o: &Json| o.pointer("/spec/clusterIP").and_then(Json::as_str) == Some("None");
    if external(old) || external(object) || (headless(old) && headless(object)) {
        return;
    }
    let ips = |o: &Json| -> Vec<String> {
        o.pointer("/spec/clusterIPs")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(String::from)
                    .collect()
            })
            .or_else(|| {
                o.pointer("/spec/clusterIP")
                    .and_then(Json::as_str)
                    .map(|ip| vec![ip.to_string()])
            })
            .unwrap_or_default()
    };
    let (before, after) = (ips(old), ips(object));
    for (i, ip) in before.iter().enumerate() {
        if after.get(i).is_some_and(|now| now != ip) {
            // `field.Invalid` with the new IPs as Go's `%#v` prints a `[]string`.
            let quoted: Vec<String> = after.iter().map(|s| format!("{s:?}")).collect();
            errors.push(FieldError {
                field: format!("spec.clusterIPs[{i}]"),
                cause: "FieldValueInvalid",
                body: format!(
                    "Invalid value: []string{{{}}}: may not change once set",
                    quoted.join(", ")
                ),
            });
        }
    }
}

fn immutable_data(old: &Json, object: &Json, fields: &[&str], errors: &mut Vec<FieldError>) {
    if old.get("immutable") != Some(&Json::Bool(true)) {
        return;
    }
    if object.get("immutable") != Some(&Json::Bool(true)) {
        errors.push(forbidden("immutable"));
    }
    for field in fields {
        if old.get(*field) != object.get(*field) {
            errors.push(forbidden(field));
        }
    }
}

/// `field.Forbidden` with the immutable-object detail.
fn forbidden(field: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        cause: "FieldValueForbidden",
        body: format!("Forbidden: {IMMUTABLE_WHEN_SET}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(ip: &str) -> Json {
        json!({"spec": {"clusterIP": ip, "clusterIPs": [ip], "ports": [{"port": 80}]}})
    }

    #[test]
    fn a_cluster_ip_may_not_change_once_set() {
        let errors = validate_update("Service", &service("10.96.0.10"), &service("10.96.0.11"));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "spec.clusterIPs[0]");
        assert_eq!(
            errors[0].body,
            r#"Invalid value: []string{"10.96.0.11"}: may not change once set"#
        );
        assert!(
            validate_update("Service", &service("10.96.0.10"), &service("10.96.0.10")).is_empty()
        );
        assert!(validate_update("Service", &service("None"), &service("None")).is_empty());
    }

    #[test]
    fn a_deployments_selector_and_a_secrets_type_are_immutable() {
        let deployment = |app: &str| json!({"spec": {"selector": {"matchLabels": {"app": app}}}});
        let errors = validate_update("Deployment", &deployment("a"), &deployment("b"));
        assert_eq!(errors[0].field, "spec.selector");
        assert!(
            errors[0].body.ends_with("field is immutable"),
            "{}",
            errors[0].body
        );
        assert!(validate_update("Deployment", &deployment("a"), &deployment("a")).is_empty());
        let secret = |t: &str| json!({"type": t, "data": {}});
        assert_eq!(
            validate_update("Secret", &secret("Opaque"), &secret("kubernetes.io/tls"))[0].field,
            "type"
        );
    }

    #[test]
    fn an_immutable_config_maps_data_stays_and_so_does_its_mark() {
        let old = json!({"immutable": true, "data": {"a": "1"}});
        assert!(validate_update("ConfigMap", &old, &old.clone()).is_empty());
        let changed = json!({"immutable": true, "data": {"a": "2"}});
        let errors = validate_update("ConfigMap", &old, &changed);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "data");
        assert_eq!(
            errors[0].body,
            "Forbidden: field is immutable when `immutable` is set"
        );
        let unmarked = json!({"immutable": false, "data": {"a": "1"}});
        assert_eq!(
            validate_update("ConfigMap", &old, &unmarked)[0].field,
            "immutable"
        );
        // Not marked: anything goes.
        let mutable = json!({"data": {"a": "1"}});
        assert!(validate_update("ConfigMap", &mutable, &changed).is_empty());
    }
}
