//! What the projector does when an event fails (its `apply` or an upcaster throws): it keeps
//! the event for a retry after a backoff that doubles from `backoff_ms`, up to `max_retries`
//! times, and only then dead-letters it and stops there or skips it (`on_failure`).
//!
//! Everything is recorded in the projection's stored state and its dead letters, in the write
//! that met the failure; no time passes here. The catch-up path tries the event again once the
//! clock shows its `next_at` (an inline projection's failure is left to it the same way).

use super::fold::{Flow, Run};
use super::projector::Projector;
use super::storage::DocTx;
use super::{DeadLetter, EventRetry, OnFailure};
use crate::core::error::{Error, Result};
use crate::core::event::StoredEvent;

/// The longest wait between two tries of an event: one day.
const MAX_BACKOFF_MS: u64 = 86_400_000;

/// The delay before the try that follows failure number `attempts` (1, 2…): `backoff_ms`,
/// doubled for each failure after the first, at most a day.
pub fn retry_delay(backoff_ms: u64, attempts: u32) -> u64 {
    let doublings = attempts.saturating_sub(1).min(32);
    backoff_ms
        .saturating_mul(1u64 << doublings)
        .min(MAX_BACKOFF_MS)
}

/// An error's stable code as dead letters and retries keep it: the domain's own code for a
/// domain error.
pub fn error_code(error: &Error) -> String {
    match error {
        Error::Domain(domain) => domain.code.clone(),
        other => other.code().to_owned(),
    }
}

/// An error's message as dead letters and retries keep it: its own words, without the kind
/// its code already names (a domain error's message, a storage error's detail).
pub fn error_message(error: &Error) -> String {
    match error {
        Error::Domain(domain) => domain.message.clone(),
        Error::NotFound(message) | Error::InvalidInput(message) => message.clone(),
        Error::Storage(detail)
        | Error::StorageFull(detail)
        | Error::Codec(detail)
        | Error::Network(detail)
        | Error::Unauthorized(detail)
        | Error::Crypto(detail) => detail.message.clone(),
        Error::Conflict { .. } | Error::Thrown(_) => error.to_string(),
    }
}

impl Projector {
    /// Records that `stored` failed with `error` in the run's state: a retry while attempts are
    /// left, else a dead letter (and the event is passed over from then on, when the projection
    /// skips). Says whether the fold goes on past the event.
    pub(super) fn failed<T: DocTx>(
        &self,
        tx: &T,
        run: &mut Run<'_>,
        stored: &StoredEvent,
        error: &Error,
    ) -> Result<Flow> {
        run.must_store = true;
        let options = run.registered.options;
        let id = stored.event.id;
        let attempts = match &run.state.retry {
            Some(retry) if retry.event_id == id => retry.attempts.saturating_add(1),
            _ => 1,
        };
        if attempts <= options.max_retries {
            let delay = retry_delay(options.backoff_ms, attempts);
            run.state.retry = Some(EventRetry {
                event_id: id,
                seq: stored.seq,
                attempts,
                next_at: self
                    .now()
                    .saturating_add(i64::try_from(delay).unwrap_or(i64::MAX)),
                code: error_code(error),
                message: error_message(error),
            });
            return Ok(Flow::Halt);
        }
        run.state.retry = None;
        let skipped = options.on_failure == OnFailure::Skip;
        tx.put_dead_letter(&DeadLetter {
            projection: run.registered.projection.name().to_owned(),
            seq: stored.seq,
            event: stored.event.clone(),
            code: error_code(error),
            message: error_message(error),
            skipped,
            attempts,
        })?;
        if skipped {
            run.state.passed.push(id);
            Ok(Flow::Next)
        } else {
            run.state.stopped_at = Some(stored.seq);
            Ok(Flow::Halt)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::retry_delay;

    #[test]
    fn the_delay_doubles_from_the_backoff_and_is_capped() {
        let delays: Vec<u64> = (1..=5).map(|attempt| retry_delay(100, attempt)).collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1_600]);
        assert_eq!(retry_delay(0, 7), 0);
        assert_eq!(retry_delay(1_000, 60), 86_400_000);
    }
}
