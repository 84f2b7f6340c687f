//! Which fields of an object get which rule, and the field paths the errors name.

use super::rules;
use crate::status::FieldError;
use base64::Engine;
use serde_json::{Map, Value as Json};

use rules::{ANNOTATIONS_LIMIT, DATA_LIMIT};

/// Every validation error of `object`, a `kind` (e.g. `ConfigMap`), in the order the real
/// validators report them.
pub fn validate(kind: &str, object: &Json) -> Vec<FieldError> {
    let mut errors = object_meta(kind, &object["metadata"]);
    match kind {
        "ConfigMap" => config_map(object, &mut errors),
        "Secret" => secret(object, &mut errors),
        "Pod" => pod_spec(&object["spec"], "spec", &mut errors),
        "Deployment" => {
            if object.pointer("/spec/selector").is_none_or(Json::is_null) {
                errors.push(FieldError::required("spec.selector", ""));
            }
            let template = &object["spec"]["template"];
            labels(
                &template["metadata"]["labels"],
                "spec.template.metadata.labels",
                &mut errors,
            );
            pod_spec(&template["spec"], "spec.template.spec", &mut errors);
        }
        "Service" => service_ports(object, &mut errors),
        _ => {}
    }
    errors
}

fn entries(map: &Json) -> Vec<(&String, &Json)> {
    map.as_object()
        .map(Map::iter)
        .into_iter()
        .flatten()
        .collect()
}

/// `ValidateObjectMeta` with the kind's name rule.
fn object_meta(kind: &str, meta: &Json) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let name = meta["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        let messages = match kind {
            "Namespace" => rules::dns1123_label(name),
            "Service" => rules::dns1035_label(name),
            "Role" | "RoleBinding" => path_segment_name(name),
            _ => rules::dns1123_subdomain(name),
        };
        for m in messages {
            errors.push(FieldError::invalid("metadata.name", &Json::from(name), &m));
        }
    }
    labels(&meta["labels"], "metadata.labels", &mut errors);
    let annotations = entries(&meta["annotations"]);
    for (k, _) in &annotations {
        // Annotation keys are qualified names, case aside.
        for m in rules::qualified_name(&k.to_lowercase()) {
            errors.push(FieldError::invalid(
                "metadata.annotations",
                &Json::from(k.as_str()),
                &m,
            ));
        }
    }
    let size = rules::annotations_size(
        annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
    );
    if size > ANNOTATIONS_LIMIT {
        errors.push(FieldError::too_long(
            "metadata.annotations",
            ANNOTATIONS_LIMIT,
        ));
    }
    errors
}

/// `ValidatePathSegmentName` (RBAC names).
fn path_segment_name(name: &str) -> Vec<String> {
    match name {
        "." => return vec!["may not be '.'".into()],
        ".." => return vec!["may not be '..'".into()],
        _ => {}
    }
    ["/", "%"]
        .iter()
        .filter(|c| name.contains(*c))
        .map(|c| format!("may not contain '{c}'"))
        .collect()
}

/// `ValidateLabels`: keys as qualified names, values as label values, both at the map's path.
fn labels(map: &Json, path: &str, errors: &mut Vec<FieldError>) {
    for (k, v) in entries(map) {
        for m in rules::qualified_name(k) {
            errors.push(FieldError::invalid(path, &Json::from(k.as_str()), &m));
        }
        let value = v.as_str().unwrap_or_default();
        for m in rules::label_value(value) {
            errors.push(FieldError::invalid(path, &Json::from(value), &m));
        }
    }
}

/// `ValidateConfigMap`: keys, no key in both `data` and `binaryData`, 1 MiB in all.
fn config_map(object: &Json, errors: &mut Vec<FieldError>) {
    let mut size = 0;
    let binary = entries(&object["binaryData"]);
    for (k, v) in entries(&object["data"]) {
        let path = format!("data[{k}]");
        for m in rules::config_map_key(k) {
            errors.push(FieldError::invalid(&path, &Json::from(k.as_str()), &m));
        }
        if binary.iter().any(|(b, _)| *b == k) {
            errors.push(FieldError::invalid(
                &path,
                &Json::from(k.as_str()),
                "duplicate of key present in binaryData",
            ));
        }
        size += v.as_str().map_or(0, str::len);
    }
    for (k, v) in binary {
        for m in rules::config_map_key(k) {
            errors.push(FieldError::invalid(
                format!("binaryData[{k}]"),
                &Json::from(k.as_str()),
                &m,
            ));
        }
        size += decoded_len(v);
    }
    if size > DATA_LIMIT {
        // `field.NewPath("")`: the whole object, printed `[]`.
        errors.push(FieldError::too_long("[]", DATA_LIMIT));
    }
}

