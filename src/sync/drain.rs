//! Draining the outbox, pipelined: the next batch is read and sent while the previous one is on
//! its way, with at most one request in flight beyond the one whose answer comes next.
//!
//! Each answer is settled in order. Accepted commands are placed by the answer itself
//! (positions, `recordedAt`) and confirmed as soon as every position from the pull checkpoint up
//! to them is accounted for ([`confirm`](super::confirm)); the pull asks only for the gaps, and
//! only when the answer shows that the server's head moved past what this device sent (or a
//! command was refused or met a conflict, or the answers do not say). Storing a step's
//! confirmations and reading the next commands to send go together
//! ([`EventStore::apply_sync_and_read_queue`]).
//!
//! Order guarantees: a batch never holds a command of a stream whose earlier commands are still
//! in flight (it ends before it, see [`push::group_by_stream`]), so no command is ever accepted
//! on events it was not decided on; two batches in flight touch different streams.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use futures::future::FutureExt;

use super::confirm::{Accepted, place};
use super::flying;
use super::pull::pull_gaps;
use super::push::{Pushed, Stop, appends_of, choose, group_by_stream, push};
use super::round::{Learnt, settle};
use super::{MAX_ROUNDS_PER_SYNC, SyncClient, SyncPhase, SyncReport, TraceParent, Transport};
use crate::core::{Error, EventEnvelope, Result, StreamId};
use crate::store::{EventStore, QueuedCommand};

/// Batch requests in flight at most (while personal data is on: one, since its key pushes
/// come first and in order).
const IN_FLIGHT: usize = 2;
/// How many batches' worth of accepted events may wait for the positions below them before a
/// pull closes the gaps even while requests are in flight.
const HOLD_BATCHES: usize = 4;

/// A batch on its way: its commands, their groups (one append each), the trace it carries.
pub(super) struct Sent {
    commands: Vec<QueuedCommand>,
    groups: Vec<Range<usize>>,
    trace: TraceParent,
}

type Answer = (Sent, Result<Pushed>);
type Flying<'a> = flying::Flying<'a, Answer>;

/// Where a drain stands.
struct Drain {
    /// The queue as last read.
    queue: Vec<QueuedCommand>,
    /// Outbox entries in flight.
    in_flight: HashSet<u64>,
    /// Streams with commands in flight, and how many batches hold them.
    busy: HashMap<StreamId, usize>,
    /// The pull checkpoint as stored.
    checkpoint: u64,
    /// The newest head an answer reported.
    head: Option<u64>,
    /// Batches sent so far (bounded for a single round).
    sent: usize,
    /// The first `storage_full` met: the drain goes on pushing, then fails with it.
    storage_full: Option<Error>,
    report: SyncReport,
}

impl Drain {
    /// Takes a batch whose answer came out of flight.
    fn landed(&mut self, sent: &Sent) {
        for queued in &sent.commands {
            self.in_flight.remove(&queued.entry.seq);
        }
        for group in &sent.groups {
            let stream = &sent.commands[group.start].entry.stream;
            if let Some(count) = self.busy.get_mut(stream) {
                *count -= 1;
                if *count == 0 {
                    self.busy.remove(stream);
                }
            }
        }
    }
}

impl<S: EventStore, T: Transport> SyncClient<S, T> {
    /// Pushes the outbox (at most `max_batches` batches) and settles every answer; pulls what
    /// the answers leave open; ends when nothing is left to send and the pull caught up.
    pub(super) async fn drain(&self, max_batches: Option<usize>) -> Result<SyncReport> {
        self.learn_limits().await?;
        self.send_forgets().await?;
        self.learn_forgotten().await?;
        let store = self.engine.store();
        let mut drain = Drain {
            queue: store
                .read_queue(self.queue_limit(), &HashSet::new())
                .await?,
            in_flight: HashSet::new(),
            busy: HashMap::new(),
            checkpoint: store.pull_checkpoint().await?,
            head: None,
            sent: 0,
            storage_full: None,
            report: SyncReport::default(),
        };
        let depth = match self.engine.shredder().is_active() {
            true => 1,
            false => IN_FLIGHT,
        };
        let mut flying = Flying::new();
        // Steps that met conflicts, and pulls at the end: bounded, when other devices keep
        // writing the same aggregates.
        let mut rounds = 0;
        loop {
            while flying.len() < depth
                && rounds < MAX_ROUNDS_PER_SYNC
                && max_batches.is_none_or(|max| drain.sent < max)
            {
                let Some(sent) = self.next_batch(&mut drain) else {
                    break;
                };
                flying.push(self.send(sent).boxed_local());
            }
            if let Some((sent, answer)) = flying.next().await {
                drain.landed(&sent);
                let conflicts = drain.report.conflicts;
                let (learnt, mut pull) = self.learn(&mut drain, &sent, answer?);
                if flying.len() == 0 {
                    // Nothing else will answer: close the gaps now, if there are any.
                    pull |= self.open(&drain);
                }
                pull |= self.held.borrow().events() > HOLD_BATCHES * self.config.batch_size.max(1);
                self.step(&mut drain, &mut flying, learnt, pull, &sent.trace)
                    .await?;
                if drain.report.conflicts > conflicts {
                    rounds += 1;
                }
                continue;
            }
            // Nothing in flight and nothing to send: pull what the answers left open (all of
            // it when nothing was pushed), which may rebase commands that then go out.
            if !self.open(&drain) || rounds >= MAX_ROUNDS_PER_SYNC {
                break;
            }
            rounds += 1;
            let before = (drain.checkpoint, drain.report.conflicts, self.held_count());
            let trace = self.fresh_trace();
            self.step(&mut drain, &mut flying, Learnt::default(), true, &trace)
                .await?;
            drain.head = Some(drain.head.unwrap_or(0).max(drain.checkpoint));
            let after = (drain.checkpoint, drain.report.conflicts, self.held_count());
            if !self.has_sendable(&drain) && (before == after || drain.storage_full.is_some()) {
                break;
            }
        }
        match drain.storage_full {
            Some(error) => Err(error),
            None => Ok(drain.report),
        }
    }

