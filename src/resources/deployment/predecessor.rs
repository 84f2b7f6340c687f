//! The state an earlier deployment of the same namespace and name left (IO, at the plan and the
//! apply of a create). The deployment id is derived from namespace and name, so a deployment
//! created again (after `terraform destroy`, or replaced) gets its predecessor's savepoint and
//! checkpoint directories; the newest completed snapshot there (a savepoint, or with
//! `LATEST_STATE` also a retained checkpoint) is where its job starts from, as after an upgrade.
//! `initial_savepoint_path` wins, and `restore_strategy = "NONE"` looks for nothing.
//!
//! Also the check before any job starts from a snapshot that it is complete: Flink's statistics
//! can name a checkpoint whose files are already gone, and a job told to restore from it fails.

use super::model::Model;
use super::states::RestoreStrategy;
use crate::kubernetes::Kind;
use crate::resources::{blob_storage, owned, Context};
use crate::schema::Diagnostics;
use crate::storage::snapshots::{self, Scheme, Snapshot, Store};
use crate::storage::{S3Access, StorageError};

/// What the lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// The newest completed snapshot.
    Found(Snapshot),
    /// No snapshot, or nothing to look for.
    Nothing,
    /// The directories could not be read: why.
    Failed(String),
}

/// The newest snapshot under the directories `model` (a create, rendered) gives Flink.
pub async fn find(ctx: &Context, model: &Model) -> Lookup {
    if !model.initial_savepoint_path.is_null() || model.restore() == Some(RestoreStrategy::Nothing)
    {
        return Lookup::Nothing;
    }
    let Some(configuration) = model.effective_flink_configuration.known() else {
        return Lookup::Nothing;
    };
    let mut directories: Vec<&str> = super::lifecycle::savepoint_directory(configuration)
        .into_iter()
        .collect();
    if super::lifecycle::counts_checkpoints(model) {
        directories.extend(checkpoint_directory(configuration));
    }
    let mut newest: Option<Snapshot> = None;
    for dir in directories {
        let found = match reader(ctx, model, dir).await {
            Ok(reader) => reader.snapshots_under(dir).await,
            Err(why) => return Lookup::Failed(why),
        };
        let found = match found {
            Ok(found) => found,
            Err(e) => return Lookup::Failed(format!("{dir}: {e}")),
        };
        if let Some(last) = found.into_iter().last() {
            if newest.as_ref().is_none_or(|n| last.completed > n.completed) {
                newest = Some(last);
            }
        }
    }
    newest.map_or(Lookup::Nothing, Lookup::Found)
}

/// Whether `location` holds a complete snapshot; `None` when the provider cannot tell (a scheme
/// it does not read, or the store did not answer: Flink then says for itself).
pub async fn is_complete(ctx: &Context, model: &Model, location: &str) -> Option<bool> {
    let reader = match reader(ctx, model, location).await {
        Ok(reader) => reader,
        Err(why) => {
            tracing::debug!(%location, %why, "not checking the snapshot");
            return None;
        }
    };
    match reader.is_complete(location).await {
        Ok(complete) => Some(complete),
        Err(e) => {
            tracing::warn!(%location, error = %e, "cannot check the snapshot");
            None
        }
    }
}

/// The checkpoint directory the rendered configuration gives Flink, if any.
fn checkpoint_directory(
    configuration: &std::collections::BTreeMap<String, String>,
) -> Option<&str> {
    ["execution.checkpointing.dir", "state.checkpoints.dir"]
        .iter()
        .find_map(|k| configuration.get(*k))
        .map(String::as_str)
}

/// How the provider reads a directory.
enum Reader {
    /// On its own file system.
    Local,
    /// In S3, with the blob storage's endpoint and these credentials.
    S3 {
        endpoint: Option<String>,
        region: Option<String>,
        path_style: bool,
        access_key: String,
        secret_key: String,
    },
}

impl Reader {
    async fn snapshots_under(&self, dir: &str) -> Result<Vec<Snapshot>, StorageError> {
        match self.s3(dir) {
            Some(access) => snapshots::under(dir, &Store::S3(&access)).await,
            None => snapshots::under(dir, &Store::Local).await,
        }
    }

    async fn is_complete(&self, location: &str) -> Result<bool, StorageError> {
        match self.s3(location) {
            Some(access) => snapshots::is_complete(location, &Store::S3(&access)).await,
            None => snapshots::is_complete(location, &Store::Local).await,
        }
    }

    fn s3<'a>(&'a self, uri: &'a str) -> Option<S3Access<'a>> {
        match self {
            Reader::Local => None,
            Reader::S3 {
                endpoint,
                region,
                path_style,
                access_key,
                secret_key,
            } => Some(S3Access {
                base_uri: uri,
                endpoint: endpoint.as_deref(),
                region: region.as_deref(),
                path_style: *path_style,
                access_key,
                secret_key,
            }),
        }
    }
}

/// The reader of `uri`: the provider's file system, or S3 with the blob storage's endpoint and
/// the credentials of its Secret (else the provider's own `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY`). `Err` says why it cannot be read.
async fn reader(ctx: &Context, model: &Model, uri: &str) -> Result<Reader, String> {
    match snapshots::readable_scheme(uri) {
        None => Err(format!(
            "{uri}: the provider reads only file: and s3: directories"
        )),
        Some(Scheme::File) => Ok(Reader::Local),
        Some(Scheme::S3) => {
            let blob = model.blob_storage.known();
            let (access_key, secret_key) = credentials(ctx, model).await?;
            Ok(Reader::S3 {
                endpoint: blob.and_then(|b| b.endpoint.clone()),
                region: blob.and_then(|b| b.region.clone()),
                path_style: blob.and_then(|b| b.path_style_access).unwrap_or(false),
                access_key,
                secret_key,
            })
        }
    }
}

/// The S3 credentials the provider reads state with.
async fn credentials(ctx: &Context, model: &Model) -> Result<(String, String), String> {
    let secret = model
        .blob_storage
        .known()
        .and_then(|b| b.secret.as_ref().map(|s| (b, s)));
    let Some((blob, secret)) = secret else {
        return match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(key), Ok(secret)) => Ok((key, secret)),
            _ => Err(
                "no S3 credentials the provider can read: neither a blob storage Secret nor \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the provider's environment"
                    .into(),
            ),
        };
    };
    let owner = blob_storage::objects::owner(&blob.namespace, &blob.name);
    let mut quiet = Diagnostics::default();
    let objects = owned::observe(ctx, &owner, &[Kind::Secret], super::TYPE, &mut quiet)
        .await
        .ok_or_else(|| format!("cannot read Secret {}/{secret}", blob.namespace))?;
    let object = objects
        .iter()
        .find(|(_, o)| o.metadata.name.as_deref() == Some(secret.as_str()))
        .map(|(_, o)| o)
        .ok_or_else(|| format!("no Secret {}/{secret}", blob.namespace))?;
    let key = |name: &str| -> Result<String, String> {
        crate::resources::certificate_authority::objects::secret_value(object, name)
            .ok_or_else(|| format!("Secret {}/{secret} has no {name}", blob.namespace))
    };
    Ok((key("access_key")?, key("secret_key")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_directory_is_read_under_either_name() {
        let mut c = std::collections::BTreeMap::new();
        assert_eq!(checkpoint_directory(&c), None);
        c.insert("state.checkpoints.dir".into(), "s3://b/old".into());
        assert_eq!(checkpoint_directory(&c), Some("s3://b/old"));
        c.insert("execution.checkpointing.dir".into(), "s3://b/new".into());
        assert_eq!(checkpoint_directory(&c), Some("s3://b/new"));
    }
}
