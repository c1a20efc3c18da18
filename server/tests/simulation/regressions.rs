//! Features meeting sync, one case each, with two devices against the real server router:
//! a snapshot of replaced pending events, an idempotency key whose command was decided again
//! or rejected, a command over the server's limits, and the permanent refusals that send a
//! command to the rejected inbox while the queue goes on. The sync driver's own cases are in
//! `driver.rs`.

use fieldstream::core::{Error, ExecuteOptions, ExecuteResult, Result, StreamId};
use fieldstream::store::{CommandQueue, Commit, EventLog};
use fieldstream::sync::SyncClient;
use serde_json::{Value, json};

use super::devices::{Device, MAX_EVENTS_PER_APPEND, server, token};
use super::domain::{Tab, TabCommand, Tuning, Visit, VisitCommand, conflict_events_seen, fold};
use super::transport::{SimTransport, server_log, server_log_as};
use fieldstream::store::MemoryStore;

/// Snapshots after every event, payloads written at version 3, personal data on.
pub(super) const EVERY_EVENT: Tuning = Tuning {
    snapshot_every: 1,
    writes_item_version: 3,
    personal: true,
};

/// Runs `test` on a single-threaded runtime with a local task set (the engine is not `Send`).
pub(super) fn run(test: impl AsyncFnOnce()) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(tokio::task::LocalSet::new().run_until(test()));
}

/// Executes `command` on tab `id` of `device`.
pub(super) async fn tab(device: &Device, id: &str, command: TabCommand) -> Result<ExecuteResult> {
    tab_with(device, id, command, ExecuteOptions::default()).await
}

async fn tab_with(
    device: &Device,
    id: &str,
    command: TabCommand,
    options: ExecuteOptions,
) -> Result<ExecuteResult> {
    device.engine().execute::<Tab>(id, &command, options).await
}

fn keyed(key: &str) -> ExecuteOptions {
    ExecuteOptions {
        idempotency_key: Some(key.into()),
        ..ExecuteOptions::default()
    }
}

/// `load` of tab `id` on `device` equals the fold of its history, and the history is the
/// server's stream followed by the device's own pending events.
pub(super) async fn consistent(device: &Device, id: &str) -> Tab {
    let engine = device.engine();
    let history = engine.history("Tab", id).await.unwrap();
    let loaded = engine.load::<Tab>(id).await.unwrap();
    assert_eq!(
        loaded.state,
        fold::<Tab>(&history).unwrap(),
        "load of Tab-{id} equals the fold of its log"
    );
    loaded.state
}

async fn doc(client: &SyncClient<MemoryStore, SimTransport>, key: &str) -> Option<Value> {
    client.engine().catch_up_projections().await.unwrap();
    client.engine().get("tabs", key).await.unwrap()
}

#[test]
fn a_snapshot_never_outlives_the_pending_events_it_folded() {
    run(async || {
        let router = server(false, 500).await;
        let a = Device::new(&router, 0, EVERY_EVENT, None);
        let b = Device::new(&router, 1, EVERY_EVENT, None);
        tab(&a, "1", TabCommand::Open).await.unwrap();
        a.client.sync().await.unwrap();
        b.client.sync().await.unwrap();
        a.offline(true);
        // Pending at version 2 on A, with a snapshot at version 2.
        tab(&a, "1", TabCommand::Add { count: 1, price: 7 })
            .await
            .unwrap();
        tab(
            &b,
            "1",
            TabCommand::Add {
                count: 1,
                price: 100,
            },
        )
        .await
        .unwrap();
        b.client.sync().await.unwrap();
        a.offline(false);
        a.client.sync().await.unwrap();

        let state = consistent(&a, "1").await;
        assert_eq!(
            (state.items, state.total),
            (2, 107),
            "B's item, then A's rebased"
        );
        let types: Vec<String> = server_log(&router)
            .await
            .iter()
            .map(|event| format!("{}:{}", event.version, event.data))
            .collect();
        assert_eq!(types.len(), 3, "{types:?}");
        // The next command is decided on the right state: closing at 107 holds everywhere.
        tab(&a, "1", TabCommand::Close { total: 107 })
            .await
            .unwrap();
        a.client.sync().await.unwrap();
        b.client.sync().await.unwrap();
        assert!(a.store.rejected().await.unwrap().is_empty());
        assert!(consistent(&b, "1").await.closed);
    });
}

