//! The provider as Terraform sees it, one handler per RPC, in terms of values and diagnostics:
//! the registry of resource and data source types with their schemas, the provider
//! configuration, and the generic steps around each resource's own logic (validation, the generic
//! plan, create/update/delete dispatch, write-only values kept out of state), and Terraform's
//! stop (Ctrl-C) reaching the work in flight ([`stop`]).

mod config;
mod reads;
mod stop;

pub use crate::kubernetes::{ClusterAccess, Connection};
pub use config::KubernetesConfig;

use crate::interrupt::Interrupts;
use crate::resources::{self, Context, DataSource, EphemeralResource, Resource};
use crate::schema::{plan, validate::validate_attributes, AttributePath, Diagnostics, Schema};
use crate::value::{self, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use stop::Work;

struct ResourceEntry {
    resource: Box<dyn Resource>,
    schema: Schema,
}

struct DataSourceEntry {
    data_source: Box<dyn DataSource>,
    schema: Schema,
}

struct EphemeralEntry {
    ephemeral: Box<dyn EphemeralResource>,
    schema: Schema,
}

/// The provider: every type it serves and its configuration once Terraform sent it.
pub struct Provider {
    schema: Schema,
    resources: BTreeMap<&'static str, ResourceEntry>,
    data_sources: BTreeMap<&'static str, DataSourceEntry>,
    ephemeral_resources: BTreeMap<&'static str, EphemeralEntry>,
    configured: RwLock<Option<Arc<Connection>>>,
    /// Terraform's stops, and the signal each RPC in flight listens to.
    interrupts: Interrupts,
    /// What the resources' contexts share for the life of the process.
    seen: Arc<crate::resources::SeenInState>,
}

impl Default for Provider {
    fn default() -> Self {
        Self::new()
    }
}

impl Provider {
    /// The provider with all its types.
    pub fn new() -> Self {
        Self::with_types(
            resources::all(),
            resources::all_data_sources(),
            resources::all_ephemeral_resources(),
        )
    }

    /// A provider serving the given types (tests use it to serve probe types).
    pub fn with_types(
        resource_types: Vec<Box<dyn Resource>>,
        data_source_types: Vec<Box<dyn DataSource>>,
        ephemeral_types: Vec<Box<dyn EphemeralResource>>,
    ) -> Self {
        Provider {
            schema: config::schema(),
            resources: resource_types
                .into_iter()
                .map(|resource| {
                    let schema = resource.schema();
                    (resource.type_name(), ResourceEntry { resource, schema })
                })
                .collect(),
            data_sources: data_source_types
                .into_iter()
                .map(|data_source| {
                    let schema = data_source.schema();
                    (
                        data_source.type_name(),
                        DataSourceEntry {
                            data_source,
                            schema,
                        },
                    )
                })
                .collect(),
            ephemeral_resources: ephemeral_types
                .into_iter()
                .map(|ephemeral| {
                    let schema = ephemeral.schema();
                    (ephemeral.type_name(), EphemeralEntry { ephemeral, schema })
                })
                .collect(),
            configured: RwLock::new(None),
            interrupts: Interrupts::default(),
            seen: Arc::default(),
        }
    }

    /// StopProvider: the RPCs in flight end within seconds, each with the state it reached;
    /// RPCs that start afterwards run normally (as Terraform's own SDKs do: see
    /// [`crate::interrupt`]).
    pub fn stop(&self) {
        self.interrupts.stop();
    }

    /// The provider configuration schema.
    pub fn provider_schema(&self) -> &Schema {
        &self.schema
    }

    /// Resource type names with their schemas.
    pub fn resource_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.resources.iter().map(|(name, e)| (*name, &e.schema))
    }

    /// Data source type names with their schemas.
    pub fn data_source_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.data_sources.iter().map(|(name, e)| (*name, &e.schema))
    }

    /// Ephemeral resource type names with their schemas.
    pub fn ephemeral_resource_schemas(&self) -> impl Iterator<Item = (&'static str, &Schema)> {
        self.ephemeral_resources
            .iter()
            .map(|(name, e)| (*name, &e.schema))
    }

    /// The schema of an ephemeral resource type.
    pub fn ephemeral_resource_schema(&self, type_name: &str) -> Option<&Schema> {
        self.ephemeral_resources.get(type_name).map(|e| &e.schema)
    }

    /// The schema of a resource type.
    pub fn resource_schema(&self, type_name: &str) -> Option<&Schema> {
        self.resources.get(type_name).map(|e| &e.schema)
    }

    /// The schema of a data source type.
    pub fn data_source_schema(&self, type_name: &str) -> Option<&Schema> {
        self.data_sources.get(type_name).map(|e| &e.schema)
    }

    fn context(&self) -> Context {
        Context {
            provider: self.configured.read().ok().and_then(|c| c.clone()),
            interrupt: self.interrupts.signal(),
            seen: self.seen.clone(),
            private: crate::resources::Private::default(),
            deadline: crate::deadline::Deadline::none(),
        }
    }

    /// ValidateProviderConfig.
    pub fn validate_provider_config(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::default();
        validate_config(&self.schema, config, &mut diags);
        config::validate(config, &mut diags);
        diags
    }

    /// ConfigureProvider. An unknown configuration leaves the provider unconfigured without error,
    /// so values that need the cluster plan as unknown. A known one is checked without asking the
    /// API server (see [`crate::kubernetes::check`]): a kubeconfig that is missing or lacks the
    /// context fails the plan on the attribute that names it, while a server that does not answer
    /// is the cluster's state and never fails a plan that does not need it (nor a destroy).
    pub async fn configure(&self, config: &Value) -> Diagnostics {
        let mut diags = self.validate_provider_config(config);
        if diags.has_errors() {
            return diags;
        }
        let env_kubeconfig = std::env::var("KUBE_CONFIG_PATH")
            .ok()
            .filter(|p| !p.is_empty());
        let data = config::resolve(config, env_kubeconfig, &mut diags).map(Arc::new);
        if let Some(connection) = &data {
            config::check(config, &connection.cluster, &mut diags).await;
        }
        if let Ok(mut slot) = self.configured.write() {
            *slot = data;
        }
        diags
    }

    fn entry(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&ResourceEntry> {
        lookup(&self.resources, "resource type", type_name, diags)
    }

    /// ValidateResourceConfig.
    pub fn validate_resource(&self, type_name: &str, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::default();
        if let Some(e) = self.entry(type_name, &mut diags) {
            validate_config(&e.schema, config, &mut diags);
            e.resource.validate(config, &mut diags);
        }
        diags
    }

    /// UpgradeResourceState: stored JSON state read with the current schema.
    pub fn upgrade_state(
        &self,
        type_name: &str,
        version: i64,
        json: &[u8],
    ) -> (Value, Diagnostics) {
        let mut diags = Diagnostics::default();
        let Some(e) = self.entry(type_name, &mut diags) else {
            return (Value::Null, diags);
        };
        if version > e.schema.version {
            diags.error(
                "State from a newer provider",
                format!(
                    "This {type_name} was stored by a provider with schema version {version}; this \
                     provider knows up to {}. Upgrade the provider.",
                    e.schema.version
                ),
            );
            return (Value::Null, diags);
        }
        match value::from_state_json(json, &e.schema.value_type()) {
            Ok(v) => (v, diags),
            Err(err) => {
                diags.error("Unreadable stored state", err.to_string());
                (Value::Null, diags)
            }
        }
    }

    /// ReadResource.
    pub async fn read_resource(&self, type_name: &str, current: &Value) -> (Value, Diagnostics) {
        let mut diags = Diagnostics::default();
        let Some(e) = self.entry(type_name, &mut diags) else {
            return (current.clone(), diags);
        };
        let ctx = self.context();
        let read = async {
            let mut diags = diags;
            let state = e.resource.read(&ctx, current, &mut diags).await;
            (state, diags)
        };
        let (state, diags) = stop::run(&ctx.interrupt, Work::Read, type_name, read).await;
        let mut state = state.unwrap_or_else(|| current.clone());
        clear_write_only(&e.schema, &mut state);
        (state, diags)
    }

    /// PlanResourceChange.
    pub async fn plan_resource(
        &self,
        type_name: &str,
        prior: &Value,
        proposed: &Value,
        config: &Value,
        private: crate::resources::Private,
    ) -> (plan::Plan, Diagnostics) {
        let mut diags = Diagnostics::default();
        let Some(e) = self.entry(type_name, &mut diags) else {
            return (
                plan::Plan {
                    planned: proposed.clone(),
                    requires_replace: Vec::new(),
                },
                diags,
            );
        };
        let planned = plan::plan(&e.schema, prior, proposed, config);
        if proposed.is_null() {
            return (planned, diags);
        }
        let ctx = Context {
            private,
            ..self.context()
        };
        // An interrupted plan answers with the generic plan: its error stops Terraform from
        // using it.
        let fallback = planned.clone();
        let modify = async {
            let (mut planned, mut diags) = (planned, diags);
            e.resource
                .modify_plan(&ctx, prior, config, &mut planned, &mut diags)
                .await;
            (planned, diags)
        };
        let (planned, diags) = stop::run(&ctx.interrupt, Work::Plan, type_name, modify).await;
        (planned.unwrap_or(fallback), diags)
    }

    /// ApplyResourceChange: create, update or delete. On failure the returned state still records
    /// whatever was created, so nothing is left unrecorded.
    pub async fn apply_resource(
        &self,
        type_name: &str,
        prior: &Value,
        planned: &Value,
        config: &Value,
        private: crate::resources::Private,
    ) -> (Value, Diagnostics) {
        let mut diags = Diagnostics::default();
        let Some(e) = self.entry(type_name, &mut diags) else {
            return (prior.clone(), diags);
        };
        let ctx = Context {
            private,
            ..self.context()
        };
        let (mut state, diags) = if planned.is_null() {
            let delete = async {
                let mut diags = diags;
                e.resource.delete(&ctx, prior, &mut diags).await;
                ((), diags)
            };
            let (done, diags) = stop::run(&ctx.interrupt, Work::Delete, type_name, delete).await;
            match done.is_some() && !diags.has_errors() {
                true => (Value::Null, diags),
                false => (prior.clone(), diags),
            }
        } else {
            let apply = async {
                let mut diags = diags;
                let state = if prior.is_null() {
                    e.resource.create(&ctx, planned, config, &mut diags).await
                } else {
                    e.resource
                        .update(&ctx, prior, planned, config, &mut diags)
                        .await
                };
                (state, diags)
            };
            let (state, diags) = stop::run(&ctx.interrupt, Work::Apply, type_name, apply).await;
            // Only an apply that did not answer within the grace after a stop has no state: the
            // prior one stays (none for a create), and the next apply converges.
            (state.unwrap_or_else(|| prior.clone()), diags)
        };
        clear_write_only(&e.schema, &mut state);
        (state, diags)
    }

    /// ImportResourceState.
    pub async fn import_resource(&self, type_name: &str, id: &str) -> (Value, Diagnostics) {
        let mut diags = Diagnostics::default();
        let Some(e) = self.entry(type_name, &mut diags) else {
            return (Value::Null, diags);
        };
        let ctx = self.context();
        let import = async {
            let mut diags = diags;
            let state = e.resource.import(&ctx, id, &mut diags).await;
            (state, diags)
        };
        let (state, diags) = stop::run(&ctx.interrupt, Work::Import, type_name, import).await;
        let mut state = state.unwrap_or(Value::Null);
        if !state.is_null() {
            // Inputs the cluster does not record get their defaults, as a create would plan them.
            plan::fill_defaults(&e.schema.attributes, &mut state);
        }
        clear_write_only(&e.schema, &mut state);
        (state, diags)
    }
}

/// The entry of `type_name` among `types` (a `what`), or an error listing the ones served.
fn lookup<'a, E>(
    types: &'a BTreeMap<&'static str, E>,
    what: &str,
    type_name: &str,
    diags: &mut Diagnostics,
) -> Option<&'a E> {
    let entry = types.get(type_name);
    if entry.is_none() {
        let served = types.keys().copied().collect::<Vec<_>>().join(", ");
        diags.error(
            format!("Unknown {what} {type_name}"),
            format!("This provider serves {served}."),
        );
    }
    entry
}

/// The schema's own checks of a configuration.
fn validate_config(schema: &Schema, config: &Value, diags: &mut Diagnostics) {
    validate_attributes(&schema.attributes, config, &AttributePath::default(), diags);
}

/// Write-only attributes never reach state, whatever a resource returned.
fn clear_write_only(schema: &Schema, state: &mut Value) {
    for attribute in schema.attributes.iter().filter(|a| a.write_only) {
        if let Some(slot) = state.get_mut(attribute.name) {
            *slot = Value::Null;
        }
    }
}
