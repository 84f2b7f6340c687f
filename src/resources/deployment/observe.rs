//! Read and import of a deployment (IO): what its owned objects show (drift of each one, the
//! savepoints its ConfigMap records beyond state's, a TLS Secret holding other certificates) and
//! what its JobManager reports of the job; objects another resource instance marked are reported
//! as such, and an import takes the marker its objects carry.

use super::computed;
use super::layout;
use super::lifecycle;
use super::model::Model;
use super::rendering;
use super::savepoint_history;
use super::status;
use super::tls;
use super::TYPE;
use crate::kubernetes::Kind;
use crate::resources::typed::Observed;
use crate::resources::{cluster_objects, owned, Context};
use crate::schema::Diagnostics;
use crate::value::{self, Attr};

/// The deployment as the cluster has it: drift of every owned object, the job's status, and
/// the state of a job that ended outside Terraform. Gone only when none of its objects is left:
/// a ServiceAccount or Service left behind is still its own, so the plan recreates what is
/// missing and destroy removes the rest.
pub async fn read(ctx: &Context, mut model: Model, diags: &mut Diagnostics) -> Observed<Model> {
    let (Some(name), Some(owner)) = (model.name.known().cloned(), layout::owner_of(&model)) else {
        return Observed::Unknown;
    };
    ctx.seen.remember(&owner);
    let Some(observed) = owned::observe(ctx, &owner, layout::KINDS, TYPE, diags).await else {
        return Observed::Unknown;
    };
    if observed.is_empty() {
        return Observed::Gone;
    }
    if let Some(recorded) = rendering::recorded_inputs(&observed) {
        savepoint_history::adopt_recorded(&mut model, &recorded);
    }
    if let Some(rendered) = computed::fill(&mut model, None, None) {
        let status = cluster_objects::observe(&rendered.objects, &observed, &[Kind::Secret]);
        model.kubernetes_objects = value::from_value(&status).map_or(Attr::Unknown, Attr::Known);
        if let Attr::Known(statuses) = &mut model.kubernetes_objects {
            cluster_objects::mark_claims(statuses, &owner, &observed);
        }
        tls::mark_changed_secret(&mut model, &name, &observed);
    }
    if let Some(cluster) = ctx.cluster(diags).await {
        let observed = status::observe(&cluster, &model).await;
        if let Some(drifted) = lifecycle::drifted_state(&model, &observed) {
            model.state = Attr::Known(drifted.as_str().into());
        }
        model.status = Attr::Known(observed);
    }
    Observed::Found(model)
}

/// The deployment an import finds: the inputs its ConfigMap records, the certificates its TLS
/// Secret holds, and what they render to.
pub async fn import(ctx: &Context, id: &str, diags: &mut Diagnostics) -> Option<Model> {
    let (ns, name) = owned::import_id(id, TYPE, diags)?;
    let owner = layout::owner(ns, name);
    let kinds = [Kind::ConfigMap, Kind::Secret];
    let observed = owned::observe(ctx, &owner, &kinds, TYPE, diags).await?;
    let Some(mut model) = rendering::recorded_inputs(&observed) else {
        diags.error(
            "Deployment not found",
            format!(
                "No ConfigMap {} with the provider's recorded inputs in namespace {ns}. Check \
                 the id (<namespace>/<name>), or create the deployment with terraform apply.",
                layout::Names::of(name).config_map
            ),
        );
        return None;
    };
    if tls::enabled(&model) {
        let authority_pem = model
            .tls
            .known()
            .and_then(|t| t.authority.known())
            .map(|a| a.ca_certificate_pem.clone())
            .unwrap_or_default();
        let secret_name = layout::Names::of(name).tls_secret;
        model.tls_certificates = observed
            .iter()
            .find(|(k, o)| *k == Kind::Secret && o.metadata.name.as_deref() == Some(&secret_name))
            .and_then(|(_, secret)| tls::certificates_in(secret, &authority_pem))
            .map_or(Attr::Null, Attr::Known);
    }
    // The objects' owner marker becomes this state's: import is how objects change hands.
    // Objects of a provider version without markers carry none; the next apply writes one.
    model.instance_id = observed
        .iter()
        .find_map(|(_, o)| crate::kubernetes::marker_of(o))
        .map(String::from)
        .into();
    computed::fill(&mut model, None, None);
    Some(model)
}
