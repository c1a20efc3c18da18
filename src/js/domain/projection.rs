//! Projections written in JavaScript: `{ apply(event, view), version, indexes, mode,
//! batchSize, onFailure, maxRetries, backoffMs }` run by the projector through [`Projection`].
//!
//! The core's [`View`] is synchronous and borrowed, so JS cannot hold it. `apply` gets a small
//! JS view instead whose `get` answers from the projector's documents (shared with the view);
//! a key they lack makes the run void: the binding reports those keys to the core's view (the
//! core fetches what it lacks and calls again, its miss-and-rerun rule). Writes are buffered
//! and reach the core's view only from a complete run.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::thrown::from_thrown;
use crate::core::projection::{Known, OnFailure, ProjectionMode, ProjectionOptions, SharedKnown};
use crate::core::{Error, EventEnvelope, Projection, Result, View};
use crate::js::convert::{json_from_js, to_js_json};
use crate::js::fields;

/// What one run of `apply` saw and did.
#[derive(Default)]
struct Bridge {
    /// Documents known for this run: `Some(doc)`, or `None` for "does not exist".
    known: SharedKnown,
    /// Whether `known` holds every document (a key it lacks does not exist).
    complete: bool,
    /// Keys `get` asked for that were not known.
    unknown: Vec<String>,
    /// Buffered writes in order: a document, or `None` for a delete.
    writes: Vec<(String, Option<JsValue>)>,
    /// A misuse of the view (a key that is not a string).
    misuse: Option<String>,
}

impl Bridge {
    fn key(&mut self, key: &JsValue, method: &str) -> Option<String> {
        let key = key.as_string();
        if key.is_none() && self.misuse.is_none() {
            self.misuse = Some(format!("view.{method} needs a string key"));
        }
        key
    }
}

/// The JS view object and the closures behind its methods (kept alive as long as it).
struct JsView {
    object: Object,
    _methods: [Closure<dyn Fn(JsValue, JsValue) -> JsValue>; 3],
}

/// A projection whose `apply(event, view)` is a JS function.
pub struct JsProjection {
    name: String,
    version: u32,
    indexes: Vec<String>,
    apply: Function,
    bridge: Rc<RefCell<Bridge>>,
    view: JsView,
}

const OPTIONS: &[&str] = &[
    "apply",
    "version",
    "indexes",
    "mode",
    "batchSize",
    "onFailure",
    "maxRetries",
    "backoffMs",
];

impl JsProjection {
    /// Reads the definition of projection `name` (option path `projections.{name}`).
    pub fn from_definition(
        name: &str,
        definition: &JsValue,
    ) -> Result<(JsProjection, ProjectionOptions)> {
        let path = format!("projections.{name}");
        let object = fields::object(definition, &path)?;
        fields::only(&object, OPTIONS, &path)?;
        let version = fields::optional_integer(&object, "version", &path, 1, u32::MAX as u64)?
            .unwrap_or(1) as u32;
        let indexes = match fields::get(&object, "indexes") {
            None => Vec::new(),
            Some(value) => json_from_js(&value, &format!("{path}.indexes"))
                .ok()
                .and_then(|json| serde_json::from_value::<Vec<String>>(json).ok())
                .ok_or_else(|| {
                    fields::invalid(
                        &format!("{path}.indexes"),
                        "must be an array of field names",
                    )
                })?,
        };
        let options = projection_options(&object, &path)?;
        let bridge = Rc::new(RefCell::new(Bridge::default()));
        let projection = JsProjection {
            name: name.to_owned(),
            version,
            indexes,
            apply: fields::function(&object, "apply", &path)?,
            view: view_object(&bridge),
            bridge,
        };
        Ok((projection, options))
    }
}

fn projection_options(object: &Object, path: &str) -> Result<ProjectionOptions> {
    let defaults = ProjectionOptions::default();
    let batch_size = fields::optional_integer(object, "batchSize", path, 1, 100_000)?;
    let mode = match fields::optional_string(object, "mode", path)?.as_deref() {
        None | Some("inline") if batch_size.is_none() => ProjectionMode::Inline,
        Some("background") => ProjectionMode::Background {
            batch_size: batch_size.unwrap_or(50) as usize,
        },
        None | Some("inline") => {
            return Err(fields::invalid(
                &format!("{path}.batchSize"),
                "applies to mode \"background\" only",
            ));
        }
        Some(_) => {
            return Err(fields::invalid(
                &format!("{path}.mode"),
                "must be \"inline\" or \"background\"",
            ));
        }
    };
    let on_failure = match fields::optional_string(object, "onFailure", path)?.as_deref() {
        None | Some("stop") => OnFailure::Stop,
        Some("skip") => OnFailure::Skip,
        Some(_) => {
            return Err(fields::invalid(
                &format!("{path}.onFailure"),
                "must be \"stop\" or \"skip\"",
            ));
        }
    };
    Ok(ProjectionOptions {
        mode,
        on_failure,
        max_retries: fields::optional_integer(object, "maxRetries", path, 0, 1_000)?
            .map_or(defaults.max_retries, |n| n as u32),
        backoff_ms: fields::optional_integer(object, "backoffMs", path, 0, 86_400_000)?
            .unwrap_or(defaults.backoff_ms),
    })
}

