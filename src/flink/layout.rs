//! VVP's blob storage layout: from one base URI, every deployment's directories are
//! `<base>/flink-jobs/namespaces/<namespace>/deployments/<deployment-id>/{checkpoints,savepoints,ha}`.

/// URI schemes a blob storage base may use.
pub const SCHEMES: &[&str] = &[
    "s3", "s3a", "s3p", "gs", "wasb", "wasbs", "abfs", "abfss", "hdfs", "oss", "file",
];

/// The directories of one deployment under a blob storage base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobLayout {
    deployment_dir: String,
}

/// A base URI or path segment the layout cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The base URI has no supported scheme.
    #[error("blob storage base {base:?} must start with one of {schemes}://")]
    Scheme {
        /// The base given.
        base: String,
        /// The supported schemes.
        schemes: String,
    },
    /// A namespace or deployment id that cannot be one path segment.
    #[error("{what} {value:?} cannot be a path segment (empty, or contains '/')")]
    Segment {
        /// "namespace" or "deployment id".
        what: &'static str,
        /// The value given.
        value: String,
    },
}

impl BlobLayout {
    /// The layout of `deployment_id` in `namespace` under `base` (a trailing `/` is ignored).
    pub fn new(base: &str, namespace: &str, deployment_id: &str) -> Result<Self, LayoutError> {
        let scheme = base.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let rest_ok = base
            .split_once("://")
            .is_some_and(|(_, r)| !r.trim_matches('/').is_empty() || r.starts_with('/'));
        if !scheme.as_deref().is_some_and(|s| SCHEMES.contains(&s)) || !rest_ok {
            return Err(LayoutError::Scheme {
                base: base.to_string(),
                schemes: SCHEMES.join("://, "),
            });
        }
        for (what, value) in [("namespace", namespace), ("deployment id", deployment_id)] {
            if value.is_empty() || value.contains('/') || value == "." || value == ".." {
                return Err(LayoutError::Segment {
                    what,
                    value: value.to_string(),
                });
            }
        }
        let base = base.trim_end_matches('/');
        Ok(Self {
            deployment_dir: format!(
                "{base}/flink-jobs/namespaces/{namespace}/deployments/{deployment_id}"
            ),
        })
    }

    /// `<base>/flink-jobs/namespaces/<ns>/deployments/<id>`.
    pub fn deployment_dir(&self) -> &str {
        &self.deployment_dir
    }

    /// Where checkpoints go.
    pub fn checkpoints(&self) -> String {
        format!("{}/checkpoints", self.deployment_dir)
    }

    /// Where savepoints go.
    pub fn savepoints(&self) -> String {
        format!("{}/savepoints", self.deployment_dir)
    }

    /// Where HA metadata goes.
    pub fn ha(&self) -> String {
        format!("{}/ha", self.deployment_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vvp_layout() {
        let l = BlobLayout::new("s3://bucket/prefix/", "team-a", "0b3e9c1f").unwrap();
        assert_eq!(
            l.checkpoints(),
            "s3://bucket/prefix/flink-jobs/namespaces/team-a/deployments/0b3e9c1f/checkpoints"
        );
        assert_eq!(
            l.savepoints(),
            "s3://bucket/prefix/flink-jobs/namespaces/team-a/deployments/0b3e9c1f/savepoints"
        );
        assert_eq!(
            l.ha(),
            "s3://bucket/prefix/flink-jobs/namespaces/team-a/deployments/0b3e9c1f/ha"
        );
        let f = BlobLayout::new("file:///tmp/blobs", "ns", "d").unwrap();
        assert_eq!(
            f.ha(),
            "file:///tmp/blobs/flink-jobs/namespaces/ns/deployments/d/ha"
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            BlobLayout::new("ftp://x", "n", "d"),
            Err(LayoutError::Scheme { .. })
        ));
        assert!(matches!(
            BlobLayout::new("/tmp/x", "n", "d"),
            Err(LayoutError::Scheme { .. })
        ));
        assert!(matches!(
            BlobLayout::new("s3://", "n", "d"),
            Err(LayoutError::Scheme { .. })
        ));
        assert!(matches!(
            BlobLayout::new("s3://b", "", "d"),
            Err(LayoutError::Segment { .. })
        ));
        assert!(matches!(
            BlobLayout::new("s3://b", "n", "a/b"),
            Err(LayoutError::Segment { .. })
        ));
    }
}
