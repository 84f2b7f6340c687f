//! What every RPC handler shares: decoding a request's values with a type's schema, and the
//! answers that refuse a request with diagnostics (an unknown type, a value that does not fit)
//! instead of a transport error.

use super::convert::{self, decode};
use super::proto::tfplugin6 as wire;
use crate::schema::Schema;
use crate::value::Value;
use tonic::{Response, Status};

pub(super) type Rpc<T> = Result<Response<T>, Status>;

pub(super) fn ok<T>(message: T) -> Rpc<T> {
    Ok(Response::new(message))
}

/// Decodes a request value, or the diagnostics saying why it could not be.
pub(super) fn value_of(
    dv: Option<&wire::DynamicValue>,
    schema: &Schema,
    what: &str,
) -> Result<Value, Vec<wire::Diagnostic>> {
    decode(dv, &schema.value_type()).map_err(|e| {
        convert::error(
            &format!("Malformed {what}"),
            format!("Terraform sent a value that does not fit the schema: {e}"),
        )
    })
}

/// Decodes the values of a request in order, or the diagnostics saying why one could not be.
pub(super) fn values_of<const N: usize>(
    parts: [(Option<&wire::DynamicValue>, &str); N],
    schema: &Schema,
) -> Result<[Value; N], Vec<wire::Diagnostic>> {
    let mut values = Vec::with_capacity(N);
    for (dv, what) in parts {
        values.push(value_of(dv, schema, what)?);
    }
    values
        .try_into()
        .map_err(|_| convert::error("Malformed request", "A value is missing."))
}

/// An answer that carries only diagnostics: the request was refused.
pub(super) trait Answer: Default {
    /// The answer with only `diagnostics`.
    fn refused(diagnostics: Vec<wire::Diagnostic>) -> Self;
}

macro_rules! answers_with_diagnostics {
    ($($module:ident),* $(,)?) => {
        $(impl Answer for wire::$module::Response {
            fn refused(diagnostics: Vec<wire::Diagnostic>) -> Self {
                Self { diagnostics, ..Default::default() }
            }
        })*
    };
}

answers_with_diagnostics!(
    read_resource,
    plan_resource_change,
    apply_resource_change,
    import_resource_state,
    upgrade_resource_state,
    read_data_source,
    open_ephemeral_resource,
);

pub(super) fn unknown_type(kind: &str, type_name: &str) -> Vec<wire::Diagnostic> {
    convert::error(
        &format!("Unknown {kind} {type_name}"),
        format!("The flink provider has no {kind} called {type_name}."),
    )
}
