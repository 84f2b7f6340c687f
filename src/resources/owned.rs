//! The cluster side shared by resources that own a set of Kubernetes objects: check that the
//! objects an apply would write are this instance's, apply and prune them, observe them, delete
//! them, and parse `<namespace>/<name>` import ids, each reporting failures as diagnostics.

use super::Context;
use crate::kubernetes::{Claim, DesiredObject, Foreign, Kind, Owner, INSTANCE_KEY};
use crate::schema::{AttributePath, Diagnostics};
use kube::api::DynamicObject;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// The resource instances this provider process has read from Terraform state (at a refresh, or
/// as the prior state of a plan), by owner. A plan without a prior state is not always a new
/// resource: Terraform plans the replacement of a tainted resource, or one named by `-replace`,
/// from scratch, while its old objects still carry the old instance's marker (and the apply
/// deletes them before it creates the new ones). Such objects belong to a state this process
/// read; another workspace's never do.
#[derive(Debug, Default)]
pub struct SeenInState(Mutex<BTreeSet<Seen>>);

/// An owner (kind, namespace, name) and the instance a state holds it as.
type Seen = (&'static str, String, String, Option<String>);

impl SeenInState {
    /// Records that a state holds `owner` as its instance (none for a state of an earlier
    /// provider version).
    pub fn remember(&self, owner: &Owner) {
        if let Ok(mut seen) = self.0.lock() {
            seen.insert(key(owner, owner.instance.clone()));
        }
    }

    /// Whether a state this process read holds `owner` as the instance that `claim` names
    /// (any instance of it, for an unmarked object).
    fn holds(&self, owner: &Owner, claim: &Claim) -> bool {
        let Ok(seen) = self.0.lock() else {
            return false;
        };
        match claim {
            Claim::Ours => true,
            Claim::Other(instance) | Claim::Abandoned(instance) => {
                seen.contains(&key(owner, Some(instance.clone())))
            }
            Claim::Unmarked => seen.iter().any(|(k, ns, name, _)| {
                (*k, ns, name) == (owner.kind, &owner.namespace, &owner.name)
            }),
        }
    }
}

fn key(owner: &Owner, instance: Option<String>) -> Seen {
    (
        owner.kind,
        owner.namespace.clone(),
        owner.name.clone(),
        instance,
    )
}

/// How long the plan of a new resource waits for the cluster to list what exists.
const PLAN_CHECK_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Refuses, at plan, the create of a resource whose objects already exist: at create this
/// instance has no id yet, so every object with its labels is someone else's (another instance's
/// marker, or none: a resource no state here lists), unless a state this process read holds
/// their instance (a replacement; see [`SeenInState`]). Reports on `name` and leaves the plan
/// as it is otherwise. Silent when the cluster is not known or not reachable yet (a cluster
/// created in the same run) or does not answer within [`PLAN_CHECK_LIMIT`]: the apply checks
/// again before it writes.
pub async fn refuse_taken_at_plan(
    ctx: &Context,
    owner: &Owner,
    kinds: &[Kind],
    type_name: &str,
    diags: &mut Diagnostics,
) {
    let Some(provider) = &ctx.provider else {
        return;
    };
    let Ok(cluster) = provider.cluster().await else {
        return;
    };
    // Best effort: a cluster that does not answer soon leaves the check to apply, rather than
    // holding the plan of every new resource for the client's whole read timeout.
    let observed = tokio::time::timeout(PLAN_CHECK_LIMIT, cluster.observe(owner, kinds)).await;
    let Ok(Ok(existing)) = observed else {
        tracing::debug!(owner = %owner.name, "ownership not checked at plan: the cluster did not answer");
        return;
    };
    let claims: Vec<_> = claims_of(owner, &existing)
        .into_iter()
        .filter(|(_, _, claim)| !ctx.seen.holds(owner, claim))
        .collect();
    if let Some(refusal) = refusal(type_name, owner, &claims, false) {
        refusal.report(diags);
        return;
    }
    let abandoned: Vec<String> = claims
        .iter()
        .filter(|(_, _, claim)| matches!(claim, Claim::Abandoned(_)))
        .map(|(kind, name, _)| format!("{} {name}", kind.name()))
        .collect();
    if !abandoned.is_empty() {
        diags.attribute_warning(
            AttributePath::root("name"),
            "Adopting what an unfinished create left",
            format!(
                "{} in namespace {} {} marked by a create of this {type_name} that never \
                 returned its state (the provider or Terraform stopped mid-apply, so no state \
                 holds it): this create takes them over.",
                abandoned.join(", "),
                owner.namespace,
                if abandoned.len() == 1 { "is" } else { "are" },
            ),
        );
    }
}

/// Whether `owner` (with its instance id) may write its objects: none of the existing objects
/// with its labels carries another instance's marker, and unmarked ones exist only under a
/// resource already in state (`in_state`: an update, the first apply after an import or after
/// upgrading from a provider version without markers). Otherwise reports, on `name`, which
/// object is whose and that import is the way to take it over, and returns false before anything
/// was written. Listed fresh, not from the shared lists of the refresh.
pub async fn claim(
    ctx: &Context,
    owner: &Owner,
    kinds: &[Kind],
    in_state: bool,
    type_name: &str,
    diags: &mut Diagnostics,
) -> bool {
    let Some(cluster) = ctx.cluster(diags).await else {
        return false;
    };
    let existing = match cluster.observe_now(owner, kinds).await {
        Ok(existing) => existing,
        Err(e) => {
            diags.error(format!("Applying {type_name} failed"), e.to_string());
            return false;
        }
    };
    match refusal(type_name, owner, &claims_of(owner, &existing), in_state) {
        Some(refusal) => {
            refusal.report(diags);
            false
        }
        None => true,
    }
}

/// Each existing object's kind, name and whose it is.
fn claims_of(owner: &Owner, existing: &[(Kind, DynamicObject)]) -> Vec<(Kind, String, Claim)> {
    existing
        .iter()
        .map(|(kind, object)| {
            let name = object.metadata.name.clone().unwrap_or_default();
            (*kind, name, owner.claim(object))
        })
        .collect()
}

/// The error refusing objects that are not `owner`'s to write.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    summary: String,
    detail: String,
}