#[test]
fn an_idempotency_key_follows_its_command_through_sync() {
    run(async || {
        let router = server(false, 500).await;
        let a = Device::new(&router, 0, EVERY_EVENT, None);
        let b = Device::new(&router, 1, EVERY_EVENT, None);
        tab(&a, "1", TabCommand::Open).await.unwrap();
        a.client.sync().await.unwrap();
        b.client.sync().await.unwrap();

        a.offline(true);
        let first = tab_with(
            &a,
            "1",
            TabCommand::Add { count: 2, price: 5 },
            keyed("add"),
        )
        .await
        .unwrap();
        assert_eq!(first.version, 3);
        // Decided on a total of 10, which B's item changes.
        tab_with(&a, "1", TabCommand::Close { total: 10 }, keyed("close"))
            .await
            .unwrap();
        tab(&b, "1", TabCommand::Add { count: 1, price: 1 })
            .await
            .unwrap();
        b.client.sync().await.unwrap();
        a.offline(false);
        a.client.sync().await.unwrap();

        let repeat = tab_with(
            &a,
            "1",
            TabCommand::Add { count: 2, price: 5 },
            keyed("add"),
        )
        .await
        .unwrap();
        let history = a.engine().history("Tab", "1").await.unwrap();
        let ids = |events: &[fieldstream::core::EventEnvelope]| -> Vec<_> {
            events
                .iter()
                .map(|event| (event.id, event.version))
                .collect()
        };
        assert!(repeat.deduplicated);
        assert_eq!(repeat.command_id, first.command_id);
        assert_eq!(
            ids(&repeat.events),
            ids(&history[2..4]),
            "the repeat answers with the command's rebased events"
        );
        assert_eq!(repeat.version, 4);
        let rejected = a.store.rejected().await.unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].reason.code, "total_mismatch");
        match tab_with(&a, "1", TabCommand::Close { total: 10 }, keyed("close")).await {
            Err(Error::Domain(error)) => assert_eq!(error.code, "total_mismatch"),
            other => panic!("a repeat of the rejected command must be refused alike: {other:?}"),
        }
        assert_eq!(consistent(&a, "1").await.total, 11);
    });
}

