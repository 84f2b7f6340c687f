//! Flink's file system plugins as the official image ships them (pure): which plugin serves a URI
//! scheme, the jar that plugin is in the image's `opt/` (`flink-<plugin>-<release>.jar`, the names
//! of `flink-dist`'s `opt` assembly since 1.15, unchanged through 2.x), and the release an image
//! runs. The image's entrypoint links the jars named in `ENABLE_BUILT_IN_PLUGINS` into
//! `plugins/<jar name without .jar>/` and exits when `opt/` lacks one.
//!
//! `s3://` goes to Presto's S3 file system, as Ververica Platform's images and Flink's documentation
//! recommend for checkpoints; `s3a://` to Hadoop's. Both register `s3://` too, so only one of them
//! is ever enabled for that scheme.

/// A file system plugin of the official image's `opt/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Plugin {
    /// `flink-s3-fs-presto`: `s3://`, `s3p://`.
    S3Presto,
    /// `flink-s3-fs-hadoop`: `s3a://`.
    S3Hadoop,
    /// `flink-gs-fs-hadoop`: `gs://`.
    Gcs,
    /// `flink-azure-fs-hadoop`: `wasb://`, `wasbs://`, `abfs://`, `abfss://`.
    Azure,
    /// `flink-oss-fs-hadoop`: `oss://`.
    Oss,
}

impl Plugin {
    /// The plugin serving `scheme`; `None` for what Flink serves without one (`file`) or from
    /// the classpath (`hdfs`, with Hadoop there).
    pub fn for_scheme(scheme: &str) -> Option<Plugin> {
        Some(match scheme {
            "s3" | "s3p" => Plugin::S3Presto,
            "s3a" => Plugin::S3Hadoop,
            "gs" => Plugin::Gcs,
            "wasb" | "wasbs" | "abfs" | "abfss" => Plugin::Azure,
            "oss" => Plugin::Oss,
            _ => return None,
        })
    }

    /// The plugin serving `uri`'s scheme.
    pub fn for_uri(uri: &str) -> Option<Plugin> {
        Self::for_scheme(uri.split_once("://")?.0)
    }

    fn artifact(self) -> &'static str {
        match self {
            Plugin::S3Presto => "s3-fs-presto",
            Plugin::S3Hadoop => "s3-fs-hadoop",
            Plugin::Gcs => "gs-fs-hadoop",
            Plugin::Azure => "azure-fs-hadoop",
            Plugin::Oss => "oss-fs-hadoop",
        }
    }

    /// Its jar in `opt/` of Flink `release`, e.g. `flink-s3-fs-presto-2.3.0.jar`.
    pub fn jar(self, release: &str) -> String {
        format!("flink-{}-{release}.jar", self.artifact())
    }

    /// Whether it is one of the S3 file systems, which read `s3.*` keys.
    pub fn is_s3(self) -> bool {
        matches!(self, Plugin::S3Presto | Plugin::S3Hadoop)
    }
}

/// The Flink release an image runs when its tag says (`flink:2.3.0-scala_2.12-java17`,
/// `registry.example.com/flink:1.20.5-custom`: the tag's leading `x.y.z` on a repository named
/// `flink`); `None` when it does not (a floating `flink:2.2`, another repository).
pub fn release_of_image(image: &str) -> Option<String> {
    let (repository, tag) = image.rsplit_once(':')?;
    if repository.rsplit('/').next()? != "flink" || tag.contains('/') {
        return None;
    }
    let version = tag.split('-').next()?;
    let parts: Vec<&str> = version.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    (parts.len() == 3 && parts.iter().all(numeric)).then(|| version.to_string())
}

/// The value of `ENABLE_BUILT_IN_PLUGINS`: `given` (the user's own, `;`-separated) followed by
/// `jars` not already in it.
pub fn enable_built_in_plugins(given: Option<&str>, jars: &[String]) -> String {
    let mut all: Vec<String> = given
        .into_iter()
        .flat_map(|g| g.split(';'))
        .map(str::trim)
        .filter(|j| !j.is_empty())
        .map(String::from)
        .collect();
    for jar in jars {
        if !all.contains(jar) {
            all.push(jar.clone());
        }
    }
    all.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_map_to_the_plugins_of_opt() {
        assert_eq!(Plugin::for_uri("s3://bucket/flink"), Some(Plugin::S3Presto));
        assert_eq!(
            Plugin::for_uri("s3p://bucket/flink"),
            Some(Plugin::S3Presto)
        );
        assert_eq!(
            Plugin::for_uri("s3a://bucket/flink"),
            Some(Plugin::S3Hadoop)
        );
        assert_eq!(Plugin::for_uri("gs://bucket/flink"), Some(Plugin::Gcs));
        assert_eq!(
            Plugin::for_uri("abfss://c@account.dfs.core.windows.net/f"),
            Some(Plugin::Azure)
        );
        assert_eq!(Plugin::for_uri("oss://bucket/f"), Some(Plugin::Oss));
        assert_eq!(Plugin::for_uri("file:///data/flink"), None);
        assert_eq!(Plugin::for_uri("hdfs://nn:8020/flink"), None);
        assert_eq!(
            Plugin::S3Presto.jar("2.3.0"),
            "flink-s3-fs-presto-2.3.0.jar"
        );
        assert_eq!(Plugin::Gcs.jar("1.20.5"), "flink-gs-fs-hadoop-1.20.5.jar");
    }

    #[test]
    fn an_images_release_comes_from_its_tag() {
        assert_eq!(
            release_of_image("flink:2.3.0-scala_2.12-java17").as_deref(),
            Some("2.3.0")
        );
        assert_eq!(
            release_of_image("registry.example.com/flink:1.20.5-custom").as_deref(),
            Some("1.20.5")
        );
        assert_eq!(release_of_image("flink:2.2"), None);
        assert_eq!(
            release_of_image("registry.example.com:5000/team/job:1.0.0"),
            None
        );
        assert_eq!(release_of_image("registry.example.com:5000/flink"), None);
    }

    #[test]
    fn the_users_plugins_come_first_and_none_twice() {
        let ours = vec!["flink-s3-fs-presto-2.3.0.jar".to_string()];
        assert_eq!(
            enable_built_in_plugins(None, &ours),
            "flink-s3-fs-presto-2.3.0.jar"
        );
        assert_eq!(
            enable_built_in_plugins(
                Some("flink-metrics-x.jar;flink-s3-fs-presto-2.3.0.jar"),
                &ours
            ),
            "flink-metrics-x.jar;flink-s3-fs-presto-2.3.0.jar"
        );
    }
}
