//! Cross-process head signals on PostgreSQL: appends `NOTIFY` (delivered at commit) with the
//! payload `["tenant", head]`, and every process `LISTEN`s and forwards what it hears to its
//! own [`Notifier`].

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

/// Starts listening on `pool`'s database and forwarding signals to `notifier`.
pub async fn listen(pool: &PgPool, notifier: Notifier) -> Result<Listening, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    let task = tokio::spawn(forward(listener, notifier));
    Ok(Listening(task.abort_handle()))
}

async fn forward(mut listener: PgListener, notifier: Notifier) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                match serde_json::from_str::<(String, u64)>(notification.payload()) {
                    Ok((tenant, head)) => notifier.notify(Some(&tenant), head),
                    Err(error) => tracing::warn!(%error, "ignored a malformed notification"),
                }
            }
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
