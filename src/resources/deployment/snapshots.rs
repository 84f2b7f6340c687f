//! Savepoints of a deployment's running job on behalf of other resources (`flink_savepoint`): the
//! deployment is found by namespace and name through the inputs its ConfigMap records (as import
//! does), its job reached through [`JobManager`], its savepoint directory taken from its rendered
//! configuration.

use super::reach;
use super::states::JOB_RUNNING;
use super::{computed, lifecycle, observe};
use crate::jobmanager::Error;
use crate::resources::timeouts::Limit;
use crate::resources::Context;
use crate::schema::{AttributePath, Diagnostics};
use std::time::Duration;

/// A savepoint just taken.
pub(crate) struct Taken {
    pub location: String,
    pub job_id: String,
}

/// The state (`RUNNING`, `SUSPENDED`, ...) deployment `namespace/name` records, or `None` when it
/// does not exist (yet).
pub(crate) async fn recorded_state(ctx: &Context, namespace: &str, name: &str) -> Option<String> {
    let mut quiet = Diagnostics::default();
    let model = observe::import(ctx, &format!("{namespace}/{name}"), &mut quiet).await?;
    model.state.known().cloned()
}

async fn running_deployment(
    ctx: &Context,
    namespace: &str,
    name: &str,
    diags: &mut Diagnostics,
) -> Option<(super::model::Model, Option<String>)> {
    let mut model = observe::import(ctx, &format!("{namespace}/{name}"), diags).await?;
    if let Some(state) = model.state.known().filter(|_| !model.runs()) {
        diags.attribute_error(
            AttributePath::root("deployment"),
            "The deployment is not running",
            format!(
                "flink_deployment {namespace}/{name} is {state}; a savepoint needs its job \
                 RUNNING."
            ),
        );
        return None;
    }
    let directory = computed::fill(&mut model, None, None).and_then(|r| {
        lifecycle::savepoint_directory(&r.configuration.configuration).map(String::from)
    });
    Some((model, directory))
}

/// Takes a savepoint of deployment `namespace/name`'s running job in `format`.
pub(crate) async fn take(
    ctx: &Context,
    namespace: &str,
    name: &str,
    format: &str,
    timeout: Duration,
    diags: &mut Diagnostics,
) -> Option<Taken> {
    let (model, directory) = running_deployment(ctx, namespace, name, diags).await?;
    let Some(directory) = directory else {
        diags.attribute_error(
            AttributePath::root("deployment"),
            "No savepoint directory",
            format!(
                "flink_deployment {namespace}/{name} has no savepoint directory. Give it \
                 blob_storage, or execution.checkpointing.savepoint-dir (state.savepoints.dir \
                 before Flink 2.0) in its flink_configuration."
            ),
        );
        return None;
    };
    let cluster = ctx.cluster(diags).await?;
    let outcome = async {
        let jm = reach::of(&cluster, &model).await?;
        match jm.job_state().await? {
            state if state == JOB_RUNNING => {}
            state => {
                return Err(Error::Unexpected(format!(
                    "Flink reports the job {state}; it must be RUNNING"
                )))
            }
        }
        jm.trigger_savepoint(Some(&directory), format, &Limit::of(timeout, "timeout"))
            .await
    }
    .await;
    match outcome {
        Ok(location) => Some(Taken {
            location,
            job_id: model.job_id.known().cloned().unwrap_or_default(),
        }),
        Err(e) => {
            diags.error(
                "The savepoint failed",
                format!("{e}\n\nThe job keeps running; fix the cause and apply again."),
            );
            None
        }
    }
}

/// Deletes the savepoint at `location` through deployment `namespace/name`'s JobManager, whatever
/// its job's state. Destroy never depends on the cluster's state: when no JobManager can do it
/// (the deployment gone, no JobManager pod, a REST API that does not answer), the files stay and
/// a warning names them.
pub(crate) async fn dispose(
    ctx: &Context,
    namespace: &str,
    name: &str,
    location: &str,
    timeout: Duration,
    diags: &mut Diagnostics,
) {
    let mut lookup = Diagnostics::default();
    let model = observe::import(ctx, &format!("{namespace}/{name}"), &mut lookup).await;
    let (Some(model), Some(cluster)) = (model, ctx.cluster(&mut lookup).await) else {
        let why = lookup
            .0
            .into_iter()
            .map(|d| format!("{}: {}", d.summary, d.detail))
            .collect::<Vec<_>>()
            .join("\n");
        let why = if why.is_empty() {
            format!("flink_deployment {namespace}/{name} no longer exists")
        } else {
            why
        };
        files_kept(location, &why, diags);
        return;
    };
    let outcome = async {
        reach::of(&cluster, &model)
            .await?
            .dispose(location, &Limit::of(timeout, "timeout"))
            .await
    }
    .await;
    if let Err(e) = outcome {
        files_kept(location, &e.to_string(), diags);
    }
}

/// Says that Flink did not dispose of the savepoint at `location` (`why`) and its files stay.
fn files_kept(location: &str, why: &str, diags: &mut Diagnostics) {
    diags.warning(
        "The savepoint's files were kept",
        format!(
            "Flink did not dispose of the savepoint at\n\n{location}\n\n({why}), so its files \
             are still there and Terraform forgets it. Delete them by hand when no job needs \
             them."
        ),
    );
}
