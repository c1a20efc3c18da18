//! The shredder: seals the declared personal fields of new events and opens sealed values on
//! every read, redacting those of forgotten subjects.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::cipher::{Sealed, SubjectKey};
use super::keyring::{KeyRing, KeyStore};
use super::{PersonalData, REDACTED};
use crate::core::error::{Error, Result};
use crate::core::event::EventEnvelope;

/// Seals and opens personal data with the keys of its [`KeyRing`].
#[derive(Debug, Default)]
pub struct Shredder {
    declared: RefCell<HashMap<String, PersonalData>>,
    ring: RefCell<KeyRing>,
}

impl Shredder {
    /// A shredder with no declarations and no keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares the personal data of aggregate type `aggregate_type` (refused by a build
    /// without the cargo feature `personal`, which cannot seal it).
    pub fn declare(&self, aggregate_type: &str, data: PersonalData) -> Result<()> {
        data.check()?;
        if !data.events.is_empty() {
            #[cfg(not(feature = "personal"))]
            return Err(Error::InvalidInput(format!(
                "personal data of {aggregate_type} needs fieldstream's cargo feature `personal`"
            )));
            #[cfg(feature = "personal")]
            self.declared
                .borrow_mut()
                .insert(aggregate_type.to_owned(), data);
        }
        Ok(())
    }

    /// Whether any aggregate declares personal data (when none does, nothing here runs).
    pub fn is_active(&self) -> bool {
        !self.declared.borrow().is_empty()
    }

    /// Whether aggregate type `aggregate_type` declares personal data.
    pub fn declares(&self, aggregate_type: &str) -> bool {
        self.is_active() && self.declared.borrow().contains_key(aggregate_type)
    }

    /// The key ring.
    pub fn ring(&self) -> std::cell::RefMut<'_, KeyRing> {
        self.ring.borrow_mut()
    }

    /// Loads a store's key store into the ring.
    pub fn load(&self, stored: KeyStore) {
        self.ring.borrow_mut().load(stored);
    }

    /// Seals the declared personal fields of `events` (new events of `aggregate_type`); returns
    /// the first subject met, if any.
    pub fn seal_events(
        &self,
        aggregate_type: &str,
        events: &mut [EventEnvelope],
    ) -> Result<Option<String>> {
        let declared = self.declared.borrow();
        let Some(data) = declared.get(aggregate_type) else {
            return Ok(None);
        };
        let mut ring = self.ring.borrow_mut();
        let mut first = None;
        for event in events {
            let Some(fields) = data.events.get(&event.event_type) else {
                continue;
            };
            let present: Vec<&String> = fields
                .fields
                .iter()
                .filter(|path| at(&event.data, path).is_some_and(|value| !value.is_null()))
                .collect();
            if present.is_empty() {
                continue;
            }
            let subject = match at(&event.data, &fields.subject) {
                Some(Value::String(subject)) if !subject.is_empty() => subject.clone(),
                Some(Value::Number(number)) => number.to_string(),
                _ => {
                    return Err(Error::InvalidInput(format!(
                        "event {} holds personal data but no subject in field {:?}",
                        event.event_type, fields.subject
                    )));
                }
            };
            let key = ring.key_for(&subject)?;
            for path in present {
                let aad = format!("{}/{path}", event.id);
                if let Some(value) = at_mut(&mut event.data, path) {
                    if Sealed::parse(value)?.is_none() {
                        *value = key.seal(&aad, value)?;
                    }
                }
            }
            first.get_or_insert(subject);
        }
        Ok(first)
    }

    /// `event` with its sealed values opened (or redacted); `None` when it has nothing sealed
    /// or its aggregate declares no personal data.
    pub fn reveal(&self, event: &EventEnvelope) -> Result<Option<EventEnvelope>> {
        if !self.declares(event.stream.category()) || !has_sealed(&event.data) {
            return Ok(None);
        }
        let mut data = event.data.clone();
        let mut ring = self.ring.borrow_mut();
        if let Value::Object(fields) = &mut data {
            open_fields(&mut ring, &event.id.to_string(), "", fields)?;
        }
        Ok(Some(EventEnvelope {
            data,
            ..event.clone()
        }))
    }

    /// `events` with their sealed values opened.
    pub fn reveal_all(&self, events: Vec<EventEnvelope>) -> Result<Vec<EventEnvelope>> {
        if !self.is_active() {
            return Ok(events);
        }
        events
            .into_iter()
            .map(|event| Ok(self.reveal(&event)?.unwrap_or(event)))
            .collect()
    }

    /// A command sealed whole under `subject`'s key, bound to its command id.
    pub fn seal_command(&self, command_id: &str, subject: &str, command: &Value) -> Result<Value> {
        let key = self.ring.borrow_mut().key_for(subject)?;
        key.seal(&command_aad(command_id), command)
    }

    /// A command as [`Shredder::seal_command`] left it, opened; [`REDACTED`] when its subject
    /// was forgotten. A command that is not sealed comes back as it is.
    pub fn reveal_command(&self, command_id: &str, command: &Value) -> Result<Value> {
        if Sealed::parse(command)?.is_none() {
            return Ok(command.clone());
        }
        open_one(
            &mut self.ring.borrow_mut(),
            &command_aad(command_id),
            command,
        )
    }

    /// The `(subject, key id)` of sealed values in `events` whose key the ring lacks and whose
    /// subject it does not know to be forgotten.
    pub fn missing_keys(&self, events: &[EventEnvelope]) -> Vec<(String, String)> {
        let ring = self.ring.borrow();
        let mut missing = self.sealed_keys(events);
        missing.retain(|(subject, id)| !ring.knows(subject, id));
        missing
    }

    /// The `(subject, key id)` of every sealed value in `events`, once each, in order.
    pub fn sealed_keys(&self, events: &[EventEnvelope]) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for event in events {
            visit_sealed(&event.data, &mut |sealed| {
                let pair = (sealed.subject.to_owned(), sealed.key_id.to_owned());
                if !found.contains(&pair) {
                    found.push(pair);
                }
            });
        }
        found
    }

    /// Keys made here and not yet written to the store.
    pub fn unsaved(&self) -> Vec<SubjectKey> {
        self.ring.borrow().unsaved().to_vec()
    }
}

