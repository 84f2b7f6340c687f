//! The Kubernetes objects of a blob storage (pure): a ConfigMap with the settings and, when
//! credentials are given, a Secret with them; and the way back from observed objects to a model
//! for import.

use super::model::{Model, Spec};
use crate::kubernetes::{DesiredObject, Kind, Owner};
use crate::value::Attr;
use base64::Engine;
use kube::api::DynamicObject;
use serde_json::{json, Map, Value as Json};

/// Short owner type in labels.
pub const OWNER_KIND: &str = "blob-storage";
/// Kinds a blob storage owns.
pub const KINDS: &[Kind] = &[Kind::ConfigMap, Kind::Secret];

/// Name of both objects.
pub fn object_name(name: &str) -> String {
    format!("flink-blob-storage-{name}")
}

/// The owner of a blob storage's objects.
pub fn owner(namespace: &str, name: &str) -> Owner {
    Owner::new(OWNER_KIND, namespace, name)
}

/// The spec deployments take, when every input is known.
pub fn spec(model: &Model) -> Attr<Spec> {
    let (Some(name), Some(namespace), Some(base_uri)) = (
        model.name.known(),
        model.namespace.known(),
        model.base_uri.known(),
    ) else {
        return Attr::Unknown;
    };
    if model.endpoint.is_unknown()
        || model.region.is_unknown()
        || model.path_style_access.is_unknown()
        || model.access_key.is_unknown()
    {
        return Attr::Unknown;
    }
    Attr::Known(Spec {
        name: name.clone(),
        namespace: namespace.clone(),
        base_uri: base_uri.clone(),
        config_map: object_name(name),
        secret: model.access_key.known().map(|_| object_name(name)),
        endpoint: model.endpoint.known().cloned(),
        region: model.region.known().cloned(),
        path_style_access: model.path_style_access.known().copied(),
    })
}

/// The desired objects. `secret_key` is the secret from configuration (it may be write-only and
/// so absent from the model); without it the Secret is rendered with the access key only, which is
/// enough to compare existence and ownership at read time.
pub fn desired(
    spec: &Spec,
    access_key: Option<&str>,
    secret_key: Option<&str>,
) -> Vec<DesiredObject> {
    let mut data = Map::new();
    data.insert("base_uri".into(), spec.base_uri.clone().into());
    data.insert(
        "layout".into(),
        format!(
            "{}/flink-jobs/namespaces/<namespace>/deployments/<deployment-id>/{{checkpoints,savepoints,ha}}",
            spec.base_uri
        )
        .into(),
    );
    if let Some(endpoint) = &spec.endpoint {
        data.insert("endpoint".into(), endpoint.clone().into());
    }
    if let Some(region) = &spec.region {
        data.insert("region".into(), region.clone().into());
    }
    if let Some(path_style) = spec.path_style_access {
        data.insert("path_style_access".into(), path_style.to_string().into());
    }
    let mut objects = vec![DesiredObject::new(
        Kind::ConfigMap,
        &spec.namespace,
        &spec.config_map,
        json!({ "data": data }),
    )];
    if let (Some(secret), Some(access_key)) = (&spec.secret, access_key) {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut data = Map::new();
        data.insert("access_key".into(), b64(access_key).into());
        if let Some(secret_key) = secret_key {
            data.insert("secret_key".into(), b64(secret_key).into());
        }
        objects.push(DesiredObject::new(
            Kind::Secret,
            &spec.namespace,
            secret,
            json!({ "type": "Opaque", "data": data }),
        ));
    }
    objects
}

/// The settings as stored in an observed ConfigMap, and the access key of an observed Secret.
pub fn read_back(model: &mut Model, observed: &[(Kind, DynamicObject)]) {
    let find = |kind: Kind| observed.iter().find(|(k, _)| *k == kind).map(|(_, o)| o);
    if let Some(cm) = find(Kind::ConfigMap) {
        let get = |key: &str| {
            cm.data
                .pointer(&format!("/data/{key}"))
                .and_then(Json::as_str)
        };
        model.base_uri = get("base_uri").map(String::from).into();
        model.endpoint = get("endpoint").map(String::from).into();
        model.region = get("region").map(String::from).into();
        model.path_style_access = get("path_style_access").map(|v| v == "true").into();
    }
    // A missing Secret is reported in kubernetes_objects; the access key then keeps its value.
    if let Some(secret) = find(Kind::Secret) {
        model.access_key = secret
            .data
            .pointer("/data/access_key")
            .and_then(Json::as_str)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(secret: bool) -> Spec {
        Spec {
            name: "s3".into(),
            namespace: "ns".into(),
            base_uri: "s3://bucket/flink".into(),
            config_map: "flink-blob-storage-s3".into(),
            secret: secret.then(|| "flink-blob-storage-s3".into()),
            endpoint: Some("http://minio:9000".into()),
            region: None,
            path_style_access: Some(true),
        }
    }

    #[test]
    fn credentials_go_to_a_secret_never_the_config_map() {
        let objects = desired(&spec(true), Some("AK"), Some("SK"));
        assert_eq!(objects.len(), 2);
        let cm = objects[0].manifest.to_string();
        assert!(!cm.contains("AK") && !cm.contains("SK"), "{cm}");
        assert_eq!(objects[0].manifest["data"]["path_style_access"], "true");
        assert_eq!(objects[1].kind, Kind::Secret);
        assert_eq!(objects[1].manifest["data"]["secret_key"], "U0s=");
    }

    #[test]
    fn no_credentials_no_secret() {
        assert_eq!(desired(&spec(false), None, None).len(), 1);
    }

    #[test]
    fn read_back_restores_settings_and_access_key() {
        let objects = desired(&spec(true), Some("AK"), Some("SK"));
        let observed: Vec<(Kind, DynamicObject)> = objects
            .iter()
            .map(|d| (d.kind, serde_json::from_value(d.manifest.clone()).unwrap()))
            .collect();
        let mut model = Model::default();
        read_back(&mut model, &observed);
        assert_eq!(model.base_uri, Attr::Known("s3://bucket/flink".into()));
        assert_eq!(model.path_style_access, Attr::Known(true));
        assert_eq!(model.region, Attr::Null);
        assert_eq!(model.access_key, Attr::Known("AK".into()));
    }
}
