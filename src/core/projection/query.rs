//! Queries on read models: by key, or by an index value (equal, or in a range), in pages.
//!
//! Results are ordered by the index value, then by document key. A page's `next` cursor,
//! passed back as `after`, continues right after the page's last document.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::error::{Error, Result};
use crate::core::projection::IndexValue;

/// The most documents one page returns.
pub const MAX_PAGE: usize = 10_000;

/// Which documents an index query selects.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Index value equal to this.
    Equals(IndexValue),
    /// Index value within `lower..=upper`; an absent bound is open.
    Range {
        /// The smallest value selected.
        lower: Option<IndexValue>,
        /// The largest value selected.
        upper: Option<IndexValue>,
    },
}

impl Condition {
    /// Whether `value` is selected.
    pub fn selects(&self, value: &IndexValue) -> bool {
        match self {
            Condition::Equals(wanted) => value == wanted,
            Condition::Range { lower, upper } => {
                lower.as_ref().is_none_or(|lower| value >= lower)
                    && upper.as_ref().is_none_or(|upper| value <= upper)
            }
        }
    }
}

/// Where a page ends: the last document's index value and key.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The index value of the last document returned.
    pub value: IndexValue,
    /// The key of the last document returned.
    pub key: String,
}

impl Cursor {
    /// The cursor as the opaque text handed to callers.
    pub fn encode(&self) -> String {
        serde_json::json!([self.value.to_json(), self.key]).to_string()
    }

    /// Reads a cursor written by [`Cursor::encode`].
    pub fn decode(text: &str) -> Result<Cursor> {
        let invalid = || Error::InvalidInput(format!("{text:?} is not a cursor of this query"));
        let (value, key): (Value, String) = serde_json::from_str(text).map_err(|_| invalid())?;
        Ok(Cursor {
            value: IndexValue::from_json(&value).ok_or_else(invalid)?,
            key,
        })
    }
}

/// An index query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The declared index to use.
    pub index: String,
    /// The documents it selects.
    pub condition: Condition,
    /// The most documents to return.
    pub limit: usize,
    /// Continue after this cursor.
    pub after: Option<Cursor>,
}

/// A query as callers write it: `{ index, equals }` or `{ index, range: [lo, hi] }`, with
/// optional `limit` (default 100) and `after` (a page's `next`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuerySpec {
    /// The declared index to use.
    pub index: String,
    /// Select documents whose index value equals this.
    pub equals: Option<Value>,
    /// Select documents whose index value is within `[lower, upper]` (either may be null).
    pub range: Option<(Value, Value)>,
    /// The most documents to return (1 to 10,000; default 100).
    pub limit: Option<usize>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

fn bound(value: &Value, what: &str) -> Result<Option<IndexValue>> {
    if value.is_null() {
        return Ok(None);
    }
    IndexValue::from_json(value)
        .map(Some)
        .ok_or_else(|| Error::InvalidInput(format!("{what} must be a string, a number or null")))
}

impl QuerySpec {
    /// Checks the spec against the projection's declared indexes and makes the query.
    pub fn into_query(self, declared: &[String]) -> Result<Query> {
        if !declared.contains(&self.index) {
            return Err(Error::InvalidInput(format!(
                "{:?} is not a declared index (declared: {declared:?})",
                self.index
            )));
        }
        let condition = match (&self.equals, &self.range) {
            (Some(value), None) => Condition::Equals(
                bound(value, "equals")?
                    .ok_or_else(|| Error::invalid("equals must be a string or a number"))?,
            ),
            (None, Some((lower, upper))) => Condition::Range {
                lower: bound(lower, "range's lower bound")?,
                upper: bound(upper, "range's upper bound")?,
            },
            _ => {
                return Err(Error::invalid(
                    "a query needs exactly one of equals and range",
                ));
            }
        };
        let limit = self.limit.unwrap_or(100);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Error::InvalidInput(format!(
                "limit must be 1 to {MAX_PAGE}"
            )));
        }
        let after = self.after.as_deref().map(Cursor::decode).transpose()?;
        Ok(Query {
            index: self.index,
            condition,
            limit,
            after,
        })
    }
}

/// One document of a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Doc {
    /// Its key.
    pub key: String,
    /// The document.
    pub doc: Value,
}

/// A page of query results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// The documents, in index order.
    pub docs: Vec<Doc>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}
