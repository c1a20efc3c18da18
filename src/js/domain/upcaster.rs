//! Upcasters written in JavaScript: `[{ type, fromVersion, upcast: (data) => data }]` turned
//! into the engine's [`Upcasters`], and the schema version new events of each type get.

use std::collections::HashMap;

use js_sys::{Array, Function};
use wasm_bindgen::JsValue;

use super::thrown::from_thrown;
use crate::core::{Result, Upcasters, check_event_type};
use crate::js::convert::{json_from_js, to_js_json};
use crate::js::fields;

/// The upcasters of option `upcasters`, and the current schema version of each event type they
/// raise (the version after the last upcaster of its chain).
pub fn read_upcasters(value: Option<JsValue>) -> Result<(Upcasters, HashMap<String, u32>)> {
    let mut upcasters = Upcasters::new();
    let mut current: HashMap<String, u32> = HashMap::new();
    let Some(value) = value else {
        return Ok((upcasters, current));
    };
    if !Array::is_array(&value) {
        return Err(fields::invalid(
            "upcasters",
            "must be an array of { type, fromVersion, upcast }",
        ));
    }
    for (index, entry) in Array::from(&value).iter().enumerate() {
        let path = format!("upcasters[{index}]");
        let object = fields::object(&entry, &path)?;
        fields::only(&object, &["type", "fromVersion", "upcast"], &path)?;
        let event_type = fields::optional_string(&object, "type", &path)?
            .ok_or_else(|| fields::invalid(&format!("{path}.type"), "must be a string"))?;
        check_event_type(&event_type)
            .map_err(|error| fields::invalid(&format!("{path}.type"), error))?;
        let from = fields::optional_integer(&object, "fromVersion", &path, 1, u32::MAX as u64 - 1)?
            .ok_or_else(|| fields::invalid(&format!("{path}.fromVersion"), "is required"))?
            as u32;
        let upcast = fields::function(&object, "upcast", &path)?;
        let entry = current.entry(event_type.clone()).or_insert(1);
        *entry = (*entry).max(from + 1);
        let what = format!("the upcaster of {event_type} v{from}");
        upcasters
            .register(event_type, from, move |data| run(&upcast, &what, data))
            .map_err(|error| fields::invalid(&path, format!("is refused: {error}")))?;
    }
    Ok((upcasters, current))
}

fn run(upcast: &Function, what: &str, data: serde_json::Value) -> Result<serde_json::Value> {
    let data = to_js_json(&data)?;
    let upcasted = upcast
        .call1(&JsValue::UNDEFINED, &data)
        .map_err(|thrown| from_thrown(what, thrown))?;
    json_from_js(&upcasted, &format!("what {what} returned"))
}