    /// How many outbox entries a read takes, besides those in flight or held: two batches.
    fn queue_limit(&self) -> usize {
        self.config.batch_size.max(1).saturating_mul(IN_FLIGHT)
    }

    /// The outbox entries a read of the queue leaves out: in flight or held (their commands
    /// are on their way or on the server).
    fn known(&self, drain: &Drain) -> HashSet<u64> {
        let mut known = drain.in_flight.clone();
        known.extend(self.held.borrow().seqs());
        known
    }

    fn held_count(&self) -> usize {
        self.held.borrow().ranges().len()
    }

    /// Whether positions are left open: the head is unknown or beyond what the checkpoint and
    /// the held commands reach, or held commands lie beyond a gap.
    fn open(&self, drain: &Drain) -> bool {
        let held = self.held.borrow();
        let reach = held.reach(drain.checkpoint);
        drain.head.is_none_or(|head| head > reach) || held.last().is_some_and(|last| last > reach)
    }

    /// Whether the queue as last read holds a command that is neither in flight nor held.
    fn has_sendable(&self, drain: &Drain) -> bool {
        let held = self.held.borrow();
        drain.queue.iter().any(|queued| {
            !held.holds(queued.entry.seq) && !drain.in_flight.contains(&queued.entry.seq)
        })
    }

    /// A trace for requests that carry no command.
    fn fresh_trace(&self) -> TraceParent {
        let id = self.ids.new_id();
        TraceParent::for_correlation(&id.to_string(), id.as_u128() as u64)
    }

    /// The next batch to send, marked in flight; `None` when nothing can go now.
    fn next_batch(&self, drain: &mut Drain) -> Option<Sent> {
        let pushable: Vec<QueuedCommand> = {
            let held = self.held.borrow();
            drain
                .queue
                .iter()
                .filter(|q| !held.holds(q.entry.seq) && !drain.in_flight.contains(&q.entry.seq))
                .cloned()
                .collect()
        };
        let chosen = choose(&pushable, self.config.batch_size);
        let busy: HashSet<StreamId> = drain.busy.keys().cloned().collect();
        let groups = group_by_stream(chosen, &busy);
        let end = groups.last()?.end;
        let commands = chosen[..end].to_vec();
        for queued in &commands {
            drain.in_flight.insert(queued.entry.seq);
        }
        for group in &groups {
            *drain
                .busy
                .entry(commands[group.start].entry.stream.clone())
                .or_default() += 1;
        }
        drain.sent += 1;
        self.status
            .update(|status| status.phase = Some(SyncPhase::Pushing));
        let first = &commands[0].entry;
        let correlation = first
            .correlation_id
            .clone()
            .unwrap_or(first.command_id.clone());
        let trace = TraceParent::for_correlation(&correlation, self.ids.new_id().as_u128() as u64);
        Some(Sent {
            commands,
            groups,
            trace,
        })
    }

    /// Sends a batch: the keys its events were sealed with first, then the batch.
    async fn send(&self, sent: Sent) -> Answer {
        let pushed = async {
            for group in &sent.groups {
                let events: Vec<EventEnvelope> = sent.commands[group.clone()]
                    .iter()
                    .flat_map(|queued| queued.events.iter().cloned())
                    .collect();
                self.push_keys(&sent.commands[group.start].entry.stream, &events)
                    .await?;
            }
            let appends = appends_of(&sent.commands, &sent.groups)?;
            push(self, &sent.commands, &sent.groups, appends, &sent.trace).await
        }
        .await;
        (sent, pushed)
    }

