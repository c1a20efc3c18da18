//! [`ReadModelStore`]: the projections a store runs and the documents they write.

use serde_json::Value;

use crate::core::projection::{CatchUp, DeadLetter, Page, ProjectionOperation, Projector, Query};
use crate::core::{ProjectionState, Result};

/// The read models of a store: its projections' state, dead letters and documents.
#[allow(async_fn_in_trait)]
pub trait ReadModelStore {
    /// Runs one catch-up step of projection `name` (at most `limit` events) in one write.
    async fn run_projection(
        &self,
        projector: &Projector,
        name: &str,
        limit: usize,
    ) -> Result<CatchUp>;

    /// Carries out an operator's `operation` on projection `name` (retry its failed events, or
    /// skip one) in one write; fails with `InvalidInput` for an unknown projection and
    /// `NotFound` for an event it has no dead letter for, and then writes nothing.
    async fn operate_projection(
        &self,
        projector: &Projector,
        name: &str,
        operation: ProjectionOperation,
    ) -> Result<()>;

    /// The stored state of projection `name`.
    async fn projection_state(&self, name: &str) -> Result<Option<ProjectionState>>;

    /// The events projection `name` failed on.
    async fn dead_letters(&self, name: &str) -> Result<Vec<DeadLetter>>;

    /// A document of projection namespace `ns`.
    async fn get_doc(&self, ns: &str, key: &str) -> Result<Option<Value>>;

    /// A page of the documents of namespace `ns` an index query selects, reading only those.
    async fn query_docs(&self, ns: &str, query: &Query) -> Result<Page>;

    /// How many events a fold at `checkpoint` and `pending_upto` has not processed yet.
    async fn unprocessed(&self, checkpoint: u64, pending_upto: u64) -> Result<u64>;
}
