//! Data sources that read an existing object of a resource type by namespace and name
//! (`data "flink_deployment" "x" { name = "..." }`): the schema is the resource's with every
//! attribute read-only except `name` and `namespace`, and reading is the resource's import.

use super::{Context, DataSource, Resource};
use crate::schema::{Attribute, AttributeKind, Diagnostics, Mode, Schema, Validator};
use crate::value::Value;
use async_trait::async_trait;

/// A data source over a resource type.
pub struct Lookup(pub Box<dyn Resource>);

fn read_only(attribute: &Attribute) -> Attribute {
    let mut copy = attribute.clone();
    copy.mode = Mode::Computed;
    copy.plan_modifiers.clear();
    copy.validators.clear();
    if let AttributeKind::Nested(nesting, children) = &attribute.kind {
        copy.kind = AttributeKind::Nested(*nesting, children.iter().map(read_only).collect());
    }
    copy
}

#[async_trait]
impl DataSource for Lookup {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn schema(&self) -> Schema {
        let resource = self.0.schema();
        let attributes = resource
            .attributes
            .iter()
            .filter(|a| !a.write_only && !a.apply_setting)
            .map(|a| match a.name {
                "name" => Attribute::string("name")
                    .required()
                    .validate(Validator::KubernetesName)
                    .description("Name of the existing object."),
                "namespace" => Attribute::string("namespace")
                    .optional()
                    .validate(Validator::KubernetesName)
                    .description("Its namespace. Defaults to `default`."),
                _ => read_only(a),
            })
            .collect();
        Schema::new(
            format!(
                "Reads an existing `{}` by namespace and name, e.g. one managed by another Terraform \
                 workspace. Every attribute is read from the cluster.",
                self.type_name()
            ),
            attributes,
        )
    }

    async fn read(&self, ctx: &Context, config: &Value, diags: &mut Diagnostics) -> Value {
        let name = config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let namespace = config
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let found = self
            .0
            .import(ctx, &format!("{namespace}/{name}"), diags)
            .await;
        let Value::Object(mut attrs) = found else {
            return Value::Null;
        };
        let schema = self.schema();
        attrs.retain(|k, _| schema.attribute(k).is_some());
        Value::Object(attrs)
    }
}
