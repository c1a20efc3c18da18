//! The events a sync batch learned the server holds, stored in its transaction: this device's
//! own pending events become confirmed in place, a run at a time, and the others are added as
//! runs of their own.
//!
//! A drain confirms whole commands, so a pending run is mostly confirmed whole: its record gets
//! the server's last position and time beside its body, which is neither parsed nor written
//! again. A run only part of which is confirmed is split into runs of one state each.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;
use wasm_bindgen::JsValue;

use super::records::field;
use super::runs;
use super::schema::{BY_ID, BY_PENDING};
use super::txn::WriteTx;
use super::writer::failed;
use crate::core::{Error, EventEnvelope, ExpectedVersion, Result, StoredEvent};

fn fail(error: idb::Error) -> Error {
    failed("applying a sync batch", &error)
}

/// Stores `confirmed` (events the server holds, with their positions), leaving out of the held
/// runs the events in `dropped` (this batch dropped them, so they are added anew).
pub async fn confirm(
    tx: &WriteTx,
    confirmed: &[EventEnvelope],
    dropped: &HashSet<Uuid>,
) -> Result<()> {
    if confirmed.is_empty() {
        return Ok(());
    }
    let held = held_runs(tx, confirmed).await?;
    let mut touched: Vec<(JsValue, Vec<&EventEnvelope>)> = Vec::new();
    let mut places: HashMap<String, usize> = HashMap::new();
    let mut others: Vec<&EventEnvelope> = Vec::new();
    for (event, record) in confirmed.iter().zip(held) {
        match record.filter(|_| !dropped.contains(&event.id)) {
            Some(record) => {
                let place = runs::key_text(&record)?;
                let at = *places.entry(place).or_insert_with(|| {
                    touched.push((record, Vec::new()));
                    touched.len() - 1
                });
                touched[at].1.push(event);
            }
            None => others.push(event),
        }
    }
    for (record, events) in touched {
        confirm_run(tx, &record, &events)?;
    }
    add_others(tx, others).await
}

/// The run record holding each of `confirmed` (`None` for an event this device does not hold).
/// The events a drain confirms are mostly this device's oldest pending ones: one read of as many
/// pending runs finds them, and only the others are looked up by id, every lookup issued before
/// the first answer is awaited.
async fn held_runs(tx: &WriteTx, confirmed: &[EventEnvelope]) -> Result<Vec<Option<JsValue>>> {
    let count = u32::try_from(confirmed.len()).unwrap_or(u32::MAX);
    let oldest = tx
        .events
        .index(BY_PENDING)
        .map_err(fail)?
        .get_all(None, Some(count))
        .map_err(fail)?
        .await
        .map_err(fail)?;
    let mut pending: HashMap<String, JsValue> = HashMap::new();
    for record in oldest {
        for id in runs::ids(&record)? {
            pending.insert(id, record.clone());
        }
    }
    let by_id = tx.events.index(BY_ID).map_err(fail)?;
    let lookups = confirmed
        .iter()
        .map(|event| {
            let id = event.id.to_string();
            match pending.get(&id) {
                Some(record) => Ok(Lookup::Found(Some(record.clone()))),
                None => Ok(Lookup::Asked(
                    by_id
                        .get(JsValue::from_str(&id))
                        .map_err(fail)?
                        .into_future(),
                )),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let mut held = Vec::with_capacity(lookups.len());
    for lookup in lookups {
        held.push(match lookup {
            Lookup::Found(record) => record,
            Lookup::Asked(request) => request.await.map_err(fail)?,
        });
    }
    Ok(held)
}

/// A run found in the page of pending runs, or asked for by id.
enum Lookup<F> {
    Found(Option<JsValue>),
    Asked(F),
}

/// Confirms `events`, all held by the run `record`: in place when they are the whole run at
/// consecutive positions with one time, by splitting it otherwise. A run already confirmed
/// must hold them at the same positions.
fn confirm_run(tx: &WriteTx, record: &JsValue, events: &[&EventEnvelope]) -> Result<()> {
    let ids = runs::ids(record)?;
    let (first, _) = runs::bounds(record)?;
    let stream = field(record, "stream")?.as_string().unwrap_or_default();
    let mut positions: Vec<Option<(u64, Option<crate::core::Timestamp>)>> = vec![None; ids.len()];
    for event in events {
        let position = event
            .position
            .ok_or_else(|| Error::invalid("a confirmed event needs its position"))?;
        let id = event.id.to_string();
        let offset = ids.iter().position(|held| *held == id);
        let Some(offset) = offset.filter(|offset| {
            event.stream.as_str() == stream && event.version == first + *offset as u64
        }) else {
            return Err(Error::InvalidInput(format!(
                "event {} is held at another place",
                event.id
            )));
        };
        positions[offset] = Some((position, event.recorded_at));
    }
    if !runs::is_pending(record)? {
        let held = runs::events(record)?;
        for (stored, confirmed) in held.iter().zip(&positions) {
            if let Some((position, _)) = confirmed {
                if stored.event.position != Some(*position) {
                    return Err(Error::InvalidInput(format!(
                        "event {} has another position",
                        stored.event.id
                    )));
                }
            }
        }
        return Ok(());
    }
    let whole = match (positions.first(), positions.last()) {
        (Some(Some((first_position, at))), Some(Some((last_position, _)))) => positions
            .iter()
            .enumerate()
            .all(|(offset, confirmed)| *confirmed == Some((first_position + offset as u64, *at)))
            .then_some((*last_position, *at)),
        _ => None,
    };
    let confirmed_count = positions.iter().filter(|p| p.is_some()).count() as i64;
    tx.recount(0, -confirmed_count);
    if let Some((last_position, recorded_at)) = whole {
        runs::confirm_whole(record, last_position, recorded_at);
        tx.events.put(record, None).map_err(fail)?;
        return Ok(());
    }
    let mut held = runs::events(record)?;
    for (stored, confirmed) in held.iter_mut().zip(positions) {
        if let Some((position, recorded_at)) = confirmed {
            stored.event.position = Some(position);
            stored.event.recorded_at = recorded_at;
        }
    }
    for run in runs::split(held) {
        tx.events
            .put(&runs::run_record(&run)?, None)
            .map_err(fail)?;
    }
    Ok(())
}

/// Adds the events of other devices, in the batch's order, each stretch that continues one
/// stream at consecutive positions as one run; each must follow its stream's head.
async fn add_others(tx: &WriteTx, others: Vec<&EventEnvelope>) -> Result<()> {
    let mut stretches: Vec<Vec<EventEnvelope>> = Vec::new();
    for event in others {
        if event.position.is_none() {
            return Err(Error::invalid("a confirmed event needs its position"));
        }
        let joins = stretches
            .last()
            .and_then(|stretch| stretch.last())
            .is_some_and(|previous| {
                let (a, b) = (previous, event);
                a.stream == b.stream
                    && b.version == a.version + 1
                    && b.position == a.position.map(|p| p + 1)
                    && a.recorded_at == b.recorded_at
            });
        match stretches.last_mut() {
            Some(stretch) if joins => stretch.push(event.clone()),
            _ => stretches.push(vec![event.clone()]),
        }
    }
    for stretch in stretches {
        let first = &stretch[0];
        let head = tx.head(first.stream.as_str()).await?;
        if first.version != head + 1 {
            return Err(Error::Conflict {
                stream: first.stream.to_string(),
                expected: ExpectedVersion::Exact(first.version.saturating_sub(1)),
                actual: head,
            });
        }
        let _: Vec<StoredEvent> = tx.add_events(stretch)?;
    }
    Ok(())
}
