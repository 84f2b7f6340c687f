//! The `flink_blob_storage` schema, its typed model, and the checks of a base URI and of the S3
//! settings. No IO.

use crate::resources::cluster_objects;
use crate::schema::{Attribute, AttributePath, Diagnostics, Schema, Validator};
use crate::value::{Attr, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// URI schemes Flink has file systems for (one list, shared with the layout that derives paths).
pub use crate::flink::layout::SCHEMES;
/// The schemes whose credentials this resource manages.
pub const S3_SCHEMES: &[&str] = &["s3", "s3a", "s3p"];

/// The resource as Terraform holds it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Model {
    #[serde(default)]
    pub id: Attr<String>,
    #[serde(default)]
    pub name: Attr<String>,
    #[serde(default)]
    pub namespace: Attr<String>,
    #[serde(default)]
    pub base_uri: Attr<String>,
    #[serde(default)]
    pub access_key: Attr<String>,
    #[serde(default)]
    pub secret_key: Attr<String>,
    #[serde(default)]
    pub secret_key_wo: Attr<String>,
    #[serde(default)]
    pub secret_key_wo_version: Attr<i64>,
    #[serde(default)]
    pub endpoint: Attr<String>,
    #[serde(default)]
    pub region: Attr<String>,
    #[serde(default)]
    pub path_style_access: Attr<bool>,
    #[serde(default)]
    pub verify: Attr<bool>,
    #[serde(default)]
    pub spec: Attr<Spec>,
    #[serde(default)]
    pub instance_id: Attr<String>,
    #[serde(default)]
    pub kubernetes_objects: Attr<BTreeMap<String, String>>,
}

crate::resources::typed::named_by_namespace_and_name!(Model);

/// What deployments take as `blob_storage`: where state goes and where its credentials are, never
/// the credentials themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub name: String,
    pub namespace: String,
    pub base_uri: String,
    pub config_map: String,
    pub secret: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style_access: Option<bool>,
}

pub fn schema() -> Schema {
    Schema::new(
        "Universal blob storage, as in Ververica Platform: one base URI from which every \
         deployment's checkpoint, savepoint and high-availability directories are derived with a \
         fixed layout, `<base_uri>/flink-jobs/namespaces/<namespace>/deployments/<deployment id>/\
         {checkpoints,savepoints,ha}`. The non-secret settings are kept in a ConfigMap (so other \
         Terraform workspaces can read them with the data source); S3 credentials in a Secret, \
         never a ConfigMap. Deployments take the exported `spec` as their `blob_storage` \
         attribute and mount the credentials from the Secret.\n\n\
         Destroy deletes whichever of its ConfigMap and Secret are left (found by their labels) \
         and never needs the storage itself: the checkpoints, savepoints and HA files under \
         `base_uri` stay, in the directories a deployment created again with the same namespace \
         and name gets.",
        vec![
            Attribute::string("id").computed().use_state_for_unknown().description("`<namespace>/<name>`."),
            Attribute::string("name")
                .required()
                .requires_replace()
                .validate(Validator::KubernetesName)
                .description("Name of the blob storage; its objects are named `flink-blob-storage-<name>`."),
            Attribute::string("namespace")
                .default_value(Value::string("default"))
                .requires_replace()
                .validate(Validator::KubernetesName)
                .description("Kubernetes namespace of the ConfigMap and Secret, and of the deployments that use them. Defaults to `default`."),
            Attribute::string("base_uri")
                .required()
                .validate(Validator::Custom {
                    doc: "A URI with scheme s3, s3a, s3p, gs, wasb, wasbs, abfs, abfss, hdfs, oss or file, e.g. `s3://bucket/prefix`, without a trailing `/`, query or fragment.",
                    check: check_base_uri,
                })
                .description("Base URI under which all deployment state is stored."),
            Attribute::string("access_key").optional().sensitive().description("S3 access key id (`s3.access-key`)."),
            Attribute::string("secret_key").optional().sensitive().description("S3 secret key (`s3.secret-key`). Stored in Terraform state; prefer `secret_key_wo`."),
            Attribute::string("secret_key_wo")
                .optional()
                .sensitive()
                .write_only()
                .description("S3 secret key, write-only (Terraform 1.11+): it reaches the Kubernetes Secret but never Terraform state or plan files. Change `secret_key_wo_version` to write a new value."),
            Attribute::number("secret_key_wo_version")
                .optional()
                .description("Bump to apply a new `secret_key_wo` (Terraform cannot see changes of write-only values)."),
            Attribute::string("endpoint").optional().description("S3 endpoint URL for S3-compatible stores, e.g. `https://minio.storage:9000`."),
            Attribute::string("region").optional().description("S3 region."),
            Attribute::bool("path_style_access").optional().description("Use path-style requests (`s3.path.style.access`), as most S3-compatible stores need."),
            Attribute::bool("verify")
                .default_value(Value::Bool(false))
                .description("Check at apply that the credentials can list the base URI (one signed S3 `ListObjectsV2` of at most one key); a refusal fails the apply with the store's reason before anything is written. S3 base URIs only."),
            Attribute::single_nested(
                "spec",
                vec![
                    Attribute::string("name").computed().description("Name of the blob storage."),
                    Attribute::string("namespace").computed().description("Its namespace."),
                    Attribute::string("base_uri").computed().description("Base URI."),
                    Attribute::string("config_map").computed().description("ConfigMap holding the settings."),
                    Attribute::string("secret").computed().description("Secret holding the credentials, null without credentials."),
                    Attribute::string("endpoint").computed().description("S3 endpoint."),
                    Attribute::string("region").computed().description("S3 region."),
                    Attribute::bool("path_style_access").computed().description("Path-style access."),
                ],
            )
            .computed()
            .description("The settings as deployments take them: `blob_storage = flink_blob_storage.x.spec`."),
            cluster_objects::instance_attribute(),
            cluster_objects::attribute(),
        ],
    )
}

