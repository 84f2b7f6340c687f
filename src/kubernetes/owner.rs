//! Ownership. Every object the provider creates carries `app.kubernetes.io/managed-by` and the
//! owning Terraform resource (type and name) as labels, so one labelled list per kind finds the
//! objects of one resource name. Two resources in two workspaces can have the same type, namespace
//! and name, so the labels alone cannot tell whose an object is: each resource instance also
//! writes its instance id (random, made at create and kept in state) into the annotation
//! `flink.flinkops.io/owner-instance`. An apply refuses objects another instance marked, and prune
//! and delete never touch them.
//!
//! A create writes its objects marked as pending too (`flink.flinkops.io/owner-create-pending`)
//! and takes that off once it returns a state, which from then on holds its instance. Objects
//! still pending belong to a create that never returned (the provider or Terraform killed
//! mid-apply, so no state recorded its instance): the next create of the same resource adopts
//! them instead of refusing them as another's.
//!
//! The marker is an annotation, not a label: nothing selects by it (the labels find the
//! candidates, the marker decides among them), so it stays out of label selectors, including the
//! immutable selector of a Deployment, and objects created by earlier provider versions can
//! gain it without being selected differently.

use std::collections::BTreeMap;

/// `app.kubernetes.io/managed-by` value.
pub const MANAGED_BY: &str = "terraform-provider-flink";
const MANAGED_BY_KEY: &str = "app.kubernetes.io/managed-by";
const OWNER_TYPE_KEY: &str = "flink.flinkops.io/owner-type";
const OWNER_NAME_KEY: &str = "flink.flinkops.io/owner-name";
/// The annotation holding the instance id of the resource that owns an object.
pub const INSTANCE_KEY: &str = "flink.flinkops.io/owner-instance";
/// The annotation of an object written by a create that has not returned its state yet.
pub const PENDING_KEY: &str = "flink.flinkops.io/owner-create-pending";

/// The Terraform resource that owns a set of objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Short type, e.g. `blob-storage` (a label value).
    pub kind: &'static str,
    /// Namespace of the objects.
    pub namespace: String,
    /// Name of the owning resource (a DNS label, so a valid label value).
    pub name: String,
    /// The resource instance's id, written as [`INSTANCE_KEY`]; `None` for a state written by a
    /// provider version without markers.
    pub instance: Option<String>,
    /// Whether the objects are written by a create that has not returned its state yet
    /// ([`PENDING_KEY`]).
    pub creating: bool,
}

/// Whose an object of an owner's labels is, by its marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It carries this instance's marker.
    Ours,
    /// It carries no marker: created by a provider version without markers (or the marker was
    /// removed). Only a resource in state may take it, as that state proves it created it.
    Unmarked,
    /// It carries another instance's marker.
    Other(String),
    /// It carries the marker of another instance whose create never returned a state (still
    /// pending): no state holds it, so a create of the same resource may take it.
    Abandoned(String),
}

impl Claim {
    /// Whether an apply may write over the object; `in_state` says the resource is already in
    /// Terraform state (an update, or the first apply after an import or an upgrade).
    pub fn writable(&self, in_state: bool) -> bool {
        match self {
            Claim::Ours => true,
            Claim::Unmarked => in_state,
            Claim::Abandoned(_) => !in_state,
            Claim::Other(_) => false,
        }
    }
}

/// A new random instance id (a version 4 UUID).
pub fn new_instance_id() -> String {
    crate::value::uuid(rand::random(), 4)
}

/// Whether a create that never returned its state wrote `object`.
fn is_pending(object: &kube::api::DynamicObject) -> bool {
    object
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(PENDING_KEY))
}

/// The instance marker of an object, if it has one.
pub fn marker_of(object: &kube::api::DynamicObject) -> Option<&str> {
    object
        .metadata
        .annotations
        .as_ref()?
        .get(INSTANCE_KEY)
        .map(String::as_str)
}

impl Owner {
    /// The owner `kind` (a short type, e.g. `blob-storage`) named `name` in `namespace`, whose
    /// instance is not known yet (reads by labels).
    pub fn new(kind: &'static str, namespace: &str, name: &str) -> Self {
        Owner {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            instance: None,
            creating: false,
        }
    }

    /// This owner writing as a create that has not returned its state yet.
    pub fn creating(mut self, creating: bool) -> Self {
        self.creating = creating;
        self
    }

    /// This owner as the resource instance `instance` (from state; `None` before markers).
    pub fn instance(mut self, instance: Option<&str>) -> Self {
        self.instance = instance.map(String::from);
        self
    }

    /// Whose `object` (one with this owner's labels) is.
    pub fn claim(&self, object: &kube::api::DynamicObject) -> Claim {
        match marker_of(object) {
            None => Claim::Unmarked,
            Some(marker) if Some(marker) == self.instance.as_deref() => Claim::Ours,
            Some(marker) if is_pending(object) => Claim::Abandoned(marker.to_string()),
            Some(marker) => Claim::Other(marker.to_string()),
        }
    }