impl Refusal {
    fn report(self, diags: &mut Diagnostics) {
        diags.attribute_error(AttributePath::root("name"), self.summary, self.detail);
    }
}

/// The refusal of the first object of `claims` that `owner` may not write (`in_state`: the
/// resource is in state), naming the others too; `None` when it may write them all.
fn refusal(
    type_name: &str,
    owner: &Owner,
    claims: &[(Kind, String, Claim)],
    in_state: bool,
) -> Option<Refusal> {
    let mut refused = claims
        .iter()
        .filter(|(_, _, claim)| !claim.writable(in_state));
    let (kind, object, claim) = refused.next()?;
    let others: Vec<String> = refused
        .map(|(kind, name, _)| format!("{} {name}", kind.name()))
        .collect();
    let ns = &owner.namespace;
    let (whose, why) = match claim {
        Claim::Other(instance) | Claim::Abandoned(instance) => (
            format!("another Terraform resource (instance {instance})"),
            format!(
                "It carries another resource instance's owner marker (annotation \
                 {INSTANCE_KEY}): a {type_name} of the same namespace and name in another \
                 Terraform configuration or workspace manages it."
            ),
        ),
        _ => (
            "another Terraform resource (no owner marker)".to_string(),
            format!(
                "It has the labels of {type_name} {:?} but no owner marker ({INSTANCE_KEY}), \
                 and this resource is not in state yet: an earlier provider version created it \
                 for a resource in another configuration or workspace, or for one whose state \
                 was lost.",
                owner.name
            ),
        ),
    };
    let more = match others.is_empty() {
        true => String::new(),
        false => format!(" The same holds for {}.", others.join(", ")),
    };
    Some(Refusal {
        summary: format!(
            "{} {ns}/{object} is already managed by {whose}; import it instead, or choose \
             another name",
            kind.name()
        ),
        detail: format!(
            "{why}{more} This resource never takes over or deletes objects it did not create. \
             To manage them from this configuration, import them: terraform import <address of \
             this {type_name}> {ns}/{} (then remove the resource from the other state, with \
             terraform state rm). Otherwise choose another name or namespace. Nothing was \
             changed.",
            owner.name
        ),
    })
}

