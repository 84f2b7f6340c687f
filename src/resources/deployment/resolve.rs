//! From the model (which may hold unknowns) to a fully known deployment with every default
//! applied, and from there to the Flink renderer's input. No IO.

use super::model::{
    AuthoritySpec, BlobStorageSpec, HighAvailabilitySpec, Model, Process,
    QUERYABLE_STATE_ANNOTATION, TLS_ANNOTATION,
};
use super::secret_configuration::SecretSource;
use super::states::{Reason, RestoreStrategy, State};
use crate::flink::FlinkVersion;
use crate::value::Attr;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Defaults of Flink's own distribution for process memory.
const JOBMANAGER_MEMORY: &str = "1600m";
const TASKMANAGER_MEMORY: &str = "1728m";

/// The job's artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub jar_uri: String,
    pub entry_class: Option<String>,
    pub main_args: Vec<String>,
    pub additional_dependencies: Vec<String>,
    /// The job jar's SHA-256 digest, checked after its download.
    pub sha256: Option<String>,
    /// The digests of downloaded additional dependencies, by URI.
    pub dependency_sha256: BTreeMap<String, String>,
    /// The image of the init container that downloads the artifacts.
    pub fetcher_image: String,
    /// The image of the init container that copies `s3://` artifacts.
    pub s3_fetcher_image: String,
}

/// The uid and gid of the official image's `flink` user (`USER flink` in apache/flink-docker).
pub const FLINK_USER: i64 = 9999;

/// Pod options with defaults applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pod {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    pub image_pull_secrets: Vec<String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Json>,
    pub service_account: Option<String>,
    /// Annotations of the provider's ServiceAccounts (cloud workload identity).
    pub service_account_annotations: BTreeMap<String, String>,
    /// The uid (and gid) the processes run as.
    pub run_as_user: i64,
    pub read_only_root_filesystem: bool,
}

/// The user's pod templates, every part known, their quantities as the API server writes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Templates {
    /// `pod_template`: both roles.
    pub common: Option<Json>,
    /// `jobmanager_pod_template`.
    pub jobmanager: Option<Json>,
    /// `taskmanager_pod_template`.
    pub taskmanager: Option<Json>,
}

impl Templates {
    /// The role's template over the common one, for `component` (`jobmanager` or
    /// `taskmanager`); `None` when neither is set.
    pub fn of(&self, component: &str) -> Option<Json> {
        let role = match component {
            "jobmanager" => &self.jobmanager,
            _ => &self.taskmanager,
        };
        match (&self.common, role) {
            (None, None) => None,
            (Some(t), None) | (None, Some(t)) => Some(t.clone()),
            (Some(c), Some(r)) => Some(super::template_merge::merge_user(c, r)),
        }
    }
}

/// A template attribute: `Some(None)` when unset, `None` while any part is unknown.
fn template(attr: &Attr<super::model::PodTemplate>) -> Option<Option<Json>> {
    match attr {
        Attr::Null => Some(None),
        Attr::Unknown => None,
        Attr::Known(t) => {
            let mut json = t.known()?.clone();
            super::template_checks::normalize_quantities(&mut json);
            Some(Some(json))
        }
    }
}

/// Who may call the REST API (and the Queryable State proxy) through the NetworkPolicy.
#[derive(Debug, Clone, PartialEq)]
pub struct RestPeers {
    /// Namespaces whose pods may.
    pub namespaces: Vec<String>,
    /// Address ranges that may.
    pub cidrs: Vec<String>,
}

/// TLS of a deployment that has it on.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedTls {
    pub authority: AuthoritySpec,
    pub validity_hours: i64,
    pub early_renewal_hours: i64,
    /// The internal certificate's SHA-1 fingerprint Flink pins, once issued (state has it).
    pub internal_fingerprint_sha1: Option<String>,
}