fn decoded_len(value: &Json) -> usize {
    value
        .as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .map_or(0, |b| b.len())
}

/// `ValidateSecret`: keys, 1 MiB of decoded data.
fn secret(object: &Json, errors: &mut Vec<FieldError>) {
    let mut size = 0;
    for (k, v) in entries(&object["data"]) {
        for m in rules::config_map_key(k) {
            errors.push(FieldError::invalid(
                format!("data[{k}]"),
                &Json::from(k.as_str()),
                &m,
            ));
        }
        size += decoded_len(v);
    }
    if size > DATA_LIMIT {
        errors.push(FieldError::too_long("data", DATA_LIMIT));
    }
}

/// The parts of `ValidatePodSpec` this server checks: containers (names unique across init and
/// regular containers, images, ports, env names) and tolerations.
fn pod_spec(spec: &Json, path: &str, errors: &mut Vec<FieldError>) {
    let mut names: Vec<String> = Vec::new();
    let lists = [("initContainers", false), ("containers", true)];
    for (list, required) in lists {
        let containers = spec[list].as_array().cloned().unwrap_or_default();
        if required && containers.is_empty() {
            errors.push(FieldError::required(format!("{path}.{list}"), ""));
        }
        for (i, c) in containers.iter().enumerate() {
            let at = format!("{path}.{list}[{i}]");
            container(c, &at, &mut names, errors);
        }
    }
    for (i, t) in spec["tolerations"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        toleration(t, &format!("{path}.tolerations[{i}]"), errors);
    }
}

fn container(c: &Json, at: &str, names: &mut Vec<String>, errors: &mut Vec<FieldError>) {
    let name = c["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        errors.push(FieldError::required(format!("{at}.name"), ""));
    } else {
        for m in rules::dns1123_label(name) {
            errors.push(FieldError::invalid(
                format!("{at}.name"),
                &Json::from(name),
                &m,
            ));
        }
        if names.iter().any(|n| n == name) {
            errors.push(FieldError::duplicate(format!("{at}.name"), name));
        }
        names.push(name.to_string());
    }
    if c["image"].as_str().unwrap_or_default().trim().is_empty() {
        errors.push(FieldError::required(format!("{at}.image"), ""));
    }
    for (i, p) in c["ports"].as_array().into_iter().flatten().enumerate() {
        let pat = format!("{at}.ports[{i}]");
        if let Some(n) = p["name"].as_str().filter(|n| !n.is_empty()) {
            for m in rules::port_name(n) {
                errors.push(FieldError::invalid(
                    format!("{pat}.name"),
                    &Json::from(n),
                    &m,
                ));
            }
        }
        match p["containerPort"].as_i64() {
            None | Some(0) => errors.push(FieldError::required(format!("{pat}.containerPort"), "")),
            Some(port) => {
                for m in rules::port_number(port) {
                    errors.push(FieldError::invalid(
                        format!("{pat}.containerPort"),
                        &Json::from(port),
                        &m,
                    ));
                }
            }
        }
        if let Some(port) = p["hostPort"].as_i64().filter(|p| *p != 0) {
            for m in rules::port_number(port) {
                errors.push(FieldError::invalid(
                    format!("{pat}.hostPort"),
                    &Json::from(port),
                    &m,
                ));
            }
        }
        let protocol = p["protocol"].as_str().unwrap_or("TCP");
        if !matches!(protocol, "TCP" | "UDP" | "SCTP") {
            errors.push(FieldError::not_supported(
                format!("{pat}.protocol"),
                protocol,
                &["SCTP", "TCP", "UDP"],
            ));
        }
    }
    for (i, e) in c["env"].as_array().into_iter().flatten().enumerate() {
        let name = e["name"].as_str().unwrap_or_default();
        for m in rules::relaxed_env_var_name(name) {
            errors.push(FieldError::invalid(
                format!("{at}.env[{i}].name"),
                &Json::from(name),
                &m,
            ));
        }
    }
}

/// `ValidateTolerations`.
fn toleration(t: &Json, at: &str, errors: &mut Vec<FieldError>) {
    use rules::tolerations::{Field, Problem, Quoted, Toleration};
    let field = |name: &str| t[name].as_str().unwrap_or_default();
    let fields = Toleration {
        key: field("key"),
        operator: field("operator"),
        value: field("value"),
        effect: field("effect"),
        has_seconds: !t["tolerationSeconds"].is_null(),
    };
    let path = |f: Field| match f {
        Field::Key => (format!("{at}.key"), fields.key),
        Field::Operator => (format!("{at}.operator"), fields.operator),
        Field::Effect => (format!("{at}.effect"), fields.effect),
    };
    for problem in rules::tolerations::validate(&fields) {
        match problem {
            Problem::Invalid {
                field,
                quoted,
                message,
            } => {
                let (at, own) = path(field);
                let value = match quoted {
                    Quoted::Field => Json::from(own),
                    Quoted::Value => Json::from(fields.value),
                    Quoted::Whole => t.clone(),
                };
                errors.push(FieldError::invalid(at, &value, &message));
            }
            Problem::NotSupported {
                field,
                value,
                supported,
            } => errors.push(FieldError::not_supported(path(field).0, &value, supported)),
        }
    }
}

