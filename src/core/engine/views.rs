//! The engine's query side: registering projections, keeping them up to date, reading read
//! models, and live queries that fire when their result changes.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde_json::Value;

use super::Engine;
use crate::core::error::{Error, Result};
use crate::core::projection::{
    CatchUp, Page, Projection, ProjectionMode, ProjectionOptions, Projector, QuerySpec, namespace,
    retry_delay,
};
use crate::core::storage::{EventLog, EventStore, KeyVault, ReadModelStore, SyncBatch};

/// A projection's failed catch-up steps (the store failed, not an event), waiting for a retry.
#[derive(Debug, Clone, Default)]
pub struct Retry {
    pub(super) attempts: u32,
    pub(super) next_at: i64,
    pub(super) last_error: Option<Error>,
}

/// What a live query watches.
#[derive(Debug, Clone)]
pub enum Watch {
    /// One document by key.
    Key(String),
    /// The first page of an index query.
    Query(QuerySpec),
}

/// Identifies a live query, to cancel it.
pub type SubscriptionId = u64;

struct Subscription {
    id: SubscriptionId,
    projection: String,
    watch: Watch,
    last: Option<Value>,
    callback: Rc<dyn Fn(&Value)>,
}

/// The live queries of an engine.
#[derive(Default)]
pub struct Subscriptions {
    next: Cell<SubscriptionId>,
    live: RefCell<Vec<Subscription>>,
}

impl<S: EventLog + ReadModelStore + KeyVault> Engine<S> {
    /// The projections the engine runs (to hand to a store that feeds them by itself).
    pub fn projector(&self) -> &Rc<Projector> {
        &self.projector
    }

    /// Registers a projection; do it before the engine is used.
    pub fn register_projection(
        &mut self,
        projection: Rc<dyn Projection>,
        options: ProjectionOptions,
    ) -> Result<()> {
        Rc::get_mut(&mut self.projector)
            .ok_or_else(|| Error::invalid("projections are registered before the engine is used"))?
            .add(projection, options)
    }

    /// One catch-up step of every projection that has work: first builds and rebuilds after a
    /// version change (at most `limit` events), background catch-up (at most its batch size).
    /// A step's `retry_at` says when a projection that waits wants to be stepped again.
    ///
    /// A step that fails (a storage error) is retried on a later call after a backoff that
    /// doubles from the projection's `backoff_ms`; the failure shows in its status meanwhile.
    /// (An event that fails is the projector's business: see [`crate::core::projection`].)
    pub async fn run_projections(&self, limit: usize) -> Result<Vec<(String, CatchUp)>> {
        self.ensure_keys().await?;
        if self.shredder.ring().take_missing() {
            // A step met a key that another tab made: read the key store again.
            self.reload_keys().await?;
        }
        let mut steps = Vec::new();
        let now = self.clock.now().millis();
        for registered in self.projector.all() {
            let name = registered.projection.name();
            let waiting = (self.retries.borrow().get(name))
                .map(|retry| retry.next_at)
                .filter(|next_at| *next_at > now);
            if let Some(next_at) = waiting {
                let step = CatchUp {
                    retry_at: Some(next_at),
                    ..CatchUp::default()
                };
                steps.push((name.to_owned(), step));
                continue;
            }
            let batch = match registered.options.mode {
                ProjectionMode::Background { batch_size } => batch_size.min(limit),
                ProjectionMode::Inline => limit,
            };
            match self
                .store
                .run_projection(&self.projector, name, batch)
                .await
            {
                Ok(step) => {
                    self.retries.borrow_mut().remove(name);
                    steps.push((name.to_owned(), step));
                }
                Err(error) => {
                    let mut retries = self.retries.borrow_mut();
                    let retry = retries.entry(name.to_owned()).or_default();
                    retry.attempts += 1;
                    let delay = retry_delay(registered.options.backoff_ms, retry.attempts);
                    retry.next_at = now.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
                    retry.last_error = Some(error);
                    let step = CatchUp {
                        retry_at: Some(retry.next_at),
                        ..CatchUp::default()
                    };
                    steps.push((name.to_owned(), step));
                }
            }
        }
        if steps.iter().any(|(_, step)| step.processed > 0) {
            self.refresh_subscriptions().await;
        }
        Ok(steps)
    }