/// Warns about objects a delete or prune left because another instance marked them.
fn report_kept(kept: &[Foreign], owner: &Owner, type_name: &str, diags: &mut Diagnostics) {
    for foreign in kept {
        diags.warning(
            format!(
                "{} {}/{} left in place",
                foreign.kind.name(),
                owner.namespace,
                foreign.name
            ),
            format!(
                "It has the labels of {type_name} {:?} but another Terraform resource's owner \
                 marker (instance {}), so this resource did not delete it.",
                owner.name, foreign.instance
            ),
        );
    }
}

/// How long a create's last step may take to take its pending marks off.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Takes the pending mark of a create off `applied` (its objects that reached the cluster), once
/// it returns a state that records its instance: applied again without the mark, which
/// server-side apply then removes. Not interrupted by a stop (the create is returning its state
/// then), but bounded; objects left marked are adopted only by a create of this same resource.
pub async fn settle_create(ctx: &Context, owner: &Owner, applied: &[DesiredObject]) {
    let (Some(provider), false) = (&ctx.provider, applied.is_empty()) else {
        return;
    };
    let Ok(cluster) = provider.cluster().await else {
        return;
    };
    let settled = owner.clone().creating(false);
    match tokio::time::timeout(SETTLE_LIMIT, cluster.apply(&settled, applied)).await {
        Ok(Ok(_)) => {}
        Ok(Err((_, e))) => tracing::warn!(owner = %owner.name, error = %e, "pending marks left"),
        Err(_) => tracing::warn!(owner = %owner.name, "pending marks left: no answer in time"),
    }
}

/// Applies `desired` and prunes the owner's other objects of `kinds`. Returns how many of
/// `desired` (the first ones, in order) reached the cluster: all of them unless an error was
/// reported, so a failed apply can record what it actually applied.
pub async fn apply(
    ctx: &Context,
    owner: &Owner,
    kinds: &[Kind],
    desired: &[DesiredObject],
    type_name: &str,
    diags: &mut Diagnostics,
) -> usize {
    let Some(cluster) = ctx.cluster(diags).await else {
        return 0;
    };
    let result = match cluster.apply(owner, desired).await {
        Ok(_) => match cluster.prune(owner, kinds, desired).await {
            Ok(kept) => {
                report_kept(&kept, owner, type_name, diags);
                Ok(())
            }
            Err(e) => Err((desired.len(), e)),
        },
        Err(partly) => Err(partly),
    };
    match result {
        Ok(()) => desired.len(),
        Err((applied, e)) => {
            diags.error(format!("Applying {type_name} failed"), e.to_string());
            applied
        }
    }
}

/// The owner's objects of `kinds`, or `None` after reporting why they could not be read.
pub async fn observe(
    ctx: &Context,
    owner: &Owner,
    kinds: &[Kind],
    type_name: &str,
    diags: &mut Diagnostics,
) -> Option<Vec<(Kind, DynamicObject)>> {
    let cluster = ctx.cluster(diags).await?;
    match cluster.observe(owner, kinds).await {
        Ok(found) => Some(found),
        Err(e) => {
            diags.error(format!("Reading {type_name} failed"), e.to_string());
            None
        }
    }
}

/// Deletes the owner's objects of `kinds`, but for those another instance marked.
pub async fn delete(
    ctx: &Context,
    owner: &Owner,
    kinds: &[Kind],
    type_name: &str,
    diags: &mut Diagnostics,
) {
    let Some(cluster) = ctx.cluster(diags).await else {
        return;
    };
    match cluster.delete_owned(owner, kinds).await {
        Ok(kept) => report_kept(&kept, owner, type_name, diags),
        Err(e) => diags.error(format!("Deleting {type_name} failed"), e.to_string()),
    }
}

