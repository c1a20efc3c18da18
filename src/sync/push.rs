//! The push half of sync: which queued commands go in a batch, grouped into one append per run
//! of a stream's consecutive commands, and sending them so that a refusal lands on the command
//! that caused it.

use std::collections::HashSet;
use std::ops::Range;

use super::{SyncClient, TraceParent, Transport};
use crate::core::{Error, ExpectedVersion, Result, StreamId};
use crate::protocol::{
    AppendResponse, BatchAppend, BatchRequest, BatchResult, ClientEvent, ErrorBody,
};
use crate::store::{EventStore, QueuedCommand};

/// The oldest commands up to `batch_size` events (at least one command).
pub(super) fn choose(queue: &[QueuedCommand], batch_size: usize) -> &[QueuedCommand] {
    let mut events = 0;
    let count = queue
        .iter()
        .take_while(|queued| {
            let size = queued.entry.event_ids.len();
            let fits = events == 0 || events + size <= batch_size;
            events += size;
            fits
        })
        .count();
    &queue[..count]
}

/// The chosen commands as appends: consecutive commands of one stream form one append (atomic
/// on the server, at the first one's expected version), and the batch ends before a stream comes
/// back after another one, or reaches a stream in `busy` (one whose earlier commands are still
/// on their way). A later command's expected version counts on the earlier ones of its stream;
/// sent on its own while they may still be refused, it could land on another device's events,
/// undecided on them.
pub(super) fn group_by_stream(
    chosen: &[QueuedCommand],
    busy: &HashSet<StreamId>,
) -> Vec<Range<usize>> {
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut seen: HashSet<&StreamId> = busy.iter().collect();
    for (index, queued) in chosen.iter().enumerate() {
        let entry = &queued.entry;
        if let Some(last) = groups.last_mut() {
            let previous = &chosen[index - 1].entry;
            if previous.stream == entry.stream
                && previous.expected_version + previous.event_ids.len() as u64
                    == entry.expected_version
            {
                last.end = index + 1;
                continue;
            }
        }
        if !seen.insert(&entry.stream) {
            break;
        }
        groups.push(index..index + 1);
    }
    groups
}

/// The appends of a batch of `commands` grouped as `groups`.
pub(super) fn appends_of(
    commands: &[QueuedCommand],
    groups: &[Range<usize>],
) -> Result<Vec<BatchAppend>> {
    groups
        .iter()
        .map(|group| {
            let first = &commands[group.start].entry;
            let events = commands[group.clone()]
                .iter()
                .flat_map(|queued| &queued.events)
                .map(ClientEvent::from_envelope)
                .collect::<Result<Vec<_>>>()?;
            Ok(BatchAppend {
                stream: first.stream.clone(),
                expected_version: ExpectedVersion::Exact(first.expected_version),
                events,
            })
        })
        .collect()
}

/// What became of one group (one stream's consecutive commands).
#[derive(Debug, Clone, Default)]
pub(super) struct GroupOutcome {
    /// The accepted commands from the group's start, as runs: how many commands each answer
    /// covers, and the answer.
    pub accepted: Vec<(usize, AppendResponse)>,
    /// Why the rest was not accepted; `None` when every command was.
    pub stop: Option<Stop>,
}

impl GroupOutcome {
    /// How many commands were accepted.
    pub fn accepted_count(&self) -> usize {
        self.accepted.iter().map(|(count, _)| count).sum()
    }
}

/// What stopped a group.
#[derive(Debug, Clone)]
pub(super) enum Stop {
    /// The stream moved on: the next command was not accepted (nor any after it).
    Conflict,
    /// The next command was refused for good; the ones after it were not sent.
    Refused(ErrorBody),
}

/// What a batch request answered: each group's outcome, and the server's head (when it says).
#[derive(Debug, Clone)]
pub(super) struct Pushed {
    /// Per group, in order.
    pub groups: Vec<GroupOutcome>,
    /// The newest position the caller may read, as of the answer.
    pub head: Option<u64>,
}

