//! `Engine` in JavaScript: the Order example aggregate and its `orders` read model, on the
//! memory store or IndexedDB, with sync to a `fieldstream-server`.
//!
//! ```js
//! const engine = await Engine.inMemory();               // in memory
//! const stored = await Engine.openIndexedDb("sales");   // in IndexedDB
//! await engine.execute("Order", "o-1", { type: "CreateOrder", customerId: "c-1", items });
//! await engine.load("Order", "o-1");     // { state, version }
//! await engine.history("Order", "o-1");  // event envelopes
//! await engine.get("orders", "o-1");     // the read model's document
//! engine.connect("http://127.0.0.1:8080");
//! await engine.sync();                   // { pushed, pulled, conflicts, rejected }
//! ```

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::convert::{from_js, spawn, to_js};
use super::error::to_js_error;
use super::store::LocalStore;
use super::sync_client::{ConnectOptions, JsSyncClient, LocalSyncClient};
use crate::core::projection::QuerySpec;
use crate::core::{Engine, Error, ExecuteOptions, ProjectionOptions, Result};
use crate::example::{Order, OrderProjection};
use crate::store::{Durability, EventStore, IndexedDbOptions, IndexedDbStore, MemoryStore};
type Sync = LocalSyncClient;

/// An engine over an in-memory or IndexedDB store with the example Order aggregate and its
/// `orders` read model registered.
#[wasm_bindgen(js_name = Engine)]
pub struct JsEngine {
    engine: Rc<Engine<LocalStore>>,
    sync: RefCell<Option<Rc<Sync>>>,
}

/// Options of `Engine.openIndexedDb`.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenOptions {
    /// `"relaxed"` (default) or `"strict"`.
    durability: Option<String>,
}

impl JsEngine {
    async fn over(store: LocalStore) -> Result<JsEngine, JsValue> {
        let mut engine = Engine::new(store);
        engine.register::<Order>().map_err(to_js_error)?;
        let orders = Rc::new(OrderProjection);
        engine
            .register_projection(orders, ProjectionOptions::default())
            .map_err(to_js_error)?;
        engine.catch_up_projections().await.map_err(to_js_error)?;
        Ok(JsEngine {
            engine: Rc::new(engine),
            sync: RefCell::new(None),
        })
    }

    fn sync_client(&self) -> Result<Rc<Sync>> {
        self.sync
            .borrow()
            .clone()
            .ok_or_else(|| Error::invalid("call connect(url) before syncing"))
    }
}

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    /// An engine over an empty memory store.
    #[wasm_bindgen(js_name = inMemory)]
    pub async fn in_memory() -> Result<JsEngine, JsValue> {
        Self::over(LocalStore::Memory(MemoryStore::new())).await
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
                return Err(to_js_error(Error::InvalidInput(message)));
            }
        };
        let store = IndexedDbStore::open_with(
            &name,
            IndexedDbOptions {
                durability,
                ..Default::default()
            },
        )
        .await
        .map_err(to_js_error)?;
        Self::over(LocalStore::IndexedDb(store)).await
    }

    /// Syncs with the `fieldstream-server` at `url`; `token` is an optional
    /// `async ({ refresh }) => string` giving a bearer token (asked again with `refresh: true`
    /// after a 401), and `options` `{ batchSize, pullPage }`. Returns the sync client.
    pub fn connect(
        &self,
        url: String,
        token: Option<Function>,
        options: Option<JsValue>,
    ) -> Result<JsSyncClient, JsValue> {
        let client = ConnectOptions::read(options)
            .and_then(|options| options.client(self.engine.clone(), &url, token))
            .map_err(to_js_error)?;
        let client = Rc::new(client);
        *self.sync.borrow_mut() = Some(client.clone());
        Ok(JsSyncClient::new(client))
    }

    /// Runs sync rounds until the outbox is drained; resolves to `{ pushed, pulled, conflicts, rejected }`.
    pub fn sync(&self) -> Promise {
        let client = self.sync_client();
        spawn(async move { client?.sync().await })
    }

    /// Where sync stands: `{ online, pending, rejected, syncing, progress, lastSyncAt, lastError, lag }`.
    #[wasm_bindgen(js_name = syncStatus)]
    pub fn sync_status(&self) -> Result<JsValue, JsValue> {
        let client = self.sync_client().map_err(to_js_error)?;
        to_js(&client.status()).map_err(to_js_error)
    }

    /// The rejected inbox: commands that came back, with their reasons.
    pub fn rejected(&self) -> Promise {
        let engine = self.engine.clone();
        spawn(async move { engine.store().rejected().await })
    }

    /// Removes a command from the rejected inbox; resolves to whether it was there.
    #[wasm_bindgen(js_name = dismissRejected)]
    pub fn dismiss_rejected(&self, command_id: String) -> Promise {
        let engine = self.engine.clone();
        spawn(async move { engine.store().dismiss_rejected(&command_id).await })
    }

    /// A document of read model `name`, or `null`.
    pub fn get(&self, name: String, key: String) -> Promise {
        let engine = self.engine.clone();
        spawn(async move { engine.get(&name, &key).await })
    }

    /// A page of read model `name`: `{ index, equals | range: [lo, hi], limit?, after? }`.
    pub fn query(&self, name: String, spec: JsValue) -> Promise {
        let engine = self.engine.clone();
        spawn(async move {
            let spec: QuerySpec = from_js(spec, "query")?;
            engine.query(&name, spec).await
        })
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
