//! Resource, data source and provider schemas as the provider declares them: attributes with their
//! types, modes, descriptions (which are also the documentation), sensitivity, write-only, plan
//! modifiers and validators. Plan behaviour is declared here and carried out by [`plan`]; input
//! checks are declared here and carried out by [`validate`].

mod attribute;
mod diagnostics;
pub mod plan;
pub mod validate;
mod validators;

pub use attribute::{Attribute, AttributeKind, Mode, Nesting, PlanModifier};
pub use diagnostics::{
    AttributePath, Diagnostic, Diagnostics, PathStep, Severity, SHOWN_PER_KIND, SUMMARISE_PAST,
};
pub use validators::Validator;

use crate::value::Type;

/// The schema of a resource, data source or the provider's own configuration.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Bumped when stored state needs an upgrade.
    pub version: i64,
    /// Markdown description (the first paragraph of the docs page).
    pub description: String,
    /// Top-level attributes.
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// A schema at version 0.
    pub fn new(description: impl Into<String>, attributes: Vec<Attribute>) -> Self {
        Schema {
            version: 0,
            description: description.into(),
            attributes,
        }
    }

    /// The object type of a whole value of this schema.
    pub fn value_type(&self) -> Type {
        attributes_type(&self.attributes)
    }

    /// The top-level attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

pub(crate) fn attributes_type(attributes: &[Attribute]) -> Type {
    Type::Object(
        attributes
            .iter()
            .map(|a| (a.name.to_string(), a.value_type()))
            .collect(),
    )
}
