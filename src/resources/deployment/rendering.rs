//! The rendering stage (pure): a [`Resolved`] deployment turned into Flink's configuration (with
//! its issues and the TLS options Flink gets from the Secret), the log4j file and the Kubernetes
//! objects, the ConfigMap recording the resource's inputs so import can rebuild the state. The
//! record stays small whatever the inputs: a long `flink_configuration` value or a long
//! `logging.log4j_properties` file is recorded by its SHA-256 only, and import takes it from the
//! ConfigMap's `config.yaml` or `log4j-console.properties`, which hold it.

use super::flink_input;
use super::layout::Names;
use super::model::Model;
use super::objects;
use super::resolve::Resolved;
use crate::flink::{self, Issue};
use crate::kubernetes::{DesiredObject, Kind};
use crate::value::Attr;

/// The hash of what of the configuration files rolls the pods when it changes: all of them, but
/// the default parallelism when the job rescales in place (the adaptive scheduler takes a new one
/// through its resource requirements, without new pods; the ConfigMap still holds it for the
/// next start).
fn rollout_hash(d: &Resolved, configuration: &flink::Rendered, log4j: &str) -> String {
    let config_yaml = if d.in_place_rescaling {
        let mut keys = configuration.configuration.clone();
        keys.remove("parallelism.default");
        flink::yaml::to_config_yaml(&keys)
    } else {
        configuration.config_yaml.clone()
    };
    super::pod_template::content_hash(&format!("{config_yaml}\n{log4j}"))
}

/// The ConfigMap annotation that records the resource's inputs, for import.
pub const INPUTS_ANNOTATION: &str = "flink.flinkops.io/inputs";

/// `flink_configuration` values and log4j files longer than this are recorded by their digest.
const RECORDED_VALUE_BYTES: usize = 1024;

/// The field of the recorded inputs holding the digests (SHA-256, hex) of the values left out.
const DIGESTS_FIELD: &str = "flink_configuration_sha256";

/// The field of the recorded inputs holding the digest of a `logging.log4j_properties` left out.
const LOG4J_DIGEST_FIELD: &str = "log4j_properties_sha256";

/// At most what the recorded inputs may take: half of the API server's 256 KiB for all of an
/// object's annotations. Larger inputs are a plan error ([`super::checks`]).
pub const INPUTS_LIMIT: usize = kube_rules::ANNOTATIONS_LIMIT / 2;

/// Everything a resolved deployment turns into.
pub struct Rendered {
    /// What it was rendered from.
    pub resolved: Resolved,
    /// Flink's configuration and its issues.
    pub configuration: flink::Rendered,
    /// The Kubernetes objects, the ConfigMap first.
    pub objects: Vec<DesiredObject>,
    /// Issues of the `logging` settings.
    pub log_issues: Vec<Issue>,
}

/// The secret part of the TLS Secret, known only at apply.
pub type TlsData = serde_json::Map<String, serde_json::Value>;

