//! Projection work that needs a write of its own: a catch-up step, and an operator's retry or
//! skip. Each runs on one [`WriteTx`] and commits only when it succeeded.

use super::txn::WriteTx;
use super::{IndexedDbStore, errors};
use crate::core::Result;
use crate::core::projection::{CatchUp, ProjectionOperation, Projector};

/// Runs `work` in one write transaction: committed when it succeeds, aborted (nothing kept)
/// when it fails, reporting the cause of an abort the browser made.
async fn in_write<R>(
    store: &IndexedDbStore,
    context: &str,
    work: impl AsyncFnOnce(&WriteTx) -> Result<R>,
) -> Result<R> {
    let tx = WriteTx::begin(store).await?;
    match work(&tx).await {
        Ok(value) => {
            tx.finish().await.map_err(|error| {
                errors::aborted(context, error.as_ref(), "the transaction was aborted")
            })?;
            Ok(value)
        }
        Err(error) => Err(match tx.abort().await {
            Some(cause) => errors::aborted(context, Some(&cause), ""),
            None => error,
        }),
    }
}

/// One catch-up step of projection `name`.
pub async fn run(
    store: &IndexedDbStore,
    projector: &Projector,
    name: &str,
    limit: usize,
) -> Result<CatchUp> {
    in_write(store, "running a projection", async |tx| {
        projector.catch_up(tx, name, limit).await
    })
    .await
}

/// An operator's `operation` on projection `name`.
pub async fn operate(
    store: &IndexedDbStore,
    projector: &Projector,
    name: &str,
    operation: ProjectionOperation,
) -> Result<()> {
    in_write(store, "operating a projection", async |tx| {
        projector.operate(tx, name, operation).await
    })
    .await
}
