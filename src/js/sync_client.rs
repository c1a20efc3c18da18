//! `SyncClient` in JavaScript: one store's sync with a `fieldstream-server`, for the package's
//! sync driver (`js/sync.js`), which decides when rounds run (network changes, timers, the live
//! feed, the tab that holds the sync lock) while everything a round does happens here.
//!
//! ```js
//! const client = wasmStore.syncClient();                // with open()'s `sync` option
//! client.onStatus((status) => render(status));
//! await client.sync();                                  // { pushed, pulled, conflicts, rejected }
//! client.receiveLive(after, JSON.stringify(events));    // events from GET /v1/subscribe
//! await client.applyLive();                             // stored, or null: pull instead
//! ```

use std::rc::Rc;

use js_sys::{Function, Promise};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::convert::to_js_json;
use super::error::to_js_error;
use super::fetch::FetchTransport;
use super::store::LocalStore;
use crate::core::{Engine, Error, Result};
use crate::protocol::ServerEvent;
use crate::store::CommandQueue;
use crate::sync::{SyncClient, SyncConfig, SyncStatus};

/// The sync client of the JS bindings.
pub type LocalSyncClient = SyncClient<LocalStore, FetchTransport>;

/// How a store's sync client talks to the server (the `sync` option of `open()`).
#[derive(Default)]
pub struct ConnectOptions {
    /// Events pushed per batch request (default 100).
    pub batch_size: Option<usize>,
    /// Milliseconds a request may take before it is sent again (default 20,000).
    pub timeout_ms: Option<u32>,
}

impl ConnectOptions {
    /// The sync client these options describe.
    pub fn client(
        self,
        engine: Rc<Engine<LocalStore>>,
        url: &str,
        token: Option<Function>,
    ) -> Result<LocalSyncClient> {
        let mut config = SyncConfig::default();
        if let Some(batch_size) = self.batch_size {
            if batch_size == 0 {
                return Err(Error::invalid("sync options: batchSize must be at least 1"));
            }
            config.batch_size = batch_size;
        }
        let mut transport = FetchTransport::new(url, token);
        if let Some(timeout_ms) = self.timeout_ms {
            transport = transport.with_timeout(timeout_ms.max(1));
        }
        Ok(SyncClient::new(engine, transport, config))
    }
}

/// One store's sync with a server.
#[wasm_bindgen(js_name = SyncClient)]
pub struct JsSyncClient {
    client: Rc<LocalSyncClient>,
}

impl JsSyncClient {
    /// Wraps a client shared with its store.
    pub fn new(client: Rc<LocalSyncClient>) -> Self {
        JsSyncClient { client }
    }
}

#[wasm_bindgen(js_class = SyncClient)]
impl JsSyncClient {
    /// Runs rounds until the outbox is drained; resolves to `{ pushed, pulled, conflicts, rejected }`.
    pub fn sync(&self) -> Promise {
        let client = self.client.clone();
        spawn(async move { client.sync().await })
    }

    /// Where sync stands: `{ online, pending, rejected, syncing, phase, progress, lastSyncAt, lastError, lag }`.
    pub fn status(&self) -> Result<JsValue, JsValue> {
        to_js_json(&self.client.status()).map_err(to_js_error)
    }

    /// Calls `listener(status)` on every change of the status; `null` stops it.
    #[wasm_bindgen(js_name = onStatus)]
    pub fn on_status(&self, listener: Option<Function>) {
        let observer = listener.map(|listener| {
            Rc::new(move |status: &SyncStatus| {
                if let Ok(value) = to_js_json(status) {
                    // A listener that throws must not break sync; the error is its own.
                    let _ = listener.call1(&JsValue::NULL, &value);
                }
            }) as Rc<dyn Fn(&SyncStatus)>
        });
        self.client.on_status(observer);
    }

    /// Re-reads the outbox and inbox sizes into the status (after a command here or in another tab).
    #[wasm_bindgen(js_name = refreshCounts)]
    pub fn refresh_counts(&self) -> Promise {
        let client = self.client.clone();
        spawn(async move { client.refresh_counts().await })
    }

    /// Counts a command just executed into the status at once.
    #[wasm_bindgen(js_name = noteCommand)]
    pub fn note_command(&self) {
        self.client.note_command();
    }

    /// Records whether the platform says the device is online.
    #[wasm_bindgen(js_name = setOnline)]
    pub fn set_online(&self, online: bool) {
        self.client.set_online(online);
    }

    /// The position the next pull starts after.
    pub fn checkpoint(&self) -> Promise {
        let client = self.client.clone();
        spawn(async move { client.engine().store().pull_checkpoint().await })
    }

    /// Takes live events (a JSON array of protocol events) that follow position `after`.
    #[wasm_bindgen(js_name = receiveLive)]
    pub fn receive_live(&self, after: f64, events: &str) -> Result<(), JsValue> {
        let events: Vec<ServerEvent> = serde_json::from_str(events)
            .map_err(|error| to_js_error(Error::invalid(format!("live events: {error}"))))?;
        let events = events.iter().map(ServerEvent::to_envelope).collect();
        self.client.receive_live(after as u64, events);
        Ok(())
    }

    /// Stores the live events received so far; resolves to a report, or `null` when the feed
    /// does not reach back to the checkpoint and a sync should pull instead.
    #[wasm_bindgen(js_name = applyLive)]
    pub fn apply_live(&self) -> Promise {
        let client = self.client.clone();
        spawn(async move { client.apply_live().await })
    }
}

/// Runs `work` as a JS promise that resolves to its value as plain JS or rejects with a typed error.
fn spawn<T: Serialize>(work: impl Future<Output = Result<T>> + 'static) -> Promise {
    spawn_boxed(Box::pin(async move { to_js_json(&work.await?) }))
}

/// The one instance of `future_to_promise` behind [`spawn`] (compiled once, not per method).
fn spawn_boxed(work: std::pin::Pin<Box<dyn Future<Output = Result<JsValue>>>>) -> Promise {
    future_to_promise(async move { work.await.map_err(to_js_error) })
}
