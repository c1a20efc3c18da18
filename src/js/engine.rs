//! `Engine` in JavaScript: the Order example aggregate on the memory store.
//!
//! ```js
//! const engine = new Engine();
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
use crate::core::{Engine, ExecuteOptions, Result};
use crate::example::Order;
use crate::store::{EventStore, MemoryStore};

/// An engine over an in-memory store with the example Order aggregate registered.
#[wasm_bindgen(js_name = Engine)]
pub struct JsEngine {
    engine: Rc<Engine<MemoryStore>>,
}

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    /// A new engine with an empty memory store.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<JsEngine, JsValue> {
        let mut engine = Engine::new(MemoryStore::new());
        engine.register::<Order>().map_err(to_js_error)?;
        Ok(JsEngine {
            engine: Rc::new(engine),
        })
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
