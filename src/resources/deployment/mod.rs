//! `flink_deployment`: a Flink application on Kubernetes. Plan renders the effective configuration
//! for the Flink version and reports every problem on the attribute (or `flink_configuration` key)
//! that caused it; apply converges the ConfigMap, ServiceAccount, Deployments and Services; read
//! reports drift of every owned object; import rebuilds the state from the inputs the ConfigMap
//! records.

mod checks;
#[cfg(test)]
mod golden_tests;
mod jobmanager_pods;
mod lifecycle;
mod model;
mod objects;
mod pending;
mod rbac;
mod reach;
mod resolve;
#[cfg(test)]
mod restart_scenario_tests;
mod rollout;
pub(crate) mod snapshots;
mod status;
mod tls;

use super::{certificate_authority, cluster_objects, owned, timeouts, Context, Resource};
use crate::flink::{self, Issue};
use crate::kubernetes::{DesiredObject, Kind};
use crate::schema::{plan::Plan, AttributePath, Diagnostics, Schema};
use crate::value::{self, Attr, Value};
use async_trait::async_trait;
use model::Model;
pub(crate) use model::{duration_check, duration_of};
pub use rbac::{ha_config_map_selector, KUBERNETES_HA_RULES};
pub(crate) use resolve::job_id_of;
use resolve::Resolved;

/// The `flink_deployment` resource type.
pub struct FlinkDeployment;

const TYPE: &str = "flink_deployment";
/// The names Flink reads the restore path under (1.x, 2.x).
const RESTORE_KEYS: &[&str] = &["execution.savepoint.path", "execution.state-recovery.path"];
/// The ConfigMap annotation that records the resource's inputs, for import.
const INPUTS_ANNOTATION: &str = "flink.flinkops.io/inputs";

fn read_model(value: &Value, diags: &mut Diagnostics) -> Option<Model> {
    super::read_model(TYPE, value, diags)
}

fn write_model(model: &Model, diags: &mut Diagnostics) -> Value {
    super::write_model(TYPE, &model::schema(), model, diags)
}

