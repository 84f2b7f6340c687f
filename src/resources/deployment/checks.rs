//! Plan-time findings of a deployment: the renderer's issues placed on the attribute (or
//! `flink_configuration` key) that caused them, and the checks across attributes (TLS, HA size,
//! the blob storage's namespace) that no single attribute's validator can make.

use super::model::{Model, TLS_ANNOTATION};
use crate::flink::{Issue, Severity as IssueSeverity};
use crate::schema::{AttributePath, Diagnostics};
use crate::value::Attr;

/// Where a renderer issue belongs in the configuration.
fn issue_path(issue: &Issue, model: &Model) -> Option<AttributePath> {
    let user_key = model
        .flink_configuration
        .known()
        .is_some_and(|c| c.contains_key(&issue.key));
    let from_secret = model
        .flink_configuration_from_secrets
        .known()
        .is_some_and(|c| c.contains_key(&issue.key));
    Some(match issue.key.as_str() {
        _ if user_key => AttributePath::root("flink_configuration").key(&issue.key),
        _ if from_secret => {
            AttributePath::root(super::secret_configuration::ATTRIBUTE).key(&issue.key)
        }
        "blob_storage" | "high_availability" | "queryable_state" => AttributePath::root(&issue.key),
        "root_level" => AttributePath::root("logging").attr("root_level"),
        "jobmanager.memory.process.size" => AttributePath::root("resources")
            .attr("jobmanager")
            .attr("memory"),
        "taskmanager.memory.process.size" => AttributePath::root("resources")
            .attr("taskmanager")
            .attr("memory"),
        _ => return None,
    })
}

pub fn report(issues: &[Issue], model: &Model, diags: &mut Diagnostics) {
    for issue in issues {
        let path = issue_path(issue, model).or_else(|| {
            // A logger name from logging.loggers.
            model
                .logging
                .known()
                .and_then(|l| l.loggers.known())
                .filter(|l| l.contains_key(&issue.key))
                .map(|_| {
                    AttributePath::root("logging")
                        .attr("loggers")
                        .key(&issue.key)
                })
        });
        match (issue.severity, path) {
            (IssueSeverity::Error, Some(p)) => {
                diags.attribute_error(p, &issue.summary, &issue.detail)
            }
            (IssueSeverity::Error, None) => diags.error(&issue.summary, &issue.detail),
            (IssueSeverity::Warning, Some(p)) => {
                diags.attribute_warning(p, &issue.summary, &issue.detail)
            }
            (IssueSeverity::Warning, None) => diags.warning(&issue.summary, &issue.detail),
        }
    }
}

/// TLS needs an authority, and the attribute and the seed's annotation must agree.
fn tls(model: &Model, diags: &mut Diagnostics) {
    let annotation = match &model.annotations {
        Attr::Known(a) => a.get(TLS_ANNOTATION).map(|v| v == "true"),
        _ => None,
    };
    let (enabled, authority) = match &model.tls {
        Attr::Known(t) => (t.enabled.known().copied(), &t.authority),
        Attr::Unknown => return,
        Attr::Null => (None, &Attr::Null),
    };
    if let (Some(false), Some(true)) = (enabled, annotation) {
        diags.attribute_error(
            AttributePath::root("tls").attr("enabled"),
            "TLS both off and on",
            format!(
                "tls.enabled is false but the annotation {TLS_ANNOTATION} is \"true\". Remove \
                 one of them."
            ),
        );
        return;
    }
    if enabled == Some(true) || annotation == Some(true) {
        if let Attr::Null = authority {
            let path = if annotation == Some(true) && enabled.is_none() {
                AttributePath::root("annotations").key(TLS_ANNOTATION)
            } else {
                AttributePath::root("tls").attr("authority")
            };
            diags.attribute_error(
                path,
                "TLS needs a certificate authority",
                "The REST certificate is signed by a flink_certificate_authority and the REST API \
                 accepts its client certificate: set tls = { enabled = true, authority = \
                 flink_certificate_authority.x.spec }.",
            );
        }
    }
}

