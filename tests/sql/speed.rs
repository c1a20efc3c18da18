//! Commands per second through the engine on `SqlStore` (an item added to one of 100 orders),
//! against the same work written by hand on the same SQLite (read the stream's head, insert
//! the event and the outbox entry, in one transaction). Ignored by default: `cargo test --release --test sql_store -- --ignored
//! --nocapture speed`.

use std::time::Instant;

use fieldstream::core::{Engine, ExecuteOptions};
use fieldstream::example::{Order, OrderCommand, OrderItem};
use fieldstream::store::{SqlConnection, SqlStore, SqlValue};

use super::Sqlite;

const COMMANDS: u32 = 20_000;

fn item(n: u32) -> OrderItem {
    OrderItem {
        product_id: format!("p-{n}"),
        quantity: 1,
        unit_price: 10,
    }
}

fn through_the_engine() -> f64 {
    futures::executor::block_on(async {
        let store = SqlStore::open(Sqlite::memory()).unwrap();
        let mut engine = Engine::new(store);
        engine.register::<Order>().unwrap();
        let started = Instant::now();
        for n in 0..COMMANDS {
            let create = OrderCommand::CreateOrder {
                customer_id: "c".into(),
                items: vec![item(n)],
            };
            engine
                .execute::<Order>(
                    &format!("o-{}", n % 100),
                    &create,
                    ExecuteOptions::default(),
                )
                .await
                .ok();
        }
        COMMANDS as f64 / started.elapsed().as_secs_f64()
    })
}

fn by_hand() -> f64 {
    let conn = Sqlite::memory();
    conn.execute(
        "CREATE TABLE events (stream TEXT, version INTEGER, body TEXT, PRIMARY KEY (stream, version)) WITHOUT ROWID",
        &[],
    )
    .unwrap();
    conn.execute(
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, body TEXT)",
        &[],
    )
    .unwrap();
    let started = Instant::now();
    for n in 0..COMMANDS {
        let stream = format!("Order-o-{}", n % 100);
        conn.transaction(|conn| {
            let head = conn.query(
                "SELECT coalesce(max(version), 0) FROM events WHERE stream = ?1",
                &[stream.as_str().into()],
            )?;
            let version = match head[0][0] {
                SqlValue::Integer(v) => v + 1,
                _ => 1,
            };
            let body = serde_json::json!({ "type": "OrderCreated", "items": [{ "productId": n }] });
            conn.execute(
                "INSERT INTO events (stream, version, body) VALUES (?1, ?2, ?3)",
                &[
                    stream.as_str().into(),
                    version.into(),
                    body.to_string().into(),
                ],
            )?;
            conn.execute(
                "INSERT INTO outbox (body) VALUES (?1)",
                &[body.to_string().into()],
            )?;
            Ok(())
        })
        .unwrap();
    }
    COMMANDS as f64 / started.elapsed().as_secs_f64()
}

#[test]
#[ignore]
fn speed() {
    let engine = through_the_engine();
    let hand = by_hand();
    println!(
        "commands per second: engine on SqlStore {engine:.0}, by hand {hand:.0} ({:.2}x)",
        engine / hand
    );
}
