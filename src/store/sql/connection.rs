//! The connection a [`SqlStore`](super::SqlStore) runs on: the synchronous SQL interface of a
//! Cloudflare Durable Object (`ctx.storage.sql.exec` and `ctx.storage.transactionSync`),
//! reduced to two typed calls and a transaction, so that a native SQLite connection can stand
//! in for it in tests.

use crate::core::{Error, Result};

/// A value bound to a statement or read from a row: SQLite's storage classes.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// A 64-bit integer.
    Integer(i64),
    /// A 64-bit float.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes (an `ArrayBuffer` in workerd).
    Blob(Vec<u8>),
}

/// One row of a result, its values in the order of the statement's columns.
pub type Row = Vec<SqlValue>;

/// A synchronous SQL connection with transactions, as a Durable Object's storage offers.
pub trait SqlConnection {
    /// Runs one statement and returns every row it yields.
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>>;

    /// Runs one statement that writes and returns how many table rows it wrote (SQLite's
    /// `changes()`; index entries are not counted here).
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64>;

    /// Runs `work` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    fn transaction<T>(&self, work: impl FnOnce(&Self) -> Result<T>) -> Result<T>;
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> Self {
        SqlValue::Integer(value)
    }
}

impl From<u64> for SqlValue {
    fn from(value: u64) -> Self {
        // Versions, sequence numbers and positions stay far below 2^63.
        SqlValue::Integer(value as i64)
    }
}

impl From<f64> for SqlValue {
    fn from(value: f64) -> Self {
        SqlValue::Real(value)
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        SqlValue::Text(value.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> Self {
        SqlValue::Text(value)
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(SqlValue::Null, Into::into)
    }
}

impl SqlValue {
    /// The value as an integer (`None` for `NULL`); a real with no fraction also counts, as
    /// workerd hands every number over as a float.
    pub fn as_u64(&self) -> Result<Option<u64>> {
        match self {
            SqlValue::Null => Ok(None),
            SqlValue::Integer(n) if *n >= 0 => Ok(Some(*n as u64)),
            SqlValue::Real(n) if *n >= 0.0 && n.fract() == 0.0 => Ok(Some(*n as u64)),
            other => Err(unexpected("a non-negative integer", other)),
        }
    }

    /// The value as text (`None` for `NULL`).
    pub fn as_text(&self) -> Result<Option<&str>> {
        match self {
            SqlValue::Null => Ok(None),
            SqlValue::Text(text) => Ok(Some(text)),
            other => Err(unexpected("text", other)),
        }
    }
}

/// Reading the columns of a row by position.
pub(super) trait Columns {
    /// Column `i` as a non-negative integer (`NULL` is an error).
    fn int(&self, i: usize) -> Result<u64>;
    /// Column `i` as a non-negative integer or `NULL`.
    fn opt_int(&self, i: usize) -> Result<Option<u64>>;
    /// Column `i` as text (`NULL` is an error).
    fn text(&self, i: usize) -> Result<&str>;
    /// Column `i` as text or `NULL`.
    fn opt_text(&self, i: usize) -> Result<Option<&str>>;
}

impl Columns for Row {
    fn int(&self, i: usize) -> Result<u64> {
        self.opt_int(i)?
            .ok_or_else(|| Error::Storage(format!("column {i} is NULL").into()))
    }

    fn opt_int(&self, i: usize) -> Result<Option<u64>> {
        column(self, i)?.as_u64()
    }

    fn text(&self, i: usize) -> Result<&str> {
        self.opt_text(i)?
            .ok_or_else(|| Error::Storage(format!("column {i} is NULL").into()))
    }

    fn opt_text(&self, i: usize) -> Result<Option<&str>> {
        column(self, i)?.as_text()
    }
}

fn column(row: &Row, i: usize) -> Result<&SqlValue> {
    row.get(i)
        .ok_or_else(|| Error::Storage(format!("a row without column {i}").into()))
}

fn unexpected(wanted: &str, found: &SqlValue) -> Error {
    Error::Storage(format!("expected {wanted}, found {found:?}").into())
}
