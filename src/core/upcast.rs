//! Event schema evolution: upcasters turn old payloads into the current shape on every read.
//!
//! An upcaster is registered for an event type and the schema version it reads; it returns the
//! payload at the next version. Chains (v1 → v2 → v3) run in order. Stored events are never
//! rewritten: the log keeps what was written, readers see the current shape.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;

use crate::core::error::{Error, Result};
use crate::core::event::EventEnvelope;

/// Turns a payload at one schema version into the payload at the next.
pub type UpcastFn = Rc<dyn Fn(Value) -> Result<Value>>;

/// The upcasters of an engine, keyed by (event type, schema version read).
#[derive(Clone, Default)]
pub struct Upcasters {
    by_type_and_version: HashMap<(String, u32), UpcastFn>,
}

impl Upcasters {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `upcast` for events of `event_type` at `from_version`; it yields `from_version + 1`.
    pub fn register(
        &mut self,
        event_type: impl Into<String>,
        from_version: u32,
        upcast: impl Fn(Value) -> Result<Value> + 'static,
    ) -> Result<()> {
        self.register_rc(event_type.into(), from_version, Rc::new(upcast))
    }

    /// Registers an already shared upcaster.
    pub fn register_rc(
        &mut self,
        event_type: String,
        from_version: u32,
        upcast: UpcastFn,
    ) -> Result<()> {
        if from_version == 0 {
            return Err(Error::invalid("schema versions start at 1"));
        }
        let key = (event_type, from_version);
        if self.by_type_and_version.contains_key(&key) {
            return Err(Error::InvalidInput(format!(
                "an upcaster for {} v{} is already registered",
                key.0, key.1
            )));
        }
        self.by_type_and_version.insert(key, upcast);
        Ok(())
    }

    /// Whether no upcaster is registered.
    pub fn is_empty(&self) -> bool {
        self.by_type_and_version.is_empty()
    }

    /// Whether an upcaster reads `event`'s type at its schema version (so `upcast` changes it).
    pub fn applies_to(&self, event: &EventEnvelope) -> bool {
        !self.is_empty()
            && self
                .by_type_and_version
                .contains_key(&(event.event_type.clone(), event.schema_version))
    }

    /// Brings `event` to the newest schema version its upcasters reach.
    pub fn upcast(&self, mut event: EventEnvelope) -> Result<EventEnvelope> {
        if self.is_empty() {
            return Ok(event);
        }
        let mut key = (event.event_type, event.schema_version);
        while let Some(upcast) = self.by_type_and_version.get(&key) {
            let data = std::mem::take(&mut event.data);
            event.data = upcast(data).map_err(|error| {
                Error::Codec(format!("upcasting {} v{} failed: {error}", key.0, key.1).into())
            })?;
            key.1 += 1;
        }
        (event.event_type, event.schema_version) = key;
        Ok(event)
    }
}
