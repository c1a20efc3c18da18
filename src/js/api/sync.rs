//! Sync from JS: one `sync()` call drains the outbox and pulls, `status()` says where sync
//! stands, and the rejected inbox. The automatic driver (online events, timers, one syncing
//! tab, live pull) lives in the package's JS layer and calls these.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::{JsStore, spawn};
use crate::core::{Result, Timestamp};
use crate::js::convert::to_js_json;
use crate::js::error::to_js_error;
use crate::js::fields;
use crate::store::CommandQueue;
use crate::sync::SyncStatus;

/// A command in the rejected inbox, as the JS API shows it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Rejected {
    command_id: String,
    aggregate: String,
    id: String,
    command: serde_json::Value,
    reason: crate::core::RejectionReason,
    caused_by: Vec<crate::core::EventEnvelope>,
    at: Timestamp,
}

#[wasm_bindgen(js_class = WasmStore)]
impl JsStore {
    /// Runs sync rounds until the outbox is drained; resolves to
    /// `{ pushed, pulled, conflicts, rejected }`. Needs the `sync` option; with storage
    /// "remote" it does nothing (all zero).
    #[cfg(feature = "sync")]
    pub fn sync(&self) -> Promise {
        if self.remote {
            // Every command of a remote store is on the server once executed.
            let checked = self.engine().map(|_| crate::sync::SyncReport::default());
            return spawn(async move { checked });
        }
        let checked = self
            .engine()
            .and_then(|_| self.client().ok_or_else(sync_not_set));
        let driver = self.driver.clone();
        spawn(async move {
            let report = checked?.sync().await;
            if let Some(driver) = driver {
                driver.after_write();
            }
            report
        })
    }

    /// Rejects: sync needs the `sync` option, which a module without the `sync` feature refuses.
    #[cfg(not(feature = "sync"))]
    pub fn sync(&self) -> Promise {
        let checked = self.engine().and_then(|_| Err::<(), _>(sync_not_set()));
        spawn(async move { checked })
    }

    /// Where sync stands: `{ online, pending, rejected, syncing, progress, lastSyncAt,
    /// lastError, lag }`; all zero and offline when the `sync` option is not set.
    pub fn status(&self) -> Result<JsValue, JsValue> {
        #[cfg(feature = "sync")]
        if let Some(client) = self.client() {
            return to_js_json(&client.status()).map_err(to_js_error);
        }
        let status = SyncStatus {
            online: self.remote,
            ..SyncStatus::default()
        };
        to_js_json(&status).map_err(to_js_error)
    }

    /// Tells the projections' catch-up that a sync round stored events (the sync driver calls
    /// it after each round).
    #[wasm_bindgen(js_name = afterSync)]
    pub fn after_sync(&self) {
        if let Some(driver) = &self.driver {
            driver.after_write();
        }
    }

    /// The sync client the JS layer's driver runs, when the `sync` option is set (a module
    /// without the `sync` feature has no such method).
    #[cfg(feature = "sync")]
    #[wasm_bindgen(js_name = syncClient)]
    pub fn sync_client(&self) -> Option<crate::js::JsSyncClient> {
        self.client().map(crate::js::JsSyncClient::new)
    }

    /// The `sync` option as given to `open()`, or `undefined`.
    #[wasm_bindgen(getter, js_name = syncOptions)]
    pub fn sync_options(&self) -> JsValue {
        #[cfg(feature = "sync")]
        if let Some((_, options)) = &self.sync {
            return options.raw.clone();
        }
        JsValue::UNDEFINED
    }

    /// Whether the `sync` option asked for live sync.
    #[wasm_bindgen(getter)]
    pub fn live(&self) -> bool {
        #[cfg(feature = "sync")]
        if let Some((_, options)) = &self.sync {
            return options.live;
        }
        false
    }

    /// The rejected inbox: `[{ commandId, aggregate, id, command, reason: { code, message },
    /// causedBy, at }]`.
    pub fn rejected(&self) -> Promise {
        let engine = self.engine();
        spawn(async move {
            let rejected = engine?.rejected().await?;
            Ok(rejected
                .into_iter()
                .map(|r| Rejected {
                    command_id: r.command_id,
                    aggregate: r.aggregate_type,
                    id: r.aggregate_id,
                    command: r.command,
                    reason: r.reason,
                    caused_by: r.caused_by,
                    at: r.at,
                })
                .collect::<Vec<_>>())
        })
    }

    /// Forgets data subject `subject`: its keys here (and on the server, with sync), so every
    /// read path shows its personal fields redacted; the read models are rebuilt.
    #[wasm_bindgen(js_name = forgetSubject)]
    pub fn forget_subject(&self, subject: JsValue) -> Promise {
        let checked = self
            .engine()
            .and_then(|engine| Ok((engine, fields::string_arg(&subject, "the subject")?)));
        #[cfg(feature = "sync")]
        let client = self.client();
        spawn(async move {
            let (engine, subject) = checked?;
            #[cfg(feature = "sync")]
            if let Some(client) = client {
                return client.forget_subject(&subject).await;
            }
            engine.forget_subject(&subject).await
        })
    }

    /// Removes a command from the rejected inbox; resolves to whether it was there.
    #[wasm_bindgen(js_name = dismissRejected)]
    pub fn dismiss_rejected(&self, command_id: JsValue) -> Promise {
        let checked = self
            .engine()
            .and_then(|engine| Ok((engine, fields::string_arg(&command_id, "the command id")?)));
        spawn(async move {
            let (engine, command_id) = checked?;
            engine.store().dismiss_rejected(&command_id).await
        })
    }
}

impl JsStore {
    /// The sync client, when the `sync` option is set.
    #[cfg(feature = "sync")]
    fn client(&self) -> Option<std::rc::Rc<super::Sync>> {
        self.sync.as_ref().map(|(client, _)| client.clone())
    }
}

/// The error of `sync()` on a store opened without the `sync` option.
fn sync_not_set() -> crate::core::Error {
    fields::invalid(
        "options.sync",
        "is not set: open({ sync: { url } }) to sync",
    )
}
