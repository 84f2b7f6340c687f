//! Documentation generated from the schemas, in the Terraform registry layout: `docs/index.md` and
//! one page per resource, data source and ephemeral resource, with example usage and import commands pulled from
//! `examples/`. The schema descriptions are the only source; `generate-docs --check` (run by the
//! test suite) fails when docs/ is stale.

mod markdown;

use crate::provider::Provider;
use std::path::Path;

/// Writes every page into `docs`, or with `check` only compares; returns the pages that were
/// (or would be) changed.
pub fn write_or_check(
    provider: &Provider,
    docs: &Path,
    examples: &Path,
    check: bool,
) -> std::io::Result<Vec<String>> {
    let mut pages = vec![(
        "index.md".to_string(),
        markdown::provider_page(provider.provider_schema(), examples),
    )];
    for (name, schema) in provider.resource_schemas() {
        pages.push((
            format!("resources/{}.md", short_name(name)),
            markdown::type_page(name, "Resource", schema, examples),
        ));
    }
    for (name, schema) in provider.data_source_schemas() {
        pages.push((
            format!("data-sources/{}.md", short_name(name)),
            markdown::type_page(name, "Data Source", schema, examples),
        ));
    }
    for (name, schema) in provider.ephemeral_resource_schemas() {
        pages.push((
            format!("ephemeral-resources/{}.md", short_name(name)),
            markdown::type_page(name, "Ephemeral Resource", schema, examples),
        ));
    }
    let mut stale = Vec::new();
    for (relative, content) in pages {
        let path = docs.join(&relative);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != content {
            stale.push(relative);
            if !check {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, content)?;
            }
        }
    }
    Ok(stale)
}

/// `flink_deployment` -> `deployment`, the registry's file name.
fn short_name(type_name: &str) -> &str {
    type_name.strip_prefix("flink_").unwrap_or(type_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let stale = write_or_check(
            &Provider::new(),
            &root.join("docs"),
            &root.join("examples"),
            true,
        )
        .unwrap();
        assert!(
            stale.is_empty(),
            "docs/ is stale ({}): run `cargo run -- generate-docs`",
            stale.join(", ")
        );
    }
}
