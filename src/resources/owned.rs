//! The cluster side shared by resources that own a set of Kubernetes objects: apply and prune them,
//! observe them, delete them, and parse `<namespace>/<name>` import ids, each reporting failures
//! as diagnostics.

use super::Context;
use crate::kubernetes::{DesiredObject, Kind, Owner};
use crate::schema::Diagnostics;
use kube::api::DynamicObject;

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
        Ok(_) => cluster
            .prune(owner, kinds, desired)
            .await
            .map_err(|e| (desired.len(), e)),
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

/// Deletes the owner's objects of `kinds`.
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
    if let Err(e) = cluster.delete_owned(owner, kinds).await {
        diags.error(format!("Deleting {type_name} failed"), e.to_string());
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
