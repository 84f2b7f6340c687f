//! Markdown pages for one schema: front matter, description, example usage, the schema grouped
//! into Required / Optional / Read-Only with nested schemas after, and import.

use crate::schema::{Attribute, AttributeKind, Mode, Nesting, Schema};
use crate::value::Type;
use std::fmt::Write;
use std::path::Path;

/// `docs/index.md`.
pub fn provider_page(schema: &Schema, examples: &Path) -> String {
    let mut page = front_matter("Provider: Flink", &schema.description);
    let _ = writeln!(page, "# Flink Provider\n\n{}\n", schema.description);
    if let Some(example) = read(examples, "provider/provider.tf") {
        let _ = writeln!(page, "## Example Usage\n\n```terraform\n{}```\n", example);
    }
    page.push_str(&schema_section(schema));
    page
}

/// A resource or data source page.
pub fn type_page(name: &str, kind: &str, schema: &Schema, examples: &Path) -> String {
    let folder = match kind {
        "Resource" => "resources",
        "Ephemeral Resource" => "ephemeral-resources",
        _ => "data-sources",
    };
    let mut page = front_matter(
        &format!("{name} {kind} - terraform-provider-flink"),
        &schema.description,
    );
    let _ = writeln!(page, "# {name} ({kind})\n\n{}\n", schema.description);
    if let Some(example) = read(examples, &format!("{folder}/{name}/{}.tf", file_stem(kind))) {
        let _ = writeln!(page, "## Example Usage\n\n```terraform\n{}```\n", example);
    }
    page.push_str(&schema_section(schema));
    if let Some(import) = read(examples, &format!("{folder}/{name}/import.sh")) {
        let _ = writeln!(
            page,
            "\n## Import\n\nImport is supported using the following syntax:\n\n```shell\n{}```",
            import
        );
    }
    page
}

fn file_stem(kind: &str) -> &'static str {
    match kind {
        "Resource" => "resource",
        "Ephemeral Resource" => "ephemeral-resource",
        _ => "data-source",
    }
}

fn read(examples: &Path, relative: &str) -> Option<String> {
    std::fs::read_to_string(examples.join(relative)).ok()
}

fn front_matter(title: &str, description: &str) -> String {
    let first = description.split("\n\n").next().unwrap_or_default();
    let indented: Vec<String> = first.lines().map(|l| format!("  {l}")).collect();
    format!(
        "---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-\n{}\n---\n\n",
        indented.join("\n")
    )
}

fn schema_section(schema: &Schema) -> String {
    let mut out = String::from("<!-- generated from the schema by `terraform-provider-flink generate-docs` -->\n## Schema\n");
    let mut nested = Vec::new();
    attribute_groups(&mut out, &schema.attributes, "", "###", &mut nested);
    while let Some((anchor, title, attrs)) = nested.pop() {
        let _ = write!(
            out,
            "\n<a id=\"{anchor}\"></a>\n### Nested Schema for `{title}`\n"
        );
        attribute_groups(&mut out, &attrs, &format!("{title}."), "", &mut nested);
    }
    out
}

type NestedQueue = Vec<(String, String, Vec<Attribute>)>;

fn attribute_groups(
    out: &mut String,
    attributes: &[Attribute],
    prefix: &str,
    heading: &str,
    nested: &mut NestedQueue,
) {
    let groups = [
        ("Required", Mode::Required),
        ("Optional", Mode::Optional),
        ("Read-Only", Mode::Computed),
    ];
    let mut pending = Vec::new();
    for (title, mode) in groups {
        let members: Vec<&Attribute> = attributes
            .iter()
            .filter(|a| match mode {
                Mode::Optional => matches!(a.mode, Mode::Optional | Mode::OptionalComputed),
                m => a.mode == m,
            })
            .collect();
        if members.is_empty() {
            continue;
        }
        if heading.is_empty() {
            let _ = write!(out, "\n{title}:\n\n");
        } else {
            let _ = write!(out, "\n{heading} {title}\n\n");
        }
        for attr in members {
            let _ = writeln!(out, "{}", attribute_line(attr, prefix, &mut pending));
        }
    }
    // Nested schemas print in order of appearance.
    pending.reverse();
    nested.extend(pending);
}

fn attribute_line(attr: &Attribute, prefix: &str, nested: &mut NestedQueue) -> String {
    let mut flags = vec![type_name(attr)];
    if attr.sensitive {
        flags.push("Sensitive".into());
    }
    if attr.write_only {
        flags.push("Write-only".into());
    }
    if attr.deprecated {
        flags.push("Deprecated".into());
    }
    let mut text = attr.description.clone();
    for validator in &attr.validators {
        text.push(' ');
        text.push_str(&validator.doc());
    }
    let mut line = format!("- `{}` ({}) {}", attr.name, flags.join(", "), text.trim());
    if let AttributeKind::Nested(_, attrs) = &attr.kind {
        let title = format!("{prefix}{}", attr.name);
        let anchor = format!("nestedatt--{}", title.replace('.', "--"));
        let _ = write!(line, " (see [below for nested schema](#{anchor}))");
        nested.push((anchor, title, attrs.clone()));
    }
    line
}

fn type_name(attr: &Attribute) -> String {
    match &attr.kind {
        AttributeKind::Plain(ty) => plain_type_name(ty),
        AttributeKind::Nested(Nesting::Single, _) => "Attributes".into(),
        AttributeKind::Nested(Nesting::List, _) => "Attributes List".into(),
        AttributeKind::Nested(Nesting::Set, _) => "Attributes Set".into(),
        AttributeKind::Nested(Nesting::Map, _) => "Attributes Map".into(),
    }
}

fn plain_type_name(ty: &Type) -> String {
    match ty {
        Type::Bool => "Boolean".into(),
        Type::Number => "Number".into(),
        Type::String => "String".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(t) => format!("List of {}", plain_type_name(t)),
        Type::Set(t) => format!("Set of {}", plain_type_name(t)),
        Type::Map(t) => format!("Map of {}", plain_type_name(t)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Validator;

    #[test]
    fn groups_flags_and_nested_anchors() {
        let schema = Schema::new(
            "Thing.",
            vec![
                Attribute::string("name").required(),
                Attribute::string("key").optional().sensitive().write_only(),
                Attribute::string("kind")
                    .optional()
                    .validate(Validator::OneOf(&["a", "b"])),
                Attribute::single_nested("zk", vec![Attribute::string_list("quorum").required()])
                    .optional(),
                Attribute::string("id").computed(),
            ],
        );
        let text = schema_section(&schema);
        assert!(text.contains("### Required\n\n- `name` (String)"));
        assert!(text.contains("- `key` (String, Sensitive, Write-only)"));
        assert!(text.contains("Allowed values: `a`, `b`."));
        assert!(text.contains("### Read-Only\n\n- `id` (String)"));
        assert!(text.contains("<a id=\"nestedatt--zk\"></a>\n### Nested Schema for `zk`"));
        assert!(text.contains("Required:\n\n- `quorum` (List of String)"));
    }
}
