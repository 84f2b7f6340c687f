//! Resources over typed models. A [`TypedResource`] sees its own `Model`, never a [`Value`]: the
//! [`Typed`] bridge reads and writes models once, for every operation, and serves it as a
//! [`Resource`]. A resource that owns a fixed set of Kubernetes objects implements
//! [`OwnsObjects`] (owner, kinds, apply, observed) and gets read, delete and import from it, and
//! the ownership of its objects: an `instance_id` planned and kept, a create refused at plan and
//! any apply refused before it writes when the objects are another instance's.

use super::{cluster_objects, owned, read_model, write_model, Context, Resource};
use crate::kubernetes::{Kind, Owner};
use crate::schema::{plan::Plan, Diagnostics, Schema};
use crate::value::{Attr, Value};
use async_trait::async_trait;

/// A resource type whose operations take and give its typed model.
#[async_trait]
pub trait TypedResource: Send + Sync + 'static {
    /// The resource's attributes as a Rust type.
    type Model: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync;
    /// The Terraform type name.
    const TYPE: &'static str;

    /// The schema; its descriptions are the documentation.
    fn schema(&self) -> Schema;
    /// Checks across attributes (on the configuration, which may not fit the model yet).
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Refines the planned model; `prior` is `None` at create.
    async fn plan(
        &self,
        _ctx: &Context,
        _prior: Option<&Self::Model>,
        _planned: &mut Self::Model,
        _diags: &mut Diagnostics,
    ) {
    }
    /// Creates or updates (`prior` given) towards `planned`; the new state, or `None` when
    /// nothing was written (state stays as it was).
    async fn apply(
        &self,
        ctx: &Context,
        prior: Option<&Self::Model>,
        planned: Self::Model,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Self::Model>;
    /// The resource as the cluster has it: `Observed::Gone` when none of it is left.
    async fn read(
        &self,
        ctx: &Context,
        current: Self::Model,
        diags: &mut Diagnostics,
    ) -> Observed<Self::Model>;
    /// Deletes it.
    async fn delete(&self, ctx: &Context, prior: Self::Model, diags: &mut Diagnostics);
    /// Imports by the user's id; `None` (with a diagnostic) when it cannot.
    async fn import(
        &self,
        _ctx: &Context,
        _id: &str,
        diags: &mut Diagnostics,
    ) -> Option<Self::Model> {
        diags.error(
            format!("{} cannot be imported", Self::TYPE),
            "This resource type does not support terraform import.",
        );
        None
    }
}

/// What a read found.
pub enum Observed<M> {
    /// The resource, as the cluster has it.
    Found(M),
    /// None of its objects is left.
    Gone,
    /// The cluster could not be read: state keeps what it had.
    Unknown,
}

/// A [`TypedResource`] served as a [`Resource`].
pub struct Typed<T>(pub T);

impl<T: TypedResource> Typed<T> {
    fn read_model(value: &Value, diags: &mut Diagnostics) -> Option<T::Model> {
        read_model(T::TYPE, value, diags)
    }

    fn write_model(&self, model: &T::Model, diags: &mut Diagnostics) -> Value {
        write_model(T::TYPE, &self.0.schema(), model, diags)
    }
}

#[async_trait]
impl<T: TypedResource> Resource for Typed<T> {
    fn type_name(&self) -> &'static str {
        T::TYPE
    }

    fn schema(&self) -> Schema {
        self.0.schema()
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        self.0.validate(config, diags);
    }

    async fn modify_plan(
        &self,
        ctx: &Context,
        prior: &Value,
        _config: &Value,
        plan: &mut Plan,
        diags: &mut Diagnostics,
    ) {
        let Some(mut planned) = Self::read_model(&plan.planned, diags) else {
            return;
        };
        let prior = match prior.is_null() {
            true => None,
            false => Self::read_model(prior, diags),
        };
        self.0.plan(ctx, prior.as_ref(), &mut planned, diags).await;
        plan.planned = self.write_model(&planned, diags);
    }

    async fn create(
        &self,
        ctx: &Context,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let Some(model) = Self::read_model(planned, diags) else {
            return planned.clone();
        };
        match self.0.apply(ctx, None, model, config, diags).await {
            Some(state) => self.write_model(&state, diags),
            None => Value::Null,
        }
    }

    async fn read(&self, ctx: &Context, current: &Value, diags: &mut Diagnostics) -> Value {
        let Some(model) = Self::read_model(current, diags) else {
            return current.clone();
        };
        match self.0.read(ctx, model, diags).await {
            Observed::Found(model) => self.write_model(&model, diags),
            Observed::Gone => Value::Null,
            Observed::Unknown => current.clone(),
        }
    }

    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        planned: &Value,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Value {
        let (Some(prior_model), Some(model)) = (
            Self::read_model(prior, diags),
            Self::read_model(planned, diags),
        ) else {
            return prior.clone();
        };
        match self
            .0
            .apply(ctx, Some(&prior_model), model, config, diags)
            .await
        {
            Some(state) => self.write_model(&state, diags),
            None => prior.clone(),
        }
    }

    async fn delete(&self, ctx: &Context, prior: &Value, diags: &mut Diagnostics) {
        if let Some(model) = Self::read_model(prior, diags) {
            self.0.delete(ctx, model, diags).await;
        }
    }

    async fn import(&self, ctx: &Context, id: &str, diags: &mut Diagnostics) -> Value {
        match self.0.import(ctx, id, diags).await {
            Some(model) => self.write_model(&model, diags),
            None => Value::Null,
        }
    }
}