pub fn check_base_uri(value: &Value) -> Result<(), (String, String)> {
    let Some(uri) = value.as_str() else {
        return Ok(());
    };
    let fail = |why: &str| {
        Err((
            format!("Invalid base URI {uri:?}"),
            format!("{why} Write it like s3://bucket/prefix, gs://bucket, abfss://container@account.dfs.core.windows.net/prefix or file:///data/flink."),
        ))
    };
    let Some((scheme, rest)) = uri.split_once("://") else {
        return fail("It has no scheme.");
    };
    if !SCHEMES.contains(&scheme) {
        return fail(&format!(
            "Scheme {scheme:?} is not one of {}.",
            SCHEMES.join(", ")
        ));
    }
    if uri.chars().any(char::is_whitespace) || rest.contains(['?', '#']) {
        return fail("It contains whitespace, a query or a fragment.");
    }
    if uri.ends_with('/') {
        return fail("Remove the trailing `/`.");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    match scheme {
        "file" if !rest.starts_with('/') || rest.len() < 2 => {
            fail("A file URI needs an absolute path (three slashes).")
        }
        "file" => Ok(()),
        _ if authority.is_empty() => fail("It names no bucket, container or host."),
        _ if !authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | ':')) =>
        {
            fail(&format!(
                "{authority:?} is not a valid bucket, container or host name."
            ))
        }
        _ => Ok(()),
    }
}

/// Checks across attributes.
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    let Ok(model) = crate::value::from_value::<Model>(config) else {
        return;
    };
    let scheme = model
        .base_uri
        .known()
        .and_then(|u| u.split_once("://"))
        .map(|(s, _)| s.to_string());
    let s3_settings = [
        ("access_key", model.access_key.is_null()),
        ("secret_key", model.secret_key.is_null()),
        ("secret_key_wo", model.secret_key_wo.is_null()),
        ("endpoint", model.endpoint.is_null()),
        ("region", model.region.is_null()),
        ("path_style_access", model.path_style_access.is_null()),
    ];
    if let Some(scheme) = scheme.filter(|s| !S3_SCHEMES.contains(&s.as_str())) {
        for (name, _) in s3_settings.iter().filter(|(_, null)| !null) {
            diags.attribute_error(
                AttributePath::root(name),
                "S3 setting on a non-S3 base URI",
                format!(
                    "{name} only applies to s3://, s3a:// and s3p:// base URIs; base_uri uses \
                     {scheme}://. Remove {name}."
                ),
            );
        }
    }
    if !model.secret_key.is_null() && !model.secret_key_wo.is_null() {
        diags.attribute_error(
            AttributePath::root("secret_key_wo"),
            "Two secret keys",
            "Set either secret_key or secret_key_wo, not both.",
        );
    }
    let has_secret = !model.secret_key.is_null() || !model.secret_key_wo.is_null();
    if model.verify.known() == Some(&true) {
        let s3 = model
            .base_uri
            .known()
            .and_then(|u| u.split_once("://"))
            .is_some_and(|(s, _)| S3_SCHEMES.contains(&s));
        if !s3 && !model.base_uri.is_unknown() {
            diags.attribute_error(
                AttributePath::root("verify"),
                "Cannot verify this blob storage",
                "verify checks S3 credentials, so it needs an s3://, s3a:// or s3p:// base_uri: \
                 set verify = false for other stores.",
            );
        } else if model.access_key.is_null() {
            diags.attribute_error(
                AttributePath::root("verify"),
                "Nothing to verify",
                "verify checks the S3 credentials: set access_key and secret_key_wo (or secret_key).",
            );
        }
    }
    if has_secret && model.access_key.is_null() {
        diags.attribute_error(
            AttributePath::root("access_key"),
            "Missing access key",
            "A secret key needs its access key: set access_key.",
        );
    }
    if !model.access_key.is_null() && !has_secret {
        diags.attribute_error(
            AttributePath::root("access_key"),
            "Missing secret key",
            "An access key needs its secret key: set secret_key_wo (or secret_key).",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(uri: &str) -> bool {
        check_base_uri(&Value::string(uri)).is_ok()
    }

    #[test]
    fn base_uris() {
        assert!(ok("s3://bucket/prefix"));
        assert!(ok("s3a://bucket"));
        assert!(ok("gs://bucket/a/b"));
        assert!(ok("abfss://container@account.dfs.core.windows.net/prefix"));
        assert!(ok("hdfs://namenode:8020/flink"));
        assert!(ok("file:///data/flink"));
        assert!(!ok("bucket/prefix"));
        assert!(!ok("ftp://bucket"));
        assert!(!ok("s3://bucket/prefix/"));
        assert!(!ok("s3://bucket/prefix?x=1"));
        assert!(!ok("s3:///prefix"));
        assert!(!ok("s3://bu cket"));
        assert!(!ok("file://relative"));
    }
}
