//! Expected versions: the optimistic-concurrency check of every append.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a writer expects of a stream's version before it appends.
///
/// Versions are 1-based: a stream with `n` events is at version `n`, an absent stream at 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist (version 0).
    NoStream,
    /// The stream must hold at least one event.
    StreamExists,
    /// The stream must hold exactly this many events; `Exact(0)` is the same as `NoStream`.
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream currently at `actual` satisfies this expectation.
    pub fn admits(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::StreamExists => actual > 0,
            ExpectedVersion::Exact(n) => actual == n,
        }
    }

    /// The exact version this expectation pins, if it pins one.
    pub fn exact(self) -> Option<u64> {
        match self {
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exact(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no_stream"),
            ExpectedVersion::StreamExists => f.write_str("stream_exists"),
            ExpectedVersion::Exact(n) => write!(f, "{n}"),
        }
    }
}

/// Serialized as protocol v1 writes it: an integer ≥ 0, or `"any"`, `"no_stream"`, `"stream_exists"`.
impl Serialize for ExpectedVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ExpectedVersion::Exact(n) => serializer.serialize_u64(*n),
            other => serializer.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for ExpectedVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "expected version must be an integer >= 0, \"any\", \"no_stream\" or \"stream_exists\"",
            )
        })? {
            Raw::Number(n) => Ok(ExpectedVersion::Exact(n)),
            Raw::Text(text) => match text.as_str() {
                "any" => Ok(ExpectedVersion::Any),
                "no_stream" => Ok(ExpectedVersion::NoStream),
                "stream_exists" => Ok(ExpectedVersion::StreamExists),
                other => Err(serde::de::Error::custom(format!(
                    "unknown expected version {other:?}: use an integer >= 0, \"any\", \"no_stream\" or \"stream_exists\""
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_follows_the_protocol() {
        assert!(ExpectedVersion::Any.admits(7));
        assert!(ExpectedVersion::NoStream.admits(0));
        assert!(!ExpectedVersion::NoStream.admits(1));
        assert!(ExpectedVersion::StreamExists.admits(1));
        assert!(!ExpectedVersion::StreamExists.admits(0));
        assert!(ExpectedVersion::Exact(0).admits(0));
        assert!(!ExpectedVersion::Exact(2).admits(3));
    }

    #[test]
    fn json_round_trip() {
        for (value, text) in [
            (ExpectedVersion::Any, "\"any\""),
            (ExpectedVersion::NoStream, "\"no_stream\""),
            (ExpectedVersion::StreamExists, "\"stream_exists\""),
            (ExpectedVersion::Exact(42), "42"),
        ] {
            assert_eq!(serde_json::to_string(&value).unwrap(), text);
            assert_eq!(
                serde_json::from_str::<ExpectedVersion>(text).unwrap(),
                value
            );
        }
        assert!(serde_json::from_str::<ExpectedVersion>("-1").is_err());
        assert!(serde_json::from_str::<ExpectedVersion>("\"latest\"").is_err());
        assert!(serde_json::from_str::<ExpectedVersion>("1.5").is_err());
    }
}