#[cfg(test)]
thread_local! {
    /// Renderings on this thread, so tests can count what a plan costs.
    pub static RENDERS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Renders `d` (the spec that runs, of `model`); with `tls_data` the TLS Secret carries the
/// issued material.
pub fn render(d: &Resolved, model: &Model, tls_data: Option<TlsData>) -> Rendered {
    #[cfg(test)]
    RENDERS.with(|n| n.set(n.get() + 1));
    let mut configuration = flink::render(&flink_input::render_input(d, objects::owned_keys(d)));
    let tls_secret = Names::of(&d.name).tls_secret;
    for key in flink_input::tls_overridden_keys(d) {
        configuration.issues.push(Issue::warning(
            &key,
            "Flink option overridden",
            format!(
                "`{key}` is overridden because TLS is on: Flink gets it from the Secret \
                 {tls_secret} as a dynamic property."
            ),
        ));
    }
    for key in flink_input::tls_keys_from_secrets(d) {
        configuration.issues.push(Issue::error(
            &key,
            "Key is set by the provider",
            format!(
                "`{key}` is set by the provider because TLS is on: Flink gets it from the Secret \
                 {tls_secret}. Remove it from flink_configuration_from_secrets."
            ),
        ));
    }
    let (log4j, log_issues) = match &d.log4j_properties {
        Some(file) => {
            let mut issues = flink::logging::check_log4j_properties(file);
            issues.extend(flink::logging::layout_issues(file, d.version));
            (file.clone(), issues)
        }
        None => match flink::logging::render_log4j_console(&d.root_level, &d.loggers) {
            Ok(text) => (text, Vec::new()),
            Err(issues) => (String::new(), issues),
        },
    };
    let config_hash = rollout_hash(d, &configuration, &log4j);
    let mut objects = objects::desired(
        d,
        &configuration.config_yaml,
        &log4j,
        &config_hash,
        tls_data,
    );
    let inputs = inputs_json(model);
    if let Some(meta) = objects
        .first_mut()
        .and_then(|cm| cm.manifest.get_mut("metadata"))
        .and_then(|m| m.as_object_mut())
    {
        meta.insert(
            "annotations".into(),
            serde_json::json!({ INPUTS_ANNOTATION: inputs }),
        );
    }
    Rendered {
        resolved: d.clone(),
        configuration,
        objects,
        log_issues,
    }
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The resource's inputs (its id and job id too), recorded on the ConfigMap so import can
/// rebuild the state; long `flink_configuration` values by their digest.
pub fn inputs_json(model: &Model) -> String {
    let mut inputs = model.clone();
    inputs.effective_flink_configuration = Attr::Null;
    inputs.rest_endpoint = Attr::Null;
    inputs.web_ui_url = Attr::Null;
    inputs.status = Attr::Null;
    inputs.kubernetes_objects = Attr::Null;
    inputs.tls_certificates = Attr::Null;
    inputs.instance_id = Attr::Null;
    let mut digests = serde_json::Map::new();
    if let Attr::Known(config) = &mut inputs.flink_configuration {
        config.retain(|key, value| {
            let long = value.len() > RECORDED_VALUE_BYTES;
            if long {
                digests.insert(key.clone(), sha256_hex(value).into());
            }
            !long
        });
    }
    let mut log4j_digest = None;
    if let Attr::Known(logging) = &mut inputs.logging {
        if let Some(file) = logging
            .log4j_properties
            .known()
            .filter(|f| f.len() > RECORDED_VALUE_BYTES)
        {
            log4j_digest = Some(sha256_hex(file));
            logging.log4j_properties = Attr::Null;
        }
    }
    // Serialized in the model's field order, as before digests existed, so that a deployment
    // without long values records exactly what earlier releases did (no drift on upgrade).
    let mut text = serde_json::to_string(&inputs).unwrap_or_default();
    let mut append = |field: &str, value: serde_json::Value| {
        if let Some(fields) = text.strip_suffix('}') {
            text = format!("{fields},\"{field}\":{value}}}");
        }
    };
    if !digests.is_empty() {
        append(DIGESTS_FIELD, serde_json::Value::Object(digests));
    }
    if let Some(digest) = log4j_digest {
        append(LOG4J_DIGEST_FIELD, digest.into());
    }
    text
}

/// The inputs a deployment's ConfigMap records (for import, and the savepoints it took), with
/// the values recorded by digest taken from its `config.yaml` where they match (a value that no
/// longer does is left out, so the next plan shows it).
pub fn recorded_inputs(observed: &[(Kind, kube::api::DynamicObject)]) -> Option<Model> {
    let config_map = observed
        .iter()
        .filter(|(kind, _)| *kind == Kind::ConfigMap)
        .find(|(_, o)| {
            o.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(INPUTS_ANNOTATION))
        })
        .map(|(_, o)| o)?;
    let text = config_map
        .metadata
        .annotations
        .as_ref()?
        .get(INPUTS_ANNOTATION)?;
    let mut json: serde_json::Value = serde_json::from_str(text).ok()?;
    let digests = json
        .as_object_mut()
        .and_then(|fields| fields.remove(DIGESTS_FIELD));
    let log4j_digest = json
        .as_object_mut()
        .and_then(|fields| fields.remove(LOG4J_DIGEST_FIELD));
    let mut model: Model = serde_json::from_value(json).ok()?;
    // The file as the ConfigMap holds it, when it is still the one recorded.
    if let (Some(digest), Attr::Known(logging)) = (log4j_digest, &mut model.logging) {
        if let Some(file) = config_map.data["data"][objects::LOG4J_FILE]
            .as_str()
            .filter(|file| digest.as_str() == Some(&sha256_hex(file)))
        {
            logging.log4j_properties = Attr::Known(file.to_string());
        }
    }
    if let (Some(serde_json::Value::Object(digests)), Attr::Known(config)) =
        (digests, &mut model.flink_configuration)
    {
        let rendered = config_map.data["data"]["config.yaml"]
            .as_str()
            .map(flink::yaml::from_config_yaml)
            .unwrap_or_default();
        for (key, digest) in digests {
            if let Some(value) = rendered
                .get(&key)
                .filter(|v| digest.as_str() == Some(&sha256_hex(v)))
            {
                config.insert(key, value.clone());
            }
        }
    }
    Some(model)
}

#[cfg(test)]
mod tests {
    use super::super::{computed, golden_tests};
    use super::*;
    use crate::schema::Diagnostics;
    use serde_json::json;

    /// A deployment with `flink_configuration`, planned: its model, rendering and diagnostics.
    fn planned(config: serde_json::Value) -> (Model, Rendered, Diagnostics) {
        let mut model = golden_tests::model(json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "https://repo.example.com/job.jar"},
            "flink_configuration": config,
        }));
        let mut diags = Diagnostics::default();
        let rendered = computed::fill(&mut model, None, Some(&mut diags)).expect("renders");
        (model, rendered, diags)
    }

    /// A deployment with `logging`, planned.
    fn planned_logging(logging: serde_json::Value) -> (Model, Rendered, Diagnostics) {
        let mut model = golden_tests::model(json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "https://repo.example.com/job.jar"},
            "logging": logging,
        }));
        let mut diags = Diagnostics::default();
        let rendered = computed::fill(&mut model, None, Some(&mut diags)).expect("renders");
        (model, rendered, diags)
    }

    /// A log4j2 properties file of about `bytes` bytes: a console appender and many loggers.
    fn log4j_file(bytes: usize) -> String {
        let mut file = String::from(
            "rootLogger.level = INFO\nrootLogger.appenderRef.console.ref = C\n\
             appender.console.name = C\nappender.console.type = Console\n\
             appender.console.layout.type = PatternLayout\n\
             appender.console.layout.pattern = %d %p %c - %m%n\n",
        );
        let mut i = 0;
        while file.len() < bytes {
            file.push_str(&format!(
                "logger.l{i}.name = com.example.module{i}\nlogger.l{i}.level = WARN\n"
            ));
            i += 1;
        }
        file
    }

    /// The ConfigMap as the cluster would hand it back.
    fn observed(rendered: &Rendered) -> Vec<(Kind, kube::api::DynamicObject)> {
        let config_map = rendered.objects.first().expect("a ConfigMap");
        assert_eq!(config_map.kind, Kind::ConfigMap);
        let object = serde_json::from_value(config_map.manifest.clone()).expect("an object");
        vec![(Kind::ConfigMap, object)]
    }

    fn inputs_bytes(rendered: &Rendered) -> usize {
        rendered.objects[0].manifest["metadata"]["annotations"][INPUTS_ANNOTATION]
            .as_str()
            .map_or(0, str::len)
    }

    #[test]
    fn a_megabyte_value_is_recorded_by_digest_and_imported_from_config_yaml() {
        let big = "x".repeat(1_000_000);
        let (model, rendered, diags) =
            planned(json!({"pipeline.name": big, "parallelism.default": "2"}));
        assert!(!diags.has_errors(), "{diags:?}");
        assert!(
            inputs_bytes(&rendered) < 16 * 1024,
            "{}",
            inputs_bytes(&rendered)
        );
        let annotations: Vec<(String, String)> = rendered.objects[0].manifest["metadata"]
            ["annotations"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        assert!(
            kube_rules::annotations_size(annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                < kube_rules::ANNOTATIONS_LIMIT
        );
        let recorded = recorded_inputs(&observed(&rendered)).expect("recorded inputs");
        assert_eq!(recorded.flink_configuration, model.flink_configuration);
        assert_eq!(recorded.name, model.name);
    }

    #[test]
    fn a_value_edited_in_the_config_map_is_left_out_of_an_import() {
        let (_, rendered, _) =
            planned(json!({"pipeline.name": "y".repeat(5_000), "parallelism.default": "2"}));
        let mut observed = observed(&rendered);
        let data = &mut observed[0].1.data["data"]["config.yaml"];
        *data = data.as_str().unwrap().replace("yyyy", "zzzz").into();
        let recorded = recorded_inputs(&observed).expect("recorded inputs");
        let config = recorded.flink_configuration.known().unwrap();
        assert_eq!(
            config.get("parallelism.default").map(String::as_str),
            Some("2")
        );
        assert!(!config.contains_key("pipeline.name"));
    }

    #[test]
    fn short_values_are_recorded_as_they_are() {
        let (_, rendered, _) = planned(json!({"pipeline.name": "n".repeat(RECORDED_VALUE_BYTES)}));
        let text = rendered.objects[0].manifest["metadata"]["annotations"][INPUTS_ANNOTATION]
            .as_str()
            .unwrap();
        assert!(!text.contains(DIGESTS_FIELD));
        assert!(text.contains(&"n".repeat(RECORDED_VALUE_BYTES)));
    }

    #[test]
    fn configuration_past_a_config_maps_megabyte_is_a_plan_error() {
        let (_, _, diags) = planned(json!({"pipeline.name": "x".repeat(kube_rules::DATA_LIMIT)}));
        let error = diags
            .0
            .iter()
            .find(|d| d.summary == "Flink configuration too large for a ConfigMap")
            .expect("an error");
        assert_eq!(
            error.path.as_ref().unwrap().to_string(),
            "flink_configuration"
        );
        assert!(
            error.detail.contains("at most 1048576 bytes"),
            "{}",
            error.detail
        );
    }

    #[test]
    fn inputs_past_their_budget_are_a_plan_error() {
        let mut model = golden_tests::model(json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "https://repo.example.com/job.jar"},
            "pod": {"env": {"BIG": "e".repeat(INPUTS_LIMIT)}},
        }));
        let mut diags = Diagnostics::default();
        computed::fill(&mut model, None, Some(&mut diags)).expect("renders");
        let error = diags
            .0
            .iter()
            .find(|d| d.summary == "Deployment inputs too large")
            .expect("an error");
        assert!(
            error.detail.contains("The largest is pod"),
            "{}",
            error.detail
        );
    }

    #[test]
    fn a_large_log4j_file_is_recorded_by_digest_and_imported_from_the_config_map() {
        let file = log4j_file(200 * 1024);
        let (model, rendered, diags) = planned_logging(json!({"log4j_properties": file}));
        assert!(!diags.has_errors(), "{diags:?}");
        assert_eq!(
            rendered.objects[0].manifest["data"][objects::LOG4J_FILE],
            file.as_str()
        );
        let recorded_bytes = inputs_bytes(&rendered);
        assert!(recorded_bytes < 16 * 1024, "{recorded_bytes}");
        let text = rendered.objects[0].manifest["metadata"]["annotations"][INPUTS_ANNOTATION]
            .as_str()
            .unwrap();
        assert!(text.contains(&format!(
            "\"{LOG4J_DIGEST_FIELD}\":\"{}\"",
            sha256_hex(&file)
        )));
        let recorded = recorded_inputs(&observed(&rendered)).expect("recorded inputs");
        assert_eq!(recorded.logging, model.logging);
        assert_eq!(
            recorded.logging.known().unwrap().log4j_properties.known(),
            Some(&file)
        );

        // Edited in the ConfigMap: no longer the file recorded, so import leaves it out.
        let mut edited = observed(&rendered);
        let data = &mut edited[0].1.data["data"][objects::LOG4J_FILE];
        *data = data.as_str().unwrap().replace("WARN", "DEBUG").into();
        let recorded = recorded_inputs(&edited).expect("recorded inputs");
        assert!(recorded.logging.known().unwrap().log4j_properties.is_null());
    }

    #[test]
    fn a_short_log4j_file_is_recorded_as_it_is_and_levels_record_what_they_did() {
        let file = log4j_file(300);
        let (model, rendered, _) = planned_logging(json!({"log4j_properties": file}));
        let text = rendered.objects[0].manifest["metadata"]["annotations"][INPUTS_ANNOTATION]
            .as_str()
            .unwrap();
        assert!(!text.contains(LOG4J_DIGEST_FIELD), "{text}");
        let recorded = recorded_inputs(&observed(&rendered)).expect("recorded inputs");
        assert_eq!(recorded.logging, model.logging);
        // Without a file the record has no log4j_properties field at all, as before it existed.
        let (_, rendered, _) = planned_logging(json!({"root_level": "WARN"}));
        let text = rendered.objects[0].manifest["metadata"]["annotations"][INPUTS_ANNOTATION]
            .as_str()
            .unwrap();
        assert!(
            text.contains("\"logging\":{\"root_level\":\"WARN\",\"loggers\":null}"),
            "{text}"
        );
    }

    #[test]
    fn a_changed_log4j_file_rolls_the_pods() {
        let hash = |rendered: &Rendered| {
            rendered
                .objects
                .iter()
                .filter(|o| o.kind == Kind::Deployment)
                .map(|o| o.manifest["spec"]["template"]["metadata"]["annotations"].to_string())
                .collect::<Vec<_>>()
        };
        let (_, a, _) = planned_logging(json!({"log4j_properties": log4j_file(400)}));
        let (_, b, _) =
            planned_logging(json!({"log4j_properties": log4j_file(400).replace("WARN", "ERROR")}));
        let (_, levels, _) = planned_logging(json!({"root_level": "INFO"}));
        assert_eq!(hash(&a).len(), 2);
        assert_ne!(hash(&a), hash(&b));
        assert_ne!(hash(&a), hash(&levels));
        assert_eq!(
            hash(&a),
            hash(&planned_logging(json!({"log4j_properties": log4j_file(400)})).1)
        );
    }

    #[test]
    fn a_log4j_file_past_a_config_maps_megabyte_is_an_error_on_it() {
        let (_, _, diags) =
            planned_logging(json!({"log4j_properties": log4j_file(kube_rules::DATA_LIMIT)}));
        let error = diags
            .0
            .iter()
            .find(|d| d.summary == "Logging file too large for a ConfigMap")
            .expect("an error");
        assert_eq!(
            error.path.as_ref().unwrap().to_string(),
            "logging.log4j_properties"
        );
        assert!(
            error.detail.contains("at most 1048576 bytes"),
            "{}",
            error.detail
        );
    }

    #[test]
    fn a_log4j_file_java_cannot_read_is_a_plan_error_on_it() {
        let (_, _, diags) = planned_logging(
            json!({"log4j_properties": "rootLogger.level = INFO\nappender.c.layout.pattern = \\u00g\n"}),
        );
        let error = diags
            .0
            .iter()
            .find(|d| d.summary == "Logging file is not Java properties")
            .expect("an error");
        assert_eq!(
            error.path.as_ref().unwrap().to_string(),
            "logging.log4j_properties"
        );
        assert!(error.detail.starts_with("Line 2:"), "{}", error.detail);
    }
}
