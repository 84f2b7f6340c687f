//! The supported Flink minor versions. [`FlinkVersion::ALL`] is the one list that drives validation,
//! documentation and tests; each version knows its default image and the patch release we test
//! (the one whose jars produced its option catalogue).

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

/// A version string that names no supported Flink version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Flink version {given:?} is not supported; supported: {supported}")]
pub struct UnsupportedVersion {
    /// What was given.
    pub given: String,
    /// The supported minors, comma separated.
    pub supported: String,
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

    /// The official image used when the user names none, e.g. `flink:1.20.5-scala_2.12-java17`.
    pub fn default_image(self) -> String {
        format!("flink:{}-scala_2.12-java17", self.tested_patch())
    }

    /// The major version (1 or 2).
    pub fn major(self) -> u8 {
        match self {
            FlinkVersion::V1_19 | FlinkVersion::V1_20 => 1,
            _ => 2,
        }
    }

    /// Parses `"1.20"` or a full release `"1.20.5"` (any patch of a supported minor).
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
            .ok_or_else(|| UnsupportedVersion {
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