/// Builds `{ get(key), put(key, doc), delete(key) }` over `bridge`.
fn view_object(bridge: &Rc<RefCell<Bridge>>) -> JsView {
    let shared = bridge.clone();
    let get = Closure::<dyn Fn(JsValue, JsValue) -> JsValue>::new(move |key: JsValue, _| {
        let mut bridge = shared.borrow_mut();
        let Some(key) = bridge.key(&key, "get") else {
            return JsValue::UNDEFINED;
        };
        if let Some((_, written)) = bridge.writes.iter().rev().find(|(k, _)| *k == key) {
            return written.clone().unwrap_or(JsValue::UNDEFINED);
        }
        let known = bridge.known.clone();
        let known = known.borrow();
        match known.get(&key) {
            Some(Some(doc)) => to_js_json(doc).unwrap_or(JsValue::UNDEFINED),
            Some(None) => JsValue::UNDEFINED,
            None if bridge.complete => JsValue::UNDEFINED,
            None => {
                if !bridge.unknown.contains(&key) {
                    bridge.unknown.push(key);
                }
                JsValue::UNDEFINED
            }
        }
    });
    let shared = bridge.clone();
    let put = Closure::<dyn Fn(JsValue, JsValue) -> JsValue>::new(move |key: JsValue, doc| {
        let mut bridge = shared.borrow_mut();
        if let Some(key) = bridge.key(&key, "put") {
            bridge.writes.push((key, Some(doc)));
        }
        JsValue::UNDEFINED
    });
    let shared = bridge.clone();
    let delete = Closure::<dyn Fn(JsValue, JsValue) -> JsValue>::new(move |key: JsValue, _| {
        let mut bridge = shared.borrow_mut();
        if let Some(key) = bridge.key(&key, "delete") {
            bridge.writes.push((key, None));
        }
        JsValue::UNDEFINED
    });
    let object = Object::new();
    for (name, method) in [("get", &get), ("put", &put), ("delete", &delete)] {
        // Defining a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(name), method.as_ref());
    }
    JsView {
        object,
        _methods: [get, put, delete],
    }
}

impl Projection for JsProjection {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> u32 {
        self.version
    }

    fn indexes(&self) -> Vec<String> {
        self.indexes.clone()
    }

    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        let event_js = to_js_json(event)?;
        // A view over documents of its own (not the projector's) answers from those asked so far.
        let shared = view
            .known_docs()
            .map(|(known, complete)| (known.clone(), complete));
        let asked = SharedKnown::default();
        loop {
            let (known, complete) = shared.clone().unwrap_or_else(|| (asked.clone(), false));
            *self.bridge.borrow_mut() = Bridge {
                known,
                complete,
                ..Bridge::default()
            };
            let outcome = self
                .apply
                .call2(&JsValue::UNDEFINED, &event_js, &self.view.object);
            let run = std::mem::take(&mut *self.bridge.borrow_mut());
            if !run.unknown.is_empty() {
                let found: Known = (run.unknown.iter())
                    .map(|key| (key.clone(), view.get(key)))
                    .collect();
                if !view.misses().is_empty() || shared.is_some() {
                    // The projector fetches these documents and calls again.
                    return Ok(());
                }
                asked.borrow_mut().extend(found);
                continue;
            }
            let returned = outcome.map_err(|thrown| {
                from_thrown(&format!("projection {}.apply", self.name), thrown)
            })?;
            if returned.has_type::<js_sys::Promise>() {
                return Err(Error::InvalidInput(format!(
                    "projection {}.apply must be synchronous",
                    self.name
                )));
            }
            if let Some(misuse) = run.misuse {
                return Err(Error::InvalidInput(format!(
                    "projection {}: {misuse}",
                    self.name
                )));
            }
            for (key, doc) in run.writes {
                match doc {
                    Some(doc) => {
                        let what = format!("the document {key:?} of projection {}", self.name);
                        view.put(key, json_from_js(&doc, &what)?);
                    }
                    None => view.delete(key),
                }
            }
            return Ok(());
        }
    }
}
