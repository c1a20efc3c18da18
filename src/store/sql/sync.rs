//! A sync batch in SQL. The tail of every stream the batch touches (its rows from the first
//! version the batch names) is read once into slots, one per event; the batch's steps run on
//! the slots in the order [`SyncBatch`] gives, checking as they go; then each tail is cut
//! into rows again and only the rows that changed are written. The whole runs in the caller's
//! transaction, so a failed check writes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use uuid::Uuid;

use super::chunks::{self, Chunk};
use super::connection::SqlConnection;
use super::tails::{Slot, Tail, Tails};
use super::{SqlTx, schema};
use crate::core::{
    Error, EventEnvelope, ExpectedVersion, RejectedCommand, Result, StoredEvent, StreamId,
};
use crate::store::{SyncBatch, check_no_orphans};

/// The pull checkpoint.
pub fn checkpoint<C: SqlConnection>(conn: &C) -> Result<u64> {
    Ok(schema::get(conn, "checkpoint")?
        .and_then(|text| text.parse().ok())
        .unwrap_or(0))
}

impl<C: SqlConnection> SqlTx<'_, C> {
    /// Checks and applies a sync batch.
    pub(super) fn apply_sync(&self, batch: SyncBatch) -> Result<()> {
        let current = checkpoint(self.conn)?;
        batch.check_positions(current)?;
        let mut tails = self.load_tails(&batch)?;
        self.drop_pending(&batch, &mut tails)?;
        for seq in &batch.drop_outbox {
            if !tails.drop_entry(*seq) {
                self.drop_outbox_row(*seq)?;
            }
        }
        let mut taken: HashSet<Uuid> = batch.confirmed.iter().map(|event| event.id).collect();
        for event in &batch.confirmed {
            self.confirm(event, &mut tails)?;
        }
        for commit in &batch.commits {
            if commit.events.is_empty() {
                return Err(Error::invalid("a rebased commit needs events"));
            }
            let head = tails.get(&commit.stream).map_or(0, Tail::head);
            if !commit.expected.admits(head) {
                return Err(Error::Conflict {
                    stream: commit.stream.to_string(),
                    expected: commit.expected,
                    actual: head,
                });
            }
            let last = head + commit.events.len() as u64;
            if commit
                .snapshot
                .as_ref()
                .is_some_and(|s| s.stream != commit.stream || s.version != last)
            {
                return Err(Error::invalid(
                    "a rebased commit's snapshot is not at its last version",
                ));
            }
            for event in &commit.events {
                let held =
                    tails.find(&event.id).is_some() || self.held_outside(&event.id, &tails)?;
                if held || !taken.insert(event.id) {
                    return Err(Error::InvalidInput(format!(
                        "event id {} is already stored",
                        event.id
                    )));
                }
            }
            let chunk = self
                .new_chunk(commit.clone(), head)
                .expect("a rebased commit has events");
            let stored: Vec<StoredEvent> = chunk.clone().stored().collect();
            let mut outbox = chunk.outbox;
            let last = stored.len() - 1;
            let mut snapshot = chunk.snapshot;
            for (i, stored) in stored.iter().enumerate() {
                tails.push(
                    &commit.stream,
                    Slot {
                        seq: stored.seq,
                        event: stored.event.clone(),
                        outbox: outbox.take(),
                        snapshot: if i == last { snapshot.take() } else { None },
                        starts: i == 0,
                        added: true,
                    },
                );
            }
            self.write_extras(commit, &stored)?;
        }
        let mut stranded = Vec::new();
        for tail in tails.into_tails() {
            stranded.extend(self.write_tail(tail)?);
        }
        self.keep_stranded(stranded)?;
        if let Some(new) = batch.checkpoint.filter(|new| *new > current) {
            self.set_meta("checkpoint", &new.to_string())?;
        }
        // Kept for reopening: a pending row made confirmed or dropped no longer shows it.
        let noted = schema::get(self.conn, "last_seq")?.and_then(|text| text.parse::<u64>().ok());
        if noted.is_none_or(|noted| noted < self.last_seq.get()) {
            self.set_meta("last_seq", &self.last_seq.get().to_string())?;
        }
        for command in &batch.rejected {
            self.reject(command)?;
        }
        for update in &batch.idempotency {
            if let Some(mut record) = super::commit::idempotency(self.conn, &update.key)? {
                if record.follow(update) {
                    self.put_idempotency(&record)?;
                }
            }
        }
        Ok(())
    }

    /// Reads the tail of every stream the batch names.
    fn load_tails(&self, batch: &SyncBatch) -> Result<Tails> {
        let mut from: BTreeMap<&StreamId, u64> = BTreeMap::new();
        let mut wants: Vec<(&StreamId, u64)> = Vec::new();
        for (stream, version) in &batch.drop_pending {
            wants.push((stream, *version));
        }
        for event in &batch.confirmed {
            wants.push((&event.stream, event.version.max(1)));
        }
        for commit in &batch.commits {
            wants.push((&commit.stream, u64::MAX));
        }
        for (stream, version) in wants {
            let at = from.entry(stream).or_insert(version);
            *at = (*at).min(version);
        }
        let mut tails = Tails::default();
        for (stream, version) in from {
            let head = chunks::version_of(self.conn, stream)?;
            let old = chunks::stream_from(self.conn, stream, version.min(head + 1), usize::MAX)?;
            tails.insert(stream.clone(), Tail::read(old, head));
        }
        Ok(tails)
    }

    /// Removes pending events (step 1).
    fn drop_pending(&self, batch: &SyncBatch, tails: &mut Tails) -> Result<()> {
        let mut dropped: HashSet<Uuid> = HashSet::new();
        for (stream, from) in &batch.drop_pending {
            let tail = tails.get(stream).expect("loaded for every stream named");
            for slot in tail.slots.iter().filter(|slot| slot.event.version >= *from) {
                if slot.event.position.is_some() {
                    return Err(Error::InvalidInput(format!(
                        "{stream} holds a confirmed event at or after version {from}"
                    )));
                }
                dropped.insert(slot.event.id);
            }
        }
        let streams: Vec<StreamId> = batch.drop_pending.iter().map(|(s, _)| s.clone()).collect();
        check_no_orphans(
            &super::queue::outbox_of(self.conn, &streams)?,
            batch,
            |id| dropped.contains(id),
        )?;
        for (stream, from) in &batch.drop_pending {
            tails.truncate(stream, *from);
        }
        Ok(())
    }

    /// Confirms an event in place or adds it (step 3).
    fn confirm(&self, event: &EventEnvelope, tails: &mut Tails) -> Result<()> {
        let position = event
            .position
            .ok_or_else(|| Error::invalid("a confirmed event needs its position"))?;
        if let Some((stream, version)) = tails.find(&event.id).cloned() {
            let slot = tails
                .slot_mut(&stream, version)
                .expect("the index names slots of the tails");
            let held = &mut slot.event;
            if held.stream != event.stream || held.version != event.version {
                return Err(Error::InvalidInput(format!(
                    "event {} is held at another place",
                    event.id
                )));
            }
            match held.position {
                Some(held) if held != position => Err(Error::InvalidInput(format!(
                    "event {} has another position",
                    event.id
                ))),
                Some(_) => Ok(()),
                None => {
                    held.position = event.position;
                    held.recorded_at = event.recorded_at;
                    Ok(())
                }
            }
        } else if self.held_outside(&event.id, tails)? {
            Err(Error::InvalidInput(format!(
                "event {} is held at another place",
                event.id
            )))
        } else {
            let tail = tails.get(&event.stream).expect("loaded for every event");
            let head = tail.head();
            if event.version != head + 1 {
                return Err(Error::Conflict {
                    stream: event.stream.to_string(),
                    expected: ExpectedVersion::Exact(event.version - 1),
                    actual: head,
                });
            }
            let joins = tail.slots.last().is_some_and(|last| {
                last.added
                    && last.seq == self.last_seq.get()
                    && last.event.position.is_some_and(|p| p + 1 == position)
            });
            let slot = Slot {
                seq: self.next_seq(),
                event: event.clone(),
                outbox: None,
                snapshot: None,
                starts: !joins,
                added: true,
            };
            tails.push(&event.stream, slot);
            Ok(())
        }
    }

    /// Whether event `id` is stored outside the loaded tails (where the slots say).
    fn held_outside(&self, id: &Uuid, tails: &Tails) -> Result<bool> {
        Ok(self
            .held_at(id)?
            .is_some_and(|(stream, version)| tails.get(&stream).is_none_or(|t| version <= t.base)))
    }

    /// Adds a command to the rejected inbox, replacing an earlier one with its id.
    fn reject(&self, command: &RejectedCommand) -> Result<()> {
        self.write(
            "DELETE FROM rejected WHERE command_id = ?1",
            &[command.command_id.as_str().into()],
            0,
        )?;
        self.write(
            "INSERT INTO rejected (command_id, body) VALUES (?1, ?2)",
            &[
                command.command_id.as_str().into(),
                serde_json::to_string(command)?.into(),
            ],
            0,
        )?;
        Ok(())
    }

    /// Cuts a tail into rows and writes those that changed; answers the keys of the confirmed
    /// rows that hold an outbox entry.
    fn write_tail(&self, tail: Tail) -> Result<Vec<(StreamId, u64)>> {
        let Tail { base, old, slots } = tail;
        let mut new: Vec<Chunk> = Vec::new();
        let mut previous: Option<(u64, Option<u64>)> = None;
        for (slot, version) in slots.into_iter().zip(base + 1..) {
            let position = slot.event.position;
            let follows = previous.is_some_and(|(seq, last)| {
                seq + 1 == slot.seq
                    && match (last, position) {
                        (None, None) => true,
                        (Some(last), Some(position)) => last + 1 == position,
                        _ => false,
                    }
            });
            previous = Some((slot.seq, position));
            match new.last_mut() {
                Some(chunk) if follows && !slot.starts && slot.outbox.is_none() => {
                    chunk.events.push(slot.event);
                    if slot.snapshot.is_some() {
                        chunk.snapshot = slot.snapshot;
                    }
                }
                _ => new.push(Chunk {
                    stream: slot.event.stream.clone(),
                    first_version: version,
                    first_seq: slot.seq,
                    events: vec![slot.event],
                    outbox: slot.outbox,
                    snapshot: slot.snapshot,
                }),
            }
        }
        let kept: HashMap<u64, &Chunk> = new.iter().map(|c| (c.first_version, c)).collect();
        for chunk in old.iter().filter(|c| !kept.contains_key(&c.first_version)) {
            self.delete_chunk(&chunk.stream, chunk.first_version)?;
        }
        let before: HashMap<u64, &Chunk> = old.iter().map(|c| (c.first_version, c)).collect();
        for chunk in &new {
            match before.get(&chunk.first_version) {
                Some(old) if *old == chunk => {}
                Some(old) => self.update_chunk(old, chunk)?,
                None => self.insert_chunk(chunk)?,
            }
        }
        Ok(new
            .into_iter()
            .filter(|chunk| chunk.first_position().is_some() && chunk.outbox.is_some())
            .map(|chunk| (chunk.stream, chunk.first_version))
            .collect())
    }
}