/// The JobManager serves https only when TLS is on.
fn rest_url(model: &Model, diags: &mut Diagnostics) {
    let Some(Ok(url)) = model
        .rest_url
        .known()
        .map(|u| crate::jobmanager::RestUrl::parse(u))
    else {
        return;
    };
    if !url.https && super::resolve::tls_enabled(model) == Some(true) {
        diags.attribute_error(
            AttributePath::root("rest_url"),
            "rest_url must be https with TLS on",
            "The JobManager's REST API serves only https with client certificates when TLS is \
             on. Give an https:// URL that passes TLS through to the JobManager (e.g. an Ingress \
             with SSL passthrough, or a LoadBalancer Service).",
        );
    }
}

/// Pods read Secrets of their own namespace only: a blob storage whose credentials Secret lives
/// elsewhere cannot be mounted.
fn blob_storage_namespace(model: &Model, diags: &mut Diagnostics) {
    let (Some(blob), Some(namespace)) = (model.blob_storage.known(), model.namespace.known())
    else {
        return;
    };
    let Some(secret) = blob
        .secret
        .as_ref()
        .filter(|_| &blob.namespace != namespace)
    else {
        return;
    };
    diags.attribute_error(
        AttributePath::root("blob_storage"),
        "Blob storage credentials in another namespace",
        format!(
            "The blob storage {:?} keeps its credentials in Secret {secret:?} of namespace {:?},              and the pods of namespace {namespace:?} can mount only their own namespace's              Secrets. Declare a flink_blob_storage in namespace {namespace:?} (with the same              base_uri, so the state stays where it is) and give its spec.",
            blob.name, blob.namespace
        ),
    );
}

pub fn lifecycle(model: &Model, diags: &mut Diagnostics) {
    tls(model, diags);
    super::secret_configuration::conflicts(model, diags);
    rest_url(model, diags);
    blob_storage_namespace(model, diags);
    super::ingress::checks(model, diags);
    let kubernetes_ha = model
        .high_availability
        .known()
        .is_some_and(|h| h.ha_type == "kubernetes");
    if kubernetes_ha && model.parallelism.known().is_some_and(|p| *p > 100) {
        diags.attribute_warning(
            AttributePath::root("parallelism"),
            "Kubernetes HA with parallelism above 100",
            "Flink's Kubernetes HA service puts load on the Kubernetes API server that grows with \
             the job's size; past a parallelism of 100 prefer ZooKeeper HA.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::deployment::model::BlobStorageSpec;

    fn with_blob_storage(namespace: &str, secret: Option<&str>) -> Model {
        Model {
            namespace: Attr::Known("team-a".into()),
            blob_storage: Attr::Known(BlobStorageSpec {
                name: "state".into(),
                namespace: namespace.into(),
                base_uri: "s3://state/flink".into(),
                config_map: "flink-blob-storage-state".into(),
                secret: secret.map(String::from),
                endpoint: None,
                region: None,
                path_style_access: None,
            }),
            ..Model::default()
        }
    }

    #[test]
    fn blob_storage_credentials_must_be_in_the_deployments_namespace() {
        let mut diags = Diagnostics::default();
        lifecycle(
            &with_blob_storage("platform", Some("flink-blob-storage-state")),
            &mut diags,
        );
        let [error] = diags.0.as_slice() else {
            panic!("{diags:?}");
        };
        assert_eq!(error.path, Some(AttributePath::root("blob_storage")));
        assert!(
            error.detail.contains("namespace \"platform\""),
            "{}",
            error.detail
        );
        assert!(error
            .detail
            .contains("flink_blob_storage in namespace \"team-a\""));
        for fine in [
            with_blob_storage("team-a", Some("flink-blob-storage-state")),
            with_blob_storage("platform", None),
        ] {
            let mut diags = Diagnostics::default();
            lifecycle(&fine, &mut diags);
            assert!(diags.0.is_empty(), "{diags:?}");
        }
    }
}