    /// Runs every projection until it is up to date, stopped, or waiting to retry a failed
    /// event; fails with a projection's error when one of its steps fails (the store failed),
    /// rather than waiting out its retries.
    pub async fn catch_up_projections(&self) -> Result<()> {
        loop {
            let steps = self.run_projections(500).await?;
            if steps.iter().all(|(_, step)| step.finished) {
                return Ok(());
            }
            let failed =
                (self.retries.borrow().values()).find_map(|retry| retry.last_error.clone());
            if let Some(error) = failed {
                return Err(error);
            }
        }
    }

    async fn active_namespace(&self, name: &str) -> Result<(String, Vec<String>)> {
        let registered = self.projector.registered(name)?;
        let version = self
            .store
            .projection_state(name)
            .await?
            .map_or(0, |state| state.version);
        Ok((namespace(name, version), registered.indexes().to_vec()))
    }

    /// The document under `key` in read model `name`.
    pub async fn get(&self, name: &str, key: &str) -> Result<Option<Value>> {
        let (ns, _) = self.active_namespace(name).await?;
        self.store.get_doc(&ns, key).await
    }

    /// A page of the documents of read model `name` that `spec` selects.
    pub async fn query(&self, name: &str, spec: QuerySpec) -> Result<Page> {
        let (ns, indexes) = self.active_namespace(name).await?;
        self.store
            .query_docs(&ns, &spec.into_query(&indexes)?)
            .await
    }

    /// Calls `callback` with the current result of `watch` on read model `name`, then each time
    /// that result changes.
    pub async fn subscribe(
        &self,
        name: &str,
        watch: Watch,
        callback: Rc<dyn Fn(&Value)>,
    ) -> Result<SubscriptionId> {
        let current = self.evaluate(name, &watch).await?;
        callback(&current);
        let id = self.subscriptions.next.get();
        self.subscriptions.next.set(id + 1);
        let subscription = Subscription {
            id,
            projection: name.to_owned(),
            watch,
            last: Some(current),
            callback,
        };
        self.subscriptions.live.borrow_mut().push(subscription);
        Ok(id)
    }

    /// Stops a live query.
    pub fn unsubscribe(&self, id: SubscriptionId) {
        self.subscriptions
            .live
            .borrow_mut()
            .retain(|subscription| subscription.id != id);
    }

    async fn evaluate(&self, name: &str, watch: &Watch) -> Result<Value> {
        let (ns, indexes) = self.active_namespace(name).await?;
        Ok(match watch {
            Watch::Key(key) => self.store.get_doc(&ns, key).await?.unwrap_or(Value::Null),
            Watch::Query(spec) => {
                let query = spec.clone().into_query(&indexes)?;
                serde_json::to_value(self.store.query_docs(&ns, &query).await?)?
            }
        })
    }

    /// Re-evaluates every live query and calls those whose result changed (after commits here,
    /// in other tabs, and after sync).
    pub async fn refresh_subscriptions(&self) {
        let watched: Vec<(SubscriptionId, String, Watch)> = self
            .subscriptions
            .live
            .borrow()
            .iter()
            .map(|s| (s.id, s.projection.clone(), s.watch.clone()))
            .collect();
        for (id, name, watch) in watched {
            let Ok(current) = self.evaluate(&name, &watch).await else {
                continue;
            };
            let changed = {
                let mut live = self.subscriptions.live.borrow_mut();
                let Some(subscription) = live.iter_mut().find(|s| s.id == id) else {
                    continue;
                };
                if subscription.last.as_ref() == Some(&current) {
                    None
                } else {
                    subscription.last = Some(current.clone());
                    Some(subscription.callback.clone())
                }
            };
            if let Some(callback) = changed {
                callback(&current);
            }
        }
    }
}

impl<S: EventStore> Engine<S> {
    /// Applies a sync batch and corrects the inline projections in the same write.
    pub async fn apply_sync(&self, batch: SyncBatch) -> Result<()> {
        self.ensure_keys().await?;
        self.save_new_keys().await?;
        self.store.apply_sync(batch, Some(&self.projector)).await?;
        self.refresh_subscriptions().await;
        Ok(())
    }
}