    /// What an answer says: accepted commands are held with their places (or, when the answer
    /// does not place them, acknowledged for a pull to confirm), refusals noted. Whether a pull
    /// is needed comes second.
    fn learn(&self, drain: &mut Drain, sent: &Sent, pushed: Pushed) -> (Learnt, bool) {
        drain.head = drain.head.max(pushed.head);
        let mut learnt = Learnt::default();
        let mut pull = pushed.head.is_none();
        let mut settled = 0;
        for (group, outcome) in sent.groups.iter().zip(pushed.groups) {
            let commands = &sent.commands[group.clone()];
            let accepted = outcome.accepted_count();
            let mut index = 0;
            for (count, response) in &outcome.accepted {
                let mut skip = 0;
                for queued in commands.iter().skip(index).take(*count) {
                    match place(&queued.events, response, skip) {
                        Some(events) => self.held.borrow_mut().insert(Accepted {
                            seq: queued.entry.seq,
                            events,
                        }),
                        None => {
                            learnt.acked.insert(queued.entry.seq);
                            pull = true;
                        }
                    }
                    skip += queued.events.len() as u64;
                }
                index += count;
            }
            drain.report.pushed += accepted;
            settled += accepted;
            match outcome.stop {
                None => {}
                Some(Stop::Conflict) => {
                    drain.report.conflicts += commands.len() - accepted;
                    pull = true;
                }
                Some(Stop::Refused(body)) => {
                    let entry = &commands[accepted].entry;
                    learnt.refused.insert(entry.seq, body);
                    learnt.refused_streams.insert(entry.stream.clone());
                    settled += 1;
                    pull = true;
                }
            }
        }
        self.status.update(|status| {
            status.progress.done += settled;
            // Commands another tab added while the drain ran count as they are settled.
            status.progress.total = status.progress.total.max(status.progress.done);
        });
        (learnt, pull)
    }

    /// Settles what was learnt, after pulling the gaps when `pull`: confirms the held commands
    /// the checkpoint can now reach, stores it all and reads the queue again.
    async fn step(
        &self,
        drain: &mut Drain,
        flying: &mut Flying<'_>,
        mut learnt: Learnt,
        pull: bool,
        trace: &TraceParent,
    ) -> Result<()> {
        let checkpoint = drain.checkpoint;
        let (known, target) = {
            let held = self.held.borrow();
            (held.ranges(), drain.head.max(held.last()))
        };
        let reached = if pull {
            self.status
                .update(|status| status.phase = Some(SyncPhase::Pulling));
            let pulled = flying
                .alongside(pull_gaps(self, checkpoint, &known, target, trace))
                .await?;
            drain.report.pulled += pulled.events.len();
            learnt.pulled = pulled.events;
            pulled.reached
        } else {
            self.held.borrow().reach(checkpoint)
        };
        let taken = self.held.borrow_mut().take_through(reached);
        for accepted in &taken {
            learnt.acked.insert(accepted.seq);
            learnt.own.extend(
                accepted
                    .events
                    .iter()
                    .filter(|event| event.position.is_some_and(|p| p > checkpoint))
                    .cloned(),
            );
        }
        learnt.checkpoint = reached;
        let limit = self.queue_limit();
        let known = self.known(drain);
        let nothing = learnt.own.is_empty()
            && learnt.acked.is_empty()
            && learnt.pulled.is_empty()
            && learnt.refused.is_empty()
            && reached == checkpoint;
        let stored = match nothing {
            true => {
                flying
                    .alongside(self.engine.store().read_queue(limit, &known))
                    .await
            }
            false => {
                let (batch, rejected) = flying.alongside(settle(self, learnt)).await?;
                drain.report.rejected += rejected;
                flying
                    .alongside(self.store_and_read(batch, limit, &known))
                    .await
            }
        };
        match stored {
            Ok(queue) => {
                drain.queue = queue;
                drain.checkpoint = reached;
                if pull {
                    self.status.update(|status| status.lag = 0);
                }
                Ok(())
            }
            Err(error @ Error::StorageFull(_)) => {
                // The server has these commands: they wait, not pushed again, until their
                // confirmation can be stored.
                self.held.borrow_mut().restore(taken);
                drain.storage_full = Some(error);
                drain.queue = flying
                    .alongside(self.engine.store().read_queue(limit, &known))
                    .await?;
                Ok(())
            }
            Err(error) => {
                self.held.borrow_mut().restore(taken);
                Err(error)
            }
        }
    }

    /// Stores a sync batch and reads the queue: in one go through the store, unless personal
    /// data needs the engine's key handling around the write.
    pub(super) async fn store_and_read(
        &self,
        batch: crate::store::SyncBatch,
        limit: usize,
        known: &HashSet<u64>,
    ) -> Result<Vec<QueuedCommand>> {
        if self.engine.shredder().is_active() {
            self.engine.apply_sync(batch).await?;
            return self.engine.store().read_queue(limit, known).await;
        }
        let queue = self
            .engine
            .store()
            .apply_sync_and_read_queue(batch, Some(self.engine.projector()), limit, known)
            .await?;
        self.engine.refresh_subscriptions().await;
        Ok(queue)
    }
}
