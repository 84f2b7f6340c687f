//! Pure Flink configuration: the supported versions, their option catalogue (extracted from the real
//! jars by `tools/flink-options/`), validation of a user's `flink_configuration`, rendering of the
//! effective configuration and `config.yaml`, blob storage paths, logging configuration and
//! redaction for state. Nothing here does IO.
//!
//! Data flow: [`input`] (what a deployment resolves to) -> [`versions`] -> [`options`] (catalogue
//! per version) -> [`validate`](mod@validate) (user input)
//! -> [`layout`] (blob paths) -> [`owned`] (identities, HA, Queryable State) -> [`render`](mod@render)
//! (layers them over the user's keys; [`yaml`] writes `config.yaml`)
//! -> [`redact`] (what Terraform state shows); [`logging`] renders `log4j-console.properties`.

pub mod filesystems;
pub mod input;
pub mod issue;
pub mod layout;
pub mod logging;
pub mod options;
pub mod owned;
pub mod redact;
pub mod render;

pub mod tls;
pub mod validate;
pub mod values;
pub mod versions;
pub mod yaml;

#[cfg(test)]
mod golden_tests;

pub use issue::{Issue, Severity};
pub use layout::BlobLayout;
pub use options::{Catalogue, OptionSpec, OptionStatus, OptionType};
pub use render::{render, HighAvailability, RenderInput, Rendered};
pub use validate::validate;
pub use versions::FlinkVersion;