/// A resource that owns a fixed set of Kubernetes objects, found by its owner labels. Read,
/// delete and import come from this: the resource is gone only when none of its objects is
/// left (a labelled list per kind, never one object's absence), delete removes every object
/// still labelled as its own, and import reads back what its objects hold.
#[async_trait]
pub trait OwnsObjects: Send + Sync + 'static {
    /// The resource's attributes as a Rust type.
    type Model: Named + serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync;
    /// The Terraform type name.
    const TYPE: &'static str;
    /// The kinds of object it owns.
    const KINDS: &'static [Kind];
    /// What it is, for messages: "Blob storage".
    const NOUN: &'static str;

    /// The schema.
    fn schema(&self) -> Schema;
    /// Checks across attributes.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Fills the attributes derived from the inputs.
    fn fill_computed(&self, model: &mut Self::Model);
    /// Refines the planned model (`prior` is `None` at create): by default, fills its computed
    /// attributes.
    fn plan(&self, _prior: Option<&Self::Model>, planned: &mut Self::Model) {
        self.fill_computed(planned);
    }
    /// What a refresh records when none of its objects is left: by default nothing (it is gone,
    /// and the plan creates it again); a resource whose loss is drift to show returns its model.
    fn none_left(&self, _model: Self::Model) -> Option<Self::Model> {
        None
    }
    /// The owner kind its objects are labelled with.
    const OWNER_KIND: &'static str;
    /// The object an import reads back from (for the message when it is missing).
    fn recorded_in(name: &str) -> String;
    /// Applies `planned` (computed attributes filled); the new state, or `None` when nothing was written.
    async fn apply(
        &self,
        ctx: &Context,
        prior: Option<&Self::Model>,
        planned: Self::Model,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Self::Model>;
    /// `model` as its `observed` objects show it (read back, drift in `kubernetes_objects`);
    /// `None` when they do not hold enough of it (an import needs its main object).
    fn observed(
        &self,
        model: Self::Model,
        observed: &[(Kind, kube::api::DynamicObject)],
    ) -> Option<Self::Model>;
}

/// A model identified by its namespace and name, as the models of resources that own objects are,
/// whose instance id marks its objects.
pub trait Named: Default {
    /// Its namespace and name, once known.
    fn names(&self) -> Option<(&str, &str)>;
    /// A model that knows only its namespace and name (what an import starts from).
    fn named(namespace: &str, name: &str) -> Self;
    /// Its `instance_id` attribute.
    fn instance_id(&self) -> &crate::value::Attr<String>;
    /// Its `instance_id` attribute, to write.
    fn instance_id_mut(&mut self) -> &mut crate::value::Attr<String>;
    /// Its `kubernetes_objects` attribute, to write.
    fn kubernetes_objects_mut(
        &mut self,
    ) -> &mut crate::value::Attr<std::collections::BTreeMap<String, String>>;
}

/// Implements [`Named`] for a model with `namespace`, `name` and `instance_id` attributes.
macro_rules! named_by_namespace_and_name {
    ($model:ty) => {
        impl $crate::resources::typed::Named for $model {
            fn names(&self) -> Option<(&str, &str)> {
                Some((self.namespace.known()?, self.name.known()?))
            }

            fn instance_id(&self) -> &$crate::value::Attr<String> {
                &self.instance_id
            }

            fn instance_id_mut(&mut self) -> &mut $crate::value::Attr<String> {
                &mut self.instance_id
            }

            fn kubernetes_objects_mut(
                &mut self,
            ) -> &mut $crate::value::Attr<std::collections::BTreeMap<String, String>> {
                &mut self.kubernetes_objects
            }

            fn named(namespace: &str, name: &str) -> Self {
                Self {
                    name: $crate::value::Attr::Known(name.into()),
                    namespace: $crate::value::Attr::Known(namespace.into()),
                    ..Self::default()
                }
            }
        }
    };
}
pub(crate) use named_by_namespace_and_name;

/// The owner of the objects of `model`, as the instance its state records.
fn owner_of<T: OwnsObjects>(model: &T::Model) -> Option<Owner> {
    let (namespace, name) = model.names()?;
    let instance = model.instance_id().known().map(String::as_str);
    Some(Owner::new(T::OWNER_KIND, namespace, name).instance(instance))
}

