//! What Terraform reads and never manages: data sources (ReadDataSource) and ephemeral
//! resources (OpenEphemeralResource), each validated by its schema, then its own checks.

use super::stop::{self, Work};
use super::{lookup, validate_config, DataSourceEntry, EphemeralEntry, Provider};
use crate::schema::Diagnostics;
use crate::value::Value;

impl Provider {
    fn data_entry(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&DataSourceEntry> {
        lookup(&self.data_sources, "data source", type_name, diags)
    }

    /// ValidateDataResourceConfig.
    pub fn validate_data_source(&self, type_name: &str, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::default();
        if let Some(e) = self.data_entry(type_name, &mut diags) {
            validate_config(&e.schema, config, &mut diags);
            e.data_source.validate(config, &mut diags);
        }
        diags
    }

    /// ReadDataSource.
    pub async fn read_data_source(&self, type_name: &str, config: &Value) -> (Value, Diagnostics) {
        let mut diags = Diagnostics::default();
        match self.data_entry(type_name, &mut diags) {
            Some(e) => {
                let ctx = self.context();
                let read = async {
                    let mut diags = diags;
                    let state = e.data_source.read(&ctx, config, &mut diags).await;
                    (state, diags)
                };
                let (state, diags) =
                    stop::run(&ctx.interrupt, Work::ReadData, type_name, read).await;
                (state.unwrap_or(Value::Null), diags)
            }
            None => (Value::Null, diags),
        }
    }

    fn ephemeral_entry(&self, type_name: &str, diags: &mut Diagnostics) -> Option<&EphemeralEntry> {
        lookup(
            &self.ephemeral_resources,
            "ephemeral resource",
            type_name,
            diags,
        )
    }

    /// ValidateEphemeralResourceConfig.
    pub fn validate_ephemeral_resource(&self, type_name: &str, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::default();
        if let Some(e) = self.ephemeral_entry(type_name, &mut diags) {
            validate_config(&e.schema, config, &mut diags);
            e.ephemeral.validate(config, &mut diags);
        }
        diags
    }

    /// OpenEphemeralResource.
    pub async fn open_ephemeral_resource(
        &self,
        type_name: &str,
        config: &Value,
    ) -> (Value, Diagnostics) {
        let mut diags = Diagnostics::default();
        match self.ephemeral_entry(type_name, &mut diags) {
            Some(e) => {
                let ctx = self.context();
                let open = async {
                    let mut diags = diags;
                    let result = e.ephemeral.open(&ctx, config, &mut diags).await;
                    (result, diags)
                };
                let (result, diags) =
                    stop::run(&ctx.interrupt, Work::OpenEphemeral, type_name, open).await;
                (result.unwrap_or(Value::Null), diags)
            }
            None => (Value::Null, diags),
        }
    }
}
