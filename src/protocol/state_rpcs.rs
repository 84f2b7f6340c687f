//! The RPCs that carry values of a type through the provider: read, plan, apply, import and
//! upgrade of resource state, reading data sources and opening ephemeral resources. Each decodes
//! the request's values with the type's schema (a type or value that does not fit is answered
//! with diagnostics), calls the provider's handler and encodes its answer.

use super::convert::{self, encode};
use super::proto::tfplugin6 as wire;
use super::requests::{ok, unknown_type, value_of, values_of, Answer, Rpc};
use crate::provider::Provider;

/// ReadResource (refresh): the state as the cluster has it now.
pub async fn read(
    provider: &Provider,
    req: wire::read_resource::Request,
) -> Rpc<wire::read_resource::Response> {
    let Some(schema) = provider.resource_schema(&req.type_name) else {
        return ok(Answer::refused(unknown_type(
            "resource type",
            &req.type_name,
        )));
    };
    let ty = schema.value_type();
    let current = match value_of(req.current_state.as_ref(), schema, "state") {
        Ok(v) => v,
        Err(diagnostics) => {
            return ok(wire::read_resource::Response {
                new_state: req.current_state,
                diagnostics,
                private: req.private,
                ..Default::default()
            })
        }
    };
    let (state, diags) = provider.read_resource(&req.type_name, &current).await;
    ok(wire::read_resource::Response {
        new_state: Some(encode(&state, &ty)),
        diagnostics: convert::diagnostics(diags),
        private: req.private,
        ..Default::default()
    })
}

/// The value type of resource type `type_name` and the prior, new and configuration values of a
/// plan or apply decoded with its schema; or the diagnostics refusing the request.
fn change_values(
    provider: &Provider,
    type_name: &str,
    parts: [(Option<&wire::DynamicValue>, &str); 3],
) -> Result<(crate::value::Type, [crate::value::Value; 3]), Vec<wire::Diagnostic>> {
    let schema = provider
        .resource_schema(type_name)
        .ok_or_else(|| unknown_type("resource type", type_name))?;
    Ok((schema.value_type(), values_of(parts, schema)?))
}

/// PlanResourceChange: the planned state and the attributes that force a replacement.
pub async fn plan(
    provider: &Provider,
    req: wire::plan_resource_change::Request,
) -> Rpc<wire::plan_resource_change::Response> {
    let parts = [
        (req.prior_state.as_ref(), "prior state"),
        (req.proposed_new_state.as_ref(), "proposed state"),
        (req.config.as_ref(), "configuration"),
    ];
    let (ty, [prior, proposed, config]) = match change_values(provider, &req.type_name, parts) {
        Ok(v) => v,
        Err(diagnostics) => return ok(Answer::refused(diagnostics)),
    };
    let private = crate::resources::Private::given(req.prior_private);
    let (plan, diags) = provider
        .plan_resource(&req.type_name, &prior, &proposed, &config, private.clone())
        .await;
    ok(wire::plan_resource_change::Response {
        planned_state: Some(encode(&plan.planned, &ty)),
        requires_replace: plan
            .requires_replace
            .iter()
            .map(convert::attribute_path)
            .collect(),
        planned_private: private.answer(),
        diagnostics: convert::diagnostics(diags),
        ..Default::default()
    })
}

/// ApplyResourceChange: create, update or delete; a malformed request keeps the prior state.
pub async fn apply(
    provider: &Provider,
    req: wire::apply_resource_change::Request,
) -> Rpc<wire::apply_resource_change::Response> {
    let parts = [
        (req.prior_state.as_ref(), "prior state"),
        (req.planned_state.as_ref(), "planned state"),
        (req.config.as_ref(), "configuration"),
    ];
    let (ty, [prior, planned, config]) = match change_values(provider, &req.type_name, parts) {
        Ok(v) => v,
        Err(diagnostics) => {
            return ok(wire::apply_resource_change::Response {
                new_state: req.prior_state,
                diagnostics,
                ..Default::default()
            })
        }
    };
    let private = crate::resources::Private::given(req.planned_private);
    let (state, diags) = provider
        .apply_resource(&req.type_name, &prior, &planned, &config, private.clone())
        .await;
    ok(wire::apply_resource_change::Response {
        new_state: Some(encode(&state, &ty)),
        private: private.answer(),
        diagnostics: convert::diagnostics(diags),
        ..Default::default()
    })
}

