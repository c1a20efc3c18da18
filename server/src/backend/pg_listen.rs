//! Cross-process head signals on PostgreSQL: appends `NOTIFY` (delivered at commit) with the
//! payload `["tenant", head, "origin"]`, and every process `LISTEN`s and forwards what it hears
//! from *other* processes to its own [`Notifier`]. Its own commits it announced already, with
//! their events, from memory: forwarding them again would wake every subscriber for nothing,
//! and, arriving before the announcement, make each of them read the database.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::task::AbortHandle;

use super::{Notifier, StoreError};

/// The channel appends notify on.
pub const CHANNEL: &str = "fieldstream_heads";

/// The forwarding task; stopped when dropped (with the last clone of the backend).
#[derive(Debug)]
pub struct Listening(AbortHandle);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A signal as processes send it: `[tenant, head]` (before origins), or `[tenant, head, origin]`.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Payload {
    WithOrigin(String, u64, String),
    Plain(String, u64),
}

/// A new process's origin: what its notifications carry so that it can skip them.
pub fn new_origin() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Starts listening on `pool`'s database and forwarding the signals of other processes than
/// `origin` to `notifier`.
pub async fn listen(
    pool: &PgPool,
    notifier: Notifier,
    origin: String,
) -> Result<Listening, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    let task = tokio::spawn(forward(listener, notifier, origin));
    Ok(Listening(task.abort_handle()))
}

async fn forward(mut listener: PgListener, notifier: Notifier, origin: String) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => match serde_json::from_str::<Payload>(notification.payload())
            {
                Ok(Payload::WithOrigin(_, _, from)) if from == origin => {}
                Ok(Payload::WithOrigin(tenant, head, _) | Payload::Plain(tenant, head)) => {
                    notifier.notify(Some(&tenant), head);
                }
                Err(error) => tracing::warn!(%error, "ignored a malformed notification"),
            },
            // The connection was lost and is back: notifications may have been missed.
            Ok(None) => notifier.notify(None, 0),
            Err(error) => {
                tracing::warn!(%error, "lost the notification connection; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                notifier.notify(None, 0);
            }
        }
    }
}
