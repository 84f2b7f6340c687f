//! The rendering stage (pure): a [`Resolved`] deployment turned into Flink's configuration (with
//! its issues and the TLS options Flink gets from the Secret), the log4j file and the Kubernetes
//! objects, the ConfigMap recording the resource's inputs so import can rebuild the state.

use super::flink_input;
use super::layout::Names;
use super::model::Model;
use super::objects;
use super::resolve::Resolved;
use crate::flink::{self, Issue};
use crate::kubernetes::{DesiredObject, Kind};
use crate::value::Attr;

/// The ConfigMap annotation that records the resource's inputs, for import.
const INPUTS_ANNOTATION: &str = "flink.flinkops.io/inputs";

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
    let (log4j, log_issues) = match flink::logging::render_log4j_console(&d.root_level, &d.loggers)
    {
        Ok(text) => (text, Vec::new()),
        Err(issues) => (String::new(), issues),
    };
    let mut objects = objects::desired(d, &configuration.config_yaml, &log4j, tls_data);
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

/// The resource's inputs (its id and job id too), recorded on the ConfigMap so import can rebuild the state.
pub fn inputs_json(model: &Model) -> String {
    let mut inputs = model.clone();
    inputs.effective_flink_configuration = Attr::Null;
    inputs.rest_endpoint = Attr::Null;
    inputs.web_ui_url = Attr::Null;
    inputs.status = Attr::Null;
    inputs.kubernetes_objects = Attr::Null;
    inputs.tls_certificates = Attr::Null;
    serde_json::to_string(&inputs).unwrap_or_default()
}

/// The inputs a deployment's ConfigMap records (for import, and the savepoints it took).
pub fn recorded_inputs(observed: &[(Kind, kube::api::DynamicObject)]) -> Option<Model> {
    let text = observed
        .iter()
        .filter(|(kind, _)| *kind == Kind::ConfigMap)
        .find_map(|(_, o)| o.metadata.annotations.as_ref()?.get(INPUTS_ANNOTATION))?;
    serde_json::from_str(text).ok()
}
