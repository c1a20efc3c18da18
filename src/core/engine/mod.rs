//! The engine: runs commands against aggregates and keeps their events in a store
//! (an [`EventLog`], with the [`ReadModelStore`] and [`KeyVault`] of its projections and keys).
//!
//! `execute` loads an aggregate (latest snapshot plus the events after it, upcast to their
//! current shape), decides the command synchronously, and commits the new events with the
//! expected version the decision was made at, together with a snapshot when one is due and the
//! idempotency record when the command has a key — one atomic write. When another writer got
//! there first, the engine waits a backoff, reloads and decides again, while the command's
//! retry budget in time lasts (see [`retry`](self::retry)).

mod execute;
mod inline;
mod load;
mod personal;
mod rebase;
mod retry;
mod status;
mod views;
mod warm;

pub use execute::{ExecuteOptions, ExecuteResult};
pub use load::Loaded;
pub use rebase::Redecision;
pub use retry::ConflictRetry;
pub use status::{DeadLetterStatus, FailureStatus, ProjectionStatus, RebuildStatus, RetryStatus};
pub use views::{SubscriptionId, Watch};

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::core::aggregate::{Aggregate, AggregateHandler, handler_for};
use crate::core::error::{Error, Result};
use crate::core::idempotency::DEFAULT_IDEMPOTENCY_TTL_MS;
use crate::core::limits::CommandLimits;
use crate::core::personal::Shredder;
use crate::core::projection::Projector;
use crate::core::runtime::{Clock, IdSource, Jitter, RandomIds, RandomJitter, Sleeper};
#[cfg(doc)]
use crate::core::storage::{EventLog, KeyVault, ReadModelStore};
use crate::core::stream::{StreamId, check_aggregate_type};
use crate::core::upcast::Upcasters;

/// Tunables of an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How a command is decided again after another writer committed to its stream first.
    pub conflict_retry: ConflictRetry,
    /// How long an idempotency key is remembered, in milliseconds.
    pub idempotency_ttl_ms: i64,
    /// How many events one store read returns at most.
    pub read_page_size: usize,
    /// Whether each command leaves an outbox entry for sync (on by default).
    pub record_outbox: bool,
    /// Whether a conflict at commit asks the aggregate's conflict policy (with the events the
    /// other writer added) before deciding again; a `reject` then fails the command with the
    /// conflict. Off by default: a local store's conflict is another tab of the same device, so
    /// the command is decided again. Remote stores turn it on: there it is another device.
    pub conflict_policy_at_commit: bool,
    /// How many aggregates keep their state in memory between commands (see
    /// [`warm`](self::warm)); 0 folds every command's aggregate from the store.
    pub warm_aggregates: usize,
}

/// Counters of what an [`Engine`] has done since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineStats {
    /// Commands that committed (or decided nothing).
    pub commands: u64,
    /// Events those commands committed.
    pub events: u64,
    /// Commands answered from an earlier result with the same idempotency key.
    pub deduplicated: u64,
    /// Commands that failed (refused, conflicted, invalid, storage errors).
    pub failed: u64,
    /// Times a command was decided again after another writer committed first.
    pub conflict_retries: u64,
    /// Commands decided on a warm state, without reading their aggregate.
    pub warm_commands: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            conflict_retry: ConflictRetry::default(),
            idempotency_ttl_ms: DEFAULT_IDEMPOTENCY_TTL_MS,
            read_page_size: 500,
            record_outbox: true,
            conflict_policy_at_commit: false,
            warm_aggregates: 256,
        }
    }
}

/// Runs commands against aggregates over one store: executing, loading and reading needs its
/// [`EventLog`], [`ReadModelStore`] and [`KeyVault`]; the rejected inbox and applying a sync also
/// its [`CommandQueue`](crate::core::storage::CommandQueue).
pub struct Engine<S> {
    store: S,
    handlers: HashMap<String, Rc<dyn AggregateHandler>>,
    upcasters: Rc<Upcasters>,
    clock: Rc<dyn Clock>,
    ids: Rc<dyn IdSource>,
    sleeper: Rc<dyn Sleeper>,
    jitter: Rc<dyn Jitter>,
    config: EngineConfig,
    stats: Cell<EngineStats>,
    projector: Rc<Projector>,
    shredder: Rc<Shredder>,
    subscriptions: views::Subscriptions,
    retries: std::cell::RefCell<HashMap<String, views::Retry>>,
    limits: std::cell::RefCell<Option<Rc<dyn CommandLimits>>>,
    warm: warm::WarmCache,
}

