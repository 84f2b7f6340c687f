//! The Kubernetes API server's own validation rules, with its messages, in one place for both
//! users of them: the provider checks at plan every value it will write into a Kubernetes object,
//! and the Kubernetes API test server refuses what a real server refuses. Pure functions over
//! strings; no Kubernetes types, so neither side depends on the other.
//!
//! Layout: [`strings`] (names, label keys and values, env var names, images, ports), then
//! [`tolerations`] (`ValidateTolerations`), [`quantity`] (resource quantities and the canonical
//! form the server writes them back in) and the size limits of object metadata and data.

pub mod quantity;
pub mod strings;
pub mod tolerations;

pub use strings::*;

/// `TotalAnnotationSizeLimitB`: all of an object's annotation keys and values together.
pub const ANNOTATIONS_LIMIT: usize = 256 * 1024;

/// `core.MaxSecretSize`, which also bounds the data of a ConfigMap.
pub const DATA_LIMIT: usize = 1024 * 1024;

/// The bytes `ValidateAnnotationsSize` counts: every key and value.
pub fn annotations_size<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> usize {
    entries.into_iter().map(|(k, v)| k.len() + v.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_size_counts_keys_and_values() {
        assert_eq!(annotations_size([("ab", "cde"), ("f", "")]), 6);
        let at_limit = "x".repeat(ANNOTATIONS_LIMIT - 1);
        assert_eq!(
            annotations_size([("k", at_limit.as_str())]),
            ANNOTATIONS_LIMIT
        );
    }
}
