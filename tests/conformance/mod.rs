//! The store conformance suite: what every `EventStore` must do, written once.
//!
//! Every case runs as a test of its own on a fresh, empty store: a store's test file declares a
//! test runner with the case names as its arguments and hands it to [`each_case!`] (so one
//! failure hides no other, and cases can be filtered by name). The native tests run the suite on
//! `MemoryStore`, the wasm tests on `MemoryStore` and the IndexedDB store.

#![allow(dead_code)]

mod decisions;
mod deferred_builds;
mod keys;
mod projection_failures;
mod projection_lifecycle;
mod projection_operations;
mod projection_upcasting;
pub mod projections;
mod records;
mod streams;
mod under_sync;
mod warm_documents;

use records::*;
use streams::*;

use std::future::Future;
use std::pin::Pin;

use fieldstream::core::{
    Error, EventEnvelope, EventMetadata, ExpectedVersion, IdempotencyRecord, OutboxEntry, Snapshot,
    StreamId, Timestamp,
};
use fieldstream::store::{Commit, CommitOutcome, EventStore};
use serde_json::json;
use uuid::Uuid;

type Case<S> = fn(S) -> Pin<Box<dyn Future<Output = ()>>>;

/// Every case of the suite, by name.
pub fn cases<S: EventStore + 'static>() -> Vec<(&'static str, Case<S>)> {
    vec![
        ("empty_stream_is_at_version_zero", |s| {
            Box::pin(empty_stream_is_at_version_zero(s))
        }),
        ("appends_number_versions_from_one", |s| {
            Box::pin(appends_number_versions_from_one(s))
        }),
        ("reads_streams_in_pages", |s| {
            Box::pin(reads_streams_in_pages(s))
        }),
        ("wrong_expected_version_conflicts", |s| {
            Box::pin(wrong_expected_version_conflicts(s))
        }),
        ("expected_version_kinds", |s| {
            Box::pin(expected_version_kinds(s))
        }),
        ("duplicate_event_ids_are_refused", |s| {
            Box::pin(duplicate_event_ids_are_refused(s))
        }),
        ("empty_commits_are_refused", |s| {
            Box::pin(empty_commits_are_refused(s))
        }),
        ("read_all_follows_local_order", |s| {
            Box::pin(read_all_follows_local_order(s))
        }),
        ("snapshots_keep_the_latest", |s| {
            Box::pin(snapshots_keep_the_latest(s))
        }),
        ("mismatched_snapshots_are_refused", |s| {
            Box::pin(mismatched_snapshots_are_refused(s))
        }),
        ("idempotency_records_commit_atomically", |s| {
            Box::pin(idempotency_records_commit_atomically(s))
        }),
        ("expired_idempotency_keys_are_reused", |s| {
            Box::pin(expired_idempotency_keys_are_reused(s))
        }),
        ("envelopes_round_trip_unchanged", |s| {
            Box::pin(envelopes_round_trip_unchanged(s))
        }),
        ("client_id_is_stable", |s| Box::pin(client_id_is_stable(s))),
        ("outbox_entries_commit_with_their_events", |s| {
            Box::pin(outbox_entries_commit_with_their_events(s))
        }),
        ("commands_are_decided_inside_the_write", |s| {
            Box::pin(decisions::commands_are_decided_inside_the_write(s))
        }),
        ("the_outbox_reads_by_stream", |s| {
            Box::pin(the_outbox_reads_by_stream(s))
        }),
        ("rejected_commands_wait_in_the_inbox", |s| {
            Box::pin(rejected_commands_wait_in_the_inbox(s))
        }),
        ("the_key_store_keeps_keys_and_forgets_subjects", |s| {
            Box::pin(keys::the_key_store_keeps_keys_and_forgets_subjects(s))
        }),
        ("a_sync_drops_the_snapshots_of_dropped_events", |s| {
            Box::pin(under_sync::a_sync_drops_the_snapshots_of_dropped_events(s))
        }),
        ("idempotency_records_follow_their_commands", |s| {
            Box::pin(under_sync::idempotency_records_follow_their_commands(s))
        }),
        ("expired_idempotency_records_are_purged", |s| {
            Box::pin(under_sync::expired_idempotency_records_are_purged(s))
        }),
        (
            "a_sync_never_strands_a_command_made_after_it_read_the_outbox",
            |s| Box::pin(a_sync_never_strands_a_command_made_after_it_read_the_outbox(s)),
        ),
    ]
}

