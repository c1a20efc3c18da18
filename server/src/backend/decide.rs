//! The backend-independent decisions of an append: is it a retry, a mismatch, or new?

use fieldstream::core::{StreamId, Timestamp};
use fieldstream::protocol::AppendResponse;
use uuid::Uuid;

/// Where an event id of the request is stored already.
#[derive(Debug, Clone)]
pub struct StoredId {
    /// The event id.
    pub id: Uuid,
    /// Its stream.
    pub stream: String,
    /// Its version.
    pub version: u64,
    /// Its position.
    pub position: u64,
    /// When it was committed.
    pub recorded_at: Timestamp,
}

/// What the stored ids say about an append.
#[derive(Debug, Clone, PartialEq)]
pub enum Prior {
    /// None of the ids is stored: a new append.
    New,
    /// All of them, in this stream, in order, at consecutive versions: a retry.
    Replay(AppendResponse),
    /// Anything else: refused, with the reason.
    Mismatch(String),
}

/// The one message of every mismatch: it names neither an id nor a stream, so a caller learns
/// nothing about streams it may not read beyond "some of these ids are taken".
pub const MISMATCH: &str = "some of these event ids are already used, not as this exact append \
     to this stream; a retry must resend exactly the same events to the same stream";

/// Classifies an append of `requested` ids to `stream` given the ids found stored.
pub fn classify(stream: &StreamId, requested: &[Uuid], found: &[StoredId]) -> Prior {
    if found.is_empty() {
        return Prior::New;
    }
    let mismatch = || Prior::Mismatch(MISMATCH.to_owned());
    if found.len() != requested.len() || found.iter().any(|s| s.stream != stream.as_str()) {
        return mismatch();
    }
    let mut ordered = Vec::with_capacity(requested.len());
    for id in requested {
        match found.iter().find(|stored| stored.id == *id) {
            Some(stored) => ordered.push(stored),
            None => return mismatch(),
        }
    }
    let consecutive = ordered.windows(2).all(|pair| {
        pair[1].version == pair[0].version + 1 && pair[1].position == pair[0].position + 1
    });
    if !consecutive {
        return mismatch();
    }
    let (first, last) = (ordered[0], ordered[ordered.len() - 1]);
    Prior::Replay(AppendResponse {
        stream: stream.clone(),
        first_version: first.version,
        last_version: last.version,
        first_position: first.position,
        last_position: last.position,
        recorded_at: Some(first.recorded_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(n: u128, stream: &str, version: u64) -> StoredId {
        StoredId {
            id: Uuid::from_u128(n),
            stream: stream.into(),
            version,
            position: version + 10,
            recorded_at: Timestamp(5),
        }
    }

    #[test]
    fn classification() {
        let s = StreamId::parse("s").unwrap();
        let ids = [Uuid::from_u128(1), Uuid::from_u128(2)];
        assert_eq!(classify(&s, &ids, &[]), Prior::New);
        let replay = classify(&s, &ids, &[stored(2, "s", 4), stored(1, "s", 3)]);
        assert!(
            matches!(replay, Prior::Replay(r) if r.first_version == 3 && r.last_position == 14)
        );
        assert!(matches!(
            classify(&s, &ids, &[stored(1, "s", 3)]),
            Prior::Mismatch(_)
        ));
        assert!(matches!(
            classify(&s, &ids, &[stored(1, "t", 3), stored(2, "t", 4)]),
            Prior::Mismatch(_)
        ));
        assert!(matches!(
            classify(&s, &ids, &[stored(1, "s", 4), stored(2, "s", 3)]),
            Prior::Mismatch(_)
        ));
    }
}