/// ImportResourceState: the state rebuilt from the cluster under the user's id.
pub async fn import(
    provider: &Provider,
    req: wire::import_resource_state::Request,
) -> Rpc<wire::import_resource_state::Response> {
    let Some(schema) = provider.resource_schema(&req.type_name) else {
        return ok(Answer::refused(unknown_type(
            "resource type",
            &req.type_name,
        )));
    };
    let (state, diags) = provider.import_resource(&req.type_name, &req.id).await;
    let imported_resources = if state.is_null() || diags.has_errors() {
        Vec::new()
    } else {
        vec![wire::import_resource_state::ImportedResource {
            type_name: req.type_name.clone(),
            state: Some(encode(&state, &schema.value_type())),
            ..Default::default()
        }]
    };
    ok(wire::import_resource_state::Response {
        imported_resources,
        diagnostics: convert::diagnostics(diags),
        deferred: None,
    })
}

/// UpgradeResourceState: stored JSON state read with the current schema.
pub async fn upgrade(
    provider: &Provider,
    req: wire::upgrade_resource_state::Request,
) -> Rpc<wire::upgrade_resource_state::Response> {
    let Some(schema) = provider.resource_schema(&req.type_name) else {
        return ok(Answer::refused(unknown_type(
            "resource type",
            &req.type_name,
        )));
    };
    let json = req.raw_state.map(|r| r.json).unwrap_or_default();
    if json.is_empty() {
        return ok(Answer::refused(convert::error(
            "Unsupported state format",
            "The stored state is in the legacy flatmap format, which this provider never wrote.",
        )));
    }
    let (state, diags) = provider.upgrade_state(&req.type_name, req.version, &json);
    ok(wire::upgrade_resource_state::Response {
        upgraded_state: Some(encode(&state, &schema.value_type())),
        diagnostics: convert::diagnostics(diags),
    })
}

/// ReadDataSource.
pub async fn read_data(
    provider: &Provider,
    req: wire::read_data_source::Request,
) -> Rpc<wire::read_data_source::Response> {
    let Some(schema) = provider.data_source_schema(&req.type_name) else {
        return ok(Answer::refused(unknown_type("data source", &req.type_name)));
    };
    let config = match value_of(req.config.as_ref(), schema, "configuration") {
        Ok(v) => v,
        Err(diagnostics) => return ok(Answer::refused(diagnostics)),
    };
    let (state, diags) = provider.read_data_source(&req.type_name, &config).await;
    ok(wire::read_data_source::Response {
        state: Some(encode(&state, &schema.value_type())),
        diagnostics: convert::diagnostics(diags),
        deferred: None,
    })
}

/// OpenEphemeralResource: a value that never reaches state.
pub async fn open_ephemeral(
    provider: &Provider,
    req: wire::open_ephemeral_resource::Request,
) -> Rpc<wire::open_ephemeral_resource::Response> {
    let Some(schema) = provider.ephemeral_resource_schema(&req.type_name) else {
        return ok(Answer::refused(unknown_type(
            "ephemeral resource",
            &req.type_name,
        )));
    };
    let config = match value_of(req.config.as_ref(), schema, "configuration") {
        Ok(v) => v,
        Err(diagnostics) => return ok(Answer::refused(diagnostics)),
    };
    let (result, diags) = provider
        .open_ephemeral_resource(&req.type_name, &config)
        .await;
    ok(wire::open_ephemeral_resource::Response {
        result: Some(encode(&result, &schema.value_type())),
        diagnostics: convert::diagnostics(diags),
        ..Default::default()
    })
}
