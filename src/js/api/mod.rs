//! `WasmStore`: the store behind the package's `open()`, with the app's aggregates, projections
//! and upcasters written in JavaScript, over IndexedDB or memory with sync to a
//! `fieldstream-server`, or over the server's streams themselves (storage "remote"); sync and
//! remote storage need the cargo feature `sync`.
//!
//! The package's JS layer (`js/api.js`) wraps it in the documented `Store`; this class does the
//! work. Results cross to JS as JSON text (one `JSON.parse` each), which measured faster than
//! serde-wasm-bindgen for event-sized values (see `to_js_json`); so do the sync client's.

mod driver;
mod options;
mod projections;
mod sync;
mod views;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use js_sys::Promise;
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

#[cfg(feature = "sync")]
use self::options::SyncOptions;
use self::options::{ProjectionIndexes, Storage, StoreOptions};
use super::convert::{from_js, to_js_json};
#[cfg(feature = "sql")]
use super::durable_object;
use super::error::to_js_error;
#[cfg(feature = "sync")]
use super::fetch::FetchTransport;
use super::fields;
use super::store::LocalStore;
#[cfg(feature = "sync")]
use super::sync_client::{ConnectOptions, LocalSyncClient};
use crate::core::{Engine, EngineConfig, Error, ExecuteOptions, Projection, Result};
#[cfg(feature = "memory")]
use crate::store::MemoryStore;
use crate::store::indexeddb::ChangeSubscription;
#[cfg(feature = "sql")]
use crate::store::sql::SqlStore;
use crate::store::{EventLog, IndexedDbOptions, IndexedDbStore};
#[cfg(feature = "sync")]
use crate::sync::{RemoteConfig, RemoteStore};

#[cfg(feature = "sync")]
type Sync = LocalSyncClient;

/// A store opened by `open()`: commands, aggregates, read models, live queries and sync.
#[wasm_bindgen(js_name = WasmStore)]
pub struct JsStore {
    engine: Rc<Engine<LocalStore>>,
    #[cfg(feature = "sync")]
    sync: Option<(Rc<Sync>, SyncOptions)>,
    indexes: ProjectionIndexes,
    /// Storage "remote": every command is on the server once executed; nothing to sync.
    remote: bool,
    /// Keeps the projections moving (exists whenever there are projections).
    driver: Option<driver::CatchUpDriver>,
    closed: Cell<bool>,
    subscriptions: Rc<RefCell<HashMap<u32, Option<u64>>>>,
    next_subscription: Cell<u32>,
    _changes: Option<ChangeSubscription>,
}

#[wasm_bindgen(js_class = WasmStore)]
impl JsStore {
    /// Opens a store from `open()`'s options; rejects with a `ValidationError` naming a bad option.
    pub async fn open(options: JsValue) -> Result<JsStore, JsValue> {
        Self::open_with(options).await.map_err(to_js_error)
    }

    /// Executes `command` on aggregate `id` of type `aggregate`; resolves to
    /// `{ stream, version, events, deduplicated, commandId }`.
    pub fn execute(
        &self,
        aggregate: JsValue,
        id: JsValue,
        command: JsValue,
        options: JsValue,
    ) -> Promise {
        let checked = (|| -> Result<_> {
            let engine = self.engine()?;
            let aggregate = fields::string_arg(&aggregate, "the aggregate type")?;
            let id = fields::string_arg(&id, "the aggregate id")?;
            let command = read_command(&command)?;
            let options: ExecuteOptions = if options.is_undefined() || options.is_null() {
                ExecuteOptions::default()
            } else {
                fields::object(&options, "execute options")?;
                from_js(options, "execute options")?
            };
            Ok((engine, aggregate, id, command, options))
        })();
        let driver = self.driver.clone();
        spawn(async move {
            let (engine, aggregate, id, command, options) = checked?;
            let result = engine
                .execute_json(&aggregate, &id, &command, options)
                .await;
            if let Some(driver) = driver {
                driver.after_write();
            }
            result
        })
    }

    /// Loads an aggregate; resolves to `{ state, version }`.
    pub fn load(&self, aggregate: JsValue, id: JsValue) -> Promise {
        let checked = self.aggregate_args(&aggregate, &id);
        spawn(async move {
            let (engine, aggregate, id) = checked?;
            engine.load_json(&aggregate, &id).await
        })
    }

