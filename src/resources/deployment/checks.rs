//! Plan-time findings of a deployment: the renderer's issues placed on the attribute (or
//! `flink_configuration` key) that caused them, and the checks across attributes (TLS, HA size,
//! the blob storage's namespace, root with the image's entrypoint) that no single attribute's
//! validator can make; a toleration's fields together are `toleration_checks`'.

use super::model::{Model, TLS_ANNOTATION};
use super::rendering::{self, Rendered};
use crate::flink::{Issue, Severity as IssueSeverity};
use crate::kubernetes::Kind;
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
        crate::flink::logging::LOG4J_PROPERTIES_KEY => {
            AttributePath::root("logging").attr("log4j_properties")
        }
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

/// What the provider writes into its ConfigMap stays within what the API server stores: 1 MiB
/// of data (`config.yaml` holds every `flink_configuration` value), and the recorded inputs
/// within [`rendering::INPUTS_LIMIT`] of the 256 KiB of annotations.
pub fn object_sizes(rendered: &Rendered, diags: &mut Diagnostics) {
    let Some(config_map) = rendered.objects.iter().find(|o| o.kind == Kind::ConfigMap) else {
        return;
    };
    let manifest = &config_map.manifest;
    let size = |key: &str| manifest["data"][key].as_str().map_or(0, str::len);
    let data: usize = manifest["data"]
        .as_object()
        .map(|d| d.values().filter_map(|v| v.as_str()).map(str::len).sum())
        .unwrap_or_default();
    if data > kube_rules::DATA_LIMIT {
        let (config_yaml, log4j) = (size("config.yaml"), size(super::objects::LOG4J_FILE));
        // On what takes the most: a user's own log4j file can be the larger part.
        let (path, summary, advice) = if log4j > config_yaml {
            (
                AttributePath::root("logging").attr("log4j_properties"),
                "Logging file too large for a ConfigMap",
                "Shorten logging.log4j_properties (comments, unused appenders), or put the file \
                 in the image and point log4j at it from a short one.",
            )
        } else {
            (
                AttributePath::root("flink_configuration"),
                "Flink configuration too large for a ConfigMap",
                "Keep large values out of flink_configuration: put them in a file in the image \
                 or a mounted volume and name its path.",
            )
        };
        diags.attribute_error(
            path,
            summary,
            format!(
                "The ConfigMap {} would hold {data} bytes of data (config.yaml with every \
                 flink_configuration value: {config_yaml} bytes, and the log4j file: {log4j} \
                 bytes); Kubernetes stores at most {} bytes in one ConfigMap. {advice}",
                config_map.name,
                kube_rules::DATA_LIMIT
            ),
        );
    }
    let inputs = manifest["metadata"]["annotations"][rendering::INPUTS_ANNOTATION]
        .as_str()
        .map_or(0, str::len);
    if inputs > rendering::INPUTS_LIMIT {
        let largest = serde_json::from_str::<serde_json::Value>(
            manifest["metadata"]["annotations"][rendering::INPUTS_ANNOTATION]
                .as_str()
                .unwrap_or_default(),
        )
        .ok()
        .and_then(|v| {
            v.as_object()?
                .iter()
                .map(|(k, v)| (v.to_string().len(), k.clone()))
                .max()
        })
        .map(|(bytes, name)| format!(" The largest is {name} ({bytes} bytes)."))
        .unwrap_or_default();
        diags.error(
            "Deployment inputs too large",
            format!(
                "The provider records this deployment's inputs on its ConfigMap (annotation \
                 {}) so that terraform import can rebuild it; they would take {inputs} bytes, \
                 over the {} the provider allows itself of Kubernetes' {} bytes of annotations \
                 per object.{largest} Shorten the largest values (pod env and annotations, \
                 main_args); long flink_configuration values are recorded by digest already.",
                rendering::INPUTS_ANNOTATION,
                rendering::INPUTS_LIMIT,
                kube_rules::ANNOTATIONS_LIMIT
            ),
        );
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
            "The blob storage {:?} keeps its credentials in Secret {secret:?} of namespace {:?}, \
             and the pods of namespace {namespace:?} can mount only their own namespace's \
             Secrets. Declare a flink_blob_storage in namespace {namespace:?} (with the same \
             base_uri, so the state stays where it is) and give its spec.",
            blob.name, blob.namespace
        ),
    );
}

