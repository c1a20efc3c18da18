//! Executing commands: idempotency check, load, decide, one atomic commit, and retries after
//! a conflict with backoff while the retry budget lasts.

use serde_json::Value;

use super::Engine;
use super::inline::InlineCommand;
use super::retry::Retries;
use crate::core::aggregate::{Aggregate, AggregateHandler, ConflictPolicy, State};
use crate::core::error::{DomainError, Error, Result};
use crate::core::event::{EventEnvelope, EventMetadata, NewEvent};
use crate::core::idempotency::IdempotencyRecord;
use crate::core::outbox::OutboxEntry;
use crate::core::snapshot::{Snapshot, snapshot_due};
use crate::core::storage::{Commit, CommitOutcome, Decided, EventLog, KeyVault, ReadModelStore};
use crate::core::stream::{StreamId, check_event_type};
use crate::core::version::ExpectedVersion;

/// Optional settings of one command.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteOptions {
    /// A second execute with the same key (within the TTL) returns the first result.
    pub idempotency_key: Option<String>,
    /// Copied into every event's metadata.
    pub correlation_id: Option<String>,
    /// Copied into every event's metadata.
    pub causation_id: Option<String>,
    /// The command's id; one is generated when absent.
    pub command_id: Option<String>,
    /// Refuse with a conflict unless the stream is at this version (no retry).
    pub expected_version: Option<ExpectedVersion>,
}

/// What an executed command did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteResult {
    /// The aggregate's stream.
    pub stream: StreamId,
    /// The stream's version after the command.
    pub version: u64,
    /// The events the command committed, as stored.
    pub events: Vec<EventEnvelope>,
    /// True when an earlier execute with the same idempotency key had already done the work.
    pub deduplicated: bool,
    /// The command's id.
    pub command_id: String,
}

/// Everything about one command that stays the same across retries.
pub(super) struct CommandContext<'a> {
    aggregate_type: &'a str,
    id: &'a str,
    pub(super) stream: StreamId,
    pub(super) command: &'a Value,
    pub(super) options: &'a ExecuteOptions,
    command_id: String,
}

impl<S: EventLog + ReadModelStore + KeyVault> Engine<S> {
    /// Executes a command on a Rust aggregate.
    pub async fn execute<A: Aggregate>(
        &self,
        id: &str,
        command: &A::Command,
        options: ExecuteOptions,
    ) -> Result<ExecuteResult> {
        let command = serde_json::to_value(command)?;
        self.execute_json(A::TYPE, id, &command, options).await
    }

    /// Executes a JSON command on the aggregate registered as `aggregate_type`.
    pub async fn execute_json(
        &self,
        aggregate_type: &str,
        id: &str,
        command: &Value,
        options: ExecuteOptions,
    ) -> Result<ExecuteResult> {
        let (handler, stream) = self.resolve(aggregate_type, id)?;
        let command_id = match &options.command_id {
            Some(command_id) => command_id.clone(),
            None => self.ids.new_id().to_string(),
        };
        let context = CommandContext {
            aggregate_type,
            id,
            stream,
            command,
            options: &options,
            command_id,
        };
        let result = self.execute_with(handler.as_ref(), &context).await;
        self.count(|stats| match &result {
            Ok(result) if result.deduplicated => stats.deduplicated += 1,
            Ok(result) => {
                stats.commands += 1;
                stats.events += result.events.len() as u64;
            }
            Err(_) => stats.failed += 1,
        });
        result
    }

