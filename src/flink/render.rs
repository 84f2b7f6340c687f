//! Renders the effective Flink configuration of a deployment and its `config.yaml`. Layers, later
//! ones win: provider defaults (Java 17 module options, parallelism, slots, memory, cpu, the blob
//! storage directories) < the user's `flink_configuration` < what the provider owns (identities,
//! HA, Queryable State) < keys other modules own (`owned`, e.g. SSL), with a warning for every user
//! key a later layer overrides. Key names follow the version's catalogue.

use std::collections::BTreeMap;

use super::issue::Issue;
use super::layout::BlobLayout;
use super::options::Catalogue;
use super::validate::{validate, IDENTITY_KEYS};
use super::values::is_memory_size;
use super::versions::FlinkVersion;
use super::yaml::to_config_yaml;

/// The port of the Queryable State client proxy (what `job-<jobId>-taskmanager:9069` serves).
pub const QUERYABLE_STATE_PROXY_PORT: u16 = 9069;
/// The port of the Queryable State server on each TaskManager.
pub const QUERYABLE_STATE_SERVER_PORT: u16 = 9067;

/// High availability of the JobManager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HighAvailability {
    /// Flink's native Kubernetes HA (VVP's `vvp-kubernetes`).
    Kubernetes {
        /// Overrides the blob storage layout's `ha` directory.
        storage_dir: Option<String>,
    },
    /// ZooKeeper HA.
    ZooKeeper {
        /// `host:port,host:port`.
        quorum: String,
        /// The root znode (Flink's default `/flink` when `None`).
        path_root: Option<String>,
        /// Overrides the blob storage layout's `ha` directory.
        storage_dir: Option<String>,
    },
}

/// Memory (process size) and cpu of one Flink process kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessResources {
    /// Total process memory, e.g. `1600m`, `2 gb`.
    pub memory: Option<String>,
    /// Cpu cores, e.g. 0.5.
    pub cpu: Option<f64>,
}

/// Everything the configuration of one deployment depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderInput {
    /// The Flink version.
    pub version: FlinkVersion,
    /// The Kubernetes namespace of the deployment.
    pub namespace: String,
    /// The deployment id: also the HA cluster id and the blob storage directory name.
    pub deployment_id: String,
    /// The pinned job id (32 hex digits).
    pub job_id: Option<String>,
    /// The user's `flink_configuration`.
    pub user: BTreeMap<String, String>,
    /// `parallelism.default`.
    pub parallelism: Option<u32>,
    /// `taskmanager.numberOfTaskSlots`.
    pub task_slots: Option<u32>,
    /// JobManager memory and cpu.
    pub jobmanager: ProcessResources,
    /// TaskManager memory and cpu.
    pub taskmanager: ProcessResources,
    /// The blob storage base URI (`s3://bucket/prefix`, `file:///tmp/blobs`).
    pub blob_storage: Option<String>,
    /// JobManager high availability.
    pub high_availability: Option<HighAvailability>,
    /// Whether the Queryable State service runs.
    pub queryable_state: bool,
    /// Keys other modules own (SSL, storage endpoints), merged last.
    pub owned: BTreeMap<String, String>,
}

/// The effective configuration, its file and what the user should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Every key and value Flink gets, sorted.
    pub configuration: BTreeMap<String, String>,
    /// `config.yaml`.
    pub config_yaml: String,
    /// Validation of the user's keys and rendering findings; errors mean nothing should be deployed.
    pub issues: Vec<Issue>,
}

impl Rendered {
    /// Whether any issue is an error.
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(Issue::is_error)
    }
}

/// Renders the configuration of `input` (this also validates `input.user`).
pub fn render(input: &RenderInput) -> Rendered {
    let cat = Catalogue::of(input.version);
    let mut issues = validate(input.version, &input.user);
    let defaults = defaults(input, cat, &mut issues);
    let provider = provider_owned(input, cat, &mut issues);

    let mut config = defaults;
    for (key, value) in &input.user {
        if IDENTITY_KEYS.contains(&key.as_str()) || IDENTITY_KEYS.contains(&cat.preferred(key)) {
            continue;
        }
        // A user key under another name of a default replaces the default, which Flink would prefer.
        let preferred = cat.preferred(key);
        if preferred != key.as_str() {
            config.remove(preferred);
        }
        config.insert(key.clone(), value.clone());
    }
    for (layer, why) in [
        (&provider, "the provider sets it"),
        (&input.owned, "another provider setting owns it"),
    ] {
        for (key, value) in layer {
            for user_key in input
                .user
                .keys()
                .filter(|u| *u == key || cat.preferred(u) == key)
            {
                if user_key != key {
                    config.remove(user_key);
                }
                if !IDENTITY_KEYS.contains(&user_key.as_str())
                    && input.user.get(user_key) != Some(value)
                {
                    issues.push(Issue::warning(
                        user_key,
                        "Flink option overridden",
                        format!("`{user_key}` is overridden because {why}: Flink gets `{key}` = {value:?}."),
                    ));
                }
            }
            config.insert(key.clone(), value.clone());
        }
    }
    let config_yaml = to_config_yaml(&config);
    Rendered {
        configuration: config,
        config_yaml,
        issues,
    }
}

