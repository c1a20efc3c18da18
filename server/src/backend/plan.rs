//! Deciding a group of appends that commit together: which ones are retries, mismatches,
//! conflicts or new, and where each new one's events go. Pure: the database's part is the
//! [`Known`] it read before, the writer's part is placing the rows the [`Plan`] lists.

use std::collections::HashMap;

use fieldstream::core::{ExpectedVersion, StreamId, Timestamp};
use fieldstream::protocol::AppendResponse;
use uuid::Uuid;

use super::decide::{MISMATCH, Prior, StoredId, classify};

/// One append of a group, as the plan sees it.
#[derive(Debug, Clone, Copy)]
pub struct Pending<'a> {
    /// The stream appended to.
    pub stream: &'a StreamId,
    /// The optimistic-concurrency check.
    pub expected: ExpectedVersion,
    /// Its event ids, in order.
    pub ids: &'a [Uuid],
}

/// What the database holds that concerns a group: where its event ids are stored already, and
/// the current version of each of its streams (absent: 0).
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The group's event ids that are stored, wherever they are.
    pub stored: Vec<StoredId>,
    /// The version of each stream of the group that has events.
    pub versions: HashMap<String, u64>,
    /// The tenant's head, when the read took it (SQLite, inside its exclusive transaction).
    pub head: Option<u64>,
}

/// What becomes of one append of a group.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    /// Written: its events take versions `first_version`… and the positions right after the
    /// head plus `offset`.
    New {
        /// The version of its first event.
        first_version: u64,
        /// How many events of the group come before its own.
        offset: u64,
    },
    /// Every event is stored already by this same append: answered as the first time.
    Replay(AppendResponse),
    /// The same append as an earlier one of the group (a request sent twice): answered as that
    /// one, as a retry.
    SameAs(usize),
    /// Some ids are stored, but not as this exact append.
    Mismatch,
    /// The stream is at `current`, which the expected version does not admit.
    Conflict {
        /// The stream's version when the append was tried.
        current: u64,
    },
}

/// The plan of a group: one [`Planned`] per append, and how many events it writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Per append, in order.
    pub appends: Vec<Planned>,
    /// The events written, all appends together.
    pub count: u64,
}

