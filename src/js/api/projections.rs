//! Operating projections from JS: `projections()` says where each stands, `retryProjection`
//! and `skipDeadLetter` act on the events one failed on, and `onProjections` hears when they
//! may have changed.

use js_sys::{Function, Promise};
use uuid::Uuid;
use wasm_bindgen::prelude::*;

use super::{JsStore, spawn};
use crate::core::Result;
use crate::js::fields;

#[wasm_bindgen(js_class = WasmStore)]
impl JsStore {
    /// Where each projection stands, in the order they were defined: `[{ name, mode, version,
    /// position, lag, rebuild, stopped, deadLetters, retry }]`.
    pub fn projections(&self) -> Promise {
        let engine = self.engine();
        spawn(async move { engine?.projection_statuses().await })
    }

    /// Processes the events projection `name` failed on again and resumes it; resolves to its
    /// status once it caught up (or stopped, or waits to retry).
    #[wasm_bindgen(js_name = retryProjection)]
    pub fn retry_projection(&self, name: JsValue) -> Promise {
        let checked = self
            .engine()
            .and_then(|engine| Ok((engine, self.projection_name(&name)?)));
        let driver = self.driver.clone();
        spawn(async move {
            let (engine, name) = checked?;
            let status = engine.retry_projection(&name).await;
            if let Some(driver) = driver {
                driver.kick();
            }
            status
        })
    }

    /// Passes over the dead-lettered event `eventId` of projection `name` and resumes it;
    /// resolves to its status. A `NotFoundError` when it has no such dead letter.
    #[wasm_bindgen(js_name = skipDeadLetter)]
    pub fn skip_dead_letter(&self, name: JsValue, event_id: JsValue) -> Promise {
        let checked = self.engine().and_then(|engine| {
            let name = self.projection_name(&name)?;
            let event_id = read_event_id(&event_id)?;
            Ok((engine, name, event_id))
        });
        let driver = self.driver.clone();
        spawn(async move {
            let (engine, name, event_id) = checked?;
            let status = engine.skip_dead_letter(&name, event_id).await;
            if let Some(driver) = driver {
                driver.kick();
            }
            status
        })
    }

    /// Calls `listener()` after each catch-up run (progress, a failure, a retry): a hint to
    /// read `projections()` again. One listener; the JS layer fans it out.
    #[wasm_bindgen(js_name = onProjections)]
    pub fn on_projections(&self, listener: Function) {
        if let Some(driver) = &self.driver {
            driver.set_listener(listener);
        }
    }
}

fn read_event_id(value: &JsValue) -> Result<Uuid> {
    let text = fields::string_arg(value, "the event id")?;
    Uuid::parse_str(&text).map_err(|_| fields::invalid("the event id", "must be a UUID"))
}
