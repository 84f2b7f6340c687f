//! Object validation as kube-apiserver's registry strategies run it before storing
//! (`apimachinery/pkg/api/validation` `ValidateObjectMeta`, `pkg/apis/core/validation`): each
//! kind's name rule, label keys and values, annotation keys and their 256 KiB total, ConfigMap
//! and Secret keys and their 1 MiB total, and in pod specs (a Pod's, a Deployment's template)
//! container names, images, ports and environment variable names, and tolerations. Every error
//! of an object is collected, for one `422 Invalid` answer listing them all. An update is checked
//! for what it may not change, too.
//!
//! Layout: `rules` (the string rules and their messages, the `kube-rules` crate the provider's
//! plan checks use too) -> `objects` (which field gets which rule, with its path) and `updates`
//! (the fields an update may not change).

mod objects;
mod updates;
pub use kube_rules as rules;

pub use objects::validate;
pub use updates::validate_update;
