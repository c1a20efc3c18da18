//! The store conformance suite: what every `EventStore` must do, written once.
//!
//! `run_all` takes a function that makes a fresh, empty store and runs every case on its own
//! store. The native tests run it on `MemoryStore`; the browser tests run it on the IndexedDB
//! store.

#![allow(dead_code)]

mod decisions;
mod keys;
mod projection_failures;
mod projection_lifecycle;
mod projection_operations;
mod projection_upcasting;
mod projections;
mod records;
mod streams;
mod under_sync;

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

/// Runs every case, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: EventStore + Clone + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let projection_cases = projections::cases::<S>()
        .into_iter()
        .chain(projection_failures::cases())
        .chain(projection_operations::cases())
        .chain(projection_upcasting::cases());
    for (name, case) in cases::<S>().into_iter().chain(projection_cases) {
        println!("conformance: {name}");
        case(make().await).await;
    }
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