    /// The other instance that marked every one of `objects` (ones with this owner's labels),
    /// when there are any and none is this instance's or unmarked: the resource was taken over.
    pub fn taken_by<'a>(
        &self,
        objects: impl IntoIterator<Item = &'a kube::api::DynamicObject>,
    ) -> Option<String> {
        let mut first = None;
        for object in objects {
            match self.claim(object) {
                Claim::Other(instance) | Claim::Abandoned(instance) => {
                    first.get_or_insert(instance);
                }
                Claim::Ours | Claim::Unmarked => return None,
            }
        }
        first
    }

    /// The annotations every owned object carries: the instance marker, once there is one.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        let mut annotations: BTreeMap<String, String> = self
            .instance
            .iter()
            .map(|id| (INSTANCE_KEY.to_string(), id.clone()))
            .collect();
        if self.creating && self.instance.is_some() {
            annotations.insert(PENDING_KEY.to_string(), "true".to_string());
        }
        annotations
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
        let owner = Owner::new("blob-storage", "ns", "s3");
        assert_eq!(
            owner.selector(),
            "app.kubernetes.io/managed-by=terraform-provider-flink,\
             flink.flinkops.io/owner-name=s3,flink.flinkops.io/owner-type=blob-storage"
        );
        assert_eq!(owner.labels().len(), 3);
    }

    fn object(annotations: serde_json::Value) -> kube::api::DynamicObject {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cm", "annotations": annotations}
        }))
        .unwrap()
    }

    #[test]
    fn a_create_marks_its_objects_pending_and_what_an_unfinished_one_left_is_adoptable() {
        let creating = Owner::new("deployment", "ns", "x")
            .instance(Some("a"))
            .creating(true);
        assert_eq!(
            creating.annotations().get(PENDING_KEY).map(String::as_str),
            Some("true")
        );
        assert!(!creating
            .clone()
            .creating(false)
            .annotations()
            .contains_key(PENDING_KEY));
        let left = object(serde_json::json!({INSTANCE_KEY: "a", PENDING_KEY: "true"}));
        let next = Owner::new("deployment", "ns", "x").instance(Some("b"));
        assert_eq!(next.claim(&left), Claim::Abandoned("a".into()));
        assert_eq!(creating.claim(&left), Claim::Ours);
        assert!(next.claim(&left).writable(false), "a create adopts it");
        assert!(
            !next.claim(&left).writable(true),
            "a resource in state does not"
        );
    }

    #[test]
    fn an_object_is_ours_unmarked_or_another_instances() {
        let ours = Owner::new("deployment", "ns", "x").instance(Some("a"));
        let legacy = Owner::new("deployment", "ns", "x");
        let marked_a = object(serde_json::json!({INSTANCE_KEY: "a"}));
        let marked_b = object(serde_json::json!({INSTANCE_KEY: "b"}));
        let unmarked = object(serde_json::json!({"other": "1"}));
        assert_eq!(ours.claim(&marked_a), Claim::Ours);
        assert_eq!(ours.claim(&marked_b), Claim::Other("b".into()));
        assert_eq!(ours.claim(&unmarked), Claim::Unmarked);
        // A state without a marker (an earlier version) owns no marked object.
        assert_eq!(legacy.claim(&marked_a), Claim::Other("a".into()));
        assert_eq!(legacy.claim(&unmarked), Claim::Unmarked);
        // Only state proves an unmarked object ours; another instance's never is.
        assert!(Claim::Unmarked.writable(true));
        assert!(!Claim::Unmarked.writable(false));
        assert!(!Claim::Other("b".into()).writable(true));
        assert!(Claim::Ours.writable(false));
        assert_eq!(
            ours.annotations().get(INSTANCE_KEY).map(String::as_str),
            Some("a")
        );
        assert!(legacy.annotations().is_empty());
    }

    #[test]
    fn a_resource_is_taken_over_only_when_every_object_is_another_instances() {
        let ours = Owner::new("deployment", "ns", "x").instance(Some("a"));
        let marked_a = object(serde_json::json!({INSTANCE_KEY: "a"}));
        let marked_b = object(serde_json::json!({INSTANCE_KEY: "b"}));
        let unmarked = object(serde_json::json!({}));
        assert_eq!(ours.taken_by([&marked_b, &marked_b]), Some("b".into()));
        assert_eq!(ours.taken_by([&marked_b, &marked_a]), None);
        assert_eq!(ours.taken_by([&marked_b, &unmarked]), None);
        assert_eq!(ours.taken_by([]), None);
        let legacy = Owner::new("deployment", "ns", "x");
        assert_eq!(legacy.taken_by([&marked_a]), Some("a".into()));
    }

    #[test]
    fn instance_ids_are_random_version_4_uuids() {
        let (a, b) = (new_instance_id(), new_instance_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
