//! Renders the effective Flink configuration of a deployment and its `config.yaml`. Layers, later
//! ones win: provider defaults (Java 17 module options, parallelism, slots, memory, cpu, the blob
//! storage directories) < the user's `flink_configuration` < what the provider owns (identities,
//! HA, Queryable State) < keys other modules own (`owned`, e.g. SSL), with a warning for every user
//! key a later layer overrides. Key names follow the version's catalogue.

use std::collections::BTreeMap;

pub use super::input::{HighAvailability, ProcessResources, RenderInput};
use super::issue::Issue;
use super::layout::BlobLayout;
use super::options::Catalogue;
use super::owned::provider_owned;
pub use super::owned::{
    is_kubernetes_cluster_id, QUERYABLE_STATE_PROXY_PORT, QUERYABLE_STATE_SERVER_PORT,
};
use super::validate::{validate, validate_keys, IDENTITY_KEYS};
use super::values::is_memory_size;
use super::yaml::to_config_yaml;

/// Where the Java 17 module options go: `env.java.default-opts.all`, which Flink's scripts prepend
/// to `env.java.opts.all` (so the user keeps that key), or `env.java.opts.all` where it is missing.
fn java_opts_key(cat: &Catalogue) -> &'static str {
    if cat.get("env.java.default-opts.all").is_some() {
        "env.java.default-opts.all"
    } else {
        "env.java.opts.all"
    }
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
    issues.extend(validate_keys(input.version, &input.from_secrets));
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
        // The Java 17 module options stay: the user's default JVM options come after them.
        let value = match config.get(key) {
            Some(ours) if key == java_opts_key(cat) && !cat.java_opts.is_empty() => {
                format!("{ours} {value}")
            }
            _ => value.clone(),
        };
        config.insert(key.clone(), value);
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
                // Identities already carry an error from validation.
                if !IDENTITY_KEYS.contains(&key.as_str()) && input.user.get(user_key) != Some(value)
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
    refuse_owned_from_secrets(input, cat, &provider, &mut issues);
    // Flink gets these as dynamic properties, which win over the file: a default stays out of
    // it rather than show a value Flink does not use.
    for key in &input.from_secrets {
        config.remove(key);
        config.remove(cat.preferred(key));
    }
    let config_yaml = to_config_yaml(&config);
    Rendered {
        configuration: config,
        config_yaml,
        issues,
    }
}

/// A key the provider sets cannot come from a Secret: its dynamic property would override what
/// the provider renders (identities already carry an error from validation).
fn refuse_owned_from_secrets(
    input: &RenderInput,
    cat: &Catalogue,
    provider: &BTreeMap<String, String>,
    issues: &mut Vec<Issue>,
) {
    for key in &input.from_secrets {
        let preferred = cat.preferred(key);
        if IDENTITY_KEYS.contains(&key.as_str()) || IDENTITY_KEYS.contains(&preferred) {
            continue;
        }
        let owned = |layer: &BTreeMap<String, String>| {
            layer.contains_key(key.as_str()) || layer.contains_key(preferred)
        };
        if owned(provider) || owned(&input.owned) {
            issues.push(Issue::error(
                key,
                "Key is set by the provider",
                format!(
                    "`{key}` is rendered by the provider from other attributes (addresses, ports, \
                     high availability, Queryable State, TLS, blob storage), so it cannot come \
                     from a Secret. Remove it from flink_configuration_from_secrets and set the \
                     attribute that owns it."
                ),
            ));
        }
    }
}

fn defaults(
    input: &RenderInput,
    cat: &Catalogue,
    issues: &mut Vec<Issue>,
) -> BTreeMap<String, String> {
    let mut c = BTreeMap::new();
    if !cat.java_opts.is_empty() {
        c.insert(java_opts_key(cat).to_string(), cat.java_opts.clone());
    }
    for (key, n) in [
        ("parallelism.default", input.parallelism),
        ("taskmanager.numberOfTaskSlots", input.task_slots),
    ] {
        if let Some(n) = n {
            if n == 0 {
                issues.push(Issue::error(
                    key,
                    "Must be at least 1",
                    format!("`{key}` is 0; use 1 or more."),
                ));
            }
            c.insert(key.to_string(), n.to_string());
        }
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
            if !(cpu.is_finite() && cpu > 0.0) {
                issues.push(Issue::error(
                    &legacy,
                    "Invalid cpu",
                    format!("{kind} cpu {cpu} must be a positive number of cores, e.g. 0.5."),
                ));
            }
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

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
