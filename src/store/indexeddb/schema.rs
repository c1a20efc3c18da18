//! The database layout, its versions, and the migrations between them.
//!
//! The IndexedDB version of a fieldstream database is its layout version. Opening with a newer
//! layout lets rexie add the new object stores and indexes in the upgrade, then
//! [`migrate_and_identify`] rewrites existing records in place, in one readwrite transaction,
//! and records the layout reached in `meta`, so an interrupted migration runs again on the
//! next open. An older connection in another tab closes itself on `versionchange` (rexie's
//! connections do), so the upgrade is never blocked for long.
//!
//! | Layout | Change |
//! |---|---|
//! | 1 | `events` keyed by `[stream, version]` with index `by_seq`; `outbox` by `seq`; `snapshots` by `stream`; `idempotency` by `key`; `meta` by `key` |
//! | 2 | `events` gain a top-level `id` and the unique index `by_id` (old records are backfilled from their body) |
//! | 3 | `events` gain `position` (confirmed) or `pending` (local sequence number) and their indexes; read models: `docs`, `undo`, `projections`, `dead_letters` |
//! | 4 | the rejected inbox: `rejected`, in arrival order, with the unique index `by_command` |
//! | 5 | `outbox` records gain a top-level `stream` and the index `by_stream` (old records are backfilled from their body) |
//! | 6 | `idempotency` records gain a top-level `expiresAt` and the index `by_expiry`, so expired records are purged without reading the live ones (old records are backfilled from their body) |
//! | 7 | a confirmation sets an event record's `position` and `recordedAt` beside its body instead of rewriting the body (no JSON is parsed or written to confirm an event); indexes are declared with every flag, so an upgrade keeps the ones it does not change |
//! | 8 | one record per run of events (what one commit writes to one stream, `runs.rs`) instead of one per event: `last` and `ids` beside the key, `seq`, `pending` and `position` the run's last, `body` the JSON array of its events; `by_id` is a multi-entry index on `ids`; the `seq` record of `meta` counts the events and pending events (old records become runs of one event) |

