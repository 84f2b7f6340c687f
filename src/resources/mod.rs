//! Terraform resource and data source types. A [`Resource`] has a required core (schema, create,
//! read, update, delete) and optional abilities with defaults (validate, modify plan, import);
//! the protocol layer never shows through: resources see [`Value`]s and report [`Diagnostics`].

pub(crate) mod blob_storage;
pub(crate) mod certificate_authority;
mod client_credentials;
mod cluster_objects;
mod configuration;
pub(crate) mod deployment;
pub(crate) mod high_availability;
mod lookup;
mod owned;
mod savepoint;
pub(crate) mod timeouts;
pub(crate) mod typed;

pub use blob_storage::BlobStorage;
pub use certificate_authority::CertificateAuthority;
pub use deployment::{
    cluster_config_map, deployment_id, ha_config_map_selector, job_config_map, job_id_of,
    kubernetes_ha_rules, FlinkDeployment, HaComponent, HaRule,
};
pub use high_availability::HighAvailability;
pub use owned::SeenInState;

use crate::interrupt::Interrupt;
use crate::kubernetes::Cluster;
use crate::kubernetes::Connection;
use crate::schema::{plan::Plan, Diagnostics, Schema};
use crate::value::Value;
use async_trait::async_trait;

/// What a resource operation gets besides its values.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The provider's configuration; `None` while it is unknown (a cluster created in the same run).
    pub provider: Option<std::sync::Arc<Connection>>,
    /// Fires when Terraform asks the provider to stop (Ctrl-C) during this operation. The
    /// cluster from [`Context::cluster`] listens to it already; waits of a resource's own
    /// (a rollout, a savepoint) end on it and return the state they reached.
    pub interrupt: Interrupt,
    /// The resource instances this provider process has read from Terraform state.
    pub seen: std::sync::Arc<SeenInState>,
    /// Terraform's private data of the resource instance in this operation.
    pub private: Private,
    /// The end its `timeouts` set for this operation (none until the resource starts it, see
    /// [`Context::within`]): the cluster from [`Context::cluster`] retries no request past it.
    pub deadline: crate::deadline::Deadline,
}

/// The bytes Terraform keeps for a resource instance beside its values, never shown: what a plan
/// gives its apply, and what the first plan of a replacement (given the state it replaces) gives
/// the second (given none), which is how a replacement learns of its predecessor. Passed through
/// unchanged unless the resource sets its own.
#[derive(Debug, Clone, Default)]
pub struct Private {
    /// What Terraform handed in: the prior private data at plan, the planned one at apply.
    pub given: Vec<u8>,
    /// What the resource hands on instead, if anything.
    handed_on: std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>,
}

impl Private {
    /// The private data Terraform handed in.
    pub fn given(bytes: Vec<u8>) -> Private {
        Private {
            given: bytes,
            handed_on: Default::default(),
        }
    }

    /// Hands `bytes` on instead of what was given.
    pub fn hand_on(&self, bytes: Vec<u8>) {
        if let Ok(mut slot) = self.handed_on.lock() {
            *slot = Some(bytes);
        }
    }

    /// What goes back to Terraform: what the resource handed on, else what was given.
    pub fn answer(&self) -> Vec<u8> {
        self.handed_on
            .lock()
            .ok()
            .and_then(|slot| slot.clone())
            .unwrap_or_else(|| self.given.clone())
    }
}

impl Context {
    /// This context for an operation that must end by `deadline`.
    pub fn within(&self, deadline: &crate::deadline::Deadline) -> Context {
        Context {
            deadline: deadline.clone(),
            ..self.clone()
        }
    }