/// What the artifact's attributes cannot say alone: a digest needs a download to check, and a
/// download's volume over `usrlib/` would hide the image's jar there.
fn artifact(model: &Model, diags: &mut Diagnostics) {
    use super::artifacts::{source, Source};
    let Some(artifact) = model.artifact.known() else {
        return;
    };
    let path = AttributePath::root("artifact");
    let jar = artifact.jar_uri.known();
    if let (Some(jar), Some(_)) = (jar, artifact.sha256.known()) {
        if let Some(Source::InImage { .. }) = source(jar) {
            diags.attribute_error(
                path.attr("sha256"),
                "sha256 needs a downloaded jar",
                format!(
                    "{jar} is a file of the image, which no init container can read, so its \
                     digest cannot be checked before the JobManager starts. Pin the image by \
                     its digest instead (image = \"registry.example.com/job@sha256:...\"), or \
                     remove sha256."
                ),
            );
        }
    }
    let dependencies = match &artifact.additional_dependencies {
        Attr::Null => Some(Vec::new()),
        other => other.known().cloned(),
    };
    if let (Attr::Known(digests), Some(dependencies)) = (&artifact.dependency_sha256, &dependencies)
    {
        dependency_digests(digests, dependencies, diags);
    }
    let (Some(jar), Some(dependencies)) = (jar, dependencies) else {
        return;
    };
    let resolved = super::resolve::Artifact {
        jar_uri: jar.clone(),
        entry_class: None,
        main_args: Vec::new(),
        additional_dependencies: dependencies,
        sha256: None,
        dependency_sha256: Default::default(),
        fetcher_image: String::new(),
        s3_fetcher_image: String::new(),
    };
    if let (Some((uri, _, _)), true) = (
        super::artifacts::s3_downloads(&resolved).first(),
        model.blob_storage.is_null(),
    ) {
        let at = if *uri == jar.as_str() {
            path.attr("jar_uri")
        } else {
            path.attr("additional_dependencies")
        };
        diags.attribute_error(
            at,
            "An s3:// artifact needs blob_storage",
            format!(
                "{uri} is copied with the credentials, endpoint and region of the deployment's \
                 blob storage, and it has none. Set blob_storage = flink_blob_storage.<name>.spec \
                 (one whose Secret, or workload identity, may read the bucket), or give the jar as \
                 an https:// URL."
            ),
        );
    }
    if let Some(hidden) = super::artifacts::hidden_by_downloads(&resolved) {
        let at = if hidden == jar.as_str() {
            path.attr("jar_uri")
        } else {
            path.attr("additional_dependencies")
        };
        diags.attribute_error(
            at,
            "An image jar in usrlib/ with downloaded artifacts",
            format!(
                "The downloaded artifacts go into a volume at {dir}, which would hide {hidden} \
                 of the image. Put the image's jar outside {dir} (e.g. \
                 local:///opt/flink/artifacts/job.jar, passed to Flink with --jars), or build \
                 the downloaded jars into the image too.",
                dir = super::artifacts::USRLIB_DIR,
            ),
        );
    }
}

/// Each `dependency_sha256` entry names a downloaded dependency and holds a SHA-256 digest.
fn dependency_digests(
    digests: &std::collections::BTreeMap<String, String>,
    dependencies: &[String],
    diags: &mut Diagnostics,
) {
    use super::artifacts::{check_sha256, source, Source};
    for (uri, digest) in digests {
        let path = AttributePath::root("artifact")
            .attr("dependency_sha256")
            .key(uri);
        if !dependencies.contains(uri) {
            diags.attribute_error(
                path,
                "A digest for no dependency",
                format!(
                    "{uri:?} is not in additional_dependencies. Key each digest by the URI of a \
                     downloaded dependency as additional_dependencies writes it (the job jar's \
                     digest is sha256)."
                ),
            );
        } else if let Some(Source::InImage { .. }) = source(uri) {
            diags.attribute_error(
                path,
                "sha256 needs a downloaded jar",
                format!(
                    "{uri} is a file of the image, which no init container can read. Pin the \
                     image by its digest instead, or remove this entry."
                ),
            );
        } else if let Err((summary, detail)) = check_sha256(digest) {
            diags.attribute_error(path, summary, detail);
        }
    }
}