/// Calls macro `$tests` with `[$args]` and the name of every case of the suite, in order, to
/// declare one test per case; `every_case_has_a_test` checks this list against the cases.
macro_rules! each_case {
    ($($tests:ident)::+ $(; $($args:tt)*)?) => {
        $($tests)::+! {
            [$($($args)*)?]
            empty_stream_is_at_version_zero,
            appends_number_versions_from_one,
            reads_streams_in_pages,
            wrong_expected_version_conflicts,
            expected_version_kinds,
            duplicate_event_ids_are_refused,
            empty_commits_are_refused,
            read_all_follows_local_order,
            snapshots_keep_the_latest,
            mismatched_snapshots_are_refused,
            idempotency_records_commit_atomically,
            expired_idempotency_keys_are_reused,
            envelopes_round_trip_unchanged,
            client_id_is_stable,
            outbox_entries_commit_with_their_events,
            commands_are_decided_inside_the_write,
            the_outbox_reads_by_stream,
            rejected_commands_wait_in_the_inbox,
            the_key_store_keeps_keys_and_forgets_subjects,
            a_sync_drops_the_snapshots_of_dropped_events,
            idempotency_records_follow_their_commands,
            expired_idempotency_records_are_purged,
            a_sync_never_strands_a_command_made_after_it_read_the_outbox,
            projections_read_your_writes,
            index_queries_page_in_order,
            confirmed_events_correct_the_read_model,
            a_new_version_is_rebuilt_in_chunks,
            live_queries_fire_once_per_change,
            background_projections_catch_up_in_batches,
            index_queries_read_only_matching_documents,
            two_inline_projections_follow_every_command,
            a_taken_version_is_a_conflict_with_inline_projections,
            failing_events_are_dead_lettered,
            a_failing_event_is_retried_with_backoff_then_dead_lettered,
            an_inline_failure_heals_on_its_retry,
            a_background_failure_heals_on_its_retry,
            a_commit_never_overtakes_an_event_the_projection_has_not_seen,
            raising_the_version_rebuilds_a_stopped_projection,
            retry_resumes_a_stopped_projection_at_its_dead_letter,
            skipping_a_dead_letter_passes_the_event_and_resumes,
            retrying_after_skips_rebuilds_in_order,
            projections_see_upcast_events_on_every_path,
            a_failing_upcaster_is_the_events_failure,
            a_warm_read_model_applies_each_event_once,
            warm_documents_never_hide_another_writer,
            a_build_stores_its_steps_when_it_ends,
            a_build_in_memory_gives_way_to_another_writer,
            a_build_that_loses_its_steps_stores_as_it_goes
        }
    };
}
pub(crate) use each_case;

/// One `#[test]` per case, each on a fresh store made by the expression in brackets (blocking
/// on the case's future).
#[cfg(not(target_arch = "wasm32"))]
macro_rules! blocking_case_tests {
    ([$make:expr] $($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            futures::executor::block_on(conformance::run_case(stringify!($name), || async {
                $make
            }));
        }
    )*};
}
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use blocking_case_tests;

/// One `#[wasm_bindgen_test]` per case, each on a fresh store made by the expression in
/// brackets (which may `.await`).
#[cfg(target_arch = "wasm32")]
macro_rules! wasm_case_tests {
    ([$make:expr] $($name:ident),* $(,)?) => {$(
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $name() {
            conformance::run_case(stringify!($name), || async { $make }).await;
        }
    )*};
}
#[cfg(target_arch = "wasm32")]
pub(crate) use wasm_case_tests;

/// Every case of the suite, by name: the store cases, then the projection cases.
pub fn all_cases<S: EventStore + Clone + 'static>() -> Vec<(&'static str, Case<S>)> {
    cases::<S>()
        .into_iter()
        .chain(projections::cases())
        .chain(projection_failures::cases())
        .chain(projection_operations::cases())
        .chain(projection_upcasting::cases())
        .chain(warm_documents::cases())
        .chain(deferred_builds::cases())
        .collect()
}

/// Runs the case called `name` on a fresh store from `make`.
pub async fn run_case<S, F, Fut>(name: &str, make: F)
where
    S: EventStore + Clone + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let (_, case) = all_cases::<S>()
        .into_iter()
        .find(|(case, _)| *case == name)
        .unwrap_or_else(|| panic!("no conformance case called {name}"));
    case(make().await).await;
}

/// The names [`each_case!`] lists, which must be exactly the suite's cases, in order.
pub fn listed_names() -> Vec<&'static str> {
    macro_rules! names {
        ([] $($name:ident),* $(,)?) => {
            vec![$(stringify!($name)),*]
        };
    }
    each_case!(names)
}

/// Asserts that [`each_case!`] lists every case of the suite, so none goes without its test.
pub fn every_case_has_a_test<S: EventStore + Clone + 'static>() {
    let cases: Vec<&str> = all_cases::<S>().into_iter().map(|(name, _)| name).collect();
    assert_eq!(listed_names(), cases);
}

fn stream(name: &str) -> StreamId {
    StreamId::parse(name).unwrap()
}

/// An event for `stream` whose payload records `n`.
pub fn event(stream_name: &str, n: u64) -> EventEnvelope {
    EventEnvelope {
        id: Uuid::new_v4(),
        stream: stream(stream_name),
        version: 0,
        position: None,
        event_type: "Happened".into(),
        schema_version: 1,
        data: json!({ "n": n, "text": "x".repeat(20) }),
        metadata: EventMetadata {
            correlation_id: Some(format!("corr-{n}")),
            causation_id: None,
            command_id: Some(format!("cmd-{n}")),
            client_id: Some("client".into()),
            occurred_at: Timestamp(1_700_000_000_000 + n as i64),
        },
        recorded_at: None,
    }
}

fn commit(stream_name: &str, expected: ExpectedVersion, events: Vec<EventEnvelope>) -> Commit {
    Commit {
        stream: stream(stream_name),
        expected,
        events,
        snapshot: None,
        idempotency: None,
        outbox: None,
        projector: None,
    }
}

async fn append<S: EventStore>(
    store: &S,
    name: &str,
    expected: ExpectedVersion,
    count: u64,
) -> Vec<EventEnvelope> {
    let events = (1..=count).map(|n| event(name, n)).collect();
    match store
        .commit(commit(name, expected, events))
        .await
        .expect("commit")
    {
        CommitOutcome::Committed(events) => events,
        other => panic!("expected a commit, got {other:?}"),
    }
}

fn numbers(events: &[EventEnvelope]) -> Vec<u64> {
    events.iter().map(|event| event.version).collect()
}
