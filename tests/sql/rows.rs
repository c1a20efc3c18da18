//! Rows written per event, as a Durable Object bills them (each table row, plus each index
//! entry): at most 2 per event for commands of 1 and of 100 events.

use fieldstream::core::{ExpectedVersion, StreamId};
use fieldstream::store::{CommandQueue, EventLog, SqlStore, SyncBatch};

use super::Sqlite;
use super::against_memory::command;

/// Commits `commands` commands of `events` events each (with their outbox entries) on a
/// fresh store; answers the rows written per event by the commits, then by the sync that
/// confirms them all.
fn rows_per_event(commands: u64, events: u64) -> (f64, f64) {
    futures::executor::block_on(async {
        let store = SqlStore::open(Sqlite::memory()).unwrap();
        for n in 0..commands {
            let name = format!("Order-{n}");
            store
                .commit(command(&name, 0, events, "cmd"))
                .await
                .unwrap();
        }
        let total = (commands * events) as f64;
        let committed = store.rows_written();
        let stored: i64 = store
            .connection()
            .0
            .query_row("SELECT count(*) FROM commits", [], |row| row.get(0))
            .unwrap();
        assert_eq!(
            committed,
            2 * stored as u64,
            "one row and one index entry for each command's events"
        );
        let entries: Vec<u64> = store
            .read_outbox(usize::MAX)
            .await
            .unwrap()
            .iter()
            .map(|entry| entry.seq)
            .collect();
        let mut confirmed = Vec::new();
        for n in 0..commands {
            let stream = StreamId::parse(format!("Order-{n}")).unwrap();
            for mut event in store.read_stream(&stream, 1, usize::MAX).await.unwrap() {
                event.position = Some(confirmed.len() as u64 + 1);
                confirmed.push(event);
            }
        }
        let batch = SyncBatch {
            drop_outbox: entries,
            checkpoint: Some(confirmed.len() as u64),
            confirmed,
            ..SyncBatch::default()
        };
        store.apply_sync(batch, None).await.unwrap();
        assert_eq!(store.queue_sizes().await.unwrap().outbox, 0);
        let synced = store.rows_written() - committed;
        (committed as f64 / total, synced as f64 / total)
    })
}

#[test]
fn at_most_two_rows_per_event_at_one_and_a_hundred_events_per_command() {
    let (one, one_synced) = rows_per_event(200, 1);
    let (hundred, hundred_synced) = rows_per_event(5, 100);
    println!(
        "rows written per event: 1 event/command: {one} (+{one_synced} at confirmation); \
         100 events/command: {hundred} (+{hundred_synced} at confirmation)"
    );
    assert!(one <= 2.0, "{one} rows per event at 1 event per command");
    assert!(
        hundred <= 2.0,
        "{hundred} rows per event at 100 events per command"
    );
    assert!(
        one_synced <= 2.1,
        "{one_synced} rows per event to confirm 1-event commands"
    );
    assert!(
        hundred_synced <= 0.1,
        "{hundred_synced} rows per event to confirm 100-event commands"
    );
}

#[test]
fn a_conflicting_commit_writes_nothing() {
    futures::executor::block_on(async {
        let store = SqlStore::open(Sqlite::memory()).unwrap();
        store.commit(command("Order-x", 0, 2, "cmd")).await.unwrap();
        let before = store.rows_written();
        let mut late = command("Order-x", 0, 1, "cmd-late");
        late.expected = ExpectedVersion::NoStream;
        assert_eq!(store.commit(late).await.unwrap_err().code(), "conflict");
        assert_eq!(store.rows_written(), before);
        let stream = StreamId::parse("Order-x").unwrap();
        assert_eq!(store.stream_version(&stream).await.unwrap(), 2);
    });
}

#[test]
fn an_engine_command_of_one_event_writes_two_rows() {
    use fieldstream::core::{Engine, ExecuteOptions};
    use fieldstream::example::{Order, OrderCommand, OrderItem};
    futures::executor::block_on(async {
        let store = SqlStore::open(Sqlite::memory()).unwrap();
        let mut engine = Engine::new(store.clone());
        engine.register::<Order>().unwrap();
        let item = |n: u32| OrderItem {
            product_id: format!("p-{n}"),
            quantity: 1,
            unit_price: 10,
        };
        let create = OrderCommand::CreateOrder {
            customer_id: "c".into(),
            items: vec![item(0)],
        };
        engine
            .execute::<Order>("o-1", &create, ExecuteOptions::default())
            .await
            .unwrap();
        let before = store.rows_written();
        let commands = 100;
        for n in 0..commands {
            let add = OrderCommand::AddItem { item: item(n + 1) };
            engine
                .execute::<Order>("o-1", &add, ExecuteOptions::default())
                .await
                .unwrap();
        }
        let per_event = (store.rows_written() - before) as f64 / commands as f64;
        println!("rows written per event through the engine, 1 event/command: {per_event}");
        assert!(per_event <= 2.0, "{per_event} rows per event");
    });
}
