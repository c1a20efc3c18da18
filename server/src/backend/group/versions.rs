//! The stream versions this process's writers last committed, per tenant, so that a group can
//! write without reading them first (on PostgreSQL: one round trip fewer per group).
//!
//! A remembered version is never above the stored one: a version is remembered only after its
//! commit, and events are never deleted. So a guess can only be too low, when another process
//! (or an import) wrote to the stream since; the group's first event on that stream then takes a
//! version that is stored already, the unique key on (tenant, stream, version) refuses the whole
//! statement, and the group reads and decides again. An event id stored already is refused the
//! same way, by the unique key on (tenant, id). A guess is used only when it makes every append
//! of the group new: a conflict, a replay or a mismatch is never answered from memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Call, NewAppend};
use crate::backend::plan::{Known, Pending, Plan, Planned};

/// Most streams remembered, all tenants together; past it, everything is forgotten at once.
const MAX_STREAMS: usize = 16_384;

/// The versions remembered, per tenant and stream.
#[derive(Debug, Default)]
pub(super) struct Versions {
    inner: Mutex<Remembered>,
}

#[derive(Debug, Default)]
struct Remembered {
    tenants: HashMap<Arc<str>, HashMap<String, u64>>,
    streams: usize,
}

impl Versions {
    /// What the group's read would most likely find, without reading: the remembered version of
    /// each of its streams, or 0 for a stream not remembered whose first append expects a new
    /// stream; `None` when a stream is neither (the group reads).
    pub(super) fn guess(&self, tenant: &str, pending: &[Pending<'_>]) -> Option<Known> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let remembered = inner.tenants.get(tenant);
        let mut known = Known::default();
        let mut seen: Vec<&str> = Vec::new();
        for append in pending {
            let stream = append.stream.as_str();
            if seen.contains(&stream) {
                continue;
            }
            seen.push(stream);
            match remembered.and_then(|streams| streams.get(stream)) {
                Some(&version) => {
                    known.versions.insert(stream.to_owned(), version);
                }
                None if append.expected.exact() == Some(0) => {}
                None => return None,
            }
        }
        Some(known)
    }

    /// Remembers the versions a committed group's new appends reached.
    pub(super) fn record(&self, tenant: &Arc<str>, appends: &[&NewAppend], plan: &Plan) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (append, planned) in appends.iter().zip(&plan.appends) {
            let Planned::New { first_version, .. } = planned else {
                continue;
            };
            let last = first_version + append.events.len() as u64 - 1;
            if inner.streams >= MAX_STREAMS {
                inner.tenants.clear();
                inner.streams = 0;
            }
            let streams = inner.tenants.entry(tenant.clone()).or_default();
            let added = match streams.get_mut(append.stream.as_str()) {
                Some(version) => {
                    *version = (*version).max(last);
                    false
                }
                None => {
                    streams.insert(append.stream.as_str().to_owned(), last);
                    true
                }
            };
            inner.streams += usize::from(added);
        }
    }
}

/// Whether a plan made on a guess can be written: every append new (or the same as an earlier,
/// new one of the group).
pub(super) fn all_new(plan: &Plan) -> bool {
    plan.appends
        .iter()
        .all(|planned| matches!(planned, Planned::New { .. } | Planned::SameAs(_)))
}

/// The appends of `calls` at `indexes`.
pub(super) fn appends_of<'a>(calls: &'a [Call], indexes: &[usize]) -> Vec<&'a NewAppend> {
    indexes.iter().map(|&i| &calls[i].append).collect()
}

#[cfg(test)]
mod tests {
    use fieldstream::core::{ExpectedVersion, StreamId};
    use uuid::Uuid;

    use super::*;
    use crate::backend::plan::plan;

    fn append(stream: &str, expected: ExpectedVersion, events: usize) -> NewAppend {
        let event = crate::backend::group::NewEvent {
            id: Uuid::new_v4(),
            event_type: "T".into(),
            schema_version: 1,
            data: "{}".into(),
            metadata: "{}".into(),
        };
        NewAppend {
            stream: StreamId::parse(stream).unwrap(),
            expected,
            events: (0..events)
                .map(|_| crate::backend::group::NewEvent {
                    id: Uuid::new_v4(),
                    ..event.clone()
                })
                .collect(),
        }
    }

    fn pending(appends: &[NewAppend], ids: &[Vec<Uuid>]) -> Vec<Pending<'static>> {
        appends
            .iter()
            .zip(ids)
            .map(|(append, ids)| Pending {
                stream: Box::leak(Box::new(append.stream.clone())),
                expected: append.expected,
                ids: Box::leak(ids.clone().into_boxed_slice()),
            })
            .collect()
    }

    fn ids(appends: &[NewAppend]) -> Vec<Vec<Uuid>> {
        appends
            .iter()
            .map(|a| a.events.iter().map(|e| e.id).collect())
            .collect()
    }

    #[test]
    fn a_new_stream_is_guessed_empty_and_an_unknown_one_is_read() {
        let versions = Versions::default();
        let new = [append("S-1", ExpectedVersion::Exact(0), 1)];
        let known = versions.guess("t", &pending(&new, &ids(&new))).unwrap();
        assert!(known.versions.is_empty());
        for expected in [ExpectedVersion::Any, ExpectedVersion::Exact(3)] {
            let old = [append("S-1", expected, 1)];
            assert!(versions.guess("t", &pending(&old, &ids(&old))).is_none());
        }
    }

    #[test]
    fn committed_versions_are_remembered_per_tenant() {
        let versions = Versions::default();
        let tenant: Arc<str> = Arc::from("t");
        let first = [
            append("S-1", ExpectedVersion::Exact(0), 2),
            append("S-1", ExpectedVersion::Any, 3),
        ];
        let first_pending = pending(&first, &ids(&first));
        let known = versions.guess("t", &first_pending).unwrap();
        let decided = plan(&first_pending, &known);
        assert!(all_new(&decided));
        versions.record(&tenant, &first.iter().collect::<Vec<_>>(), &decided);

        let next = [append("S-1", ExpectedVersion::Exact(5), 1)];
        let next_pending = pending(&next, &ids(&next));
        let known = versions.guess("t", &next_pending).unwrap();
        assert_eq!(known.versions.get("S-1"), Some(&5));
        assert!(all_new(&plan(&next_pending, &known)));
        assert!(versions.guess("u", &next_pending).is_none());

        // A stale expectation is not answered from memory: the group reads.
        let stale = [append("S-1", ExpectedVersion::Exact(2), 1)];
        let stale_pending = pending(&stale, &ids(&stale));
        let known = versions.guess("t", &stale_pending).unwrap();
        assert!(!all_new(&plan(&stale_pending, &known)));
    }
}
