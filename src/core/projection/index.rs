//! Index values: the document fields a projection indexes, ordered as IndexedDB orders keys.
//!
//! Numbers sort before strings, numbers numerically, strings by UTF-16 code units (as in
//! IndexedDB). Other JSON values (null, booleans, arrays, objects) are not indexed.

use std::cmp::Ordering;

use serde_json::Value;

/// An indexable value.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    /// A JSON number.
    Number(f64),
    /// A JSON string.
    Text(String),
}

impl IndexValue {
    /// The index value of a JSON value, if it can be indexed.
    pub fn from_json(value: &Value) -> Option<IndexValue> {
        match value {
            Value::Number(n) => n.as_f64().filter(|n| n.is_finite()).map(IndexValue::Number),
            Value::String(s) => Some(IndexValue::Text(s.clone())),
            _ => None,
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            IndexValue::Number(n) => {
                serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
            IndexValue::Text(s) => Value::String(s.clone()),
        }
    }
}

impl Eq for IndexValue {}

impl PartialOrd for IndexValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IndexValue {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (IndexValue::Number(a), IndexValue::Number(b)) => a.total_cmp(b),
            (IndexValue::Number(_), IndexValue::Text(_)) => Ordering::Less,
            (IndexValue::Text(_), IndexValue::Number(_)) => Ordering::Greater,
            (IndexValue::Text(a), IndexValue::Text(b)) => a.encode_utf16().cmp(b.encode_utf16()),
        }
    }
}

/// The (index name, value) entries of `doc` for the declared `indexes`.
pub fn index_entries(indexes: &[String], doc: &Value) -> Vec<(String, IndexValue)> {
    indexes
        .iter()
        .filter_map(|index| Some((index.clone(), IndexValue::from_json(doc.get(index)?)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_sort_before_strings() {
        let mut values = vec![
            IndexValue::Text("b".into()),
            IndexValue::Number(10.0),
            IndexValue::Text("a".into()),
            IndexValue::Number(-1.5),
        ];
        values.sort();
        assert_eq!(
            values,
            vec![
                IndexValue::Number(-1.5),
                IndexValue::Number(10.0),
                IndexValue::Text("a".into()),
                IndexValue::Text("b".into())
            ]
        );
    }

    #[test]
    fn only_strings_and_numbers_are_indexed() {
        let doc = json!({"a": "x", "b": 2, "c": null, "d": true, "e": [1]});
        let indexes: Vec<String> = ["a", "b", "c", "d", "e", "missing"]
            .map(String::from)
            .to_vec();
        let entries = index_entries(&indexes, &doc);
        assert_eq!(
            entries,
            vec![
                ("a".into(), IndexValue::Text("x".into())),
                ("b".into(), IndexValue::Number(2.0))
            ]
        );
    }
}
