//! The supported Flink minor versions and their releases. [`FlinkVersion::ALL`] is the one list
//! that drives validation, documentation and tests; each version knows its releases, the patch
//! release we test (the one whose jars produced its option catalogue) and so the image a
//! `flink_version` runs: a full version its own release's official image, a minor its newest
//! release's.

use std::fmt;

/// A supported Flink minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlinkVersion {
    /// Flink 1.19.
    V1_19,
    /// Flink 1.20 (LTS of the 1.x line).
    V1_20,
    /// Flink 2.0.
    V2_0,
    /// Flink 2.1.
    V2_1,
    /// Flink 2.2.
    V2_2,
    /// Flink 2.3.
    V2_3,
}

/// A version string that names no supported Flink version or no release of one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsupportedVersion {
    /// Not a supported minor.
    #[error("Flink version {given:?} is not supported; supported: {supported}")]
    Minor {
        /// What was given.
        given: String,
        /// The supported minors, comma separated.
        supported: String,
    },
    /// A supported minor, but a patch that was never released.
    #[error(
        "Flink {given} was never released: the {minor} releases are {releases}. Name one of \
         them, or \"{minor}\" for the newest ({newest})"
    )]
    Release {
        /// What was given.
        given: String,
        /// Its minor.
        minor: &'static str,
        /// That minor's releases, newest first, comma separated.
        releases: String,
        /// The newest of them.
        newest: &'static str,
    },
}

impl FlinkVersion {
    /// Every supported version, oldest first.
    pub const ALL: [FlinkVersion; 6] = [
        FlinkVersion::V1_19,
        FlinkVersion::V1_20,
        FlinkVersion::V2_0,
        FlinkVersion::V2_1,
        FlinkVersion::V2_2,
        FlinkVersion::V2_3,
    ];

    /// The newest supported version.
    pub const LATEST: FlinkVersion = FlinkVersion::V2_3;

