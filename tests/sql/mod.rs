//! A native SQLite connection (rusqlite) standing in for a Durable Object's `ctx.storage.sql`.

use std::path::Path;

use fieldstream::core::{Error, Result};
use fieldstream::store::{Row, SqlConnection, SqlValue};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, params_from_iter};

/// A SQLite connection as a [`SqlConnection`].
pub struct Sqlite(pub Connection);

impl Sqlite {
    /// A fresh database in memory.
    pub fn memory() -> Self {
        Sqlite(Connection::open_in_memory().unwrap())
    }

    /// The database in file `path` (created when missing), without waiting for the disk at
    /// each commit (a reopen reads what the last one wrote all the same).
    pub fn file(path: &Path) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch("PRAGMA synchronous = OFF").unwrap();
        Sqlite(conn)
    }
}

fn failed(error: rusqlite::Error) -> Error {
    Error::Storage(format!("sqlite: {error}").into())
}

fn param(value: &SqlValue) -> ToSqlOutput<'_> {
    match value {
        SqlValue::Null => ToSqlOutput::Owned(Value::Null),
        SqlValue::Integer(n) => ToSqlOutput::Owned(Value::Integer(*n)),
        SqlValue::Real(n) => ToSqlOutput::Owned(Value::Real(*n)),
        SqlValue::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
        SqlValue::Blob(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
    }
}

struct Param<'a>(&'a SqlValue);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(param(self.0))
    }
}

fn value(value: ValueRef<'_>) -> SqlValue {
    match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(n) => SqlValue::Integer(n),
        ValueRef::Real(n) => SqlValue::Real(n),
        ValueRef::Text(text) => SqlValue::Text(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(bytes) => SqlValue::Blob(bytes.to_vec()),
    }
}

impl SqlConnection for Sqlite {
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>> {
        let mut statement = self.0.prepare_cached(sql).map_err(failed)?;
        let columns = statement.column_count();
        let mut rows = statement
            .query(params_from_iter(params.iter().map(Param)))
            .map_err(failed)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(failed)? {
            out.push(
                (0..columns)
                    .map(|i| row.get_ref(i).map(value))
                    .collect::<rusqlite::Result<Row>>()
                    .map_err(failed)?,
            );
        }
        Ok(out)
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64> {
        let mut statement = self.0.prepare_cached(sql).map_err(failed)?;
        let changed = statement
            .execute(params_from_iter(params.iter().map(Param)))
            .map_err(failed)?;
        Ok(changed as u64)
    }

    fn transaction<T>(&self, work: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        self.0.execute_batch("BEGIN").map_err(failed)?;
        match work(self) {
            Ok(value) => {
                self.0.execute_batch("COMMIT").map_err(failed)?;
                Ok(value)
            }
            Err(error) => {
                self.0.execute_batch("ROLLBACK").map_err(failed)?;
                Err(error)
            }
        }
    }
}

/// A connection that hands every number over as a float, both ways, as workerd's
/// `ctx.storage.sql` does (a JS number).
pub struct Floats(pub Sqlite);

fn float(value: &SqlValue) -> SqlValue {
    match value {
        SqlValue::Integer(n) => SqlValue::Real(*n as f64),
        other => other.clone(),
    }
}

impl SqlConnection for Floats {
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>> {
        let params: Vec<SqlValue> = params.iter().map(float).collect();
        let rows = self.0.query(sql, &params)?;
        Ok(rows
            .iter()
            .map(|row| row.iter().map(float).collect())
            .collect())
    }

    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64> {
        let params: Vec<SqlValue> = params.iter().map(float).collect();
        self.0.execute(sql, &params)
    }

    fn transaction<T>(&self, work: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        self.0.transaction(|_| work(self))
    }
}

/// A database file of its own in the temporary folder, removed when dropped.
pub struct TempFile(pub std::path::PathBuf);

impl TempFile {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{name}-{}.sqlite", uuid::Uuid::new_v4()));
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

mod against_memory;
mod at_rest;
mod reopen;
mod rows;
mod sync_properties;
