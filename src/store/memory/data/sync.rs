//! Applying a sync batch to the memory store's data: every check first, against the data as
//! it will be after the batch's earlier steps, then mutations that cannot fail.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::Data;
use crate::core::{Error, Result, StreamId};
use crate::store::{SyncBatch, check_no_orphans};

impl Data {
    /// Checks a sync batch against the data as it will be after its earlier steps, so that
    /// applying it cannot fail halfway.
    fn check_sync(&self, batch: &SyncBatch) -> Result<()> {
        batch.check_positions(self.checkpoint)?;
        let mut dropped: HashSet<u64> = HashSet::new();
        for (stream, from) in &batch.drop_pending {
            for seq in self
                .streams
                .get(stream)
                .into_iter()
                .flat_map(|v| v.range(from..).map(|(_, seq)| *seq))
            {
                if !self.pending.contains(&seq) {
                    return Err(Error::InvalidInput(format!(
                        "{stream} holds a confirmed event at or after version {from}"
                    )));
                }
                dropped.insert(seq);
            }
        }
        let dropped_ids: HashSet<Uuid> = dropped.iter().map(|seq| self.events[seq].id).collect();
        check_no_orphans(self.outbox.values(), batch, |id| dropped_ids.contains(id))?;
        let mut heads: HashMap<&StreamId, u64> = HashMap::new();
        for event in &batch.confirmed {
            let position = event
                .position
                .ok_or_else(|| Error::invalid("a confirmed event needs its position"))?;
            match self.ids.get(&event.id).filter(|seq| !dropped.contains(seq)) {
                Some(seq) => {
                    let held = &self.events[seq];
                    if held.stream != event.stream || held.version != event.version {
                        return Err(Error::InvalidInput(format!(
                            "event {} is held at another place",
                            event.id
                        )));
                    }
                    if held.position.is_some_and(|held| held != position) {
                        return Err(Error::InvalidInput(format!(
                            "event {} has another position",
                            event.id
                        )));
                    }
                }
                None => {
                    let head = heads.entry(&event.stream).or_insert_with(|| {
                        let versions = self.streams.get(&event.stream);
                        versions.map_or(0, |v| {
                            v.iter().filter(|(_, seq)| !dropped.contains(seq)).count() as u64
                        })
                    });
                    if event.version != *head + 1 {
                        return Err(Error::Conflict {
                            stream: event.stream.to_string(),
                            expected: crate::core::ExpectedVersion::Exact(event.version - 1),
                            actual: *head,
                        });
                    }
                    *head += 1;
                }
            }
        }
        let mut taken: HashSet<Uuid> = batch.confirmed.iter().map(|event| event.id).collect();
        for commit in &batch.commits {
            if commit.events.is_empty() {
                return Err(Error::invalid("a rebased commit needs events"));
            }
            let head = heads.entry(&commit.stream).or_insert_with(|| {
                let versions = self.streams.get(&commit.stream);
                versions.map_or(0, |v| {
                    v.iter().filter(|(_, seq)| !dropped.contains(seq)).count() as u64
                })
            });
            if !commit.expected.admits(*head) {
                return Err(Error::Conflict {
                    stream: commit.stream.to_string(),
                    expected: commit.expected,
                    actual: *head,
                });
            }
            *head += commit.events.len() as u64;
            if commit
                .snapshot
                .as_ref()
                .is_some_and(|s| s.stream != commit.stream || s.version != *head)
            {
                return Err(Error::invalid(
                    "a rebased commit's snapshot is not at its last version",
                ));
            }
            for event in &commit.events {
                let held = self
                    .ids
                    .get(&event.id)
                    .is_some_and(|seq| !dropped.contains(seq));
                if held || !taken.insert(event.id) {
                    return Err(Error::InvalidInput(format!(
                        "event id {} is already stored",
                        event.id
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks and applies a sync batch; all or nothing.
    pub fn apply_sync(&mut self, batch: SyncBatch) -> Result<()> {
        self.check_sync(&batch)?;
        for (stream, from) in &batch.drop_pending {
            let seqs: Vec<u64> = self
                .streams
                .get(stream)
                .map_or(Vec::new(), |v| v.range(from..).map(|(_, s)| *s).collect());
            for seq in seqs {
                let event = self.events.remove(&seq).expect("indexed events exist");
                self.ids.remove(&event.id);
                self.pending.remove(&seq);
                if let Some(versions) = self.streams.get_mut(stream) {
                    versions.remove(&event.version);
                }
            }
            // A snapshot that folded a dropped event describes a log that no longer exists.
            if self
                .snapshots
                .get(stream)
                .is_some_and(|snapshot| snapshot.version >= *from)
            {
                self.snapshots.remove(stream);
            }
        }
        for seq in &batch.drop_outbox {
            self.outbox.remove(seq);
        }
        for event in batch.confirmed {
            match self.ids.get(&event.id).copied() {
                Some(seq) => {
                    let held = self.events.get_mut(&seq).expect("indexed events exist");
                    if held.position.is_none() {
                        held.position = event.position;
                        held.recorded_at = event.recorded_at;
                        self.pending.remove(&seq);
                        self.positions
                            .insert(event.position.expect("checked above"), seq);
                    }
                }
                None => {
                    self.insert(event);
                }
            }
        }
        for commit in batch.commits {
            self.write_commit(commit);
        }
        if let Some(checkpoint) = batch.checkpoint {
            self.checkpoint = self.checkpoint.max(checkpoint);
        }
        for command in batch.rejected {
            self.rejected
                .retain(|held| held.command_id != command.command_id);
            self.rejected.push(command);
        }
        for update in &batch.idempotency {
            if let Some(record) = self.idempotency.get_mut(&update.key) {
                record.follow(update);
            }
        }
        Ok(())
    }
}
