//! Deciding a command again after another writer committed to its stream first.
//!
//! Each retry waits first: exponential backoff with full jitter (a uniformly random share of a
//! ceiling that doubles from [`ConflictRetry::base_ms`] up to [`ConflictRetry::max_delay_ms`]),
//! so that writers that collided spread out instead of colliding again. A command keeps trying
//! while its budget in time, [`ConflictRetry::max_ms`] from its first conflict, lasts; then the
//! last conflict is its error. Time spent is the engine clock's since the first conflict, less
//! the time the store reports waiting out a server's rate limit meanwhile
//! ([`EventLog::rate_limited_ms`]), and never less than the backoffs asked for: a clock that
//! stands still (a test's) still spends the budget, and a store's waits never refill it.

use super::Engine;
use crate::core::error::{Error, Result};
use crate::core::storage::EventLog;

/// How a command that lost a race to another writer is decided again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConflictRetry {
    /// The ceiling of the first backoff in milliseconds, doubled for each further retry.
    pub base_ms: u64,
    /// The highest ceiling of one backoff, in milliseconds.
    pub max_delay_ms: u64,
    /// How long a command keeps retrying after its first conflict, in milliseconds; 0 fails
    /// at the first conflict. Its backoffs and attempts count; the store's waits for a
    /// server's rate limit (`429` with `Retry-After`, bounded by the store) do not.
    pub max_ms: u64,
    /// A safety net under the budget in time: retries of one command at most.
    pub max_attempts: u32,
}

impl Default for ConflictRetry {
    fn default() -> Self {
        ConflictRetry {
            base_ms: 5,
            max_delay_ms: 250,
            max_ms: 5_000,
            max_attempts: 1_000,
        }
    }
}

impl ConflictRetry {
    /// The ceiling of the backoff before retry number `retry` (1, 2…): `base_ms` doubled
    /// `retry - 1` times, at most `max_delay_ms`.
    pub fn ceiling(&self, retry: u32) -> u64 {
        let doublings = retry.saturating_sub(1).min(63);
        self.base_ms
            .saturating_mul(1 << doublings)
            .min(self.max_delay_ms)
    }
}

/// The retries of one command so far.
#[derive(Debug, Default)]
pub(super) struct Retries {
    /// The engine clock's time at the first conflict, and the store's rate-limit waits then.
    started: Option<(i64, u64)>,
    /// The backoffs asked for, in milliseconds.
    slept: u64,
    /// Retries made.
    count: u32,
}

impl<S: EventLog> Engine<S> {
    /// Waits out a backoff before the command is decided again after `conflict`, and counts
    /// the retry; gives `conflict` back when the budget is spent.
    pub(super) async fn back_off(&self, retries: &mut Retries, conflict: Error) -> Result<()> {
        let policy = self.config.conflict_retry;
        let now = (self.clock.now().0, self.store.rate_limited_ms());
        let started = *retries.started.get_or_insert(now);
        let elapsed = u64::try_from(now.0.saturating_sub(started.0)).unwrap_or(0);
        let rate_limited = now.1.saturating_sub(started.1);
        let spent = elapsed.saturating_sub(rate_limited).max(retries.slept);
        if spent >= policy.max_ms || retries.count >= policy.max_attempts {
            return Err(conflict);
        }
        retries.count += 1;
        let ceiling = policy.ceiling(retries.count).min(policy.max_ms - spent);
        let delay = self.jitter.pick(ceiling).min(ceiling);
        retries.slept = retries.slept.saturating_add(delay);
        self.count(|stats| stats.conflict_retries += 1);
        self.sleeper.sleep(delay).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ConflictRetry;

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap() {
        let retry = ConflictRetry {
            base_ms: 5,
            max_delay_ms: 100,
            ..ConflictRetry::default()
        };
        let ceilings: Vec<u64> = (1..=7).map(|n| retry.ceiling(n)).collect();
        assert_eq!(ceilings, vec![5, 10, 20, 40, 80, 100, 100]);
        assert_eq!(retry.ceiling(1_000), 100);
        let uncapped = ConflictRetry {
            max_delay_ms: u64::MAX,
            ..retry
        };
        assert_eq!(uncapped.ceiling(200), u64::MAX);
    }
}
