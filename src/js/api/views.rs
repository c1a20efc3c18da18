//! Read models from JS: `get`, `query`, live queries (`subscribe`), and other tabs' changes
//! flowing into them.

use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::driver::CatchUpDriver;
use super::{JsStore, spawn};
use crate::core::engine::Watch;
use crate::core::projection::QuerySpec;
use crate::core::{Engine, Error, Result};
use crate::js::convert::{from_js, to_js_json};
use crate::js::error::to_js_error;
use crate::js::fields;
use crate::js::store::LocalStore;
use crate::store::indexeddb::ChangeSubscription;

#[wasm_bindgen(js_class = WasmStore)]
impl JsStore {
    /// A document of read model `name`, or `null`.
    pub fn get(&self, name: JsValue, key: JsValue) -> Promise {
        let checked = (|| -> Result<_> {
            let name = self.projection_name(&name)?;
            Ok((self.engine()?, name, fields::string_arg(&key, "the key")?))
        })();
        spawn(async move {
            let (engine, name, key) = checked?;
            engine.get(&name, &key).await
        })
    }

    /// A page of read model `name`: `{ index, equals | range: [lo, hi], limit?, after? }` →
    /// `{ docs: [{ key, doc }], next? }`.
    pub fn query(&self, name: JsValue, spec: JsValue) -> Promise {
        let checked = (|| -> Result<_> {
            let name = self.projection_name(&name)?;
            let spec = self.query_spec(&name, spec)?;
            Ok((self.engine()?, name, spec))
        })();
        spawn(async move {
            let (engine, name, spec) = checked?;
            engine.query(&name, spec).await
        })
    }

    /// Calls `callback` with the current result of `spec` on read model `name` (a query's page,
    /// or with `{ key }` one document or `null`), then each time it changes; returns a token
    /// for `unsubscribe`. Bad arguments throw a `ValidationError` at once.
    pub fn subscribe(
        &self,
        name: JsValue,
        spec: JsValue,
        callback: JsValue,
    ) -> Result<u32, JsValue> {
        let checked = (|| -> Result<_> {
            let engine = self.engine()?;
            let name = self.projection_name(&name)?;
            fields::object(&spec, "the subscription spec")?;
            let watch = match fields::get(&spec, "key") {
                Some(key) => {
                    fields::only(&spec.clone().into(), &["key"], "the subscription spec")?;
                    Watch::Key(fields::string_arg(&key, "the subscription spec's key")?)
                }
                None => Watch::Query(self.query_spec(&name, spec)?),
            };
            let callback: Function = callback
                .dyn_into()
                .map_err(|_| fields::invalid("the subscription callback", "must be a function"))?;
            Ok((engine, name, watch, callback))
        })();
        let (engine, name, watch, callback) = checked.map_err(to_js_error)?;
        let token = self.next_subscription.get();
        self.next_subscription.set(token + 1);
        self.subscriptions.borrow_mut().insert(token, None);
        let subscriptions = self.subscriptions.clone();
        let notify: Rc<dyn Fn(&Value)> = Rc::new(move |value: &Value| {
            let outcome = to_js_json(value)
                .map_err(to_js_error)
                .and_then(|value| callback.call1(&JsValue::UNDEFINED, &value));
            if let Err(thrown) = outcome {
                report("a subscription callback threw", &thrown);
            }
        });
        wasm_bindgen_futures::spawn_local(async move {
            match engine.subscribe(&name, watch, notify).await {
                Ok(id) => match subscriptions.borrow_mut().get_mut(&token) {
                    Some(slot) => *slot = Some(id),
                    None => engine.unsubscribe(id),
                },
                Err(error) => report("a subscription failed", &to_js_error(error)),
            }
        });
        Ok(token)
    }

    /// Stops the live query of `token`; stopping it twice does nothing.
    pub fn unsubscribe(&self, token: u32) {
        if let Some(Some(id)) = self.subscriptions.borrow_mut().remove(&token) {
            self.engine.unsubscribe(id);
        }
    }
}

impl JsStore {
    pub(super) fn projection_name(&self, name: &JsValue) -> Result<String> {
        let name = fields::string_arg(name, "the read model name")?;
        if !self.indexes.contains_key(&name) {
            let mut known: Vec<&str> = self.indexes.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(Error::InvalidInput(format!(
                "unknown projection {name:?} (known: {})",
                known.join(", ")
            )));
        }
        Ok(name)
    }

    /// Reads a query spec and checks it against the projection's indexes.
    fn query_spec(&self, name: &str, spec: JsValue) -> Result<QuerySpec> {
        fields::object(&spec, "the query")?;
        let spec: QuerySpec = from_js(spec, "the query")?;
        spec.clone().into_query(&self.indexes[name])?;
        Ok(spec)
    }
}

/// Refreshes live queries, and runs the projections' catch-up, when another tab or worker
/// commits to the same IndexedDB database.
pub(super) fn watch_other_tabs(
    engine: &Rc<Engine<LocalStore>>,
    driver: Option<&CatchUpDriver>,
) -> Option<ChangeSubscription> {
    let store = engine.store().indexed_db()?;
    let weak = Rc::downgrade(engine);
    let driver = driver.map(CatchUpDriver::downgrade);
    store.subscribe(move |_| {
        if let Some(driver) = driver.as_ref().and_then(|driver| driver.upgrade()) {
            driver.kick();
        }
        if let Some(engine) = weak.upgrade() {
            wasm_bindgen_futures::spawn_local(async move {
                engine.refresh_subscriptions().await;
            });
        }
    })
}

/// Reports an error no caller awaits, on the console.
pub(super) fn report(context: &str, error: &JsValue) {
    let console = Reflect::get(&js_sys::global(), &"console".into()).ok();
    let log = console
        .as_ref()
        .and_then(|console| Reflect::get(console, &"error".into()).ok())
        .and_then(|log| log.dyn_into::<Function>().ok());
    if let (Some(console), Some(log)) = (console, log) {
        let _ = log.call2(
            &console,
            &JsValue::from_str(&format!("fieldstream: {context}:")),
            error,
        );
    }
}