    /// The state of an aggregate after `version`; resolves to `{ state, version }`.
    #[wasm_bindgen(js_name = stateAt)]
    pub fn state_at(&self, aggregate: JsValue, id: JsValue, version: JsValue) -> Promise {
        let checked =
            self.aggregate_args(&aggregate, &id)
                .and_then(|args| match version.as_f64() {
                    Some(v) if v >= 0.0 && v.fract() == 0.0 && v <= 9e15 => Ok((args, v as u64)),
                    _ => Err(fields::invalid("the version", "must be an integer >= 0")),
                });
        spawn(async move {
            let ((engine, aggregate, id), version) = checked?;
            engine.state_at_json(&aggregate, &id, version).await
        })
    }

    /// Every event of an aggregate in version order, each with `syncState` (`"pending"` or
    /// `"confirmed"`) and `position` (the server's, or `null` while pending).
    pub fn history(&self, aggregate: JsValue, id: JsValue) -> Promise {
        let checked = self.aggregate_args(&aggregate, &id);
        spawn(async move {
            let (engine, aggregate, id) = checked?;
            let events = engine.history(&aggregate, &id).await?;
            events
                .into_iter()
                .map(|event| {
                    let confirmed = event.is_confirmed();
                    let mut json = serde_json::to_value(&event)?;
                    if let Value::Object(fields) = &mut json {
                        let state = if confirmed { "confirmed" } else { "pending" };
                        fields.insert("syncState".into(), state.into());
                        fields.entry("position").or_insert(Value::Null);
                    }
                    Ok(json)
                })
                .collect::<Result<Vec<Value>>>()
        })
    }

    /// Closes the store: live queries stop, IndexedDB connections close, later calls fail.
    pub fn close(&self) -> Promise {
        if !self.closed.replace(true) {
            if let Some(driver) = &self.driver {
                driver.stop();
            }
            for (_, id) in self.subscriptions.borrow_mut().drain() {
                if let Some(id) = id {
                    self.engine.unsubscribe(id);
                }
            }
            if let Some(store) = self.engine.store().indexed_db() {
                store.close();
            }
            #[cfg(feature = "sql")]
            if let LocalStore::DurableObject(store) = self.engine.store() {
                durable_object::release(store.connection());
            }
        }
        Promise::resolve(&JsValue::UNDEFINED)
    }

    /// This store's client id (one per database).
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.engine.store().client_id().to_owned()
    }
}

