//! One attribute of a schema, built fluently:
//! `Attribute::string("type").required().requires_replace().validate(..).description(..)`.

use super::{attributes_type, Validator};
use crate::value::{Type, Value};

/// Who sets an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The configuration must set it.
    Required,
    /// The configuration may set it; null otherwise.
    Optional,
    /// Only the provider sets it.
    Computed,
    /// The configuration may set it; otherwise the provider does (a default or a derived value).
    OptionalComputed,
}

/// How a nested attribute holds its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// One object.
    Single,
    /// A list of objects.
    List,
    /// A set of objects.
    Set,
    /// A map of objects.
    Map,
}

/// The type of an attribute: a plain type, or nested attributes.
#[derive(Debug, Clone)]
pub enum AttributeKind {
    /// A primitive or collection type.
    Plain(Type),
    /// Nested attributes (Terraform's nested attribute types).
    Nested(Nesting, Vec<Attribute>),
}

/// Plan behaviour declared on an attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanModifier {
    /// A change of this attribute replaces the resource.
    RequiresReplace,
    /// A computed value keeps its prior state instead of becoming unknown on update.
    UseStateForUnknown,
    /// The value planned when the configuration leaves an optional+computed attribute null.
    Default(Value),
}

/// An attribute of a schema.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Attribute name.
    pub name: &'static str,
    /// Type.
    pub kind: AttributeKind,
    /// Markdown description, also the documentation.
    pub description: String,
    /// Who sets it.
    pub mode: Mode,
    /// Redacted in plans and output.
    pub sensitive: bool,
    /// Taken from configuration only, never stored in state (Terraform 1.11+).
    pub write_only: bool,
    /// Deprecated attributes still work but warn.
    pub deprecated: bool,
    /// Says how the provider applies, not what exists, so data sources leave it out.
    pub apply_setting: bool,
    /// Plan behaviour.
    pub plan_modifiers: Vec<PlanModifier>,
    /// Input checks.
    pub validators: Vec<Validator>,
}

impl Attribute {
    fn new(name: &'static str, kind: AttributeKind) -> Self {
        Attribute {
            name,
            kind,
            description: String::new(),
            mode: Mode::Optional,
            sensitive: false,
            write_only: false,
            deprecated: false,
            apply_setting: false,
            plan_modifiers: Vec::new(),
            validators: Vec::new(),
        }
    }

    /// A string attribute.
    pub fn string(name: &'static str) -> Self {
        Self::new(name, AttributeKind::Plain(Type::String))
    }
    /// A number attribute.
    pub fn number(name: &'static str) -> Self {
        Self::new(name, AttributeKind::Plain(Type::Number))
    }
    /// A bool attribute.
    pub fn bool(name: &'static str) -> Self {
        Self::new(name, AttributeKind::Plain(Type::Bool))
    }
    /// A map of strings.
    pub fn string_map(name: &'static str) -> Self {
        Self::new(
            name,
            AttributeKind::Plain(Type::Map(Box::new(Type::String))),
        )
    }
    /// A list of strings.
    pub fn string_list(name: &'static str) -> Self {
        Self::new(
            name,
            AttributeKind::Plain(Type::List(Box::new(Type::String))),
        )
    }
    /// An attribute of any plain type.
    pub fn typed(name: &'static str, ty: Type) -> Self {
        Self::new(name, AttributeKind::Plain(ty))
    }
    /// One nested object.
    pub fn single_nested(name: &'static str, attributes: Vec<Attribute>) -> Self {
        Self::new(name, AttributeKind::Nested(Nesting::Single, attributes))
    }
    /// A list of nested objects.
    pub fn list_nested(name: &'static str, attributes: Vec<Attribute>) -> Self {
        Self::new(name, AttributeKind::Nested(Nesting::List, attributes))
    }
    /// A map of nested objects.
    pub fn map_nested(name: &'static str, attributes: Vec<Attribute>) -> Self {
        Self::new(name, AttributeKind::Nested(Nesting::Map, attributes))
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
    /// The configuration must set it.
    pub fn required(mut self) -> Self {
        self.mode = Mode::Required;
        self
    }
    /// The configuration may set it.
    pub fn optional(mut self) -> Self {
        self.mode = Mode::Optional;
        self
    }
    /// Only the provider sets it.
    pub fn computed(mut self) -> Self {
        self.mode = Mode::Computed;
        self
    }
    /// The configuration may set it, else the provider does.
    pub fn optional_computed(mut self) -> Self {
        self.mode = Mode::OptionalComputed;
        self
    }
    /// Optional and computed, with this default when not set.
    pub fn default_value(mut self, value: Value) -> Self {
        self.mode = Mode::OptionalComputed;
        self.plan_modifiers.push(PlanModifier::Default(value));
        self
    }
    /// How the provider applies (e.g. whether it waits), not part of what it reads back.
    pub fn apply_setting(mut self) -> Self {
        self.apply_setting = true;
        self
    }
    /// Redacted in plans.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Never stored in state; implies sensitive handling by Terraform.
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    /// A change replaces the resource.
    pub fn requires_replace(mut self) -> Self {
        self.plan_modifiers.push(PlanModifier::RequiresReplace);
        self
    }
    /// Keeps the prior computed value on update.
    pub fn use_state_for_unknown(mut self) -> Self {
        self.plan_modifiers.push(PlanModifier::UseStateForUnknown);
        self
    }
    /// Adds an input check.
    pub fn validate(mut self, validator: Validator) -> Self {
        self.validators.push(validator);
        self
    }

    /// Whether the plan modifier is declared.
    pub fn has_modifier(&self, modifier: &PlanModifier) -> bool {
        self.plan_modifiers.contains(modifier)
    }

    /// The declared default, if any.
    pub fn default(&self) -> Option<&Value> {
        self.plan_modifiers.iter().find_map(|m| match m {
            PlanModifier::Default(v) => Some(v),
            _ => None,
        })
    }

    /// Whether only the provider sets it.
    pub fn is_computed_only(&self) -> bool {
        self.mode == Mode::Computed
    }

    /// Whether the provider may set it.
    pub fn is_computed(&self) -> bool {
        matches!(self.mode, Mode::Computed | Mode::OptionalComputed)
    }

    /// The value type.
    pub fn value_type(&self) -> Type {
        match &self.kind {
            AttributeKind::Plain(ty) => ty.clone(),
            AttributeKind::Nested(nesting, attrs) => {
                let object = attributes_type(attrs);
                match nesting {
                    Nesting::Single => object,
                    Nesting::List => Type::List(Box::new(object)),
                    Nesting::Set => Type::Set(Box::new(object)),
                    Nesting::Map => Type::Map(Box::new(object)),
                }
            }
        }
    }
}