    /// The cluster, for this operation (its requests end when [`Context::interrupt`] fires, and
    /// are not retried past [`Context::deadline`]), or an error diagnostic saying why there is
    /// none.
    pub async fn cluster(&self, diags: &mut Diagnostics) -> Option<Cluster> {
        let Some(provider) = &self.provider else {
            diags.error(
                "Kubernetes cluster not configured",
                "The provider's kubernetes settings are still unknown. They must be known when \
                 resources are applied: check the values given to provider \"flink\".",
            );
            return None;
        };
        match provider.cluster().await {
            Ok(cluster) => Some(
                cluster
                    .interrupted_by(self.interrupt.clone())
                    .within(self.deadline.clone()),
            ),
            Err(e) => {
                diags.error("Cannot reach the Kubernetes cluster", e.to_string());
                None
            }
        }
    }
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync {
    /// The Terraform type name, e.g. `flink_high_availability`.
    fn type_name(&self) -> &'static str;
    /// The schema; its descriptions are the documentation.
    fn schema(&self) -> Schema;

    /// Checks across attributes that single-attribute validators cannot express.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Refines the generic plan (e.g. derived values known at plan time).
    async fn modify_plan(
        &self,
        _ctx: &Context,
        _prior: &Value,
        _config: &Value,
        _plan: &mut Plan,
        _diags: &mut Diagnostics,
    ) {
    }

    /// Creates the resource; returns the new state.
    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value;
    /// Reads the current state; `Value::Null` when the resource is gone.
    async fn read(&self, ctx: &Context, current: &Value, diags: &mut Diagnostics) -> Value;
    /// Updates in place; returns the new state.
    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value;
    /// Deletes the resource.
    async fn delete(&self, ctx: &Context, prior: &Value, diags: &mut Diagnostics);

    /// Imports by the user's id; the default says the type cannot be imported.
    async fn import(&self, _ctx: &Context, _id: &str, diags: &mut Diagnostics) -> Value {
        diags.error(
            format!("{} cannot be imported", self.type_name()),
            "This resource type does not support terraform import.",
        );
        Value::Null
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync {
    /// The Terraform type name.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Checks across attributes.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Reads the data; returns the full state.
    async fn read(&self, ctx: &Context, config: &Value, diags: &mut Diagnostics) -> Value;
}

/// An ephemeral resource type (Terraform 1.10+): opened during a run, its result lives only in
/// memory and never reaches state or plan files.
#[async_trait]
pub trait EphemeralResource: Send + Sync {
    /// The Terraform type name.
    fn type_name(&self) -> &'static str;
    /// The schema.
    fn schema(&self) -> Schema;
    /// Checks across attributes.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Opens it: returns the full result object.
    async fn open(&self, ctx: &Context, config: &Value, diags: &mut Diagnostics) -> Value;
}

/// The type of a resource's `spec` attribute, which other resources take as input.
pub(crate) fn spec_type(resource: &dyn Resource) -> crate::value::Type {
    resource
        .schema()
        .attribute("spec")
        .map_or(crate::value::Type::Dynamic, |a| a.value_type())
}

/// Reads a resource's typed model, reporting a value that does not fit it.
pub(crate) fn read_model<M: serde::de::DeserializeOwned>(
    type_name: &str,
    value: &Value,
    diags: &mut Diagnostics,
) -> Option<M> {
    crate::value::from_value(value)
        .map_err(|e| diags.error(format!("Invalid {type_name} value"), e.to_string()))
        .ok()
}

/// Writes a resource's typed model as a value of its schema.
pub(crate) fn write_model<M: serde::Serialize>(
    type_name: &str,
    schema: &Schema,
    model: &M,
    diags: &mut Diagnostics,
) -> Value {
    crate::value::to_value(model, &schema.value_type()).unwrap_or_else(|e| {
        diags.error(
            format!("Internal error writing {type_name} state"),
            e.to_string(),
        );
        Value::Null
    })
}

/// Every resource type of the provider.
pub fn all() -> Vec<Box<dyn Resource>> {
    vec![
        Box::new(typed::Typed(BlobStorage)),
        Box::new(typed::Typed(CertificateAuthority)),
        Box::new(typed::Typed(FlinkDeployment)),
        Box::new(typed::Typed(HighAvailability)),
        Box::new(typed::Typed(savepoint::Savepoint)),
    ]
}

/// Every ephemeral resource type of the provider.
pub fn all_ephemeral_resources() -> Vec<Box<dyn EphemeralResource>> {
    vec![Box::new(client_credentials::ClientCredentials)]
}

/// Every data source type of the provider.
pub fn all_data_sources() -> Vec<Box<dyn DataSource>> {
    vec![
        Box::new(lookup::Lookup(Box::new(typed::Typed(BlobStorage)))),
        Box::new(lookup::Lookup(Box::new(typed::Typed(CertificateAuthority)))),
        Box::new(configuration::Configuration),
        Box::new(lookup::Lookup(Box::new(typed::Typed(FlinkDeployment)))),
        Box::new(lookup::Lookup(Box::new(typed::Typed(HighAvailability)))),
    ]
}

#[cfg(test)]
mod tests {
    use super::Private;

    #[test]
    fn private_data_passes_through_unless_a_resource_hands_on_its_own() {
        let given = Private::given(b"from terraform".to_vec());
        assert_eq!(given.answer(), b"from terraform");
        // Every clone of an operation's context hands on into the same answer.
        given.clone().hand_on(b"replaced".to_vec());
        assert_eq!(given.answer(), b"replaced");
        given.hand_on(Vec::new());
        assert_eq!(given.answer(), b"", "handing on nothing clears it");
    }
}
