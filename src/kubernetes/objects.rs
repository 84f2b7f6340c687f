//! Desired objects: a manifest (as JSON) with its API type. Resources build them from k8s-openapi
//! types or JSON; the converger adds the owner labels and instance marker before applying.

use super::owner::Owner;
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value as Json;

/// The kinds of object the provider manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// core/v1 ConfigMap
    ConfigMap,
    /// core/v1 Secret
    Secret,
    /// core/v1 Service
    Service,
    /// core/v1 ServiceAccount
    ServiceAccount,
    /// rbac/v1 Role
    Role,
    /// rbac/v1 RoleBinding
    RoleBinding,
    /// apps/v1 Deployment
    Deployment,
    /// networking.k8s.io/v1 NetworkPolicy
    NetworkPolicy,
    /// networking.k8s.io/v1 Ingress
    Ingress,
}

impl Kind {
    /// The API type.
    pub fn api_resource(self) -> ApiResource {
        let (group, version, kind) = match self {
            Kind::ConfigMap => ("", "v1", "ConfigMap"),
            Kind::Secret => ("", "v1", "Secret"),
            Kind::Service => ("", "v1", "Service"),
            Kind::ServiceAccount => ("", "v1", "ServiceAccount"),
            Kind::Role => ("rbac.authorization.k8s.io", "v1", "Role"),
            Kind::RoleBinding => ("rbac.authorization.k8s.io", "v1", "RoleBinding"),
            Kind::Deployment => ("apps", "v1", "Deployment"),
            Kind::NetworkPolicy => ("networking.k8s.io", "v1", "NetworkPolicy"),
            Kind::Ingress => ("networking.k8s.io", "v1", "Ingress"),
        };
        ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
    }

    /// The kind's name, e.g. `ConfigMap`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
            Kind::Service => "Service",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Role => "Role",
            Kind::RoleBinding => "RoleBinding",
            Kind::Deployment => "Deployment",
            Kind::NetworkPolicy => "NetworkPolicy",
            Kind::Ingress => "Ingress",
        }
    }
}

/// One object a resource wants to exist.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObject {
    /// Its kind.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// The manifest: apiVersion, kind, metadata, and the fields this provider owns.
    pub manifest: Json,
}

impl DesiredObject {
    /// A desired object from a manifest body (everything but apiVersion/kind/name/namespace).
    pub fn new(kind: Kind, namespace: &str, name: &str, mut body: Json) -> Self {
        let api = kind.api_resource();
        if let Json::Object(map) = &mut body {
            map.insert("apiVersion".into(), api.api_version.clone().into());
            map.insert("kind".into(), api.kind.clone().into());
            let metadata = map
                .entry("metadata")
                .or_insert_with(|| Json::Object(Default::default()));
            if let Json::Object(meta) = metadata {
                meta.insert("name".into(), name.into());
                meta.insert("namespace".into(), namespace.into());
            }
        }
        DesiredObject {
            kind,
            name: name.to_string(),
            manifest: body,
        }
    }

    /// The manifest with the owner's labels merged into `metadata.labels` and its instance
    /// marker into `metadata.annotations`.
    pub fn labelled(&self, owner: &Owner) -> Json {
        let mut manifest = self.manifest.clone();
        if let Some(meta) = manifest.get_mut("metadata").and_then(Json::as_object_mut) {
            for (field, entries) in [
                ("labels", owner.labels()),
                ("annotations", owner.annotations()),
            ] {
                if entries.is_empty() {
                    continue;
                }
                let map = meta
                    .entry(field)
                    .or_insert_with(|| Json::Object(Default::default()));
                if let Json::Object(map) = map {
                    for (k, v) in entries {
                        map.insert(k, v.into());
                    }
                }
            }
        }
        manifest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn manifests_carry_type_identity_and_owner_labels() {
        let owner = Owner::new("blob-storage", "ns", "s3").instance(Some("id-1"));
        let obj = DesiredObject::new(
            Kind::Secret,
            "ns",
            "s3-credentials",
            json!({"metadata": {"labels": {"team": "a"}}, "stringData": {"k": "v"}}),
        );
        let m = obj.labelled(&owner);
        assert_eq!(m["apiVersion"], "v1");
        assert_eq!(m["kind"], "Secret");
        assert_eq!(m["metadata"]["namespace"], "ns");
        assert_eq!(m["metadata"]["labels"]["team"], "a");
        assert_eq!(
            m["metadata"]["labels"]["flink.flinkops.io/owner-name"],
            "s3"
        );
        assert_eq!(
            m["metadata"]["annotations"]["flink.flinkops.io/owner-instance"],
            "id-1"
        );
        assert_eq!(
            Kind::Role.api_resource().api_version,
            "rbac.authorization.k8s.io/v1"
        );
        assert_eq!(Kind::Deployment.api_resource().plural, "deployments");
        assert_eq!(Kind::NetworkPolicy.api_resource().plural, "networkpolicies");
        assert_eq!(Kind::Ingress.api_resource().plural, "ingresses");
    }
}