/// Sends the batch; when the server refuses it as a whole, sends its appends one by one, and a
/// refused group of several commands one command at a time up to the one refused, so the
/// refusal lands on the command that caused it.
pub(super) async fn push<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    commands: &[QueuedCommand],
    groups: &[Range<usize>],
    appends: Vec<BatchAppend>,
    trace: &TraceParent,
) -> Result<Pushed> {
    let request = BatchRequest { appends };
    let (results, head) = match client.send_batch(&request, trace).await? {
        Ok(response) if response.results.len() == groups.len() => (response.results, response.head),
        Ok(response) => {
            return Err(Error::Network(
                format!(
                    "the server answered {} results for {} appends",
                    response.results.len(),
                    groups.len()
                )
                .into(),
            ));
        }
        Err(body) if request.appends.len() == 1 => (vec![BatchResult::Error(body)], None),
        Err(_) => {
            let mut results = Vec::with_capacity(request.appends.len());
            let mut head = None;
            for append in &request.appends {
                let (result, answered) = send_one(client, append.clone(), trace).await?;
                head = head.max(answered);
                results.push(result);
            }
            (results, head)
        }
    };
    let mut outcomes = Vec::with_capacity(results.len());
    for ((group, append), result) in groups.iter().zip(&request.appends).zip(results) {
        outcomes.push(match result {
            BatchResult::Ok(response) => GroupOutcome {
                accepted: vec![(group.len(), response)],
                stop: None,
            },
            BatchResult::Conflict(_) => GroupOutcome {
                accepted: Vec::new(),
                stop: Some(Stop::Conflict),
            },
            BatchResult::Error(body) if group.len() == 1 => GroupOutcome {
                accepted: Vec::new(),
                stop: Some(Stop::Refused(body)),
            },
            BatchResult::Error(_) => {
                let sizes: Vec<usize> = commands[group.clone()]
                    .iter()
                    .map(|queued| queued.entry.event_ids.len())
                    .collect();
                split(client, append, &sizes, trace).await?
            }
        });
    }
    Ok(Pushed {
        groups: outcomes,
        head,
    })
}

/// Sends a refused group's events command by command (`sizes`: each command's event count),
/// stopping at the first that is not accepted.
async fn split<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    append: &BatchAppend,
    sizes: &[usize],
    trace: &TraceParent,
) -> Result<GroupOutcome> {
    let ExpectedVersion::Exact(mut expected) = append.expected_version else {
        return Err(Error::Storage(
            "an outbox append without an exact version".into(),
        ));
    };
    let mut outcome = GroupOutcome::default();
    let mut rest = append.events.as_slice();
    for &count in sizes {
        let single = BatchAppend {
            stream: append.stream.clone(),
            expected_version: ExpectedVersion::Exact(expected),
            events: rest[..count].to_vec(),
        };
        match send_one(client, single, trace).await?.0 {
            BatchResult::Ok(response) => outcome.accepted.push((1, response)),
            BatchResult::Conflict(_) => {
                outcome.stop = Some(Stop::Conflict);
                return Ok(outcome);
            }
            BatchResult::Error(body) => {
                outcome.stop = Some(Stop::Refused(body));
                return Ok(outcome);
            }
        }
        expected += count as u64;
        rest = &rest[count..];
    }
    Ok(outcome)
}

/// Sends one append as a batch of its own.
async fn send_one<S: EventStore, T: Transport>(
    client: &SyncClient<S, T>,
    append: BatchAppend,
    trace: &TraceParent,
) -> Result<(BatchResult, Option<u64>)> {
    let single = BatchRequest {
        appends: vec![append],
    };
    match client.send_batch(&single, trace).await? {
        Ok(mut response) if response.results.len() == 1 => {
            Ok((response.results.remove(0), response.head))
        }
        Ok(_) => Err(Error::Network(
            "the server answered a batch of one with another count".into(),
        )),
        Err(body) => Ok((BatchResult::Error(body), None)),
    }
}
