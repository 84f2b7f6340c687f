//! The state an earlier deployment of the same namespace and name left (IO, at the plan and the
//! apply of a create). The deployment id is derived from namespace and name, so a deployment
//! created again (after `terraform destroy`, or replaced) gets its predecessor's savepoint and
//! checkpoint directories; the newest completed snapshot there (a savepoint, or with
//! `LATEST_STATE` also a retained checkpoint) is where its job starts from, as after an upgrade.
//! `initial_savepoint_path` wins, and `restore_strategy = "NONE"` looks for nothing.
//!
//! A deployment replaced under a new name or namespace has other directories: the first of
//! Terraform's two plans of the replacement (given the state it replaces) records them in the
//! private data Terraform hands the second (given none) and the apply ([`Replaced`]). When the
//! predecessor will take a final savepoint on destroy, which comes before the create, what the
//! new job starts from is known only at apply, which looks in both.
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

/// The deployment a replacement replaces, as Terraform's private data carries it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Replaced {
    /// `namespace/name`.
    pub deployment: String,
    /// Its savepoint and checkpoint directories.
    pub directories: Vec<String>,
    /// Whether its destroy takes a final savepoint (it runs, and `final_savepoint_on_destroy`).
    pub final_savepoint: bool,
}

/// The key of [`Replaced`] in the private data (a JSON object).
const REPLACED: &str = "replaced";

impl Replaced {
    /// What `prior`, replaced by `planned`, leaves for its replacement; `None` when `planned`
    /// keeps its namespace and name (then it keeps its directories too).
    pub fn of(prior: &Model, planned: &Model) -> Option<Replaced> {
        let identity = |m: &Model| (m.namespace.known().cloned(), m.name.known().cloned());
        let (Some(namespace), Some(name)) = identity(prior) else {
            return None;
        };
        if identity(planned) == (Some(namespace.clone()), Some(name.clone())) {
            return None;
        }
        let configuration = prior.effective_flink_configuration.known()?;
        let mut directories: Vec<String> = super::lifecycle::savepoint_directory(configuration)
            .into_iter()
            .chain(checkpoint_directory(configuration))
            .map(String::from)
            .collect();
        directories.dedup();
        Some(Replaced {
            deployment: format!("{namespace}/{name}"),
            directories,
            final_savepoint: prior.runs()
                && prior.final_savepoint_on_destroy.known() != Some(&false),
        })
    }

    /// The private data that carries it.
    pub fn to_private(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ REPLACED: self })).unwrap_or_default()
    }

    /// What the private data carries, if anything.
    pub fn from_private(bytes: &[u8]) -> Option<Replaced> {
        let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        serde_json::from_value(value.get(REPLACED)?.clone()).ok()
    }
}

