//! The computed attributes of a deployment (pure): its defaults (`job_id`, `image`,
//! `number_of_task_managers`), then, from one rendering of the spec that runs (pending changes kept
//! back), `effective_flink_configuration` as Flink gets it, `rest_endpoint`, `web_ui_url` and
//! `kubernetes_objects`. Plan, apply, read and import all end here.

use super::layout::Names;
use super::model::Model;
use super::objects;
use super::pending;
use super::rendering::{render, Rendered, TlsData};
use super::{checks, resolve, secret_configuration};
use crate::flink;
use crate::resources::cluster_objects;
use crate::schema::Diagnostics;
use crate::value::{self, Attr};

/// The names Flink reads the restore path under (1.x, 2.x).
const RESTORE_KEYS: &[&str] = &["execution.savepoint.path", "execution.state-recovery.path"];

/// Fills every computed attribute it can, from one rendering of the spec that runs; returns that
/// rendering when everything is known. With `diags`, the rendering's issues are reported on the
/// attributes that caused them; with `tls_data`, the TLS Secret carries the issued material.
pub fn fill(
    model: &mut Model,
    tls_data: Option<TlsData>,
    diags: Option<&mut Diagnostics>,
) -> Option<Rendered> {
    fill_defaults(model);
    // What runs is rendered: a change upgrade_strategy NONE keeps back is not in the objects.
    let (tls_enabled, resolved) = {
        let running = pending::running_spec(model);
        (resolve::tls_enabled(&running), resolve::resolve(&running))
    };
    match tls_enabled {
        Some(false) => model.tls_certificates = Attr::Null,
        None => model.tls_certificates = Attr::Unknown,
        Some(true) => {}
    }
    let Some(resolved) = resolved else {
        model.effective_flink_configuration = Attr::Unknown;
        model.rest_endpoint = Attr::Unknown;
        model.web_ui_url = Attr::Unknown;
        model.kubernetes_objects = Attr::Unknown;
        return None;
    };
    let rendered = render(&resolved, model, tls_data);
    if let Some(diags) = diags {
        report(&rendered, model, diags);
    }
    fill_rendered(model, &rendered);
    Some(rendered)
}

/// Reports a rendering's issues on the attributes of `model` that caused them.
pub fn report(rendered: &Rendered, model: &Model, diags: &mut Diagnostics) {
    checks::report(&rendered.configuration.issues, model, diags);
    checks::report(&rendered.log_issues, model, diags);
    checks::object_sizes(rendered, diags);
    for c in objects::template_conflicts(&rendered.resolved) {
        let path = super::template_checks::template_path(c.attribute, &c.conflict.path);
        diags.attribute_error(path, c.conflict.summary, c.conflict.detail);
    }
}

/// The spec that runs of `model`, resolved, without rendering it: what issuing TLS material needs.
pub fn resolved(model: &Model) -> Option<resolve::Resolved> {
    let mut model = model.clone();
    fill_defaults(&mut model);
    resolve::resolve(&pending::running_spec(&model))
}

/// The defaults computed from other attributes: `job_id` from `id`, `image` from
/// `flink_version`, `number_of_task_managers` from parallelism and slots.
pub fn fill_defaults(model: &mut Model) {
    if let (false, Some(id)) = (matches!(model.job_id, Attr::Known(_)), model.id.known()) {
        model.job_id = Attr::Known(resolve::job_id_of(id));
    }
    if !matches!(model.image, Attr::Known(_)) {
        model.image = match model
            .flink_version
            .known()
            .map(|v| flink::FlinkVersion::release_of(v))
        {
            Some(Ok(release)) => Attr::Known(flink::versions::official_image(release)),
            _ => Attr::Unknown,
        };
    }
    if !matches!(model.number_of_task_managers, Attr::Known(_)) {
        model.number_of_task_managers = match (model.parallelism.known(), model.task_slots.known())
        {
            (Some(p), Some(s)) => Attr::Known(resolve::default_task_managers(*p, *s)),
            _ => Attr::Unknown,
        };
    }
}

/// The attributes that show the rendering: the effective configuration, the REST endpoint and
/// the objects, all in sync as planned.
fn fill_rendered(model: &mut Model, rendered: &Rendered) {
    let resolved = &rendered.resolved;
    let mut effective = rendered.configuration.configuration.clone();
    if resolved.tls.is_some() {
        let from_secret = format!("(from Secret {})", Names::of(&resolved.name).tls_secret);
        for (key, _) in flink::tls::ssl_dynamic_properties(&from_secret, &from_secret, None) {
            effective.insert(key, from_secret.clone());
        }
    }
    // The restore path is `last_savepoint`'s to show: at plan it may be a savepoint not yet taken.
    if resolved.restore_from.is_some() {
        for key in RESTORE_KEYS {
            effective.remove(*key);
        }
    }
    let mut effective = flink::redact::redact(&effective);
    // Not redacted even where the key is sensitive: what shows is where the value is, not it.
    for (key, source) in &resolved.configuration_from_secrets {
        effective.insert(key.clone(), secret_configuration::shown_as(source));
    }
    model.effective_flink_configuration = Attr::Known(effective);
    model.rest_endpoint = Attr::Known(objects::rest_endpoint(resolved));
    model.web_ui_url = resolved
        .ingress
        .as_ref()
        .and_then(super::ingress::web_ui_url)
        .map_or(Attr::Null, Attr::Known);
    model.kubernetes_objects = value::from_value(&cluster_objects::in_sync(&rendered.objects))
        .map_or(Attr::Unknown, Attr::Known);
}
