//! What a decision's surroundings need from the outside world: the time, fresh ids, a timer
//! and random numbers for backoffs.
//!
//! The engine takes them as trait objects so that tests and simulations can make them
//! deterministic (`Engine::with_runtime`); the platform layer outside the core supplies the
//! real clock and timer for native code and for wasm (`Engine::new`).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;

use uuid::Uuid;

use crate::core::event::Timestamp;

/// A source of the current time.
pub trait Clock {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// A source of fresh, unique ids.
pub trait IdSource {
    /// A new id, never returned before.
    fn new_id(&self) -> Uuid;
}

/// A timer: what the engine waits with before it decides a conflicting command again.
pub trait Sleeper {
    /// A future that completes after `millis` milliseconds.
    fn sleep(&self, millis: u64) -> Pin<Box<dyn Future<Output = ()>>>;
}

/// Where the random share of a backoff comes from.
pub trait Jitter {
    /// A whole number from 0 to `ceiling`, both included.
    fn pick(&self, ceiling: u64) -> u64;
}

/// Uniform picks from the platform's secure random source (the one random ids come from).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn pick(&self, ceiling: u64) -> u64 {
        match (ceiling, getrandom::u64()) {
            (u64::MAX, Ok(random)) => random,
            (_, Ok(random)) => random % (ceiling + 1),
            // No randomness to be had: the whole backoff, which is never shorter.
            (_, Err(_)) => ceiling,
        }
    }
}

/// Always the ceiling: backoffs without their random share, for tests and simulations.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJitter;

impl Jitter for NoJitter {
    fn pick(&self, ceiling: u64) -> u64 {
        ceiling
    }
}

/// Random version-4 UUIDs from the platform's secure random source.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn new_id(&self) -> Uuid {
        Uuid::new_v4()
    }
}

/// A clock that stands still until moved: for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock(Cell<i64>);

impl ManualClock {
    /// A clock showing `millis` milliseconds since the epoch.
    pub fn at(millis: i64) -> Self {
        ManualClock(Cell::new(millis))
    }

    /// Moves the clock forward by `millis` milliseconds.
    pub fn advance(&self, millis: i64) {
        self.0.set(self.0.get() + millis);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.get())
    }
}

/// Ids counted up from a seed: deterministic, for tests and simulations.
#[derive(Debug, Default)]
pub struct SequentialIds {
    seed: u64,
    next: Cell<u64>,
}

impl SequentialIds {
    /// Ids derived from `seed`; two sources with different seeds never collide.
    pub fn with_seed(seed: u64) -> Self {
        SequentialIds {
            seed,
            next: Cell::new(1),
        }
    }
}

impl IdSource for SequentialIds {
    fn new_id(&self) -> Uuid {
        let n = self.next.get();
        self.next.set(n + 1);
        Uuid::from_u64_pair(self.seed, n)
    }
}

/// The id of the `attempt`-th decision of command `command_id`: the same inputs always give
/// the same id, so a re-decided command's events are recognisable across retries.
pub fn derived_event_id(command_id: &str, attempt: u32, index: usize) -> Uuid {
    let name = format!("{command_id}/{attempt}/{index}");
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}