impl JsStore {
    async fn open_with(options: JsValue) -> Result<JsStore> {
        let StoreOptions {
            name,
            storage,
            durability,
            derive_at_rest_key,
            aggregates,
            projections,
            upcasters,
            #[cfg(feature = "sync")]
            sync,
            conflict_retry,
            #[cfg(feature = "sql")]
            sql,
        } = options::read(&options)?;
        #[cfg_attr(not(feature = "sync"), allow(unused_mut))]
        let mut config = EngineConfig::default();
        // Held while the store opens, given back if it fails to.
        #[cfg(feature = "sql")]
        let mut claim = None;
        let store = match storage {
            #[cfg(feature = "memory")]
            Storage::Memory => LocalStore::Memory(MemoryStore::new()),
            Storage::IndexedDb => {
                let options = IndexedDbOptions {
                    durability,
                    ..Default::default()
                };
                let store = IndexedDbStore::open_with(&name, options).await?;
                if let Some(derive) = derive_at_rest_key {
                    let salt = store.at_rest_salt().await?;
                    store.seal_at_rest(&options::derive_key(&derive, &salt).await?);
                }
                LocalStore::IndexedDb(store)
            }
            #[cfg(feature = "sync")]
            Storage::Remote => {
                let Some(options) = &sync else {
                    return Err(fields::invalid(
                        "options.sync",
                        "is needed by remote storage",
                    ));
                };
                config = RemoteStore::<FetchTransport>::engine_config();
                let mut transport = FetchTransport::new(&options.url, options.token.clone());
                if let Some(timeout_ms) = options.timeout_ms {
                    transport = transport.with_timeout(timeout_ms);
                }
                LocalStore::Remote(RemoteStore::new(transport, RemoteConfig::default()))
            }
            #[cfg(feature = "sql")]
            Storage::DurableObject => {
                let Some(conn) = sql else {
                    return Err(fields::invalid(
                        "options.sql",
                        "is needed by storage \"durable-object\"",
                    ));
                };
                claim = Some(durable_object::Claim::new(&conn)?);
                LocalStore::DurableObject(SqlStore::open(conn)?)
            }
        };
        config.conflict_retry = conflict_retry;
        let mut engine = Engine::new(store)
            .with_upcasters(upcasters)
            .with_config(config);
        for aggregate in aggregates {
            engine.register_handler(Rc::new(aggregate))?;
        }
        let mut indexes = HashMap::new();
        for (projection, options) in projections {
            indexes.insert(projection.name().to_owned(), projection.indexes());
            engine.register_projection(Rc::new(projection), options)?;
        }
        #[cfg(feature = "sync")]
        if let LocalStore::Remote(store) = engine.store() {
            store.use_projector(engine.projector().clone());
        }
        #[cfg(feature = "sync")]
        let remote = storage == Storage::Remote;
        #[cfg(not(feature = "sync"))]
        let remote = false;
        if remote && engine.shredder().is_active() {
            // The remote store keeps no key store on the server yet: keys would be lost.
            return Err(fields::invalid(
                "options.aggregates",
                "declare personalData, which remote storage does not support yet",
            ));
        }
        let engine = Rc::new(engine);
        let retry_at = driver::catch_up(&engine).await?;
        let driver = (!indexes.is_empty()).then(|| driver::CatchUpDriver::new(engine.clone()));
        if let Some(driver) = &driver {
            driver.schedule(retry_at);
        }
        let changes = views::watch_other_tabs(&engine, driver.as_ref());
        #[cfg(feature = "sync")]
        let sync = sync
            .filter(|_| !remote)
            .map(|options| {
                let connect = ConnectOptions {
                    batch_size: Some(options.batch_size),
                    timeout_ms: options.timeout_ms,
                };
                let client = connect.client(engine.clone(), &options.url, options.token.clone())?;
                Ok::<_, Error>((Rc::new(client), options))
            })
            .transpose()?;
        #[cfg(feature = "sql")]
        if let Some(claim) = claim {
            claim.keep();
        }
        Ok(JsStore {
            driver,
            engine,
            #[cfg(feature = "sync")]
            sync,
            indexes,
            remote,
            closed: Cell::new(false),
            subscriptions: Rc::default(),
            next_subscription: Cell::new(1),
            _changes: changes,
        })
    }

    /// The engine, unless the store is closed.
    fn engine(&self) -> Result<Rc<Engine<LocalStore>>> {
        if self.closed.get() {
            return Err(Error::Storage("the store is closed".into()));
        }
        Ok(self.engine.clone())
    }

    fn aggregate_args(
        &self,
        aggregate: &JsValue,
        id: &JsValue,
    ) -> Result<(Rc<Engine<LocalStore>>, String, String)> {
        Ok((
            self.engine()?,
            fields::string_arg(aggregate, "the aggregate type")?,
            fields::string_arg(id, "the aggregate id")?,
        ))
    }
}

/// Reads a command: a plain object with a non-empty string `type`.
fn read_command(command: &JsValue) -> Result<Value> {
    fields::object(command, "the command")?;
    match fields::get(command, "type").and_then(|t| t.as_string()) {
        Some(command_type) if !command_type.is_empty() => {}
        _ => return Err(fields::invalid("the command", "needs a string type")),
    }
    super::convert::json_from_js(command, "the command")
}

/// Runs `work` as a JS promise that resolves to its value (as one `JSON.parse`) or rejects
/// with a typed error (or the app's own exception).
fn spawn<T: Serialize>(work: impl Future<Output = Result<T>> + 'static) -> Promise {
    spawn_boxed(Box::pin(async move { to_js_json(&work.await?) }))
}

/// The one instance of `future_to_promise` behind [`spawn`]: its promise machinery is compiled
/// once, not once per method.
fn spawn_boxed(work: std::pin::Pin<Box<dyn Future<Output = Result<JsValue>>>>) -> Promise {
    future_to_promise(async move { work.await.map_err(to_js_error) })
}
