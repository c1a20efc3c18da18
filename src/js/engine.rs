//! `Engine` in JavaScript: the Order example aggregate on the memory store or IndexedDB.
//!
//! ```js
//! const engine = new Engine();                          // in memory
//! const stored = await Engine.openIndexedDb("sales");   // in IndexedDB
//! await engine.execute("Order", "o-1", { type: "CreateOrder", customerId: "c-1", items });
//! await engine.load("Order", "o-1");     // { state, version }
//! await engine.history("Order", "o-1");  // event envelopes
//! ```

use std::future::Future;
use std::rc::Rc;

use js_sys::Promise;
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::convert::{from_js, to_js};
use super::error::to_js_error;
use super::store::LocalStore;
use crate::core::{Engine, ExecuteOptions, Result};
use crate::example::Order;
use crate::store::{Durability, EventStore, IndexedDbOptions, IndexedDbStore, MemoryStore};

/// An engine over an in-memory or IndexedDB store with the example Order aggregate registered.
#[wasm_bindgen(js_name = Engine)]
pub struct JsEngine {
    engine: Rc<Engine<LocalStore>>,
}

/// Options of `Engine.openIndexedDb`.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenOptions {
    /// `"relaxed"` (default) or `"strict"`.
    durability: Option<String>,
}

impl JsEngine {
    fn over(store: LocalStore) -> Result<JsEngine, JsValue> {
        let mut engine = Engine::new(store);
        engine.register::<Order>().map_err(to_js_error)?;
        Ok(JsEngine {
            engine: Rc::new(engine),
        })
    }
}

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    /// A new engine with an empty memory store.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<JsEngine, JsValue> {
        Self::over(LocalStore::Memory(MemoryStore::new()))
    }

    /// An engine over IndexedDB database `name`, created or migrated as needed.
    /// `options.durability` is `"relaxed"` (default) or `"strict"`.
    #[wasm_bindgen(js_name = openIndexedDb)]
    pub async fn open_indexed_db(
        name: String,
        options: Option<JsValue>,
    ) -> Result<JsEngine, JsValue> {
        let options: OpenOptions = match options.filter(|o| !o.is_null() && !o.is_undefined()) {
            None => OpenOptions::default(),
            Some(options) => from_js(options, "open options").map_err(to_js_error)?,
        };
        let durability = match options.durability.as_deref() {
            None | Some("relaxed") => Durability::Relaxed,
            Some("strict") => Durability::Strict,
            Some(other) => {
                let message =
                    format!("durability must be \"relaxed\" or \"strict\", not {other:?}");
                return Err(to_js_error(crate::core::Error::InvalidInput(message)));
            }
        };
        let store = IndexedDbStore::open_with(&name, IndexedDbOptions { durability })
            .await
            .map_err(to_js_error)?;
        Self::over(LocalStore::IndexedDb(store))
    }

    /// Commands executed here that the server has not accepted yet, oldest first.
    pub fn outbox(&self) -> Promise {
        let engine = self.engine.clone();
        spawn(async move { engine.store().read_outbox(usize::MAX).await })
    }

    /// Closes the engine's database connections (IndexedDB); later calls fail.
    pub fn close(&self) {
        if let LocalStore::IndexedDb(store) = self.engine.store() {
            store.close();
        }
    }

    /// This engine's client id.
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.engine.store().client_id().to_owned()
    }

    /// Executes `command` on aggregate `id` of `aggregateType`; resolves to
    /// `{ stream, version, events, deduplicated, commandId }`.
    pub fn execute(
        &self,
        aggregate_type: String,
        id: String,
        command: JsValue,
        options: Option<JsValue>,
    ) -> Promise {
        let engine = self.engine.clone();
        spawn(async move {
            let command: Value = from_js(command, "command")?;
            let options: ExecuteOptions = match options.filter(|o| !o.is_null()) {
                None => ExecuteOptions::default(),
                Some(options) => from_js(options, "execute options")?,
            };
            engine
                .execute_json(&aggregate_type, &id, &command, options)
                .await
        })
    }

    /// Loads an aggregate; resolves to `{ state, version }`.
    pub fn load(&self, aggregate_type: String, id: String) -> Promise {
        let engine = self.engine.clone();
        spawn(async move { engine.load_json(&aggregate_type, &id).await })
    }

    /// The state of an aggregate after `version`; resolves to `{ state, version }`.
    #[wasm_bindgen(js_name = stateAt)]
    pub fn state_at(&self, aggregate_type: String, id: String, version: f64) -> Promise {
        let engine = self.engine.clone();
        spawn(async move {
            if !(version >= 0.0 && version.fract() == 0.0) {
                return Err(crate::core::Error::invalid(
                    "version must be an integer >= 0",
                ));
            }
            engine
                .state_at_json(&aggregate_type, &id, version as u64)
                .await
        })
    }

    /// Every event of an aggregate, in version order.
    pub fn history(&self, aggregate_type: String, id: String) -> Promise {
        let engine = self.engine.clone();
        spawn(async move { engine.history(&aggregate_type, &id).await })
    }
}

/// Runs `work` as a JS promise that resolves to its value as plain JS or rejects with a typed error.
fn spawn<T: Serialize>(work: impl Future<Output = Result<T>> + 'static) -> Promise {
    future_to_promise(async move {
        let value = work.await.map_err(to_js_error)?;
        to_js(&value).map_err(to_js_error)
    })
}