fn defaults(
    input: &RenderInput,
    cat: &Catalogue,
    issues: &mut Vec<Issue>,
) -> BTreeMap<String, String> {
    let mut c = BTreeMap::new();
    if !cat.java_opts.is_empty() {
        // Flink's scripts prepend env.java.default-opts.all to env.java.opts.all, so the user keeps
        // env.java.opts.all for their own options.
        let key = if cat.get("env.java.default-opts.all").is_some() {
            "env.java.default-opts.all"
        } else {
            "env.java.opts.all"
        };
        c.insert(key.to_string(), cat.java_opts.clone());
    }
    if let Some(p) = input.parallelism {
        c.insert("parallelism.default".to_string(), p.to_string());
    }
    if let Some(s) = input.task_slots {
        c.insert("taskmanager.numberOfTaskSlots".to_string(), s.to_string());
    }
    for (kind, res) in [
        ("jobmanager", &input.jobmanager),
        ("taskmanager", &input.taskmanager),
    ] {
        if let Some(m) = &res.memory {
            let key = format!("{kind}.memory.process.size");
            if !is_memory_size(m) {
                issues.push(Issue::error(
                    &key,
                    "Invalid memory size",
                    format!("{m:?} is no memory size; use e.g. 1600m or 2 gb."),
                ));
            }
            c.insert(key, m.trim().to_string());
        }
        if let Some(cpu) = res.cpu {
            let legacy = format!("kubernetes.{kind}.cpu");
            c.insert(cat.preferred(&legacy).to_string(), format!("{cpu}"));
        }
    }
    if let Some(base) = &input.blob_storage {
        match BlobLayout::new(base, &input.namespace, &input.deployment_id) {
            Ok(l) => {
                c.insert(
                    cat.preferred("state.checkpoints.dir").to_string(),
                    l.checkpoints(),
                );
                c.insert(
                    cat.preferred("state.savepoints.dir").to_string(),
                    l.savepoints(),
                );
            }
            Err(e) => issues.push(Issue::error(
                "blob_storage",
                "Invalid blob storage",
                e.to_string(),
            )),
        }
    }
    c
}

fn provider_owned(
    input: &RenderInput,
    cat: &Catalogue,
    issues: &mut Vec<Issue>,
) -> BTreeMap<String, String> {
    let mut c = BTreeMap::new();
    let id = &input.deployment_id;
    c.insert("high-availability.cluster-id".to_string(), id.clone());
    if let Some(job) = &input.job_id {
        if job.len() != 32 || !job.chars().all(|ch| ch.is_ascii_hexdigit()) {
            issues.push(Issue::error(
                "$internal.pipeline.job-id",
                "Invalid job id",
                format!("{job:?} must be 32 hexadecimal digits."),
            ));
        }
        c.insert(
            "$internal.pipeline.job-id".to_string(),
            job.to_ascii_lowercase(),
        );
    }
    if let Some(ha) = &input.high_availability {
        let blob_ha = input
            .blob_storage
            .as_ref()
            .and_then(|b| BlobLayout::new(b, &input.namespace, id).ok())
            .map(|l| l.ha());
        let (ty, storage_dir) = match ha {
            HighAvailability::Kubernetes { storage_dir } => {
                if !is_kubernetes_cluster_id(id) {
                    issues.push(Issue::error(
                        "high_availability",
                        "Deployment id unusable as Kubernetes cluster id",
                        format!("Kubernetes HA names its ConfigMaps after the deployment id {id:?}; it must be at most 45 lowercase letters, digits and '-', starting and ending with a letter or digit."),
                    ));
                }
                c.insert("kubernetes.cluster-id".to_string(), id.clone());
                c.insert("kubernetes.namespace".to_string(), input.namespace.clone());
                ("kubernetes", storage_dir)
            }
            HighAvailability::ZooKeeper {
                quorum,
                path_root,
                storage_dir,
            } => {
                c.insert(
                    "high-availability.zookeeper.quorum".to_string(),
                    quorum.clone(),
                );
                c.insert(
                    "high-availability.zookeeper.path.root".to_string(),
                    path_root.clone().unwrap_or_else(|| "/flink".to_string()),
                );
                ("zookeeper", storage_dir)
            }
        };
        c.insert(
            cat.preferred("high-availability").to_string(),
            ty.to_string(),
        );
        match storage_dir.clone().or(blob_ha) {
            Some(dir) => {
                c.insert("high-availability.storageDir".to_string(), dir);
            }
            None => issues.push(Issue::error(
                "high_availability",
                "No HA storage directory",
                "High availability needs a storage directory: set blob_storage on the deployment or storage_dir on the HA configuration.",
            )),
        }
    }
    if input.queryable_state {
        if cat.has_queryable_state() {
            c.insert("queryable-state.enable".to_string(), "true".to_string());
            c.insert(
                "queryable-state.proxy.ports".to_string(),
                QUERYABLE_STATE_PROXY_PORT.to_string(),
            );
            c.insert(
                "queryable-state.server.ports".to_string(),
                QUERYABLE_STATE_SERVER_PORT.to_string(),
            );
            issues.push(Issue::warning(
                "queryable_state",
                "Queryable State is deprecated",
                format!("Flink deprecated Queryable State in 1.18; Flink {} still ships it, a later release may not. The image must hold opt/flink-queryable-state-runtime in lib/.", input.version),
            ));
        } else {
            issues.push(Issue::error(
                "queryable_state",
                "Queryable State is not available",
                format!("Flink {} no longer ships Queryable State; turn queryable_state off or use an older version.", input.version),
            ));
        }
    }
    c
}

/// Whether `id` can be Flink's `kubernetes.cluster-id` (lowercase alphanumerics and `-`, at most 45).
pub fn is_kubernetes_cluster_id(id: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    id.len() <= 45
        && id.chars().all(|c| ok_char(c) || c == '-')
        && id.chars().next().is_some_and(ok_char)
        && id.chars().last().is_some_and(ok_char)
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