impl<S> Engine<S> {
    /// An engine over `store` that tells the time by `clock` and waits with `sleeper`, with
    /// random ids and the default config (`Engine::new` gives it the platform's own).
    pub fn with_runtime(store: S, clock: Rc<dyn Clock>, sleeper: Rc<dyn Sleeper>) -> Self {
        let shredder = Rc::new(Shredder::new());
        let mut projector = Projector::new(clock.clone());
        projector.set_shredder(shredder.clone());
        Engine {
            store,
            handlers: HashMap::new(),
            upcasters: Rc::default(),
            clock,
            ids: Rc::new(RandomIds),
            sleeper,
            jitter: Rc::new(RandomJitter),
            config: EngineConfig::default(),
            stats: Cell::new(EngineStats::default()),
            projector: Rc::new(projector),
            shredder,
            subscriptions: views::Subscriptions::default(),
            retries: Default::default(),
            limits: Default::default(),
            warm: warm::WarmCache::new(EngineConfig::default().warm_aggregates),
        }
    }

    /// Replaces the clock (for tests and simulations); projections time their retries by it.
    pub fn with_clock(mut self, clock: Rc<dyn Clock>) -> Self {
        self.projector.set_clock(clock.clone());
        self.clock = clock;
        self
    }

    /// Replaces the id source (for tests and simulations).
    pub fn with_ids(mut self, ids: Rc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// Replaces the timer that conflict retries wait with (for tests and simulations).
    pub fn with_sleeper(mut self, sleeper: Rc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Replaces the source of the random share of conflict backoffs (for tests and simulations).
    pub fn with_jitter(mut self, jitter: Rc<dyn Jitter>) -> Self {
        self.jitter = jitter;
        self
    }

    /// Replaces the config.
    pub fn with_config(mut self, config: EngineConfig) -> Self {
        self.warm = warm::WarmCache::new(config.warm_aggregates);
        self.config = config;
        self
    }

    /// Replaces the upcasters applied to every event read: by aggregates and by projections
    /// (one shared instance).
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = Rc::new(upcasters);
        self.warm.clear();
        self.projector.set_upcasters(self.upcasters.clone());
        self
    }

    /// Registers a Rust aggregate.
    pub fn register<A: Aggregate>(&mut self) -> Result<()> {
        self.register_handler(handler_for::<A>())
    }

    /// Registers an aggregate through its handler; its type name must be new and valid.
    pub fn register_handler(&mut self, handler: Rc<dyn AggregateHandler>) -> Result<()> {
        let name = handler.aggregate_type().to_owned();
        check_aggregate_type(&name)?;
        if self.handlers.contains_key(&name) {
            return Err(Error::InvalidInput(format!(
                "aggregate {name} is already registered"
            )));
        }
        if let Some(personal) = handler.personal_data() {
            self.shredder.declare(&name, personal)?;
        }
        self.handlers.insert(name, handler);
        Ok(())
    }

    /// Makes every command keep `limits` (a sync client installs its server's); `None` lifts
    /// them. A command that breaks them fails with `InvalidInput`, nothing written.
    pub fn set_limits(&self, limits: Option<Rc<dyn CommandLimits>>) {
        *self.limits.borrow_mut() = limits;
    }

    /// Whether commands are held to limits.
    pub fn has_limits(&self) -> bool {
        self.limits.borrow().is_some()
    }

    fn check_limits(&self, events: &[crate::core::EventEnvelope]) -> Result<()> {
        match &*self.limits.borrow() {
            Some(limits) => limits.check(events),
            None => Ok(()),
        }
    }

    /// The store the engine writes to.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// What the engine has done since it was made.
    pub fn stats(&self) -> EngineStats {
        self.stats.get()
    }

    fn count(&self, update: impl FnOnce(&mut EngineStats)) {
        let mut stats = self.stats.get();
        update(&mut stats);
        self.stats.set(stats);
    }

    /// The engine's clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The names of the registered aggregate types.
    pub fn aggregate_types(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }

    fn handler(&self, aggregate_type: &str) -> Result<&Rc<dyn AggregateHandler>> {
        self.handlers.get(aggregate_type).ok_or_else(|| {
            Error::InvalidInput(format!("unknown aggregate type {aggregate_type:?}"))
        })
    }

    fn resolve(
        &self,
        aggregate_type: &str,
        id: &str,
    ) -> Result<(Rc<dyn AggregateHandler>, StreamId)> {
        let handler = self.handler(aggregate_type)?.clone();
        let stream = StreamId::for_aggregate(aggregate_type, id)?;
        Ok((handler, stream))
    }
}