#[test]
fn a_command_over_the_servers_limits_is_refused_before_anything_is_written() {
    run(async || {
        let router = server(false, MAX_EVENTS_PER_APPEND).await;
        let a = Device::new(&router, 0, EVERY_EVENT, None);
        tab(&a, "1", TabCommand::Open).await.unwrap();
        a.client.sync().await.unwrap();
        let near = TabCommand::Add {
            count: MAX_EVENTS_PER_APPEND as u32,
            price: 1,
        };
        tab(&a, "1", near).await.unwrap();
        let over = TabCommand::Add {
            count: MAX_EVENTS_PER_APPEND as u32 + 1,
            price: 1,
        };
        let before = a.store.read_outbox(usize::MAX).await.unwrap().len();
        match tab(&a, "1", over).await {
            Err(Error::InvalidInput(message)) => {
                assert!(message.contains("maxEventsPerAppend"), "{message}")
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        let stream = StreamId::parse("Tab-1").unwrap();
        assert_eq!(a.store.stream_version(&stream).await.unwrap(), 1 + 5);
        assert_eq!(a.store.read_outbox(usize::MAX).await.unwrap().len(), before);
        let name = "x".repeat(70 * 1024);
        let book = VisitCommand::Book {
            customer: "c-1".into(),
            name,
        };
        match a
            .engine()
            .execute::<Visit>("1", &book, Default::default())
            .await
        {
            Err(Error::InvalidInput(message)) => {
                assert!(message.contains("maxEventBytes"), "{message}")
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert_eq!(
            a.store
                .stream_version(&StreamId::parse("Visit-1").unwrap())
                .await
                .unwrap(),
            0
        );
        a.client.sync().await.unwrap();
        assert!(a.store.rejected().await.unwrap().is_empty());
    });
}

/// Stores, as a device of another app version would have, a command whose event the server
/// refuses as invalid (its type breaks the protocol's rule).
async fn store_invalid_command(device: &Device) {
    let engine = device.engine();
    let opened = engine
        .execute::<Tab>("bad", &TabCommand::Open, ExecuteOptions::default())
        .await
        .unwrap();
    // The command's event rewritten with a type the server refuses, pending like any other.
    let mut event = opened.events[0].clone();
    event.event_type = "Tab Opened!".into();
    event.id = uuid::Uuid::new_v4();
    let mut entry = device
        .store
        .read_outbox(usize::MAX)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let mut batch = fieldstream::store::SyncBatch {
        drop_pending: vec![(event.stream.clone(), 1)],
        drop_outbox: vec![entry.seq],
        ..Default::default()
    };
    entry.event_ids = vec![event.id];
    batch.commits.push(Commit {
        outbox: Some(entry),
        ..Commit::events(
            event.stream.clone(),
            fieldstream::core::ExpectedVersion::Exact(0),
            vec![event],
        )
    });
    engine.apply_sync(batch).await.unwrap();
}

#[test]
fn each_permanent_refusal_lands_in_the_rejected_inbox_and_the_queue_goes_on() {
    run(async || {
        let router = server(true, MAX_EVENTS_PER_APPEND).await;
        let grant = token(Some(&["Tab-1", "Tab-bad", "Tab-next"]));
        let a = Device::new(&router, 0, EVERY_EVENT, Some(grant));
        // Before the first sync the device knows only the default limits: 6 events pass here.
        tab(&a, "1", TabCommand::Open).await.unwrap();
        let over = TabCommand::Add { count: 6, price: 2 };
        tab(&a, "1", over).await.unwrap();
        tab(&a, "other", TabCommand::Open).await.unwrap();
        store_invalid_command(&a).await;
        tab(&a, "next", TabCommand::Open).await.unwrap();
        assert_eq!(doc(&a.client, "Tab-1").await.unwrap()["items"], json!(6));
        assert!(doc(&a.client, "Tab-other").await.is_some());

        a.client.sync().await.unwrap();

        let rejected = a.store.rejected().await.unwrap();
        let reasons: Vec<(&str, &str)> = rejected
            .iter()
            .map(|r| (r.aggregate_id.as_str(), r.reason.code.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("1", "too_large"),
                ("other", "forbidden"),
                ("bad", "invalid_event")
            ]
        );
        assert_eq!(
            doc(&a.client, "Tab-1").await.unwrap()["items"],
            json!(0),
            "the refused items left the read model"
        );
        assert_eq!(doc(&a.client, "Tab-other").await, None);
        assert_eq!(doc(&a.client, "Tab-bad").await, None);
        let mut on_server: Vec<String> = server_log_as(&router, Some(token(None)))
            .await
            .iter()
            .map(|event| event.stream.to_string())
            .collect();
        on_server.sort();
        assert_eq!(on_server, ["Tab-1", "Tab-next"], "the queue went on");
        assert!(a.store.read_outbox(usize::MAX).await.unwrap().is_empty());
        assert_eq!(consistent(&a, "1").await.items, 0);
    });
}

#[test]
fn on_conflict_and_the_rejected_inbox_see_upcast_events() {
    run(async || {
        let router = server(false, 500).await;
        let a = Device::new(&router, 0, EVERY_EVENT, None);
        let old_app = Tuning {
            writes_item_version: 1,
            ..EVERY_EVENT
        };
        let b = Device::new(&router, 1, old_app, None);
        // Tab 2 rejects on conflict.
        tab(&a, "2", TabCommand::Open).await.unwrap();
        a.client.sync().await.unwrap();
        b.client.sync().await.unwrap();
        a.offline(true);
        tab(&a, "2", TabCommand::Close { total: 0 }).await.unwrap();
        tab(&b, "2", TabCommand::Add { count: 1, price: 4 })
            .await
            .unwrap();
        b.client.sync().await.unwrap();
        assert_eq!(server_log(&router).await[1].schema_version, 1, "B wrote v1");
        a.offline(false);
        a.client.sync().await.unwrap();
        assert_eq!(conflict_events_seen(), [("ItemAdded".to_owned(), 3)]);
        let rejected = a.engine().rejected().await.unwrap();
        assert_eq!(rejected.len(), 1);
        let caused_by = &rejected[0].caused_by[0];
        assert_eq!(
            (caused_by.schema_version, &caused_by.data),
            (3, &json!({ "price_cents": 4, "qty": 1 }))
        );
    });
}