/// The newest snapshot under the directories `model` (a create, rendered) gives Flink, and
/// under `more` (a replaced predecessor's).
pub async fn find(ctx: &Context, model: &Model, more: &[String]) -> Lookup {
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
    directories.extend(more.iter().map(String::as_str));
    directories.dedup();
    let counts_checkpoints = super::lifecycle::counts_checkpoints(model);
    let mut newest: Option<Snapshot> = None;
    // Read once per lookup: the S3 reader's credentials come from a Secret.
    let mut readers: Vec<(Scheme, Reader)> = Vec::new();
    for dir in directories {
        let Some(scheme) = snapshots::readable_scheme(dir) else {
            return Lookup::Failed(unreadable(dir));
        };
        if !readers.iter().any(|(s, _)| *s == scheme) {
            match reader(ctx, model, dir).await {
                Ok(reader) => readers.push((scheme, reader)),
                Err(why) => return Lookup::Failed(why),
            }
        }
        let Some((_, reader)) = readers.iter().find(|(s, _)| *s == scheme) else {
            continue;
        };
        let found = reader.snapshots_under(dir).await;
        let found = match found {
            Ok(found) => found,
            Err(e) => return Lookup::Failed(format!("{dir}: {e}")),
        };
        let mut restorable = found
            .into_iter()
            .filter(|s| counts_checkpoints || !s.is_checkpoint());
        if let Some(last) = restorable.next_back() {
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
        None => Err(unreadable(uri)),
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

/// Why the provider does not look under `uri`.
fn unreadable(uri: &str) -> String {
    format!("{uri}: the provider reads only file: and s3: directories")
}

/// The S3 credentials the provider reads state with.
async fn credentials(ctx: &Context, model: &Model) -> Result<(String, String), String> {
    let secret = model
        .blob_storage
        .known()
        .and_then(|b| b.secret.as_ref().map(|s| (b, s)));
    let Some((blob, secret)) = secret else {
        let set = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        return match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
            (Some(key), Some(secret)) => Ok((key, secret)),
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
    use crate::value::Attr;
    use serde_json::json;

    fn created(name: &str, state: &str) -> Model {
        let mut model = super::super::golden_tests::model(json!({
            "name": name, "namespace": "ns", "flink_version": "2.3", "state": state,
            "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
            "flink_configuration": {
                "execution.checkpointing.savepoint-dir": "s3://b/sp",
                "execution.checkpointing.dir": "s3://b/cp",
            },
        }));
        super::super::plan::create(&mut model, &mut Diagnostics::default());
        model
    }

    #[test]
    fn a_new_name_hands_the_old_directories_on_through_private_data() {
        let prior = created("orders", "RUNNING");
        assert_eq!(Replaced::of(&prior, &created("orders", "RUNNING")), None);
        let replaced = Replaced::of(&prior, &created("orders-v2", "RUNNING")).unwrap();
        assert_eq!(
            replaced,
            Replaced {
                deployment: "ns/orders".into(),
                directories: vec!["s3://b/sp".into(), "s3://b/cp".into()],
                final_savepoint: true,
            }
        );
        assert_eq!(
            Replaced::from_private(&replaced.to_private()),
            Some(replaced)
        );
        assert_eq!(Replaced::from_private(b""), None);
        assert_eq!(Replaced::from_private(b"{\"other\": 1}"), None);

        let suspended = created("orders", "SUSPENDED");
        let replaced = Replaced::of(&suspended, &created("orders-v2", "SUSPENDED")).unwrap();
        assert!(!replaced.final_savepoint, "a suspended job takes none");
        let mut kept = created("orders", "RUNNING");
        kept.final_savepoint_on_destroy = Attr::Known(false);
        let replaced = Replaced::of(&kept, &created("orders-v2", "RUNNING")).unwrap();
        assert!(!replaced.final_savepoint);
    }

    /// A `_metadata` under `root` at `relative`, written `minutes` after a fixed instant.
    fn write_metadata(root: &std::path::Path, relative: &str, minutes: u64) {
        let dir = root.join(relative);
        std::fs::create_dir_all(&dir).unwrap();
        let file = std::fs::File::create(dir.join("_metadata")).unwrap();
        let instant = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_000_000);
        file.set_modified(instant + std::time::Duration::from_secs(60 * minutes))
            .unwrap();
    }

    /// Directories a destroyed predecessor left: a savepoint, a complete checkpoint after it, and
    /// the newest checkpoint without `_metadata` (Flink deleted it, or never finished it).
    fn left_behind(test: &str) -> (std::path::PathBuf, String) {
        let root = std::env::temp_dir().join(format!("predecessor-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        write_metadata(&root, "sp/savepoint-0a1b2c-3d4e5f6a7b8c", 1);
        write_metadata(&root, "cp/0a1b/chk-13", 2);
        std::fs::create_dir_all(root.join("cp/0a1b/chk-14")).unwrap();
        std::fs::write(root.join("cp/0a1b/chk-14/operator-state"), b"x").unwrap();
        let dir = format!("file://{}", root.display());
        (root, dir)
    }

    /// A create of `ns/orders` in the directories `left_behind` gives, planned as the provider
    /// plans it: rendered, then started from what `find` gives.
    async fn planned_create(dir: &str, inputs: serde_json::Value) -> (Model, Diagnostics) {
        let mut inputs_with_directories = json!({
            "name": "orders", "namespace": "ns", "flink_version": "2.3",
            "artifact": {"jar_uri": "file:///opt/flink/usrlib/job.jar"},
            "flink_configuration": {
                "execution.checkpointing.savepoint-dir": format!("{dir}/sp"),
                "execution.checkpointing.dir": format!("{dir}/cp"),
            },
        });
        for (key, value) in inputs.as_object().unwrap() {
            inputs_with_directories[key] = value.clone();
        }
        let mut model = super::super::golden_tests::model(inputs_with_directories);
        let mut diags = Diagnostics::default();
        super::super::plan::create(&mut model, &mut diags);
        let lookup = find(&Context::default(), &model, &[]).await;
        super::super::plan::start_from_predecessor(&mut model, lookup, &mut diags);
        (model, diags)
    }

    #[tokio::test]
    async fn the_newest_complete_snapshot_is_where_a_new_job_starts() {
        let (root, dir) = left_behind("newest");
        let (model, diags) = planned_create(&dir, json!({})).await;
        let chk_13 = format!("{dir}/cp/0a1b/chk-13");
        assert_eq!(
            super::super::resolve::restore_from(&model).as_ref(),
            Some(&chk_13),
            "the newest complete one; chk-14 has no _metadata"
        );
        assert!(format!("{:?}", diags.0).contains(&chk_13));

        let (model, _) =
            planned_create(&dir, json!({"restore_strategy": "LATEST_SAVEPOINT"})).await;
        assert_eq!(
            super::super::resolve::restore_from(&model),
            Some(format!("{dir}/sp/savepoint-0a1b2c-3d4e5f6a7b8c")),
            "no retained checkpoint under LATEST_SAVEPOINT"
        );

        // Without the savepoint and the complete checkpoint, nothing is left to start from.
        std::fs::remove_dir_all(root.join("sp")).unwrap();
        std::fs::remove_dir_all(root.join("cp/0a1b/chk-13")).unwrap();
        let (model, diags) = planned_create(&dir, json!({})).await;
        assert_eq!(super::super::resolve::restore_from(&model), None);
        assert_eq!(model.last_savepoint, Attr::Null);
        assert!(diags.0.is_empty(), "{:?}", diags.0);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[tokio::test]
    async fn initial_savepoint_path_wins_over_what_a_predecessor_left() {
        let (root, dir) = left_behind("initial");
        let chosen = "file:///elsewhere/savepoint-chosen";
        let (model, diags) = planned_create(&dir, json!({"initial_savepoint_path": chosen})).await;
        assert_eq!(
            super::super::resolve::restore_from(&model).as_deref(),
            Some(chosen)
        );
        assert_eq!(model.last_savepoint, Attr::Null);
        assert!(
            !format!("{:?}", diags.0).contains(&dir),
            "no warning names the predecessor's state: {:?}",
            diags.0
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[tokio::test]
    async fn restore_strategy_none_starts_from_nothing_though_snapshots_are_there() {
        let (root, dir) = left_behind("none");
        let (model, diags) = planned_create(&dir, json!({"restore_strategy": "NONE"})).await;
        assert!(matches!(
            find(&Context::default(), &model, &[]).await,
            Lookup::Nothing
        ));
        assert_eq!(super::super::resolve::restore_from(&model), None);
        assert_eq!(model.last_savepoint, Attr::Null);
        assert_eq!(model.savepoints, Attr::Known(Vec::new()));
        assert!(!format!("{:?}", diags.0).contains(&dir), "{:?}", diags.0);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[tokio::test]
    async fn a_replacement_looks_in_the_directories_of_the_deployment_it_replaces() {
        let (root, dir) = left_behind("replaced");
        let (mut model, _) = planned_create(
            "file:///nothing-here",
            json!({"name": "orders-v2", "restore_strategy": "LATEST_SAVEPOINT"}),
        )
        .await;
        assert_eq!(super::super::resolve::restore_from(&model), None);
        let more = [format!("{dir}/sp"), format!("{dir}/cp")];
        let Lookup::Found(found) = find(&Context::default(), &model, &more).await else {
            panic!("the predecessor's savepoint is found");
        };
        assert_eq!(
            found.location,
            format!("{dir}/sp/savepoint-0a1b2c-3d4e5f6a7b8c")
        );
        model.initial_savepoint_path = Attr::Known("file:///elsewhere/savepoint-chosen".into());
        assert!(matches!(
            find(&Context::default(), &model, &more).await,
            Lookup::Nothing
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }

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