/// A deployment with every value known.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub version: FlinkVersion,
    /// The release `flink_version` stands for (a minor's newest).
    pub release: String,
    pub image: String,
    /// Whether the image's `opt/` file system plugins are enabled for the state's schemes.
    pub built_in_filesystem_plugins: bool,
    pub job_id: String,
    pub artifact: Artifact,
    pub parallelism: u32,
    pub task_slots: u32,
    pub task_managers: u32,
    pub jobmanager: (f64, String),
    pub taskmanager: (f64, String),
    pub flink_configuration: BTreeMap<String, String>,
    /// Flink keys whose values come from Secrets.
    pub configuration_from_secrets: BTreeMap<String, SecretSource>,
    pub root_level: String,
    pub loggers: BTreeMap<String, String>,
    /// The user's whole `log4j-console.properties`, used instead of `root_level` and `loggers`.
    pub log4j_properties: Option<String>,
    pub pod: Pod,
    /// The user's pod templates.
    pub templates: Templates,
    pub blob_storage: Option<BlobStorageSpec>,
    pub high_availability: Option<HighAvailabilitySpec>,
    pub queryable_state: bool,
    /// The NetworkPolicy's REST peers; `None` when `network_policy.enabled = false`.
    pub network_policy: Option<RestPeers>,
    /// The Ingress to the REST Service, when `ingress` is set.
    pub ingress: Option<super::ingress::ResolvedIngress>,
    pub allow_non_restored_state: bool,
    /// `in_place_rescaling`: the adaptive scheduler runs the job, and its parallelism stays out
    /// of the rollout hash.
    pub in_place_rescaling: bool,
    pub tls: Option<ResolvedTls>,
    /// The savepoint a starting job restores from (`execution.savepoint.path`).
    pub restore_from: Option<String>,
    /// SUSPENDED or CANCELLED: the JobManager and TaskManager Deployments scale to nothing.
    pub stopped: bool,
    /// Restore strategy `LATEST_STATE`: checkpoints are retained when the job is cancelled or
    /// fails, unless the user says otherwise.
    pub retain_checkpoints: bool,
}

impl Resolved {
    /// Whether Flink's Kubernetes HA runs: its pods then call the API server.
    pub fn kubernetes_ha(&self) -> bool {
        self.high_availability
            .as_ref()
            .is_some_and(|h| h.ha_type == "kubernetes")
    }
}

/// Where a starting job restores from: with `LATEST_STATE` the newest entry of `savepoints`
/// (a savepoint or a retained checkpoint), with `LATEST_SAVEPOINT` the newest savepoint, else
/// the initial savepoint path; nothing with restore strategy NONE. A savepoint not taken yet
/// (unknown at plan) counts as none here: the restore path is no part of what plan shows.
pub fn restore_from(model: &Model) -> Option<String> {
    let newest = match model.restore() {
        Some(RestoreStrategy::Nothing) => return None,
        Some(RestoreStrategy::LatestSavepoint) => model.savepoints.known().and_then(|list| {
            list.iter()
                .rev()
                .find(|s| {
                    s.reason.known().map(String::as_str)
                        != Some(Reason::RetainedCheckpoint.as_str())
                })
                .and_then(|s| s.location.known())
        }),
        _ => model.last_savepoint.known(),
    };
    newest.or(model.initial_savepoint_path.known()).cloned()
}

/// The job id of a deployment's first run: its id's 32 hex digits.
pub fn job_id_of(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_hexdigit)
        .collect::<String>()
        .to_lowercase()
}