/// The owned objects of `model`, as the resource reads them; `Gone` when none is left (at a
/// refresh, unless the resource records that as drift). A refresh reports objects this instance
/// did not mark in `kubernetes_objects`; an import takes the marker its objects carry (none on
/// objects of a provider version without markers: the next apply writes one).
async fn observe<T: OwnsObjects>(
    resource: &T,
    ctx: &Context,
    model: T::Model,
    refresh: bool,
    diags: &mut Diagnostics,
) -> Observed<T::Model> {
    let Some(mut owner) = owner_of::<T>(&model) else {
        return Observed::Unknown;
    };
    if refresh {
        ctx.seen.remember(&owner);
    }
    let Some(observed) = owned::observe(ctx, &owner, T::KINDS, T::TYPE, diags).await else {
        return Observed::Unknown;
    };
    if observed.is_empty() {
        return match refresh.then(|| resource.none_left(model)).flatten() {
            Some(drifted) => Observed::Found(drifted),
            None => Observed::Gone,
        };
    }
    if !refresh {
        let marker = observed
            .iter()
            .find_map(|(_, o)| crate::kubernetes::marker_of(o));
        owner = owner.instance(marker);
    }
    let Some(mut found) = resource.observed(model, &observed) else {
        return Observed::Gone;
    };
    *found.instance_id_mut() = owner.instance.clone().into();
    if let Attr::Known(statuses) = found.kubernetes_objects_mut() {
        cluster_objects::mark_claims(statuses, &owner, &observed);
    }
    Observed::Found(found)
}

#[async_trait]
impl<T: OwnsObjects> TypedResource for T {
    type Model = <T as OwnsObjects>::Model;
    const TYPE: &'static str = <T as OwnsObjects>::TYPE;

    fn schema(&self) -> Schema {
        OwnsObjects::schema(self)
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        OwnsObjects::validate(self, config, diags);
    }

    /// At create, refuses objects of the same names that already exist (another instance's).
    async fn plan(
        &self,
        ctx: &Context,
        prior: Option<&Self::Model>,
        planned: &mut Self::Model,
        diags: &mut Diagnostics,
    ) {
        OwnsObjects::plan(self, prior, planned);
        cluster_objects::plan_instance(prior.map(Named::instance_id), planned.instance_id_mut());
        match prior.and_then(owner_of::<T>) {
            Some(owner) => ctx.seen.remember(&owner),
            None if prior.is_none() => {
                if let Some(owner) = owner_of::<T>(planned) {
                    owned::refuse_taken_at_plan(ctx, &owner, T::KINDS, T::TYPE, diags).await;
                }
            }
            None => {}
        }
    }

    /// Checks first that the objects it would write are this instance's, so that a resource of
    /// the same name elsewhere is refused before anything changes (and no state is written at
    /// create).
    async fn apply(
        &self,
        ctx: &Context,
        prior: Option<&Self::Model>,
        mut planned: Self::Model,
        config: &Value,
        diags: &mut Diagnostics,
    ) -> Option<Self::Model> {
        self.fill_computed(&mut planned);
        *planned.instance_id_mut() =
            Attr::Known(cluster_objects::instance_for(prior.map(Named::instance_id)));
        let owner = owner_of::<T>(&planned)?;
        if !owned::claim(ctx, &owner, T::KINDS, prior.is_some(), T::TYPE, diags).await {
            return None;
        }
        OwnsObjects::apply(self, ctx, prior, planned, config, diags).await
    }

    async fn read(
        &self,
        ctx: &Context,
        current: Self::Model,
        diags: &mut Diagnostics,
    ) -> Observed<Self::Model> {
        observe(self, ctx, current, true, diags).await
    }

    async fn delete(&self, ctx: &Context, prior: Self::Model, diags: &mut Diagnostics) {
        if let Some(owner) = owner_of::<T>(&prior) {
            owned::delete(ctx, &owner, T::KINDS, T::TYPE, diags).await;
        }
    }

    async fn import(
        &self,
        ctx: &Context,
        id: &str,
        diags: &mut Diagnostics,
    ) -> Option<Self::Model> {
        let (namespace, name) = owned::import_id(id, T::TYPE, diags)?;
        let named = <T::Model as Named>::named(namespace, name);
        match observe(self, ctx, named, false, diags).await {
            Observed::Found(found) => Some(found),
            Observed::Gone => {
                diags.error(
                    format!("{} not found", T::NOUN),
                    format!(
                        "No {} managed by this provider in namespace {namespace}. Check the id \
                         (<namespace>/<name>), or create it with terraform apply.",
                        T::recorded_in(name)
                    ),
                );
                None
            }
            Observed::Unknown => None,
        }
    }
}