/// A whole log4j file and the levels the provider would render are exclusive. Checked on the
/// configuration as written: in the plan `root_level` carries its default.
pub fn logging(model: &Model, diags: &mut Diagnostics) {
    let Some(logging) = model.logging.known() else {
        return;
    };
    if logging.log4j_properties.known().is_none() {
        return;
    }
    for (attr, set) in [
        ("root_level", !logging.root_level.is_null()),
        ("loggers", !logging.loggers.is_null()),
    ] {
        if set {
            diags.attribute_error(
                AttributePath::root("logging").attr(attr),
                format!("logging.{attr} conflicts with logging.log4j_properties"),
                format!(
                    "A whole log4j file sets its own levels, so the provider does not render \
                     {attr} into it. Drop {attr} and set the levels in the file, or drop \
                     log4j_properties to have the provider render the file from root_level and \
                     loggers."
                ),
            );
        }
    }
}

/// The checks of Kubernetes-facing values that look at more than one attribute.
pub fn kubernetes(model: &Model, diags: &mut Diagnostics) {
    super::toleration_checks::tolerations(model, diags);
    service_account_annotations(model, diags);
    root_user(model, diags);
    super::template_checks::report(model, diags);
}

/// `pod.run_as_user = 0` with the official image: its entrypoint, started as root, steps down
/// to `flink` with `gosu`, which needs the CAP_SETUID and CAP_SETGID that the provider's
/// containers drop, so Flink's container would exit at once. Only a warning: an image of one's
/// own may run Flink as root without stepping down.
fn root_user(model: &Model, diags: &mut Diagnostics) {
    let root = model
        .pod
        .known()
        .and_then(|p| p.run_as_user.known())
        .is_some_and(|uid| *uid == 0);
    if root {
        diags.attribute_warning(
            AttributePath::root("pod").attr("run_as_user"),
            "Root with the official image's entrypoint",
            "The official Flink image's entrypoint, started as root, switches to its user flink \
             (gosu flink), and that needs the SETUID and SETGID capabilities, which the \
             provider drops from every container: Flink's container would exit with \
             \"operation not permitted\". Leave run_as_user unset to run as flink (9999), or \
             use an image whose entrypoint runs Flink as root.",
        );
    }
}

/// `pod.service_account_annotations` go on the provider's ServiceAccounts, which a user-given
/// `pod.service_account` replaces: both at once would annotate nothing.
fn service_account_annotations(model: &Model, diags: &mut Diagnostics) {
    let Some(pod) = model.pod.known() else {
        return;
    };
    let annotated = pod
        .service_account_annotations
        .known()
        .is_some_and(|a| !a.is_empty());
    if let (true, Some(account)) = (annotated, pod.service_account.known()) {
        diags.attribute_error(
            AttributePath::root("pod").attr("service_account_annotations"),
            "ServiceAccount annotations with a ServiceAccount of your own",
            format!(
                "pod.service_account_annotations go on the ServiceAccounts the provider makes, \
                 and with pod.service_account = {account:?} it makes none. Annotate the \
                 ServiceAccount {account} itself, or remove pod.service_account to use the \
                 provider's accounts."
            ),
        );
    }
}