/// The job id of the run after the one with `job_id`. Every run the provider starts gets its own
/// id, as each VVP Job does: Flink remembers a job that ended (its job result store, with HA) and
/// would not run the same id again, and HA data of the old run cannot shadow the restore path.
/// Derived, not random, so plan knows it.
pub fn next_job_id(job_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("flinkops/flink_deployment/run:{job_id}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// TaskManagers needed for `parallelism` with `slots` each.
pub fn default_task_managers(parallelism: i64, slots: i64) -> i64 {
    (parallelism + slots.max(1) - 1) / slots.max(1)
}

/// Whether the model turns Queryable State on (attribute or the seed's annotation). `None` while
/// unknown.
pub fn queryable_state(model: &Model) -> Option<bool> {
    let by_attribute = match &model.queryable_state {
        Attr::Known(q) => match &q.enabled {
            Attr::Known(b) => *b,
            Attr::Null => false,
            Attr::Unknown => return None,
        },
        Attr::Null => false,
        Attr::Unknown => return None,
    };
    let by_annotation = match &model.annotations {
        Attr::Known(a) => a
            .get(QUERYABLE_STATE_ANNOTATION)
            .is_some_and(|v| v == "true"),
        Attr::Null => false,
        Attr::Unknown => return None,
    };
    Some(by_attribute || by_annotation)
}

/// Whether the model turns TLS on (attribute or the seed's annotation). `None` while unknown.
pub fn tls_enabled(model: &Model) -> Option<bool> {
    let by_attribute = match &model.tls {
        Attr::Known(t) => match &t.enabled {
            Attr::Known(b) => *b,
            Attr::Null => false,
            Attr::Unknown => return None,
        },
        Attr::Null => false,
        Attr::Unknown => return None,
    };
    let by_annotation = match &model.annotations {
        Attr::Known(a) => a.get(TLS_ANNOTATION).is_some_and(|v| v == "true"),
        Attr::Null => false,
        Attr::Unknown => return None,
    };
    Some(by_attribute || by_annotation)
}

/// The NetworkPolicy's REST peers: `Some(None)` when it is off, `None` while unknown. Without a
/// list of namespaces, the deployment's own.
fn network_policy(model: &Model) -> Option<Option<RestPeers>> {
    let settings = or_default(&model.network_policy)?;
    match settings.enabled {
        Attr::Known(false) => return Some(None),
        Attr::Unknown => return None,
        _ => {}
    }
    let namespaces = match &settings.rest_from_namespaces {
        Attr::Known(list) => list.clone(),
        Attr::Null => vec![known(&model.namespace)?],
        Attr::Unknown => return None,
    };
    let mut namespaces = namespaces;
    // The ingress controller's namespace, so the Ingress it serves reaches the REST port.
    if let Some(controller) = model.ingress.known().map(|i| &i.controller_namespace) {
        match controller {
            Attr::Known(ns) if !namespaces.contains(ns) => namespaces.push(ns.clone()),
            Attr::Unknown => return None,
            _ => {}
        }
    }
    Some(Some(RestPeers {
        namespaces,
        cidrs: or_default(&settings.rest_from_cidrs)?,
    }))
}

/// The TLS settings: `Some(None)` when TLS is off, `None` while unknown (or without authority).
fn tls(model: &Model) -> Option<Option<ResolvedTls>> {
    if !tls_enabled(model)? {
        return Some(None);
    }
    let settings = or_default(&model.tls)?;
    let authority = known(&settings.authority)?;
    let hours = |attr: &Attr<i64>, default: i64| match attr {
        Attr::Known(h) => Some(*h),
        Attr::Null => Some(default),
        Attr::Unknown => None,
    };
    let internal_fingerprint_sha1 = model
        .tls_certificates
        .known()
        .and_then(|c| c.internal_fingerprint_sha1.known().cloned());
    Some(Some(ResolvedTls {
        authority,
        validity_hours: hours(&settings.validity_period_hours, 8760)?,
        early_renewal_hours: hours(&settings.early_renewal_hours, 720)?,
        internal_fingerprint_sha1,
    }))
}

fn known<T: Clone>(attr: &Attr<T>) -> Option<T> {
    attr.known().cloned()
}

/// Null as the default, unknown as `None`.
fn or_default<T: Clone + Default>(attr: &Attr<T>) -> Option<T> {
    match attr {
        Attr::Known(v) => Some(v.clone()),
        Attr::Null => Some(T::default()),
        Attr::Unknown => None,
    }
}

fn process(attr: Option<&Attr<Process>>, memory: &str) -> Option<(f64, String)> {
    match attr {
        None | Some(Attr::Null) => Some((1.0, memory.to_string())),
        Some(Attr::Unknown) => None,
        Some(Attr::Known(p)) => Some((
            match p.cpu {
                Attr::Known(c) => c,
                Attr::Null => 1.0,
                Attr::Unknown => return None,
            },
            match &p.memory {
                Attr::Known(m) => m.clone(),
                Attr::Null => memory.to_string(),
                Attr::Unknown => return None,
            },
        )),
    }
}

/// The deployment, when every input is known.
pub fn resolve(model: &Model) -> Option<Resolved> {
    let id = known(&model.id)?;
    let version = FlinkVersion::parse(model.flink_version.known()?).ok()?;
    let artifact = known(&model.artifact)?;
    let resources = or_default(&model.resources)?;
    let logging = or_default(&model.logging)?;
    let pod = or_default(&model.pod)?;
    let parallelism = known(&model.parallelism)?;
    let task_slots = known(&model.task_slots)?;
    let tolerations = or_default(&pod.tolerations)?
        .iter()
        .map(|t| {
            let mut m = serde_json::Map::new();
            for (k, v) in [
                ("key", &t.key),
                ("operator", &t.operator),
                ("value", &t.value),
                ("effect", &t.effect),
            ] {
                if let Some(v) = v.known() {
                    m.insert(k.into(), v.clone().into());
                }
            }
            Json::Object(m)
        })
        .collect();
    Some(Resolved {
        job_id: model
            .job_id
            .known()
            .cloned()
            .unwrap_or_else(|| job_id_of(&id)),
        id,
        name: known(&model.name)?,
        namespace: known(&model.namespace)?,
        release: FlinkVersion::release_of(model.flink_version.known()?)
            .ok()?
            .to_string(),
        image: match known(&model.image) {
            Some(image) => image,
            None => crate::flink::versions::official_image(
                FlinkVersion::release_of(model.flink_version.known()?).ok()?,
            ),
        },
        built_in_filesystem_plugins: match &model.built_in_filesystem_plugins {
            Attr::Known(enabled) => *enabled,
            Attr::Null => true,
            Attr::Unknown => return None,
        },
        version,
        artifact: Artifact {
            jar_uri: known(&artifact.jar_uri)?,
            entry_class: match &artifact.entry_class {
                Attr::Unknown => return None,
                other => other.known().cloned(),
            },
            main_args: or_default(&artifact.main_args)?,
            additional_dependencies: or_default(&artifact.additional_dependencies)?,
            sha256: match &artifact.sha256 {
                Attr::Unknown => return None,
                other => other.known().map(|d| d.to_ascii_lowercase()),
            },
            dependency_sha256: or_default(&artifact.dependency_sha256)?
                .into_iter()
                .map(|(uri, digest)| (uri, digest.to_ascii_lowercase()))
                .collect(),
            fetcher_image: match &artifact.fetcher_image {
                Attr::Unknown => return None,
                other => other
                    .known()
                    .cloned()
                    .unwrap_or_else(|| super::artifacts::DEFAULT_FETCHER_IMAGE.into()),
            },
            s3_fetcher_image: match &artifact.s3_fetcher_image {
                Attr::Unknown => return None,
                other => other
                    .known()
                    .cloned()
                    .unwrap_or_else(|| super::artifacts::DEFAULT_S3_FETCHER_IMAGE.into()),
            },
        },
        parallelism: u32::try_from(parallelism).ok()?,
        task_slots: u32::try_from(task_slots).ok()?,
        task_managers: u32::try_from(match &model.number_of_task_managers {
            Attr::Known(n) => *n,
            Attr::Null => default_task_managers(parallelism, task_slots),
            Attr::Unknown => return None,
        })
        .ok()?,
        jobmanager: process(Some(&resources.jobmanager), JOBMANAGER_MEMORY)?,
        taskmanager: process(Some(&resources.taskmanager), TASKMANAGER_MEMORY)?,
        flink_configuration: or_default(&model.flink_configuration)?,
        configuration_from_secrets: or_default(&model.flink_configuration_from_secrets)?
            .into_iter()
            .map(|(flink_key, source)| {
                Some((
                    flink_key,
                    SecretSource {
                        secret: known(&source.secret)?,
                        key: known(&source.key)?,
                    },
                ))
            })
            .collect::<Option<_>>()?,
        root_level: match &logging.root_level {
            Attr::Known(l) => l.clone(),
            Attr::Null => "INFO".into(),
            Attr::Unknown => return None,
        },
        loggers: or_default(&logging.loggers)?,
        log4j_properties: match &logging.log4j_properties {
            Attr::Unknown => return None,
            other => other.known().cloned(),
        },
        pod: Pod {
            labels: or_default(&pod.labels)?,
            annotations: or_default(&pod.annotations)?,
            env: or_default(&pod.env)?,
            image_pull_secrets: or_default(&pod.image_pull_secrets)?,
            node_selector: or_default(&pod.node_selector)?,
            tolerations,
            service_account: match &pod.service_account {
                Attr::Unknown => return None,
                other => other.known().cloned(),
            },
            service_account_annotations: or_default(&pod.service_account_annotations)?,
            run_as_user: match &pod.run_as_user {
                Attr::Known(uid) => *uid,
                Attr::Null => FLINK_USER,
                Attr::Unknown => return None,
            },
            read_only_root_filesystem: match &pod.read_only_root_filesystem {
                Attr::Known(read_only) => *read_only,
                Attr::Null => true,
                Attr::Unknown => return None,
            },
        },
        templates: Templates {
            common: template(&model.pod_template)?,
            jobmanager: template(&model.jobmanager_pod_template)?,
            taskmanager: template(&model.taskmanager_pod_template)?,
        },
        blob_storage: match &model.blob_storage {
            Attr::Unknown => return None,
            other => other.known().cloned(),
        },
        high_availability: match &model.high_availability {
            Attr::Unknown => return None,
            other => other.known().cloned(),
        },
        queryable_state: queryable_state(model)?,
        network_policy: network_policy(model)?,
        ingress: super::ingress::resolve(model, tls_enabled(model)?)?,
        allow_non_restored_state: known(&model.allow_non_restored_state).unwrap_or(false),
        in_place_rescaling: known(&model.in_place_rescaling).unwrap_or(false),
        tls: tls(model)?,
        restore_from: restore_from(model),
        retain_checkpoints: match &model.restore_strategy {
            Attr::Known(strategy) => {
                RestoreStrategy::parse(strategy) == Some(RestoreStrategy::LatestState)
            }
            Attr::Null => true,
            Attr::Unknown => return None,
        },
        stopped: match &model.state {
            Attr::Known(state) => State::parse(state) != Some(State::Running),
            Attr::Null => false,
            Attr::Unknown => return None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_starting_job_restores_from_the_newest_savepoint_else_the_initial_path() {
        let mut model = Model {
            initial_savepoint_path: Attr::Known("s3://elsewhere/sp-1".into()),
            ..Model::default()
        };
        assert_eq!(restore_from(&model).as_deref(), Some("s3://elsewhere/sp-1"));
        model.last_savepoint = Attr::Known("s3://state/sp-2".into());
        assert_eq!(restore_from(&model).as_deref(), Some("s3://state/sp-2"));
        model.last_savepoint = Attr::Unknown;
        assert_eq!(
            restore_from(&model).as_deref(),
            Some("s3://elsewhere/sp-1"),
            "a savepoint not taken yet is no restore path"
        );
        model.restore_strategy = Attr::Known("NONE".into());
        assert_eq!(restore_from(&model), None);
    }

    #[test]
    fn only_latest_state_restores_from_a_retained_checkpoint() {
        let entry = |location: &str, reason: &str| super::super::model::Savepoint {
            location: Attr::Known(location.into()),
            time: Attr::Known("2026-11-25T06:00:00Z".into()),
            reason: Attr::Known(reason.into()),
        };
        let mut model = Model {
            savepoints: Attr::Known(vec![
                entry("s3://state/savepoints/sp-1", "UPGRADE"),
                entry("s3://state/checkpoints/job/chk-9", "RETAINED_CHECKPOINT"),
            ]),
            last_savepoint: Attr::Known("s3://state/checkpoints/job/chk-9".into()),
            restore_strategy: Attr::Known("LATEST_STATE".into()),
            ..Model::default()
        };
        assert_eq!(
            restore_from(&model).as_deref(),
            Some("s3://state/checkpoints/job/chk-9")
        );
        model.restore_strategy = Attr::Known("LATEST_SAVEPOINT".into());
        assert_eq!(
            restore_from(&model).as_deref(),
            Some("s3://state/savepoints/sp-1")
        );
    }

    #[test]
    fn each_run_gets_a_new_job_id_derived_from_the_last() {
        let first = job_id_of("0f8e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b");
        let second = next_job_id(&first);
        assert_eq!(second.len(), 32);
        assert!(second.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(second, first);
        assert_eq!(second, next_job_id(&first), "plan and apply agree");
        assert_ne!(next_job_id(&second), second);
    }

    #[test]
    fn job_id_is_the_ids_hex_digits() {
        assert_eq!(
            job_id_of("0f8e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"),
            "0f8e4c1a2b3d4e5f8a9b0c1d2e3f4a5b"
        );
    }

    #[test]
    fn task_managers_cover_parallelism() {
        assert_eq!(default_task_managers(4, 2), 2);
        assert_eq!(default_task_managers(5, 2), 3);
        assert_eq!(default_task_managers(1, 1), 1);
    }
}
