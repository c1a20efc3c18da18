//! The exact refusals of [`check_append`]: each code and message stays the same whatever the
//! parsing inside does.

use fieldstream::core::ExpectedVersion;
use fieldstream::protocol::{ClientEvent, ErrorBody, ErrorCode};
use serde_json::{Value, json};

use super::check_append;
use crate::config::Limits;

fn limits() -> Limits {
    Limits {
        max_events_per_append: 3,
        max_event_bytes: 125,
        ..Limits::default()
    }
}

fn refusal(body: Value) -> ErrorBody {
    check_append(body, &limits())
        .expect_err("the body is refused")
        .to_body()
}

fn refused(body: Value, code: ErrorCode, message: &str) {
    let answer = refusal(body);
    assert_eq!(answer, ErrorBody::new(code, message));
}

const ID: &str = "0b0f1a4e-7c53-4a53-9d3e-9b8f2a6f1c11";

#[test]
fn a_body_of_the_wrong_shape_is_invalid_json() {
    let json = ErrorCode::InvalidJson;
    refused(json!([]), json, "an append must be a JSON object");
    refused(json!({"events": []}), json, "missing field expectedVersion");
    refused(
        json!({"expectedVersion": 0, "events": {}}),
        json,
        "events must be an array",
    );
    let bad = serde_json::from_value::<ExpectedVersion>(json!("latest")).unwrap_err();
    refused(
        json!({"expectedVersion": "latest", "events": []}),
        json,
        &format!("expectedVersion: {bad}"),
    );
    refused(
        json!({"expectedVersion": u64::MAX, "events": []}),
        json,
        "expectedVersion is out of range: at most 9223372036854775807",
    );
}

#[test]
fn limits_answer_too_large_with_the_compact_size() {
    let events: Vec<Value> = (0..4).map(|_| json!({"id": ID, "type": "E"})).collect();
    refused(
        json!({"expectedVersion": "any", "events": events}),
        ErrorCode::TooLarge,
        "4 events in one append; the limit is 3",
    );
    // The size is that of the event written compactly, not of the bytes it arrived as.
    let text = format!(
        r#"{{"expectedVersion": "any", "events": [{{"id": "{ID}", "type": "E"}},
            {{ "id" : "{ID}" , "type" : "E" , "data" : "{}" }}]}}"#,
        "x".repeat(60)
    );
    let body = crate::json::parse(text.as_bytes()).unwrap();
    let size = serde_json::to_vec(&body["events"][1]).unwrap().len();
    assert_eq!(size, 126);
    refused(
        body,
        ErrorCode::TooLarge,
        "events[1] is 126 bytes; the limit is 125",
    );
}

#[test]
fn a_bad_event_is_invalid_event() {
    let invalid = ErrorCode::InvalidEvent;
    refused(
        json!({"expectedVersion": "any", "events": []}),
        invalid,
        "an append needs at least one event",
    );
    let bad = json!({"id": "not-a-uuid", "type": "E"});
    let error = serde_json::from_value::<ClientEvent>(bad.clone()).unwrap_err();
    refused(
        json!({"expectedVersion": "any", "events": [bad]}),
        invalid,
        &format!("events[0]: {error}"),
    );
    let error = serde_json::from_value::<ClientEvent>(json!(42)).unwrap_err();
    refused(
        json!({"expectedVersion": "any", "events": [{"id": ID, "type": "E"}, 42]}),
        invalid,
        &format!("events[1]: {error}"),
    );
    refused(
        json!({"expectedVersion": "any", "events": [{"id": ID, "type": "E", "schemaVersion": 0}]}),
        invalid,
        "events[0]: invalid input: schemaVersion must be at least 1",
    );
    refused(
        json!({"expectedVersion": "any", "events": [{"id": ID, "type": "E"}, {"id": ID, "type": "E"}]}),
        invalid,
        &format!("events[1]: id {ID} appears twice"),
    );
}

#[test]
fn a_good_body_keeps_its_events_in_order() {
    let body = json!({"expectedVersion": 2, "events": [
        {"id": ID, "type": "A", "data": {"n": 1}},
        {"id": "5d1c3a52-8f0e-4f6b-a1f3-2c9e6b7d8e90", "type": "B", "metadata": {"m": true}},
    ]});
    let checked = check_append(body, &limits()).unwrap();
    assert_eq!(checked.expected, ExpectedVersion::Exact(2));
    let types: Vec<&str> = checked
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(types, ["A", "B"]);
    assert_eq!(checked.events[0].data, json!({"n": 1}));
    assert_eq!(checked.events[1].metadata, json!({"m": true}));
    assert_eq!(checked.events[1].schema_version, 1);
}