/// Decides `appends` in order, each seeing the ones before it (their versions and ids) as if
/// they were committed already.
pub fn plan(appends: &[Pending<'_>], known: &Known) -> Plan {
    let mut versions: HashMap<&str, u64> = HashMap::new();
    // Ids the group writes: id → (append, index within it).
    let mut placed: HashMap<Uuid, (usize, usize)> = HashMap::new();
    let mut planned = Vec::with_capacity(appends.len());
    let mut count = 0u64;
    for (index, append) in appends.iter().enumerate() {
        let outcome = match earlier(append, appends, &placed) {
            Some(outcome) => outcome,
            None => {
                let found: Vec<StoredId> = known
                    .stored
                    .iter()
                    .filter(|stored| append.ids.contains(&stored.id))
                    .cloned()
                    .collect();
                match classify(append.stream, append.ids, &found) {
                    Prior::Replay(response) => Planned::Replay(response),
                    Prior::Mismatch(_) => Planned::Mismatch,
                    Prior::New => {
                        let stream = append.stream.as_str();
                        let current = versions
                            .get(stream)
                            .copied()
                            .or_else(|| known.versions.get(stream).copied())
                            .unwrap_or(0);
                        if append.expected.admits(current) {
                            let n = append.ids.len() as u64;
                            versions.insert(stream, current + n);
                            for (position, id) in append.ids.iter().enumerate() {
                                placed.insert(*id, (index, position));
                            }
                            let new = Planned::New {
                                first_version: current + 1,
                                offset: count,
                            };
                            count += n;
                            new
                        } else {
                            Planned::Conflict { current }
                        }
                    }
                }
            }
        };
        planned.push(outcome);
    }
    Plan {
        appends: planned,
        count,
    }
}

/// How an append whose ids an earlier append of the group writes is answered: as that one when
/// it is the same append, else as a mismatch; `None` when the group writes none of its ids.
fn earlier(
    append: &Pending<'_>,
    appends: &[Pending<'_>],
    placed: &HashMap<Uuid, (usize, usize)>,
) -> Option<Planned> {
    let taken = append.ids.iter().find_map(|id| placed.get(id))?;
    let other = &appends[taken.0];
    if other.stream == append.stream && other.ids == append.ids {
        return Some(Planned::SameAs(taken.0));
    }
    Some(Planned::Mismatch)
}

/// The answer to a new append placed by a plan, once the group's first position is known
/// (`base`: the head before the group) and its commit time.
pub fn placed_response(
    stream: &StreamId,
    first_version: u64,
    offset: u64,
    events: u64,
    base: u64,
    recorded_at: Timestamp,
) -> AppendResponse {
    AppendResponse {
        stream: stream.clone(),
        first_version,
        last_version: first_version + events - 1,
        first_position: base + offset + 1,
        last_position: base + offset + events,
        recorded_at: Some(recorded_at),
    }
}

/// The message of a [`Planned::Mismatch`].
pub fn mismatch_message() -> String {
    MISMATCH.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str) -> StreamId {
        StreamId::parse(name).unwrap()
    }

    fn ids(from: u128, n: u128) -> Vec<Uuid> {
        (from..from + n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn appends_of_one_stream_see_the_earlier_ones_and_take_consecutive_places() {
        let (s, t) = (stream("s"), stream("t"));
        let (a, b, c) = (ids(1, 2), ids(10, 1), ids(20, 3));
        let known = Known {
            versions: HashMap::from([("s".to_owned(), 4)]),
            ..Known::default()
        };
        let group = [
            Pending {
                stream: &s,
                expected: ExpectedVersion::Exact(4),
                ids: &a,
            },
            Pending {
                stream: &t,
                expected: ExpectedVersion::NoStream,
                ids: &b,
            },
            Pending {
                stream: &s,
                expected: ExpectedVersion::Exact(6),
                ids: &c,
            },
        ];
        let plan = plan(&group, &known);
        assert_eq!(
            plan.appends,
            vec![
                Planned::New {
                    first_version: 5,
                    offset: 0
                },
                Planned::New {
                    first_version: 1,
                    offset: 2
                },
                Planned::New {
                    first_version: 7,
                    offset: 3
                },
            ]
        );
        assert_eq!(plan.count, 6);
    }

    #[test]
    fn a_refused_append_refuses_only_itself() {
        let s = stream("s");
        let (a, b, c) = (ids(1, 1), ids(2, 1), ids(3, 1));
        let group = [
            Pending {
                stream: &s,
                expected: ExpectedVersion::Exact(0),
                ids: &a,
            },
            Pending {
                stream: &s,
                expected: ExpectedVersion::Exact(0),
                ids: &b,
            },
            Pending {
                stream: &s,
                expected: ExpectedVersion::Exact(1),
                ids: &c,
            },
        ];
        let plan = plan(&group, &Known::default());
        assert_eq!(plan.appends[1], Planned::Conflict { current: 1 });
        assert_eq!(
            plan.appends[2],
            Planned::New {
                first_version: 2,
                offset: 1
            }
        );
        assert_eq!(plan.count, 2);
    }

    #[test]
    fn a_request_sent_twice_in_one_group_is_written_once() {
        let (s, t) = (stream("s"), stream("t"));
        let (a, part) = (ids(1, 2), ids(2, 1));
        let group = [
            Pending {
                stream: &s,
                expected: ExpectedVersion::Exact(0),
                ids: &a,
            },
            Pending {
                stream: &s,
                expected: ExpectedVersion::Exact(0),
                ids: &a,
            },
            Pending {
                stream: &t,
                expected: ExpectedVersion::Any,
                ids: &a,
            },
            Pending {
                stream: &s,
                expected: ExpectedVersion::Any,
                ids: &part,
            },
        ];
        let plan = plan(&group, &Known::default());
        assert_eq!(plan.appends[1], Planned::SameAs(0));
        assert_eq!(plan.appends[2], Planned::Mismatch);
        assert_eq!(plan.appends[3], Planned::Mismatch);
        assert_eq!(plan.count, 2);
    }

    #[test]
    fn stored_ids_make_a_replay_whatever_the_expected_version() {
        let s = stream("s");
        let a = ids(1, 1);
        let known = Known {
            stored: vec![StoredId {
                id: a[0],
                stream: "s".into(),
                version: 3,
                position: 9,
                recorded_at: Timestamp(77),
            }],
            versions: HashMap::from([("s".to_owned(), 5)]),
            head: None,
        };
        let group = [Pending {
            stream: &s,
            expected: ExpectedVersion::Exact(0),
            ids: &a,
        }];
        let plan = plan(&group, &known);
        assert!(matches!(
            &plan.appends[0],
            Planned::Replay(r) if r.first_position == 9 && r.recorded_at == Some(Timestamp(77))
        ));
        assert_eq!(plan.count, 0);
    }
}
