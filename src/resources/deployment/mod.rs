//! `flink_deployment`: a Flink application on Kubernetes, as a pipeline of stages, each in its
//! own file and each a type:
//!
//! - [`model`]: what the user wrote (`Model`, the schema), read through the typed words of
//!   [`states`] (`State`, `UpgradeStrategy`, `RestoreStrategy`, savepoint `Reason`);
//! - [`resolve`]: defaults, blob storage, high availability and TLS folded in (`Resolved`), the
//!   pending changes of `upgrade_strategy = "NONE"` kept back ([`pending`]);
//! - [`rendering`]: Flink's configuration (from [`flink_input`]), the log4j file and the
//!   Kubernetes objects (`Rendered`, built by [`objects`] and [`tls`] over the fixed names of
//!   [`layout`], with the Flink keys [`secret_configuration`] hands over from Secrets, and the
//!   Ingress of [`ingress`]);
//! - [`computed`]: the computed attributes, written once from one rendering.
//!
//! Plan ([`plan`]) and apply ([`apply`]) decide what happens to the running job by comparing the
//! prior and planned renderings ([`lifecycle`], pure); apply carries it out with Flink
//! ([`rollout`]: savepoints, cancels, what an ended job kept; [`rescale`]: a parallelism the
//! running job takes in place) and waits for the job ([`status`]).
//! The TLS material's IO is [`tls_material`]'s; the way to the JobManager's REST API is
//! [`reach`]'s, over the pods [`jobmanager_pods`] finds. Read reports drift of every owned object,
//! import rebuilds the state from the inputs the ConfigMap records, and [`snapshots`] serves
//! `flink_savepoint`.

mod apply;
mod artifacts;
mod attributes;
mod checks;
mod computed;
mod destroy;
mod flink_input;
#[cfg(test)]
mod golden_tests;
mod ingress;
mod jobmanager_pods;
mod layout;
mod lifecycle;
mod model;
mod network_policy;
mod objects;
mod observe;
mod pending;
mod phases;
mod plan;
mod plugins;
mod pod_template;
mod predecessor;
mod rbac;
mod reach;
mod rendering;
mod rescale;
mod resolve;
#[cfg(test)]
mod restart_scenario_tests;
mod rollout;
mod savepoint_history;
mod secret_configuration;
pub(crate) mod snapshots;
mod states;
mod status;
mod template_checks;
mod template_merge;
mod tls;
mod tls_material;
mod toleration_checks;

use super::typed::{Observed, TypedResource};
use super::{owned, Context};
use crate::schema::{Diagnostics, Schema};
use crate::value::{self, Value};
use async_trait::async_trait;
pub(crate) use attributes::{duration_check, duration_of};
use model::Model;
pub use rbac::{
    cluster_config_map, ha_config_map_selector, job_config_map, rules as kubernetes_ha_rules,
    Component as HaComponent, HaRule,
};
pub use resolve::job_id_of;

/// The `flink_deployment` resource type.
pub struct FlinkDeployment;

const TYPE: &str = "flink_deployment";

/// The deployment id: a name-based UUID of namespace and name. Terraform plans twice (at plan and
/// again at apply), so a random id could not be known at plan; a derived one is, and with it every
/// derived directory and key. A deployment created again under the same name finds its old state
/// directories, as VVP's would not: documented on `id`.
pub fn deployment_id(namespace: &str, name: &str) -> String {
    use sha2::Digest;
    let digest =
        sha2::Sha256::digest(format!("flinkops/flink_deployment:{namespace}/{name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    crate::value::uuid(bytes, 5)
}

#[async_trait]
impl TypedResource for FlinkDeployment {
    type Model = Model;
    const TYPE: &'static str = TYPE;

    fn schema(&self) -> Schema {
        attributes::schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Ok(model) = value::from_value::<Model>(config) {
            checks::lifecycle(&model, diags);
            checks::kubernetes(&model, diags);
            checks::logging(&model, diags);
        }
    }

    async fn plan(
        &self,
        ctx: &Context,
        prior: Option<&Model>,
        planned: &mut Model,
        diags: &mut Diagnostics,
    ) {
        match prior {
            None => {
                plan::create(planned, diags);
                if let Some(owner) = layout::owner_of(planned) {
                    owned::refuse_taken_at_plan(ctx, &owner, layout::KINDS, TYPE, diags).await;
                }
                // Objects of another resource are no predecessor of this one.
                if !diags.has_errors() {
                    match predecessor::Replaced::from_private(&ctx.private.given) {
                        // Its destroy comes first, and the final savepoint is found at apply.
                        Some(replaced) if replaced.final_savepoint => {
                            plan::start_after_final_savepoint(planned)
                        }
                        replaced => {
                            let more = replaced.map(|r| r.directories).unwrap_or_default();
                            let lookup = predecessor::find(ctx, planned, &more).await;
                            plan::start_from_predecessor(planned, lookup, diags);
                        }
                    }
                }
            }
            Some(prior) => {
                if let Some(owner) = layout::owner_of(prior) {
                    ctx.seen.remember(&owner);
                }
                plan::update(prior, planned, diags);
                // A new namespace or name replaces the deployment: Terraform plans the
                // replacement again without the prior state, given what this plan hands on.
                if let Some(replaced) = predecessor::Replaced::of(prior, planned) {
                    plan::warn_replacement(&replaced, diags);
                    ctx.private.hand_on(replaced.to_private());
                }
            }
        }
    }

    async fn apply(
        &self,
        ctx: &Context,
        prior: Option<&Model>,
        planned: Model,
        _config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Model> {
        apply::apply(ctx, prior, planned, diags).await
    }

    async fn read(
        &self,
        ctx: &Context,
        current: Model,
        diags: &mut Diagnostics,
    ) -> Observed<Model> {
        observe::read(ctx, current, diags).await
    }

    async fn delete(&self, ctx: &Context, prior: Model, diags: &mut Diagnostics) {
        destroy::destroy(ctx, &prior, diags).await;
    }

    async fn import(&self, ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Model> {
        observe::import(ctx, id, diags).await
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