/// The deployment id: a name-based UUID of namespace and name. Terraform plans twice (at plan and
/// again at apply), so a random id could not be known at plan; a derived one is, and with it every
/// derived directory and key. A deployment created again under the same name finds its old state
/// directories, as VVP's would not: documented on `id`.
pub fn deployment_id(namespace: &str, name: &str) -> String {
    use sha2::Digest;
    let digest =
        sha2::Sha256::digest(format!("flinkops/flink_deployment:{namespace}/{name}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Everything a resolved deployment turns into.
struct Rendered {
    resolved: Resolved,
    configuration: flink::Rendered,
    objects: Vec<DesiredObject>,
    log_issues: Vec<Issue>,
}

fn render(
    d: &Resolved,
    model: &Model,
    tls_data: Option<serde_json::Map<String, serde_json::Value>>,
) -> Rendered {
    let mut configuration = flink::render(&resolve::render_input(d, objects::owned_keys(d)));
    let tls_secret = objects::Names::of(&d.name).tls_secret;
    for key in resolve::tls_overridden_keys(d) {
        configuration.issues.push(Issue::warning(
            &key,
            "Flink option overridden",
            format!(
                "`{key}` is overridden because TLS is on: Flink gets it from the Secret \
                 {tls_secret} as a dynamic property."
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
fn inputs_json(model: &Model) -> String {
    let mut inputs = model.clone();
    inputs.effective_flink_configuration = Attr::Null;
    inputs.rest_endpoint = Attr::Null;
    inputs.status = Attr::Null;
    inputs.kubernetes_objects = Attr::Null;
    inputs.tls_certificates = Attr::Null;
    serde_json::to_string(&inputs).unwrap_or_default()
}

/// The inputs a deployment's ConfigMap records (for import, and the savepoints it took).
fn recorded_inputs(observed: &[(Kind, kube::api::DynamicObject)]) -> Option<Model> {
    let text = observed
        .iter()
        .filter(|(kind, _)| *kind == Kind::ConfigMap)
        .find_map(|(_, o)| o.metadata.annotations.as_ref()?.get(INPUTS_ANNOTATION))?;
    serde_json::from_str(text).ok()
}

/// The TLS certificates the plan expects: the recorded ones unless they must be issued anew.
fn planned_certificates(prior: &Model, planned: &Model) -> Attr<model::TlsCertificates> {
    if !tls::enabled(planned) {
        return Attr::Null;
    }
    let secret_status = planned.name.known().and_then(|name| {
        let key = format!("Secret/{}", objects::Names::of(name).tls_secret);
        prior
            .kubernetes_objects
            .known()
            .and_then(|o| o.get(&key).cloned())
    });
    match tls::reissue_reason(
        prior,
        planned,
        secret_status.as_deref(),
        time::OffsetDateTime::now_utc(),
    ) {
        Some(reason) => {
            tracing::debug!(
                reason,
                "the deployment's TLS certificates will be issued anew"
            );
            Attr::Unknown
        }
        None => prior.tls_certificates.clone(),
    }
}

/// Fills every derived value it can; returns the rendering when everything is known.
fn derive(model: &mut Model, diags: Option<&mut Diagnostics>) -> Option<Rendered> {
    if let (false, Some(id)) = (matches!(model.job_id, Attr::Known(_)), model.id.known()) {
        model.job_id = Attr::Known(resolve::job_id_of(id));
    }
    if !matches!(model.image, Attr::Known(_)) {
        model.image = match model
            .flink_version
            .known()
            .map(|v| flink::FlinkVersion::parse(v))
        {
            Some(Ok(v)) => Attr::Known(v.default_image()),
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
        model.kubernetes_objects = Attr::Unknown;
        return None;
    };
    let rendered = render(&resolved, model, None);
    if let Some(diags) = diags {
        checks::report(&rendered.configuration.issues, model, diags);
        checks::report(&rendered.log_issues, model, diags);
    }
    let mut effective = rendered.configuration.configuration.clone();
    if resolved.tls.is_some() {
        let from_secret = format!(
            "(from Secret {})",
            objects::Names::of(&resolved.name).tls_secret
        );
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
    model.effective_flink_configuration = Attr::Known(flink::redact::redact(&effective));
    model.rest_endpoint = Attr::Known(objects::rest_endpoint(&resolved));
    model.kubernetes_objects = value::from_value(&cluster_objects::in_sync(&rendered.objects))
        .map_or(Attr::Unknown, Attr::Known);
    Some(rendered)
}

impl FlinkDeployment {
    async fn converge(
        &self,
        ctx: &Context,
        prior: Option<&Value>,
        planned: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let Some(mut model) = read_model(planned, diags) else {
            return planned.clone();
        };
        let prior_model = match prior {
            Some(p) => match read_model(p, diags) {
                Some(m) => Some(m),
                None => return p.clone(),
            },
            None => None,
        };
        let operation = match prior_model {
            Some(_) => timeouts::Operation::Update,
            None => timeouts::Operation::Create,
        };
        let deadline = timeouts::Deadline::start(&model.timeouts, operation);
        let mut taken = None;
        if let Some(prior_model) = &prior_model {
            let (step, directory) = lifecycle::transition(prior_model, &model);
            if model.pending_changes.is_unknown() {
                model.pending_changes =
                    pending::after(prior_model, &model, step == lifecycle::Before::Defer);
            }
            if !matches!(step, lifecycle::Before::Nothing | lifecycle::Before::Defer) {
                let Some(cluster) = ctx.cluster(diags).await else {
                    return prior.cloned().unwrap_or(Value::Null);
                };
                taken = rollout::before_rollout(
                    cluster,
                    step,
                    prior_model,
                    &model,
                    directory.as_deref(),
                    &deadline,
                    diags,
                )
                .await;
                if diags.has_errors() {
                    // Nothing rolled out: the job and the state stay as they were.
                    return prior.cloned().unwrap_or(Value::Null);
                }
            } else if lifecycle::reads_checkpoint(prior_model, &model, step) {
                // The job ended outside Terraform: its JobManager still knows its checkpoints.
                if let Some(cluster) = ctx.cluster(diags).await {
                    taken = rollout::retained_checkpoint(cluster, prior_model, &model, diags).await;
                }
                if diags.has_errors() {
                    return prior.cloned().unwrap_or(Value::Null);
                }
            }
        }
        rollout::record_savepoint(
            &mut model,
            prior_model.as_ref().unwrap_or(&Model::default()),
            taken,
        );
        if prior_model.is_none() {
            model.pending_changes = Attr::Null;
        }
        model.status = Attr::Known("PENDING".into());
        let mut tls_data = None;
        let material = {
            let running = pending::running_spec(&model);
            match tls::enabled(&running) {
                true => Some(self.tls_material(ctx, &running, diags).await),
                false => None,
            }
        };
        match material {
            Some(Some((certificates, data))) => {
                model.tls_certificates = Attr::Known(certificates);
                tls_data = Some(data);
            }
            // Nothing was applied: keep the state as planned but without certificates.
            Some(None) => {
                model.tls_certificates = Attr::Null;
                derive(&mut model, None);
                return write_model(&model, diags);
            }
            None => {}
        }
        let rendered = derive(&mut model, None);
        let state = write_model(&model, diags);
        match rendered {
            Some(r) if r.configuration.has_errors() => diags.error(
                "Invalid Flink configuration",
                "The configuration has errors; run terraform plan to see them.",
            ),
            Some(r) => {
                let (Some(ns), Some(name)) = (model.namespace.known(), model.name.known()) else {
                    return state;
                };
                let objects = match tls_data {
                    Some(data) => render(&r.resolved, &model, Some(data)).objects,
                    None => r.objects,
                };
                let owner = objects::owner(ns, name);
                owned::apply(ctx, &owner, objects::KINDS, &objects, TYPE, diags).await;
                if !diags.has_errors() {
                    if let Some(cluster) = ctx.cluster(diags).await {
                        let jobmanager = objects::Names::of(name).jobmanager;
                        let rollout = objects::rollout_of(&objects, &jobmanager);
                        let settled =
                            status::settle(cluster, &model, rollout.as_deref(), &deadline, diags);
                        model.status = Attr::Known(settled.await);
                        if model.state.known().map(String::as_str) == Some("CANCELLED") {
                            // A cancelled job starts afresh: Flink's HA data of it goes.
                            rollout::delete_ha_data(cluster, &model, diags).await;
                        }
                        return write_model(&model, diags);
                    }
                }
            }
            None => diags.error(
                "Unknown values at apply",
                "Some attributes of the deployment are still unknown at apply; this is a provider bug.",
            ),
        }
        // Returned even on failure, so whatever was created is recorded in state.
        state
    }

    /// The TLS Secret's data and what state records of it: the existing Secret's when the plan
    /// kept its certificates and it still holds them, else newly issued with the authority.
    async fn tls_material(
        &self,
        ctx: &Context,
        model: &Model,
        diags: &mut Diagnostics,
    ) -> Option<(
        model::TlsCertificates,
        serde_json::Map<String, serde_json::Value>,
    )> {
        let (ns, name) = (model.namespace.known()?, model.name.known()?);
        let secret_name = objects::Names::of(name).tls_secret;
        let owner = objects::owner(ns, name);
        let observed = owned::observe(ctx, &owner, &[Kind::Secret], TYPE, diags).await?;
        let existing = observed
            .iter()
            .map(|(_, o)| o)
            .find(|o| o.metadata.name.as_deref() == Some(secret_name.as_str()));
        if let (Some(recorded), Some(secret)) = (model.tls_certificates.known(), existing) {
            if tls::holds(secret, recorded) {
                return Some((recorded.clone(), tls::existing_data(secret)));
            }
        }
        let settings = model.tls.known()?;
        let Some(authority) = settings.authority.known() else {
            diags.attribute_error(
                AttributePath::root("tls").attr("authority"),
                "TLS needs a certificate authority",
                "Set tls.authority = flink_certificate_authority.x.spec.",
            );
            return None;
        };
        let ca_owner = certificate_authority::objects::owner(&authority.namespace, &authority.name);
        let ca_objects = owned::observe(ctx, &ca_owner, &[Kind::Secret], TYPE, diags).await?;
        let material = ca_objects
            .iter()
            .find(|(_, o)| o.metadata.name.as_deref() == Some(authority.secret_name.as_str()))
            .map(|(_, o)| certificate_authority::objects::material_of(o));
        let authority_material = match material {
            Some(Ok(m)) if m.ca.certificate_pem == authority.ca_certificate_pem => m,
            Some(Ok(_)) => {
                diags.attribute_error(
                    AttributePath::root("tls").attr("authority"),
                    "The certificate authority changed",
                    format!(
                        "Secret {}/{} holds a different CA than tls.authority names. Apply the \
                         flink_certificate_authority first, then this deployment.",
                        authority.namespace, authority.secret_name
                    ),
                );
                return None;
            }
            Some(Err(e)) => {
                diags.attribute_error(
                    AttributePath::root("tls").attr("authority"),
                    "Unusable certificate authority",
                    format!(
                        "Secret {}/{}: {e}. Apply the flink_certificate_authority to restore it.",
                        authority.namespace, authority.secret_name
                    ),
                );
                return None;
            }
            None => {
                diags.attribute_error(
                    AttributePath::root("tls").attr("authority"),
                    "Certificate authority not found",
                    format!(
                        "No Secret {}/{} of a flink_certificate_authority. Apply the authority \
                         first, and check that the provider may read Secrets in namespace {}.",
                        authority.namespace, authority.secret_name, authority.namespace
                    ),
                );
                return None;
            }
        };
        let mut probe = model.clone();
        let resolved = derive(&mut probe, None)?.resolved;
        let validity = settings
            .validity_period_hours
            .known()
            .copied()
            .unwrap_or(8760);
        let request = tls::request(&resolved, authority_material.algorithm, validity);
        match crate::tls::DeploymentMaterial::issue(&authority_material, &request) {
            Ok(material) => {
                tracing::info!(deployment = %name, "issued TLS certificates");
                Some((tls::certificates(&material), tls::secret_data(&material)))
            }
            Err(e) => {
                diags.error(
                    "Issuing the deployment's TLS certificates failed",
                    e.to_string(),
                );
                None
            }
        }
    }
}

#[async_trait]
impl Resource for FlinkDeployment {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn schema(&self) -> Schema {
        model::schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Ok(model) = value::from_value::<Model>(config) {
            checks::lifecycle(&model, diags);
        }
    }

    async fn modify_plan(
        &self,
        _ctx: &Context,
        prior: &Value,
        _config: &Value,
        plan: &mut Plan,
        diags: &mut Diagnostics,
    ) {
        let Some(mut model) = read_model(&plan.planned, diags) else {
            return;
        };
        if prior.is_null() {
            if let (Some(ns), Some(name)) = (model.namespace.known(), model.name.known()) {
                model.id = Attr::Known(deployment_id(ns, name));
            }
        }
        let prior_model = if prior.is_null() {
            Model::default()
        } else {
            read_model(prior, diags).unwrap_or_default()
        };
        model.tls_certificates = planned_certificates(&prior_model, &model);
        rollout::record_savepoint(&mut model, &prior_model, None);
        derive(&mut model, Some(diags));
        if prior.is_null() {
            model.pending_changes = Attr::Null;
            lifecycle::warn_stateful_without_directory(&model, diags);
        } else {
            lifecycle::plan_transition(&prior_model, &mut model, diags);
        }
        if pending::waits(&model) {
            model.tls_certificates =
                planned_certificates(&prior_model, &pending::running_spec(&model));
            derive(&mut model, None);
        }
        plan.planned = write_model(&model, diags);
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        self.converge(ctx, None, planned, diags).await
    }

    async fn read(&self, ctx: &Context, current: &Value, diags: &mut Diagnostics) -> Value {
        let Some(mut model) = read_model(current, diags) else {
            return current.clone();
        };
        let (Some(ns), Some(name)) = (
            model.namespace.known().cloned(),
            model.name.known().cloned(),
        ) else {
            return current.clone();
        };
        let owner = objects::owner(&ns, &name);
        let Some(observed) = owned::observe(ctx, &owner, objects::KINDS, TYPE, diags).await else {
            return current.clone();
        };
        // Gone only when none of its objects is left: a ServiceAccount or Service left behind is
        // still its own, so the plan recreates what is missing and destroy removes the rest.
        if observed.is_empty() {
            return Value::Null;
        }
        if let Some(recorded) = recorded_inputs(&observed) {
            rollout::adopt_recorded(&mut model, &recorded);
        }
        if let Some(rendered) = derive(&mut model, None) {
            let status = cluster_objects::observe(&rendered.objects, &observed, &[Kind::Secret]);
            model.kubernetes_objects =
                value::from_value(&status).map_or(Attr::Unknown, Attr::Known);
            mark_tls_secret(&mut model, &name, &observed);
        }
        if let Some(cluster) = ctx.cluster(diags).await {
            let observed = status::observe(cluster, &model).await;
            if let Some(drifted) = lifecycle::drifted_state(&model, &observed) {
                model.state = Attr::Known(drifted.into());
            }
            model.status = Attr::Known(observed);
        }
        write_model(&model, diags)
    }

    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        self.converge(ctx, Some(prior), planned, diags).await
    }

    async fn delete(&self, ctx: &Context, prior: &Value, diags: &mut Diagnostics) {
        let Some(model) = read_model(prior, diags) else {
            return;
        };
        let (Some(ns), Some(name)) = (model.namespace.known(), model.name.known()) else {
            return;
        };
        if let Some(cluster) = ctx.cluster(diags).await {
            let mut probe = model.clone();
            let directory = derive(&mut probe, None).and_then(|r| {
                lifecycle::savepoint_directory(&r.configuration.configuration).map(String::from)
            });
            let deadline = timeouts::Deadline::start(&model.timeouts, timeouts::Operation::Delete);
            rollout::final_savepoint(cluster, &model, directory.as_deref(), &deadline, diags).await;
            if diags.has_errors() {
                return;
            }
        }
        owned::delete(ctx, &objects::owner(ns, name), objects::KINDS, TYPE, diags).await;
        // Flink's own HA ConfigMaps carry no owner reference; they go by their labels.
        if let Some(cluster) = ctx.cluster(diags).await {
            rollout::delete_ha_data(cluster, &model, diags).await;
        }
    }

    async fn import(&self, ctx: &Context, id: &str, diags: &mut Diagnostics) -> Value {
        let Some((ns, name)) = owned::import_id(id, TYPE, diags) else {
            return Value::Null;
        };
        let owner = objects::owner(ns, name);
        let Some(observed) =
            owned::observe(ctx, &owner, &[Kind::ConfigMap, Kind::Secret], TYPE, diags).await
        else {
            return Value::Null;
        };
        let Some(mut model) = recorded_inputs(&observed) else {
            diags.error(
                "Deployment not found",
                format!(
                    "No ConfigMap {} with the provider's recorded inputs in namespace {ns}. Check \
                     the id (<namespace>/<name>), or create the deployment with terraform apply.",
                    objects::Names::of(name).config_map
                ),
            );
            return Value::Null;
        };
        if tls::enabled(&model) {
            let authority_pem = model
                .tls
                .known()
                .and_then(|t| t.authority.known())
                .map(|a| a.ca_certificate_pem.clone())
                .unwrap_or_default();
            let secret_name = objects::Names::of(name).tls_secret;
            model.tls_certificates = observed
                .iter()
                .find(|(k, o)| {
                    *k == Kind::Secret && o.metadata.name.as_deref() == Some(&secret_name)
                })
                .and_then(|(_, secret)| tls::certificates_in(secret, &authority_pem))
                .map_or(Attr::Null, Attr::Known);
        }
        derive(&mut model, None);
        write_model(&model, diags)
    }
}

/// A TLS Secret present but holding other certificates than state records is drift too.
fn mark_tls_secret(model: &mut Model, name: &str, observed: &[(Kind, kube::api::DynamicObject)]) {
    let secret_name = objects::Names::of(name).tls_secret;
    let (Attr::Known(recorded), Attr::Known(status)) =
        (&model.tls_certificates, &mut model.kubernetes_objects)
    else {
        return;
    };
    let secret = observed
        .iter()
        .find(|(k, o)| *k == Kind::Secret && o.metadata.name.as_deref() == Some(&secret_name));
    if let Some((_, secret)) = secret {
        if !tls::holds(secret, recorded) {
            status.insert(
                format!("Secret/{secret_name}"),
                tls::CERTIFICATES_CHANGED.to_string(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct_per_namespace() {
        let a = deployment_id("team-a", "wordcount");
        assert_eq!(a, deployment_id("team-a", "wordcount"));
        assert_ne!(a, deployment_id("team-b", "wordcount"));
        assert_eq!(a.len(), 36);
        assert_eq!(resolve::job_id_of(&a).len(), 32);
    }
}
