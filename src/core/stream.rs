//! Stream ids and event type names, validated by the rules of protocol v1.
//!
//! A stream id is 1–200 characters of `A–Z a–z 0–9 . _ : @ -` starting with a letter or a digit.
//! An aggregate's stream is `{AggregateType}-{id}` (KurrentDB's category convention): the
//! aggregate type holds no `-`, so the category is everything before the first `-`.
//! An event type is 1–128 characters of `A–Z a–z 0–9 . _ : -` starting with a letter.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::core::error::{Error, Result};

/// The longest stream id protocol v1 accepts, in characters.
pub const MAX_STREAM_ID_LEN: usize = 200;
/// The longest event type protocol v1 accepts, in characters.
pub const MAX_EVENT_TYPE_LEN: usize = 128;

/// A validated stream id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct StreamId(String);

impl StreamId {
    /// Validates any protocol-v1 stream id (it need not belong to an aggregate).
    pub fn parse(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        check_stream_id(&text)?;
        Ok(StreamId(text))
    }

    /// The stream of aggregate `id` of type `aggregate_type`: `{aggregate_type}-{id}`.
    pub fn for_aggregate(aggregate_type: &str, id: &str) -> Result<Self> {
        check_aggregate_type(aggregate_type)?;
        if id.is_empty() {
            return Err(Error::invalid("aggregate id must not be empty"));
        }
        Self::parse(format!("{aggregate_type}-{id}"))
    }

    /// The stream id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The category: the part before the first `-`, or the whole id when it has none.
    pub fn category(&self) -> &str {
        self.0
            .split_once('-')
            .map_or(&self.0, |(category, _)| category)
    }

    /// The aggregate id: the part after the first `-`, if there is one.
    pub fn aggregate_id(&self) -> Option<&str> {
        self.0.split_once('-').map(|(_, id)| id)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for StreamId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        StreamId::parse(text).map_err(serde::de::Error::custom)
    }
}

fn is_stream_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '@' | '-')
}

fn check_stream_id(text: &str) -> Result<()> {
    let first = text
        .chars()
        .next()
        .ok_or_else(|| Error::invalid("stream id must not be empty"))?;
    if text.len() > MAX_STREAM_ID_LEN {
        return Err(Error::invalid(format!(
            "stream id is {} characters long; the limit is {MAX_STREAM_ID_LEN}",
            text.len()
        )));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(Error::invalid(format!(
            "stream id {text:?} must start with a letter or a digit"
        )));
    }
    if let Some(bad) = text.chars().find(|c| !is_stream_char(*c)) {
        return Err(Error::invalid(format!(
            "stream id {text:?} contains {bad:?}; allowed are A-Z a-z 0-9 . _ : @ -"
        )));
    }
    Ok(())
}

/// Checks an aggregate type name: a valid stream id prefix without `-`.
pub fn check_aggregate_type(name: &str) -> Result<()> {
    if name.contains('-') {
        return Err(Error::invalid(format!(
            "aggregate type {name:?} must not contain '-'"
        )));
    }
    check_stream_id(name).map_err(|_| {
        Error::invalid(format!(
            "aggregate type {name:?} must be 1-{MAX_STREAM_ID_LEN} characters of A-Z a-z 0-9 . _ : @, starting with a letter or a digit"
        ))
    })
}

/// Checks an event type name by protocol v1's rule.
pub fn check_event_type(name: &str) -> Result<()> {
    let valid = name.len() <= MAX_EVENT_TYPE_LEN
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "event type {name:?} must be 1-{MAX_EVENT_TYPE_LEN} characters of A-Z a-z 0-9 . _ : -, starting with a letter"
        )))
    }
}

/// Where a stream ends: the version of its newest event and that event's id. Event ids are
/// never reused, so a stream whose head is unchanged holds the same events as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamHead {
    /// The newest event's version (0: no events).
    pub version: u64,
    /// The newest event's id (`None` at version 0).
    pub event_id: Option<uuid::Uuid>,
}

impl StreamHead {
    /// The head after `event`, or the empty stream's head.
    pub fn of(event: Option<&crate::core::EventEnvelope>) -> Self {
        StreamHead {
            version: event.map_or(0, |event| event.version),
            event_id: event.map(|event| event.id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_streams_split_into_category_and_id() {
        let stream = StreamId::for_aggregate("Order", "o-1").unwrap();
        assert_eq!(stream.as_str(), "Order-o-1");
        assert_eq!(stream.category(), "Order");
        assert_eq!(stream.aggregate_id(), Some("o-1"));
    }

    #[test]
    fn rejects_malformed_ids() {
        assert!(StreamId::parse("").is_err());
        assert!(StreamId::parse("-x").is_err());
        assert!(StreamId::parse("a/b").is_err());
        assert!(StreamId::parse("a b").is_err());
        assert!(StreamId::parse("x'; DROP TABLE events;--").is_err());
        assert!(StreamId::parse("a".repeat(201)).is_err());
        assert!(StreamId::parse("a".repeat(200)).is_ok());
        assert!(StreamId::parse("user@host:1.2_3-x").is_ok());
        assert!(StreamId::for_aggregate("Or-der", "1").is_err());
        assert!(StreamId::for_aggregate("Order", "").is_err());
        assert_eq!(StreamId::parse("é").unwrap_err().code(), "invalid_input");
    }

    #[test]
    fn event_types_start_with_a_letter() {
        assert!(check_event_type("OrderCreated").is_ok());
        assert!(check_event_type("order.created:v2").is_ok());
        assert!(check_event_type("").is_err());
        assert!(check_event_type("1Order").is_err());
        assert!(check_event_type("Order Created").is_err());
        assert!(check_event_type(&"a".repeat(129)).is_err());
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<StreamId>("\"Order-1\"").is_ok());
        assert!(serde_json::from_str::<StreamId>("\"../etc\"").is_err());
    }
}
