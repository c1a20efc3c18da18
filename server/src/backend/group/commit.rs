//! One group's commit: decided by the plan (on the versions this process remembers, when the
//! dialect allows it and they make every append new; again on what the database holds after a
//! wrong guess; again under the tenant's head lock after a race with another process), written
//! per tenant by the dialect, committed, then each append answered.

use std::sync::Arc;

use fieldstream::core::{StreamId, Timestamp};
use fieldstream::protocol::ServerEvent;
use tracing::Instrument;
use uuid::Uuid;

use super::versions::{Versions, all_new, appends_of};
use super::{Answer, Call, Dialect, NewAppend, Row, WriteError, Written};
use crate::backend::plan::{Pending, Plan, Planned, mismatch_message, placed_response, plan};
use crate::backend::rows::now_millis;
use crate::backend::{LiveEvent, Notifier, StoreError};

/// The calls of one tenant within a group, and what the writer made of them.
struct TenantGroup {
    tenant: Arc<str>,
    calls: Vec<usize>,
    plan: Option<Plan>,
    base: u64,
    head: Option<u64>,
}

/// Decides, writes and commits one group, then answers every call in it.
pub(super) async fn commit_group<D: Dialect>(dialect: &D, versions: &Versions, calls: Vec<Call>) {
    let span = tracing::info_span!(
        parent: &calls[0].span,
        "append transaction",
        appends = calls.len(),
        events = tracing::field::Empty,
    );
    for call in &calls[1..] {
        span.follows_from(&call.span);
    }
    let mut groups: Vec<TenantGroup> = Vec::new();
    for (index, call) in calls.iter().enumerate() {
        match groups.iter_mut().find(|group| group.tenant == call.tenant) {
            Some(group) => group.calls.push(index),
            None => groups.push(TenantGroup {
                tenant: call.tenant.clone(),
                calls: vec![index],
                plan: None,
                base: 0,
                head: None,
            }),
        }
    }
    let recorded_at = Timestamp(now_millis());
    let outcome = write_groups(dialect, versions, &calls, &mut groups, recorded_at)
        .instrument(span.clone())
        .await;
    if let Err(error) = outcome {
        let error = Arc::new(error);
        for call in calls {
            let _ = call.reply.send(Err(error.clone()));
        }
        return;
    }
    span.record(
        "events",
        groups
            .iter()
            .map(|group| group.plan.as_ref().map_or(0, |plan| plan.count))
            .sum::<u64>(),
    );
    let mut answers: Vec<Option<Answer>> = vec![None; calls.len()];
    for group in &groups {
        let Some(plan) = &group.plan else { continue };
        if let (true, Some(head)) = (plan.count > 0, group.head) {
            let _notify = tracing::info_span!(parent: &span, "notify", head).entered();
            announce(dialect.notifier(), &calls, group, plan, head, recorded_at);
        }
        for (&index, planned) in group.calls.iter().zip(&plan.appends) {
            let append = &calls[index].append;
            let written = match planned {
                Planned::New {
                    first_version,
                    offset,
                } => Written::Appended(placed_response(
                    &append.stream,
                    *first_version,
                    *offset,
                    append.events.len() as u64,
                    group.base,
                    recorded_at,
                )),
                Planned::Replay(response) => Written::Replayed(response.clone()),
                Planned::SameAs(earlier) => match answers[group.calls[*earlier]].as_ref() {
                    Some(Answer {
                        written: Written::Appended(response) | Written::Replayed(response),
                        ..
                    }) => Written::Replayed(response.clone()),
                    _ => Written::Mismatch(mismatch_message()),
                },
                Planned::Mismatch => Written::Mismatch(mismatch_message()),
                Planned::Conflict { current } => Written::Conflict { current: *current },
            };
            answers[index] = Some(Answer {
                written,
                head: group.head,
            });
        }
    }
    for (call, answer) in calls.into_iter().zip(answers) {
        let answer = answer.ok_or_else(|| Arc::new(StoreError::Data("unanswered".into())));
        let _ = call.reply.send(answer);
    }
}