use rexie::{Index, ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::JsValue;

use super::errors::{idb_error, storage_error};
use super::records::{
    event_key, field, from_body, idempotency_record, number, object, outbox_record,
};
use super::runs;
use super::txn::{Counts, seq_record};
use crate::core::{
    Error, EventEnvelope, IdempotencyRecord, OutboxEntry, Result, StoredEvent, Timestamp,
};

/// The layout this code reads and writes.
pub const LAYOUT_VERSION: u32 = 8;

/// Object store names.
pub const EVENTS: &str = "events";
/// The outbox of commands not yet accepted by the server.
pub const OUTBOX: &str = "outbox";
/// The latest snapshot of each stream.
pub const SNAPSHOTS: &str = "snapshots";
/// Idempotency records by key.
pub const IDEMPOTENCY: &str = "idempotency";
/// Small named values: client id, local sequence, layout version, pull checkpoint.
pub const META: &str = "meta";
/// Index of `events` by local sequence number.
pub const BY_SEQ: &str = "by_seq";
/// Index of `events` by event id (multi-entry: every id of a run).
pub const BY_ID: &str = "by_id";
/// Index of confirmed `events` by server position.
pub const BY_POSITION: &str = "by_position";
/// Index of pending `events` by local sequence number.
pub const BY_PENDING: &str = "by_pending";
/// Read-model documents, keyed by `[namespace, key]`.
pub const DOCS: &str = "docs";
/// The multi-entry index of documents: `[namespace, index, value, key]` per indexed field.
pub const IX: &str = "ix";
/// Undo records of pending events, keyed by `[namespace, seq, key]`.
pub const UNDO: &str = "undo";
/// Projection states, keyed by name.
pub const PROJECTIONS: &str = "projections";
/// Events projections failed on.
pub const DEAD_LETTERS: &str = "dead_letters";
/// Index of dead letters by projection.
pub const BY_PROJECTION: &str = "by_projection";
/// The rejected inbox.
pub const REJECTED: &str = "rejected";
/// Index of the rejected inbox by command id.
pub const BY_COMMAND: &str = "by_command";
/// Index of the outbox by stream.
pub const BY_STREAM: &str = "by_stream";
/// Index of idempotency records by the time they expire.
pub const BY_EXPIRY: &str = "by_expiry";

/// Opens (creating or upgrading the structure of) database `name` at `version`.
pub async fn open_layout(name: &str, version: u32) -> Result<Rexie> {
    let mut events = ObjectStore::new(EVENTS)
        .key_path_array(["stream", "version"])
        .add_index(index(BY_SEQ, "seq", true));
    if version >= 8 {
        events = events.add_index(Index::new(BY_ID, "ids").unique(true).multi_entry(true));
    } else if version >= 2 {
        events = events.add_index(index(BY_ID, "id", true));
    }
    if version >= 3 {
        events = events
            .add_index(index(BY_POSITION, "position", true))
            .add_index(index(BY_PENDING, "pending", true));
    }
    let mut outbox = ObjectStore::new(OUTBOX).key_path("seq");
    if version >= 5 {
        outbox = outbox.add_index(index(BY_STREAM, "stream", false));
    }
    let mut idempotency = ObjectStore::new(IDEMPOTENCY).key_path("key");
    if version >= 6 {
        idempotency = idempotency.add_index(index(BY_EXPIRY, "expiresAt", false));
    }
    let mut builder = Rexie::builder(name)
        .version(version)
        .add_object_store(events)
        .add_object_store(outbox)
        .add_object_store(ObjectStore::new(SNAPSHOTS).key_path("stream"))
        .add_object_store(idempotency)
        .add_object_store(ObjectStore::new(META).key_path("key"));
    if version >= 3 {
        builder = builder
            .add_object_store(
                ObjectStore::new(DOCS)
                    .key_path_array(["ns", "key"])
                    .add_index(Index::new(IX, "ix").unique(false).multi_entry(true)),
            )
            .add_object_store(ObjectStore::new(UNDO).key_path_array(["ns", "seq", "key"]))
            .add_object_store(ObjectStore::new(PROJECTIONS).key_path("name"))
            .add_object_store(
                ObjectStore::new(DEAD_LETTERS)
                    .auto_increment(true)
                    .add_index(index(BY_PROJECTION, "projection", false)),
            );
    }
    if version >= 4 {
        builder = builder.add_object_store(
            ObjectStore::new(REJECTED)
                .auto_increment(true)
                .add_index(index(BY_COMMAND, "commandId", true)),
        );
    }
    builder
        .build()
        .await
        .map_err(|error| storage_error(&format!("opening database {name:?}"), &error))
}

/// An index on one property, declared with every flag: an upgrade recreates an index whose
/// declaration differs from the database's, and an unset flag always differs.
fn index(name: &str, key_path: &str, unique: bool) -> Index {
    Index::new(name, key_path).unique(unique).multi_entry(false)
}

/// A `meta` record.
pub fn meta_record(key: &str, value: JsValue) -> JsValue {
    object(&[("key", JsValue::from_str(key)), ("value", value)])
}

/// Brings the records up to [`LAYOUT_VERSION`] and returns the database's client id, made
/// once on first open.
pub async fn migrate_and_identify(db: &Rexie, new_client_id: String) -> Result<String> {
    let context = "migrating the database";
    let fail = |error: rexie::Error| storage_error(context, &error);
    let tx = db
        .transaction(
            &[EVENTS, OUTBOX, IDEMPOTENCY, META],
            TransactionMode::ReadWrite,
        )
        .map_err(fail)?;
    let meta = tx.store(META).map_err(fail)?;
    let events = tx.store(EVENTS).map_err(fail)?;
    let layout = match meta.get(JsValue::from_str("layout")).await.map_err(fail)? {
        Some(record) => number(&record, "value")? as u32,
        None if events.count(None).await.map_err(fail)? == 0 => LAYOUT_VERSION,
        None => 1,
    };
    if layout > LAYOUT_VERSION {
        return Err(Error::Storage(format!(
            "the database has layout {layout}, newer than this code's {LAYOUT_VERSION}; update the app"
        ).into()));
    }
    if layout < 8 {
        rewrite_event_records(&events, &meta).await?;
    }
    if layout < 5 {
        rewrite_outbox_records(&tx.store(OUTBOX).map_err(fail)?).await?;
    }
    if layout < 6 {
        rewrite_idempotency_records(&tx.store(IDEMPOTENCY).map_err(fail)?).await?;
    }
    meta.put(
        &meta_record("layout", JsValue::from_f64(f64::from(LAYOUT_VERSION))),
        None,
    )
    .await
    .map_err(fail)?;
    let client_id = match meta
        .get(JsValue::from_str("clientId"))
        .await
        .map_err(fail)?
    {
        Some(record) => field(&record, "value")?
            .as_string()
            .ok_or_else(|| Error::Codec("stored client id is not text".into()))?,
        None => {
            meta.put(
                &meta_record("clientId", JsValue::from_str(&new_client_id)),
                None,
            )
            .await
            .map_err(fail)?;
            new_client_id
        }
    };
    tx.done().await.map_err(fail)?;
    Ok(client_id)
}

/// Layouts 1 to 7 → 8: rewrites every event record as a run of one event, page by page, and
/// counts the events and pending events into the `seq` record of `meta`.
async fn rewrite_event_records(events: &rexie::Store, meta: &rexie::Store) -> Result<()> {
    let fail = |error: rexie::Error| storage_error("rewriting event records", &error);
    let mut after: Option<JsValue> = None;
    let mut counts = Counts::default();
    loop {
        let range = match &after {
            None => None,
            Some(key) => Some(
                rexie::KeyRange::lower_bound(key, Some(true))
                    .map_err(|error| idb_error("rewriting event records", &error))?,
            ),
        };
        let page = events.get_all(range, Some(500)).await.map_err(fail)?;
        let Some(last) = page.last() else {
            break;
        };
        let (stream, version) = (field(last, "stream")?, number(last, "version")?);
        after = Some(event_key(&stream.as_string().unwrap_or_default(), version));
        for record in &page {
            let stored = StoredEvent {
                seq: number(record, "seq")?,
                event: old_event(record)?,
            };
            counts.events += 1;
            counts.pending += u64::from(stored.event.position.is_none());
            events
                .put(&runs::run_record(&[stored])?, None)
                .await
                .map_err(fail)?;
        }
    }
    let last_seq = match meta.get(JsValue::from_str("seq")).await.map_err(fail)? {
        Some(record) => number(&record, "value")?,
        None => 0,
    };
    meta.put(&seq_record(last_seq, counts), None)
        .await
        .map_err(fail)?;
    Ok(())
}

/// The event a record of layouts 1 to 7 holds: its body, with the server's position and time
/// from the record's own properties when it was confirmed after it was written.
fn old_event(record: &JsValue) -> Result<EventEnvelope> {
    let mut event: EventEnvelope = from_body(record)?;
    if let Some(position) = field(record, "position")?.as_f64() {
        event.position = Some(position as u64);
    }
    if let Some(recorded_at) = field(record, "recordedAt")?.as_f64() {
        event.recorded_at = Some(Timestamp(recorded_at as i64));
    }
    Ok(event)
}

/// Layouts 1 to 4 → 5: gives every outbox record its top-level `stream`, from its body.
async fn rewrite_outbox_records(outbox: &rexie::Store) -> Result<()> {
    let fail = |error: rexie::Error| storage_error("rewriting outbox records", &error);
    for record in outbox.get_all(None, None).await.map_err(fail)? {
        let entry: OutboxEntry = from_body(&record)?;
        outbox
            .put(&outbox_record(&entry)?, None)
            .await
            .map_err(fail)?;
    }
    Ok(())
}

/// Layouts 1 to 5 → 6: gives every idempotency record its top-level `expiresAt`, from its body.
async fn rewrite_idempotency_records(records: &rexie::Store) -> Result<()> {
    let fail = |error: rexie::Error| storage_error("rewriting idempotency records", &error);
    for record in records.get_all(None, None).await.map_err(fail)? {
        let record: IdempotencyRecord = from_body(&record)?;
        records
            .put(&idempotency_record(&record)?, None)
            .await
            .map_err(fail)?;
    }
    Ok(())
}
