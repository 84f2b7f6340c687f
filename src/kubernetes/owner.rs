//! Ownership labels. Every object the provider creates carries `app.kubernetes.io/managed-by` and
//! the owning Terraform resource (type and name), so one labelled list per kind finds exactly the
//! objects of one resource, and prune and delete can never touch anything else.

use std::collections::BTreeMap;

/// `app.kubernetes.io/managed-by` value.
pub const MANAGED_BY: &str = "terraform-provider-flink";
const MANAGED_BY_KEY: &str = "app.kubernetes.io/managed-by";
const OWNER_TYPE_KEY: &str = "flink.flinkops.io/owner-type";
const OWNER_NAME_KEY: &str = "flink.flinkops.io/owner-name";

/// The Terraform resource that owns a set of objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Short type, e.g. `blob-storage` (a label value).
    pub kind: &'static str,
    /// Namespace of the objects.
    pub namespace: String,
    /// Name of the owning resource (a DNS label, so a valid label value).
    pub name: String,
}

impl Owner {
    /// The owner `kind` (a short type, e.g. `blob-storage`) named `name` in `namespace`.
    pub fn new(kind: &'static str, namespace: &str, name: &str) -> Self {
        Owner {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The labels every owned object carries.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (MANAGED_BY_KEY.to_string(), MANAGED_BY.to_string()),
            (OWNER_TYPE_KEY.to_string(), self.kind.to_string()),
            (OWNER_NAME_KEY.to_string(), self.name.clone()),
        ])
    }

    /// The label selector matching exactly this owner's objects.
    pub fn selector(&self) -> String {
        self.labels()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The selector of every object this provider manages, of any owner.
    pub fn managed_selector() -> String {
        format!("{MANAGED_BY_KEY}={MANAGED_BY}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_matches_the_labels() {
        let owner = Owner {
            kind: "blob-storage",
            namespace: "ns".into(),
            name: "s3".into(),
        };
        assert_eq!(
            owner.selector(),
            "app.kubernetes.io/managed-by=terraform-provider-flink,\
             flink.flinkops.io/owner-name=s3,flink.flinkops.io/owner-type=blob-storage"
        );
        assert_eq!(owner.labels().len(), 3);
    }
}