/// Tells this process's subscribers of a tenant's commit: with its events, built once and
/// shared by all of them, when anyone listens.
fn announce(
    notifier: &Notifier,
    calls: &[Call],
    group: &TenantGroup,
    plan: &Plan,
    head: u64,
    recorded_at: Timestamp,
) {
    if !notifier.listening() {
        return;
    }
    let appends: Vec<&NewAppend> = group.calls.iter().map(|&i| &calls[i].append).collect();
    let events: Option<Vec<LiveEvent>> = rows_of(&appends, plan)
        .iter()
        .map(|row| server_event(row, group.base, recorded_at).and_then(LiveEvent::new))
        .collect();
    match events {
        Some(events) => notifier.committed(&group.tenant, events.into()),
        // Not expected (the events were checked before): subscribers read them instead.
        None => notifier.notify(Some(&group.tenant), head),
    }
}

/// The protocol event a written row holds, as a read would give it.
fn server_event(row: &Row<'_>, base: u64, recorded_at: Timestamp) -> Option<ServerEvent> {
    Some(ServerEvent {
        id: row.event.id,
        stream: StreamId::parse(row.stream).ok()?,
        version: row.version,
        position: base + row.offset,
        event_type: row.event.event_type.clone(),
        schema_version: u32::try_from(row.event.schema_version).ok()?,
        data: serde_json::from_str(&row.event.data).ok()?,
        metadata: serde_json::from_str(&row.event.metadata).ok()?,
        recorded_at,
    })
}

/// Writes each tenant's part of the group (deciding it again under the lock after a race) and
/// commits.
async fn write_groups<D: Dialect>(
    dialect: &D,
    versions: &Versions,
    calls: &[Call],
    groups: &mut [TenantGroup],
    recorded_at: Timestamp,
) -> Result<(), StoreError> {
    let mut session = dialect.open().await?;
    for group in groups.iter_mut() {
        let appends = appends_of(calls, &group.calls);
        let ids: Vec<Vec<Uuid>> = appends
            .iter()
            .map(|append| append.events.iter().map(|event| event.id).collect())
            .collect();
        let pending: Vec<Pending<'_>> = appends
            .iter()
            .zip(&ids)
            .map(|(append, ids)| Pending {
                stream: &append.stream,
                expected: append.expected,
                ids,
            })
            .collect();
        let all_ids: Vec<Uuid> = ids.iter().flatten().copied().collect();
        let mut streams: Vec<&str> = appends.iter().map(|a| a.stream.as_str()).collect();
        streams.sort_unstable();
        streams.dedup();
        let mut guess = if D::GUESSES {
            versions.guess(&group.tenant, &pending)
        } else {
            None
        };
        let mut locked = false;
        loop {
            let guessed = guess.is_some();
            let known = match guess.take() {
                Some(known) => known,
                None => {
                    dialect
                        .lookup(&mut session, &group.tenant, &all_ids, &streams)
                        .await?
                }
            };
            let plan = plan(&pending, &known);
            if guessed && !all_new(&plan) {
                continue;
            }
            if plan.count == 0 {
                group.head = known.head;
                group.plan = Some(plan);
                break;
            }
            let rows = rows_of(&appends, &plan);
            match dialect
                .write(&mut session, &group.tenant, &rows, plan.count, recorded_at)
                .await
            {
                Ok(base) => {
                    group.base = base;
                    group.head = Some(base + plan.count);
                    group.plan = Some(plan);
                    break;
                }
                // The guess was stale: read, and decide again.
                Err(WriteError::Race) if guessed => {}
                Err(WriteError::Race) if !locked => {
                    dialect.lock(&mut session, &group.tenant).await?;
                    locked = true;
                }
                Err(WriteError::Race) => {
                    return Err(StoreError::Data(
                        "a write under the head lock met a row written since its read".into(),
                    ));
                }
                Err(WriteError::Store(error)) => return Err(error),
            }
        }
    }
    dialect.close(session).await?;
    if D::GUESSES {
        for group in groups.iter() {
            if let Some(plan) = &group.plan {
                versions.record(&group.tenant, &appends_of(calls, &group.calls), plan);
            }
        }
    }
    Ok(())
}

/// The rows of the plan's new appends, in order.
fn rows_of<'a>(appends: &[&'a NewAppend], plan: &Plan) -> Vec<Row<'a>> {
    let mut rows = Vec::with_capacity(plan.count as usize);
    for (append, planned) in appends.iter().zip(&plan.appends) {
        if let Planned::New {
            first_version,
            offset,
        } = planned
        {
            for (n, event) in (0u64..).zip(&append.events) {
                rows.push(Row {
                    offset: offset + n + 1,
                    stream: append.stream.as_str(),
                    version: first_version + n,
                    event,
                });
            }
        }
    }
    rows
}