/// Service ports: numbers and names.
fn service_ports(object: &Json, errors: &mut Vec<FieldError>) {
    for (i, p) in object["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("spec.ports[{i}]");
        let port = p["port"].as_i64().unwrap_or(0);
        for m in rules::port_number(port) {
            errors.push(FieldError::invalid(
                format!("{at}.port"),
                &Json::from(port),
                &m,
            ));
        }
        if let Some(n) = p["name"].as_str().filter(|n| !n.is_empty()) {
            for m in rules::dns1123_label(n) {
                errors.push(FieldError::invalid(
                    format!("{at}.name"),
                    &Json::from(n),
                    &m,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ApiError;
    use serde_json::json;

    fn message(kind: &str, group: &str, object: &Json) -> String {
        let errors = validate(kind, object);
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        ApiError::invalid_fields(kind, group, name, &errors).message
    }

    #[test]
    fn config_map_too_large_and_bad_keys() {
        let big = json!({"metadata": {"name": "x"}, "data": {"a": "x".repeat(DATA_LIMIT + 1)}});
        assert_eq!(
            message("ConfigMap", "", &big),
            r#"ConfigMap "x" is invalid: []: Too long: must have at most 1048576 bytes"#
        );
        let keys = json!({"metadata": {"name": "x"}, "data": {"a/b": "1"}});
        assert_eq!(
            message("ConfigMap", "", &keys),
            r#"ConfigMap "x" is invalid: data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"#
        );
        let secret = json!({"metadata": {"name": "s"}, "data": {"k": base64::engine::general_purpose::STANDARD.encode(vec![0u8; DATA_LIMIT + 1])}});
        assert_eq!(
            message("Secret", "", &secret),
            r#"Secret "s" is invalid: data: Too long: must have at most 1048576 bytes"#
        );
    }

    #[test]
    fn metadata_names_labels_annotations() {
        let bad = json!({"metadata": {"name": "Web", "labels": {"ok": "bad value"}, "annotations": {"a": "x".repeat(ANNOTATIONS_LIMIT)}}});
        let errors = validate("Deployment", &bad);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "metadata.name",
                "metadata.labels",
                "metadata.annotations",
                "spec.selector",
                "spec.template.spec.containers"
            ]
        );
        assert_eq!(errors[2].body, "Too long: must have at most 262144 bytes");
        let text = message("Deployment", "apps", &bad);
        assert!(text.starts_with(r#"Deployment.apps "Web" is invalid: [metadata.name: Invalid value: "Web": a lowercase RFC 1123 subdomain"#), "{text}");
        assert_eq!(
            validate("Service", &json!({"metadata": {"name": "1svc"}}))[0].field,
            "metadata.name"
        );
        assert_eq!(
            validate("Role", &json!({"metadata": {"name": "a/b"}}))[0].body,
            r#"Invalid value: "a/b": may not contain '/'"#
        );
    }

    #[test]
    fn pod_specs_containers_ports_env_tolerations() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {
            "containers": [{"name": "Main", "image": "i", "ports": [{"containerPort": 70000, "protocol": "HTTP"}], "env": [{"name": "A=B"}]},
                           {"name": "side", "image": ""}],
            "initContainers": [{"name": "side", "image": "i"}],
            "tolerations": [{"key": "k", "operator": "Maybe", "effect": "Never"}]}});
        let bodies: Vec<String> = validate("Pod", &pod)
            .iter()
            .map(|e| format!("{}: {}", e.field, e.body))
            .collect();
        assert_eq!(
            bodies[0],
            r#"spec.containers[0].name: Invalid value: "Main": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"#
        );
        assert_eq!(&bodies[1..], [
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            r#"spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP""#,
            r#"spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='"#,
            r#"spec.containers[1].name: Duplicate value: "side""#,
            "spec.containers[1].image: Required value",
            r#"spec.tolerations[0].operator: Unsupported value: "Maybe": supported values: "Equal", "Exists""#,
            r#"spec.tolerations[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute""#,
        ]);
    }
}