/// Splits an import id `<namespace>/<name>`.
pub fn import_id<'a>(
    id: &'a str,
    type_name: &str,
    diags: &mut Diagnostics,
) -> Option<(&'a str, &'a str)> {
    match id.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Some((ns, name))
        }
        _ => {
            diags.error(
                "Invalid import id",
                format!("{id:?}: import {type_name} as <namespace>/<name>, e.g. default/shared."),
            );
            None
        }
    }
}

/// Whether the owner's primary object is among the observed ones.
pub fn has(observed: &[(Kind, DynamicObject)], kind: Kind) -> bool {
    observed.iter().any(|(k, _)| *k == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Vec<(Kind, String, Claim)> {
        vec![
            (Kind::ConfigMap, "flink-job-config".into(), Claim::Ours),
            (Kind::Secret, "flink-job-tls".into(), Claim::Unmarked),
            (
                Kind::Service,
                "flink-job-rest".into(),
                Claim::Other("a-1".into()),
            ),
        ]
    }

    #[test]
    fn another_instances_objects_are_refused_with_what_to_do() {
        let owner = Owner::new("deployment", "ns", "job").instance(Some("b-2"));
        let claims = &claims()[2..];
        let refusal = refusal("flink_deployment", &owner, claims, true).unwrap();
        assert_eq!(
            refusal.summary,
            "Service ns/flink-job-rest is already managed by another Terraform resource \
             (instance a-1); import it instead, or choose another name"
        );
        assert!(
            refusal
                .detail
                .contains("terraform import <address of this flink_deployment> ns/job"),
            "{}",
            refusal.detail
        );
        assert!(refusal.detail.ends_with("Nothing was changed."));
    }

    #[test]
    fn unmarked_objects_are_refused_only_to_a_resource_not_in_state() {
        let owner = Owner::new("deployment", "ns", "job").instance(Some("b-2"));
        let claims = &claims()[..2];
        assert_eq!(refusal("flink_deployment", &owner, claims, true), None);
        let refusal = refusal("flink_deployment", &owner, claims, false).unwrap();
        assert!(
            refusal
                .summary
                .starts_with("Secret ns/flink-job-tls is already managed by another"),
            "{}",
            refusal.summary
        );
        assert!(
            refusal.detail.contains("no owner marker"),
            "{}",
            refusal.detail
        );
    }

    #[test]
    fn a_replacement_is_told_from_another_resource_by_the_states_this_process_read() {
        let seen = SeenInState::default();
        let owner = Owner::new("deployment", "ns", "job");
        let a = Claim::Other("a-1".into());
        assert!(!seen.holds(&owner, &a));
        assert!(!seen.holds(&owner, &Claim::Unmarked));
        seen.remember(&owner.clone().instance(Some("a-1")));
        assert!(seen.holds(&owner, &a));
        assert!(seen.holds(&owner, &Claim::Unmarked));
        assert!(!seen.holds(&owner, &Claim::Other("b-2".into())));
        let other_name = Owner::new("deployment", "ns", "other");
        assert!(!seen.holds(&other_name, &a));
        // A state of an earlier provider version holds its unmarked objects only.
        let legacy = Owner::new("blob-storage", "ns", "job");
        seen.remember(&legacy);
        assert!(seen.holds(&legacy, &Claim::Unmarked));
        assert!(!seen.holds(&legacy, &a));
    }

    #[test]
    fn the_first_refused_object_is_named_and_the_others_listed() {
        let owner = Owner::new("deployment", "ns", "job").instance(Some("b-2"));
        let refusal = refusal("flink_deployment", &owner, &claims(), false).unwrap();
        assert!(refusal.summary.starts_with("Secret ns/flink-job-tls"));
        assert!(
            refusal
                .detail
                .contains("The same holds for Service flink-job-rest."),
            "{}",
            refusal.detail
        );
    }
}