    async fn execute_with(
        &self,
        handler: &dyn AggregateHandler,
        context: &CommandContext<'_>,
    ) -> Result<ExecuteResult> {
        let stream = &context.stream;
        let mut retries = Retries::default();
        self.ensure_keys().await?;
        if InlineCommand::fits(self, context) {
            let mut inline = InlineCommand::new(self, handler, context);
            let decided = self.store.decide_and_commit(stream, &mut inline).await;
            if inline.resumed {
                self.count(|stats| stats.warm_commands += 1);
            }
            match decided {
                Ok(Decided::InSteps | Decided::Done(CommitOutcome::DuplicateIdempotencyKey(_))) => {
                }
                Ok(Decided::Nothing) => {
                    inline.keep_warm();
                    return Ok(self.result(context, inline.version, Vec::new()));
                }
                Ok(Decided::Done(CommitOutcome::Committed(events))) => {
                    inline.keep_warm();
                    return self.committed(context, inline.version, events).await;
                }
                Err(error @ Error::Domain(_)) => {
                    inline.keep_warm();
                    return Err(error);
                }
                // Another writer came first after all: the steps below retry as they do.
                Err(conflict @ Error::Conflict { .. })
                    if context.options.expected_version.is_none() =>
                {
                    self.back_off(&mut retries, conflict).await?;
                }
                // The steps fold from the first event; the next snapshot replaces this one.
                Err(_) if inline.stale_snapshot => {}
                Err(error) => return Err(error),
            }
        }
        loop {
            if let Some(result) = self.replay_idempotent(context.options, stream).await? {
                return Ok(result);
            }
            let (state, version) = self.load_state(handler, stream, None).await?;
            if let Some(expected) = context.options.expected_version {
                if !expected.admits(version) {
                    return Err(Error::Conflict {
                        stream: stream.to_string(),
                        expected,
                        actual: version,
                    });
                }
            }
            let decided = match handler.decide(&state, context.command) {
                Err(Error::Domain(error)) if context.options.idempotency_key.is_some() => {
                    // A command with the same key may have committed since the check above,
                    // and the refusal be its effect: then its result is the answer.
                    if let Some(result) = self.replay_idempotent(context.options, stream).await? {
                        return Ok(result);
                    }
                    return Err(Error::Domain(error));
                }
                decided => decided?,
            };
            let mut state = state;
            let prepared = self.prepare(handler, context, &mut state, version, decided)?;
            let Some(commit) = prepared else {
                return Ok(self.result(context, version, Vec::new()));
            };
            self.save_new_keys().await?;
            match self.store.commit(commit).await {
                Ok(CommitOutcome::Committed(events)) => {
                    return self.committed(context, version, events).await;
                }
                Ok(CommitOutcome::DuplicateIdempotencyKey(_)) => continue,
                Err(conflict @ Error::Conflict { .. })
                    if context.options.expected_version.is_none() =>
                {
                    if self.config.conflict_policy_at_commit
                        && self.policy_rejects(handler, context, version).await?
                    {
                        return Err(conflict);
                    }
                    self.back_off(&mut retries, conflict).await?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Whether the aggregate's conflict policy rejects the command, given the events another
    /// writer added after `version`.
    async fn policy_rejects(
        &self,
        handler: &dyn AggregateHandler,
        context: &CommandContext<'_>,
        version: u64,
    ) -> Result<bool> {
        let limit = self.config.read_page_size.max(1);
        let theirs = self
            .store
            .read_stream(&context.stream, version + 1, limit)
            .await?;
        let theirs = self.upcast_all(theirs)?;
        let policy = handler.on_conflict(context.command, &theirs);
        Ok(policy == ConflictPolicy::Reject)
    }

    /// The result of a commit of `events` made on the stream at `version`.
    async fn committed(
        &self,
        context: &CommandContext<'_>,
        version: u64,
        events: Vec<EventEnvelope>,
    ) -> Result<ExecuteResult> {
        let version = events.last().map_or(version, |event| event.version);
        let events = self.shredder.reveal_all(events)?;
        self.refresh_subscriptions().await;
        Ok(self.result(context, version, events))
    }

    fn result(
        &self,
        context: &CommandContext<'_>,
        version: u64,
        events: Vec<EventEnvelope>,
    ) -> ExecuteResult {
        ExecuteResult {
            stream: context.stream.clone(),
            version,
            events,
            deduplicated: false,
            command_id: context.command_id.clone(),
        }
    }

    /// The first result of a command whose idempotency key is still remembered.
    async fn replay_idempotent(
        &self,
        options: &ExecuteOptions,
        stream: &StreamId,
    ) -> Result<Option<ExecuteResult>> {
        let Some(key) = &options.idempotency_key else {
            return Ok(None);
        };
        let Some(record) = self.store.idempotency_record(key, self.clock.now()).await? else {
            return Ok(None);
        };
        if &record.stream != stream {
            return Err(Error::InvalidInput(format!(
                "idempotency key {key:?} was already used for stream {}",
                record.stream
            )));
        }
        if let Some(reason) = record.rejected {
            // The command came back from sync rejected: a repeat is refused the same way.
            return Err(Error::Domain(DomainError::new(reason.code, reason.message)));
        }
        let events = match record.first_version {
            0 => Vec::new(),
            first => {
                let count = (record.last_version - first + 1) as usize;
                self.upcast_all(self.store.read_stream(stream, first, count).await?)?
            }
        };
        let version = match record.last_version {
            0 => self.store.stream_version(stream).await?,
            last => last,
        };
        Ok(Some(ExecuteResult {
            stream: stream.clone(),
            version,
            events,
            deduplicated: true,
            command_id: record.command_id,
        }))
    }

    /// Turns a decision made on `state` at `version` into a commit; `None` when there is
    /// nothing to write. When the commit carries a snapshot, `state` is left evolved by the
    /// new events (the snapshot's state).
    pub(super) fn prepare(
        &self,
        handler: &dyn AggregateHandler,
        context: &CommandContext<'_>,
        state: &mut State,
        version: u64,
        decided: Vec<NewEvent>,
    ) -> Result<Option<Commit>> {
        for event in &decided {
            check_event_type(&event.event_type)?;
            if event.schema_version == 0 {
                return Err(Error::invalid("event schema versions start at 1"));
            }
        }
        let now = self.clock.now();
        let stream = &context.stream;
        let idempotency = context
            .options
            .idempotency_key
            .as_ref()
            .map(|key| IdempotencyRecord {
                key: key.clone(),
                stream: stream.clone(),
                command_id: context.command_id.clone(),
                first_version: 0,
                last_version: 0,
                created_at: now,
                expires_at: now.plus_millis(self.config.idempotency_ttl_ms),
                rejected: None,
            });
        if decided.is_empty() && idempotency.is_none() {
            return Ok(None);
        }
        let metadata = EventMetadata {
            correlation_id: context.options.correlation_id.clone(),
            causation_id: context.options.causation_id.clone(),
            command_id: Some(context.command_id.clone()),
            client_id: Some(self.store.client_id().to_owned()),
            occurred_at: now,
        };
        let mut events: Vec<EventEnvelope> = decided
            .into_iter()
            .zip(version + 1..)
            .map(|(event, version)| EventEnvelope {
                id: self.ids.new_id(),
                stream: stream.clone(),
                version,
                position: None,
                event_type: event.event_type,
                schema_version: event.schema_version,
                data: event.data,
                metadata: metadata.clone(),
                recorded_at: None,
            })
            .collect();
        let last = version + events.len() as u64;
        let subject = self
            .shredder
            .seal_events(context.aggregate_type, &mut events)?;
        self.check_limits(&events)?;
        let command = match &subject {
            Some(subject) => {
                self.shredder
                    .seal_command(&context.command_id, subject, context.command)?
            }
            None => context.command.clone(),
        };
        let personal = self.shredder.declares(context.aggregate_type);
        let snapshot = if !personal && snapshot_due(handler.snapshot_every(), version, last) {
            handler.evolve(state, &self.upcast_all(events.clone())?)?;
            Some(Snapshot {
                stream: stream.clone(),
                version: last,
                state_version: handler.state_version(),
                state: handler.state_to_json(state)?,
                taken_at: now,
                event_id: events.last().map(|event| event.id),
            })
        } else {
            None
        };
        let outbox = (self.config.record_outbox && !events.is_empty()).then(|| OutboxEntry {
            seq: 0,
            command_id: context.command_id.clone(),
            aggregate_type: context.aggregate_type.to_owned(),
            aggregate_id: context.id.to_owned(),
            stream: stream.clone(),
            command,
            expected_version: version,
            event_ids: events.iter().map(|event| event.id).collect(),
            idempotency_key: context.options.idempotency_key.clone(),
            correlation_id: context.options.correlation_id.clone(),
            causation_id: context.options.causation_id.clone(),
            attempt: 0,
            created_at: now,
        });
        Ok(Some(Commit {
            stream: stream.clone(),
            expected: ExpectedVersion::Exact(version),
            events,
            snapshot,
            idempotency,
            outbox,
            projector: self.projector.has_inline().then(|| self.projector.clone()),
        }))
    }
}
