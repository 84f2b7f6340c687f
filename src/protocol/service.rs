//! The `tfplugin6.Provider` gRPC service: one thin method per RPC that decodes the request with the
//! right schema, calls the provider's handler and encodes the answer. Anything the provider does
//! not support is answered with a diagnostic, never with a transport error.

use super::convert;
use super::proto::tfplugin6 as wire;
use super::proto::tfplugin6::provider_server::Provider as WireProvider;
use super::requests::{ok, unknown_type, value_of, Rpc};
use super::state_rpcs;
use crate::provider::Provider;
use std::sync::Arc;
use tonic::Request;

/// The gRPC face of a [`Provider`].
#[derive(Clone)]
pub struct ProviderService {
    provider: Arc<Provider>,
}

impl ProviderService {
    /// Serves `provider`.
    pub fn new(provider: Arc<Provider>) -> Self {
        ProviderService { provider }
    }
}

#[tonic::async_trait]
impl WireProvider for ProviderService {
    async fn get_metadata(
        &self,
        _request: Request<wire::get_metadata::Request>,
    ) -> Rpc<wire::get_metadata::Response> {
        ok(wire::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: Vec::new(),
            resources: self
                .provider
                .resource_schemas()
                .map(|(name, _)| wire::get_metadata::ResourceMetadata {
                    type_name: name.into(),
                })
                .collect(),
            data_sources: self
                .provider
                .data_source_schemas()
                .map(|(name, _)| wire::get_metadata::DataSourceMetadata {
                    type_name: name.into(),
                })
                .collect(),
            functions: Vec::new(),
            ephemeral_resources: self
                .provider
                .ephemeral_resource_schemas()
                .map(|(name, _)| wire::get_metadata::EphemeralMetadata {
                    type_name: name.into(),
                })
                .collect(),
        })
    }

    async fn get_provider_schema(
        &self,
        _request: Request<wire::get_provider_schema::Request>,
    ) -> Rpc<wire::get_provider_schema::Response> {
        ok(wire::get_provider_schema::Response {
            provider: Some(convert::schema(self.provider.provider_schema())),
            resource_schemas: self
                .provider
                .resource_schemas()
                .map(|(name, s)| (name.to_string(), convert::schema(s)))
                .collect(),
            data_source_schemas: self
                .provider
                .data_source_schemas()
                .map(|(name, s)| (name.to_string(), convert::schema(s)))
                .collect(),
            ephemeral_resource_schemas: self
                .provider
                .ephemeral_resource_schemas()
                .map(|(name, s)| (name.to_string(), convert::schema(s)))
                .collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        })
    }

    async fn validate_provider_config(
        &self,
        request: Request<wire::validate_provider_config::Request>,
    ) -> Rpc<wire::validate_provider_config::Response> {
        let req = request.into_inner();
        let schema = self.provider.provider_schema();
        let diagnostics = match value_of(req.config.as_ref(), schema, "provider configuration") {
            Ok(config) => convert::diagnostics(self.provider.validate_provider_config(&config)),
            Err(diags) => diags,
        };
        ok(wire::validate_provider_config::Response { diagnostics })
    }

    async fn validate_resource_config(
        &self,
        request: Request<wire::validate_resource_config::Request>,
    ) -> Rpc<wire::validate_resource_config::Response> {
        let req = request.into_inner();
        let Some(schema) = self.provider.resource_schema(&req.type_name) else {
            let diagnostics = unknown_type("resource type", &req.type_name);
            return ok(wire::validate_resource_config::Response { diagnostics });
        };
        let diagnostics = match value_of(req.config.as_ref(), schema, "configuration") {
            Ok(config) => {
                convert::diagnostics(self.provider.validate_resource(&req.type_name, &config))
            }
            Err(diags) => diags,
        };
        ok(wire::validate_resource_config::Response { diagnostics })
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<wire::validate_data_resource_config::Request>,
    ) -> Rpc<wire::validate_data_resource_config::Response> {
        let req = request.into_inner();
        let Some(schema) = self.provider.data_source_schema(&req.type_name) else {
            let diagnostics = unknown_type("data source", &req.type_name);
            return ok(wire::validate_data_resource_config::Response { diagnostics });
        };
        let diagnostics = match value_of(req.config.as_ref(), schema, "configuration") {
            Ok(config) => {
                convert::diagnostics(self.provider.validate_data_source(&req.type_name, &config))
            }
            Err(diags) => diags,
        };
        ok(wire::validate_data_resource_config::Response { diagnostics })
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<wire::upgrade_resource_state::Request>,
    ) -> Rpc<wire::upgrade_resource_state::Response> {
        state_rpcs::upgrade(&self.provider, request.into_inner()).await
    }

    async fn get_resource_identity_schemas(
        &self,
        _request: Request<wire::get_resource_identity_schemas::Request>,
    ) -> Rpc<wire::get_resource_identity_schemas::Response> {
        // No resource declares an identity yet; an empty map tells Terraform so.
        ok(wire::get_resource_identity_schemas::Response::default())
    }

    async fn upgrade_resource_identity(
        &self,
        request: Request<wire::upgrade_resource_identity::Request>,
    ) -> Rpc<wire::upgrade_resource_identity::Response> {
        let req = request.into_inner();
        ok(wire::upgrade_resource_identity::Response {
            upgraded_identity: None,
            diagnostics: convert::error(
                "Resource identity not supported",
                format!("{} has no resource identity.", req.type_name),
            ),
        })
    }

    async fn configure_provider(
        &self,
        request: Request<wire::configure_provider::Request>,
    ) -> Rpc<wire::configure_provider::Response> {
        let req = request.into_inner();
        tracing::info!(terraform_version = %req.terraform_version, "configuring provider");
        let schema = self.provider.provider_schema();
        let diagnostics = match value_of(req.config.as_ref(), schema, "provider configuration") {
            Ok(config) => convert::diagnostics(self.provider.configure(&config).await),
            Err(diags) => diags,
        };
        ok(wire::configure_provider::Response { diagnostics })
    }

    async fn read_resource(
        &self,
        request: Request<wire::read_resource::Request>,
    ) -> Rpc<wire::read_resource::Response> {
        state_rpcs::read(&self.provider, request.into_inner()).await
    }

    async fn plan_resource_change(
        &self,
        request: Request<wire::plan_resource_change::Request>,
    ) -> Rpc<wire::plan_resource_change::Response> {
        state_rpcs::plan(&self.provider, request.into_inner()).await
    }

    async fn apply_resource_change(
        &self,
        request: Request<wire::apply_resource_change::Request>,
    ) -> Rpc<wire::apply_resource_change::Response> {
        state_rpcs::apply(&self.provider, request.into_inner()).await
    }

    async fn import_resource_state(
        &self,
        request: Request<wire::import_resource_state::Request>,
    ) -> Rpc<wire::import_resource_state::Response> {
        state_rpcs::import(&self.provider, request.into_inner()).await
    }

    async fn move_resource_state(
        &self,
        request: Request<wire::move_resource_state::Request>,
    ) -> Rpc<wire::move_resource_state::Response> {
        let req = request.into_inner();
        ok(wire::move_resource_state::Response {
            diagnostics: convert::error(
                "Moving state is not supported",
                format!(
                    "{} cannot be moved from {} ({}). Import the object instead: \
                     terraform import {} <namespace>/<name>.",
                    req.target_type_name,
                    req.source_type_name,
                    req.source_provider_address,
                    req.target_type_name
                ),
            ),
            ..Default::default()
        })
    }

    async fn read_data_source(
        &self,
        request: Request<wire::read_data_source::Request>,
    ) -> Rpc<wire::read_data_source::Response> {
        state_rpcs::read_data(&self.provider, request.into_inner()).await
    }

    async fn validate_ephemeral_resource_config(
        &self,
        request: Request<wire::validate_ephemeral_resource_config::Request>,
    ) -> Rpc<wire::validate_ephemeral_resource_config::Response> {
        let req = request.into_inner();
        let Some(schema) = self.provider.ephemeral_resource_schema(&req.type_name) else {
            let diagnostics = unknown_type("ephemeral resource", &req.type_name);
            return ok(wire::validate_ephemeral_resource_config::Response { diagnostics });
        };
        let diagnostics = match value_of(req.config.as_ref(), schema, "configuration") {
            Ok(config) => convert::diagnostics(
                self.provider
                    .validate_ephemeral_resource(&req.type_name, &config),
            ),
            Err(diags) => diags,
        };
        ok(wire::validate_ephemeral_resource_config::Response { diagnostics })
    }

    async fn open_ephemeral_resource(
        &self,
        request: Request<wire::open_ephemeral_resource::Request>,
    ) -> Rpc<wire::open_ephemeral_resource::Response> {
        state_rpcs::open_ephemeral(&self.provider, request.into_inner()).await
    }

    // Nothing is held open (no renew_at is ever set), so renew and close have nothing to do.
    async fn renew_ephemeral_resource(
        &self,
        _request: Request<wire::renew_ephemeral_resource::Request>,
    ) -> Rpc<wire::renew_ephemeral_resource::Response> {
        ok(wire::renew_ephemeral_resource::Response::default())
    }

    async fn close_ephemeral_resource(
        &self,
        _request: Request<wire::close_ephemeral_resource::Request>,
    ) -> Rpc<wire::close_ephemeral_resource::Response> {
        ok(wire::close_ephemeral_resource::Response::default())
    }

    async fn get_functions(
        &self,
        _request: Request<wire::get_functions::Request>,
    ) -> Rpc<wire::get_functions::Response> {
        ok(wire::get_functions::Response::default())
    }

    async fn call_function(
        &self,
        request: Request<wire::call_function::Request>,
    ) -> Rpc<wire::call_function::Response> {
        let name = request.into_inner().name;
        ok(wire::call_function::Response {
            result: None,
            error: Some(wire::FunctionError {
                text: format!("The flink provider has no function called {name}."),
                function_argument: None,
            }),
        })
    }

    // Terraform sends this on the first Ctrl-C and then waits for the RPCs in flight: they end
    // within seconds with the state they reached. The process keeps answering.
    async fn stop_provider(
        &self,
        _request: Request<wire::stop_provider::Request>,
    ) -> Rpc<wire::stop_provider::Response> {
        tracing::info!("stop requested by terraform: interrupting the operations in flight");
        self.provider.stop();
        ok(wire::stop_provider::Response::default())
    }
}

fn capabilities() -> wire::ServerCapabilities {
    wire::ServerCapabilities {
        plan_destroy: true,
        // Schemas are built at start, so any RPC may come first: Terraform need not ask each
        // provider process it starts for the schema it has already read once.
        get_provider_schema_optional: true,
        move_resource_state: false,
    }
}
