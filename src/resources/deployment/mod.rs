//! `flink_deployment`: a Flink application on Kubernetes. Plan renders the effective configuration
//! for the Flink version and reports every problem on the attribute (or `flink_configuration` key)
//! that caused it; apply converges the ConfigMap, ServiceAccount, Deployments and Services; read
//! reports drift of every owned object; import rebuilds the state from the inputs the ConfigMap
//! records.

mod checks;
#[cfg(test)]
mod golden_tests;
mod model;
mod objects;
mod rbac;
mod resolve;

use super::{cluster_objects, owned, Context, Resource};
use crate::flink::{self, Issue};
use crate::kubernetes::{DesiredObject, Kind};
use crate::schema::{plan::Plan, Diagnostics, Schema};
use crate::value::{self, Attr, Value};
use async_trait::async_trait;
use model::Model;
pub(crate) use resolve::job_id_of;
use resolve::Resolved;

/// The `flink_deployment` resource type.
pub struct FlinkDeployment;

const TYPE: &str = "flink_deployment";
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
pub(crate) fn deployment_id(namespace: &str, name: &str) -> String {
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
    configuration: flink::Rendered,
    objects: Vec<DesiredObject>,
    log_issues: Vec<Issue>,
}

fn render(d: &Resolved, model: &Model) -> Rendered {
    let configuration = flink::render(&resolve::render_input(d, objects::owned_keys(d)));
    let (log4j, log_issues) = match flink::logging::render_log4j_console(&d.root_level, &d.loggers)
    {
        Ok(text) => (text, Vec::new()),
        Err(issues) => (String::new(), issues),
    };
    let mut objects = objects::desired(d, &configuration.config_yaml, &log4j);
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
        configuration,
        objects,
        log_issues,
    }
}

/// The resource's inputs (and its id), recorded on the ConfigMap so import can rebuild the state.
fn inputs_json(model: &Model) -> String {
    let mut inputs = model.clone();
    inputs.job_id = Attr::Null;
    inputs.effective_flink_configuration = Attr::Null;
    inputs.rest_endpoint = Attr::Null;
    inputs.kubernetes_objects = Attr::Null;
    serde_json::to_string(&inputs).unwrap_or_default()
}

/// Fills every derived value it can; returns the rendering when everything is known.
fn derive(model: &mut Model, diags: Option<&mut Diagnostics>) -> Option<Rendered> {
    if let Some(id) = model.id.known() {
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
    let Some(resolved) = resolve::resolve(model) else {
        model.effective_flink_configuration = Attr::Unknown;
        model.rest_endpoint = Attr::Unknown;
        model.kubernetes_objects = Attr::Unknown;
        return None;
    };
    let rendered = render(&resolved, model);
    if let Some(diags) = diags {
        checks::report(&rendered.configuration.issues, model, diags);
        checks::report(&rendered.log_issues, model, diags);
    }
    model.effective_flink_configuration =
        Attr::Known(flink::redact::redact(&rendered.configuration.configuration));
    model.rest_endpoint = Attr::Known(objects::rest_endpoint(&resolved));
    model.kubernetes_objects = value::from_value(&cluster_objects::in_sync(&rendered.objects))
        .map_or(Attr::Unknown, Attr::Known);
    Some(rendered)
}

impl FlinkDeployment {
    async fn converge(&self, ctx: &Context, planned: &Value, diags: &mut Diagnostics) -> Value {
        let Some(mut model) = read_model(planned, diags) else {
            return planned.clone();
        };
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
                let owner = objects::owner(ns, name);
                owned::apply(ctx, &owner, objects::KINDS, &r.objects, TYPE, diags).await;
            }
            None => diags.error(
                "Unknown values at apply",
                "Some attributes of the deployment are still unknown at apply; this is a provider bug.",
            ),
        }
        // Returned even on failure, so whatever was created is recorded in state.
        state
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
        derive(&mut model, Some(diags));
        plan.planned = write_model(&model, diags);
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        self.converge(ctx, planned, diags).await
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
        if !owned::has(&observed, Kind::ConfigMap) && !owned::has(&observed, Kind::Deployment) {
            return Value::Null;
        }
        if let Some(rendered) = derive(&mut model, None) {
            let status = cluster_objects::observe(&rendered.objects, &observed, &[]);
            model.kubernetes_objects =
                value::from_value(&status).map_or(Attr::Unknown, Attr::Known);
        }
        write_model(&model, diags)
    }

    async fn update(
        &self,
        ctx: &Context,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        self.converge(ctx, planned, diags).await
    }

    async fn delete(&self, ctx: &Context, prior: &Value, diags: &mut Diagnostics) {
        let Some(model) = read_model(prior, diags) else {
            return;
        };
        let (Some(ns), Some(name)) = (model.namespace.known(), model.name.known()) else {
            return;
        };
        owned::delete(ctx, &objects::owner(ns, name), objects::KINDS, TYPE, diags).await;
        // Flink's own HA ConfigMaps carry no owner reference; they go by their labels.
        if let (Some(id), Some(cluster)) = (model.id.known(), ctx.cluster(diags).await) {
            let selector = rbac::ha_config_map_selector(id);
            if let Err(e) = cluster
                .delete_labelled(ns, Kind::ConfigMap, &selector)
                .await
            {
                diags.error("Deleting Flink's HA ConfigMaps failed", e.to_string());
            }
        }
    }

    async fn import(&self, ctx: &Context, id: &str, diags: &mut Diagnostics) -> Value {
        let Some((ns, name)) = owned::import_id(id, TYPE, diags) else {
            return Value::Null;
        };
        let owner = objects::owner(ns, name);
        let Some(observed) = owned::observe(ctx, &owner, &[Kind::ConfigMap], TYPE, diags).await
        else {
            return Value::Null;
        };
        let inputs = observed
            .iter()
            .filter_map(|(_, o)| o.metadata.annotations.as_ref()?.get(INPUTS_ANNOTATION))
            .next();
        let Some(mut model) = inputs.and_then(|text| serde_json::from_str::<Model>(text).ok())
        else {
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
        derive(&mut model, None);
        write_model(&model, diags)
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