fn command_aad(command_id: &str) -> String {
    format!("command/{command_id}")
}

fn open_fields(
    ring: &mut KeyRing,
    event_id: &str,
    prefix: &str,
    fields: &mut Map<String, Value>,
) -> Result<()> {
    for (name, value) in fields.iter_mut() {
        let Value::Object(inner) = value else {
            continue;
        };
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if inner.contains_key(super::SEALED_MARKER) {
            *value = open_one(ring, &format!("{event_id}/{path}"), value)?;
        } else {
            open_fields(ring, event_id, &path, inner)?;
        }
    }
    Ok(())
}

fn open_one(ring: &mut KeyRing, aad: &str, value: &Value) -> Result<Value> {
    let sealed = Sealed::parse(value)?.ok_or_else(|| Error::Crypto("not a sealed value".into()))?;
    if let Some(key) = ring.get(sealed.subject, sealed.key_id) {
        return key.open(aad, &sealed);
    }
    if ring.is_forgotten(sealed.subject) {
        return Ok(Value::String(REDACTED.to_owned()));
    }
    ring.note_missing();
    Err(Error::Crypto(
        format!(
            "key {} of a sealed value is not held here (sync to fetch it)",
            sealed.key_id
        )
        .into(),
    ))
}

fn has_sealed(value: &Value) -> bool {
    let Value::Object(fields) = value else {
        return false;
    };
    fields.values().any(|child| match child {
        Value::Object(inner) => inner.contains_key(super::SEALED_MARKER) || has_sealed(child),
        _ => false,
    })
}

fn visit_sealed<'a>(value: &'a Value, visit: &mut impl FnMut(Sealed<'a>)) {
    let Value::Object(fields) = value else {
        return;
    };
    for child in fields.values() {
        if let Value::Object(inner) = child {
            match Sealed::parse_object(inner) {
                Ok(Some(sealed)) => visit(sealed),
                Ok(None) => visit_sealed(child, visit),
                Err(_) => {}
            }
        }
    }
}

fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |value, name| value.get(name))
}

fn at_mut<'a>(value: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.')
        .try_fold(value, |value, name| value.get_mut(name))
}