    /// `"1.20"`.
    pub fn minor(self) -> &'static str {
        match self {
            FlinkVersion::V1_19 => "1.19",
            FlinkVersion::V1_20 => "1.20",
            FlinkVersion::V2_0 => "2.0",
            FlinkVersion::V2_1 => "2.1",
            FlinkVersion::V2_2 => "2.2",
            FlinkVersion::V2_3 => "2.3",
        }
    }

    /// The patch release we test and whose jars produced the catalogue, e.g. `"1.20.5"`.
    pub fn tested_patch(self) -> &'static str {
        match self {
            FlinkVersion::V1_19 => "1.19.3",
            FlinkVersion::V1_20 => "1.20.5",
            FlinkVersion::V2_0 => "2.0.2",
            FlinkVersion::V2_1 => "2.1.3",
            FlinkVersion::V2_2 => "2.2.1",
            FlinkVersion::V2_3 => "2.3.0",
        }
    }

    /// Every release of this minor, newest first. From the versions of `apache-flink-libraries`
    /// on PyPI (`pip index versions apache-flink-libraries`, read 2026-12-02), which Apache Flink
    /// publishes with every release; the official image's `flink:<release>-scala_2.12-java17`
    /// tags follow the same releases. Add a release here when Flink publishes one.
    pub fn releases(self) -> &'static [&'static str] {
        match self {
            FlinkVersion::V1_19 => &["1.19.3", "1.19.2", "1.19.1", "1.19.0"],
            FlinkVersion::V1_20 => &["1.20.5", "1.20.4", "1.20.3", "1.20.2", "1.20.1", "1.20.0"],
            FlinkVersion::V2_0 => &["2.0.2", "2.0.1", "2.0.0"],
            FlinkVersion::V2_1 => &["2.1.3", "2.1.2", "2.1.1", "2.1.0"],
            FlinkVersion::V2_2 => &["2.2.1", "2.2.0"],
            FlinkVersion::V2_3 => &["2.3.0"],
        }
    }

    /// The newest release of this minor: what a `flink_version` naming only the minor runs.
    pub fn newest_release(self) -> &'static str {
        self.releases()
            .first()
            .copied()
            .unwrap_or(self.tested_patch())
    }

    /// The official image of the newest release, e.g. `flink:1.20.5-scala_2.12-java17`.
    pub fn default_image(self) -> String {
        official_image(self.newest_release())
    }

    /// The release `s` names: itself when it is a full version (which must be a release of a
    /// supported minor), the newest of its minor when it names only the minor.
    pub fn release_of(s: &str) -> Result<&'static str, UnsupportedVersion> {
        let version = Self::parse(s)?;
        let t = s.trim();
        if t == version.minor() {
            return Ok(version.newest_release());
        }
        version
            .releases()
            .iter()
            .find(|r| **r == t)
            .copied()
            .ok_or_else(|| UnsupportedVersion::Release {
                given: t.to_string(),
                minor: version.minor(),
                releases: version.releases().join(", "),
                newest: version.newest_release(),
            })
    }

    /// The major version (1 or 2).
    pub fn major(self) -> u8 {
        match self {
            FlinkVersion::V1_19 | FlinkVersion::V1_20 => 1,
            _ => 2,
        }
    }

    /// The minor of `"1.20"` or of a full version `"1.20.5"` (any patch of a supported minor:
    /// [`FlinkVersion::release_of`] checks that the patch was released).
    pub fn parse(s: &str) -> Result<Self, UnsupportedVersion> {
        let t = s.trim();
        let mut parts = t.split('.');
        let minor = match (parts.next(), parts.next()) {
            (Some(a), Some(b)) => format!("{a}.{b}"),
            _ => String::new(),
        };
        let patch_ok = match parts.next() {
            None => true,
            Some(p) => {
                !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && parts.next().is_none()
            }
        };
        Self::ALL
            .into_iter()
            .find(|v| v.minor() == minor && patch_ok)
            .ok_or_else(|| UnsupportedVersion::Minor {
                given: s.to_string(),
                supported: Self::supported_list(),
            })
    }

    /// `"1.19, 1.20, 2.0, 2.1, 2.2, 2.3"`, for messages and documentation.
    pub fn supported_list() -> String {
        Self::ALL
            .iter()
            .map(|v| v.minor())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The official image of Flink `release`, e.g. `flink:2.3.0-scala_2.12-java17`.
pub fn official_image(release: &str) -> String {
    format!("flink:{release}-scala_2.12-java17")
}

impl std::str::FromStr for FlinkVersion {
    type Err = UnsupportedVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for FlinkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.minor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minor_and_patch() {
        assert_eq!(FlinkVersion::parse("1.20"), Ok(FlinkVersion::V1_20));
        assert_eq!("2.1".parse::<FlinkVersion>(), Ok(FlinkVersion::V2_1));
        assert_eq!(FlinkVersion::parse("1.20.5"), Ok(FlinkVersion::V1_20));
        assert_eq!(FlinkVersion::parse(" 2.3.0 "), Ok(FlinkVersion::V2_3));
        assert!(FlinkVersion::parse("1.18").is_err());
        assert!(FlinkVersion::parse("2.3.x").is_err());
        assert!(FlinkVersion::parse("2").is_err());
        assert!(FlinkVersion::parse("1.20.5.1").is_err());
        let e = FlinkVersion::parse("3.0").unwrap_err();
        assert!(
            e.to_string().contains("1.19, 1.20, 2.0, 2.1, 2.2, 2.3"),
            "{e}"
        );
    }

    #[test]
    fn full_versions_must_be_releases() {
        assert_eq!(FlinkVersion::release_of("2.3"), Ok("2.3.0"));
        assert_eq!(FlinkVersion::release_of(" 1.20 "), Ok("1.20.5"));
        assert_eq!(FlinkVersion::release_of("1.20.1"), Ok("1.20.1"));
        assert_eq!(FlinkVersion::release_of("2.2.0"), Ok("2.2.0"));
        let e = FlinkVersion::release_of("2.3.99").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Flink 2.3.99 was never released: the 2.3 releases are 2.3.0. Name one of them, or \"2.3\" for the newest (2.3.0)"
        );
        let e = FlinkVersion::release_of("1.20.9").unwrap_err();
        assert!(
            e.to_string()
                .contains("1.20.5, 1.20.4, 1.20.3, 1.20.2, 1.20.1, 1.20.0"),
            "{e}"
        );
        assert!(matches!(
            FlinkVersion::release_of("1.18.1"),
            Err(UnsupportedVersion::Minor { .. })
        ));
        assert_eq!(official_image("1.20.1"), "flink:1.20.1-scala_2.12-java17");
    }

    #[test]
    fn release_lists_are_newest_first_and_hold_the_tested_patch() {
        for v in FlinkVersion::ALL {
            let releases = v.releases();
            assert!(releases.contains(&v.tested_patch()), "{v}");
            let patches: Vec<u32> = releases
                .iter()
                .map(|r| {
                    let (minor, patch) = r.rsplit_once('.').unwrap();
                    assert_eq!(minor, v.minor());
                    patch.parse().unwrap()
                })
                .collect();
            assert!(patches.windows(2).all(|w| w[0] > w[1]), "{v}: {patches:?}");
            assert_eq!(patches.last(), Some(&0), "{v}: from .0");
        }
    }

    #[test]
    fn images_and_patches() {
        assert_eq!(
            FlinkVersion::V1_20.default_image(),
            "flink:1.20.5-scala_2.12-java17"
        );
        assert_eq!(
            FlinkVersion::V2_3.default_image(),
            "flink:2.3.0-scala_2.12-java17"
        );
        for v in FlinkVersion::ALL {
            assert!(v.tested_patch().starts_with(&format!("{}.", v.minor())));
            assert_eq!(FlinkVersion::parse(v.tested_patch()), Ok(v));
        }
    }
}