pub fn lifecycle(model: &Model, diags: &mut Diagnostics) {
    tls(model, diags);
    super::secret_configuration::conflicts(model, diags);
    artifact(model, diags);
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
    use super::logging as logging_check;
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

    use serde_json::json;

    #[test]
    fn root_warns_that_the_images_entrypoint_cannot_step_down() {
        let warnings = |pod: serde_json::Value| {
            let model = super::super::golden_tests::model(json!({
                "name": "orders", "namespace": "ns", "flink_version": "2.3",
                "artifact": {"jar_uri": "https://repo.example.com/job.jar"}, "pod": pod,
            }));
            let mut diags = Diagnostics::default();
            root_user(&model, &mut diags);
            diags.0
        };
        let found = warnings(json!({"run_as_user": 0}));
        let [warning] = found.as_slice() else {
            panic!("{found:?}");
        };
        assert_eq!(
            warning.path,
            Some(AttributePath::root("pod").attr("run_as_user"))
        );
        assert!(warning.detail.contains("gosu flink"), "{}", warning.detail);
        assert!(warnings(json!({"run_as_user": 1000})).is_empty());
        assert!(warnings(json!({})).is_empty());
    }

    fn errors(artifact: serde_json::Value) -> Vec<(String, String)> {
        let model = super::super::golden_tests::model(json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3", "artifact": artifact,
        }));
        let mut diags = Diagnostics::default();
        lifecycle(&model, &mut diags);
        diags
            .0
            .iter()
            .map(|d| {
                (
                    format!("{:?}", d.path),
                    format!("{} {}", d.summary, d.detail),
                )
            })
            .collect()
    }

    #[test]
    fn sha256_of_an_image_jar_is_refused_saying_to_pin_the_image() {
        let digest = "a".repeat(64);
        let found =
            errors(json!({"jar_uri": "local:///opt/flink/usrlib/job.jar", "sha256": digest}));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.contains("sha256"), "{found:?}");
        assert!(
            found[0]
                .1
                .contains("image = \"registry.example.com/job@sha256:"),
            "{found:?}"
        );
        let downloaded = errors(json!({"jar_uri": "https://h/job.jar", "sha256": digest}));
        assert!(downloaded.is_empty(), "{downloaded:?}");
    }

    #[test]
    fn an_image_jar_in_usrlib_cannot_be_hidden_by_downloads() {
        let found = errors(json!({
            "jar_uri": "local:///opt/flink/usrlib/job.jar",
            "additional_dependencies": ["https://h/udf.jar"],
        }));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.contains("jar_uri"), "{found:?}");
        assert!(
            found[0].1.contains("local:///opt/flink/artifacts/job.jar"),
            "{found:?}"
        );
        let dependency = errors(json!({
            "jar_uri": "https://h/job.jar",
            "additional_dependencies": ["local:///opt/flink/usrlib/udf.jar"],
        }));
        assert!(
            dependency[0].0.contains("additional_dependencies"),
            "{dependency:?}"
        );
        assert!(errors(json!({"jar_uri": "local:///opt/flink/usrlib/job.jar"})).is_empty());
    }

    #[test]
    fn dependency_digests_name_a_downloaded_dependency_and_are_hex() {
        let good = "b".repeat(64);
        let none = errors(json!({
            "jar_uri": "https://h/job.jar",
            "dependency_sha256": {"https://h/udf.jar": good},
        }));
        assert!(
            none[0].1.contains("not in additional_dependencies"),
            "{none:?}"
        );
        let found = errors(json!({
            "jar_uri": "https://h/job.jar",
            "additional_dependencies": ["https://h/udf.jar", "local:///opt/x.jar"],
            "dependency_sha256": {
                "https://h/udf.jar": good,
                "https://h/other.jar": good,
                "local:///opt/x.jar": good,
            },
        }));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found.iter().any(|(p, d)| p.contains("https://h/other.jar")
                && d.contains("not in additional_dependencies")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|(p, d)| p.contains("local:///opt/x.jar") && d.contains("Pin the image")),
            "{found:?}"
        );
        let short = errors(json!({
            "jar_uri": "https://h/job.jar",
            "additional_dependencies": ["https://h/udf.jar"],
            "dependency_sha256": {"https://h/udf.jar": "abc"},
        }));
        assert_eq!(short.len(), 1, "{short:?}");
        assert!(short[0].1.contains("Invalid sha256"), "{short:?}");
    }

    #[test]
    fn a_log4j_file_and_levels_are_exclusive_on_the_level_attributes() {
        let findings = |logging: serde_json::Value| {
            let model = super::super::golden_tests::model(json!({
                "name": "orders", "namespace": "ns", "flink_version": "2.3",
                "artifact": {"jar_uri": "https://repo.example.com/job.jar"},
                "logging": logging,
            }));
            let mut diags = Diagnostics::default();
            logging_check(&model, &mut diags);
            diags
                .0
                .into_iter()
                .map(|d| (d.path.map(|p| p.to_string()).unwrap_or_default(), d.detail))
                .collect::<Vec<_>>()
        };
        let file = "rootLogger.level = INFO\n";
        let both = findings(json!({
            "log4j_properties": file, "root_level": "DEBUG", "loggers": {"com.example": "WARN"},
        }));
        let paths: Vec<&str> = both.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["logging.root_level", "logging.loggers"]);
        assert!(both[0].1.contains("Drop root_level"), "{}", both[0].1);
        assert!(findings(json!({"log4j_properties": file})).is_empty());
        assert!(findings(json!({"root_level": "DEBUG", "loggers": {"a": "INFO"}})).is_empty());
    }
}
