//! `JsSqlConnection`: the [`SqlConnection`] of a Cloudflare Durable Object, over the
//! synchronous SQLite of its storage (`ctx.storage.sql.exec` and
//! `ctx.storage.transactionSync`), on which `storage: "durable-object"` runs a
//! [`SqlStore`](crate::store::sql::SqlStore).
//!
//! One store at a time writes an object's database (a [`Claim`]): a second `open()` on the same
//! `ctx.storage` is refused until the first store is closed.
//!
//! One crossing per statement: its text and bindings go over as one argument list and its
//! rows come back as one array of arrays (`cursor.raw().toArray()`). workerd hands every
//! number back as a float and blobs as `ArrayBuffer`s.

use js_sys::{Array, ArrayBuffer, Function, Object, Uint8Array, WeakSet};
use wasm_bindgen::closure::ScopedClosure;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{Error, Result};
use crate::js::fields;
use crate::platform::held::detail;
use crate::store::sql::{Row, SqlConnection, SqlValue};

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE: i64 = (1 << 53) - 1;

/// What the transaction callback throws when the work in it failed, so that workerd rolls the
/// transaction back; the work's own error is kept on the Rust side.
const ROLLBACK: &str = "fieldstream: rolled back";

thread_local! {
    /// The `ctx.storage` objects a store is open on (several objects may share one isolate).
    static OPEN: WeakSet = WeakSet::new();
}

/// A store's hold on a Durable Object's storage: a store keeps the highest sequence number and
/// the event ids it wrote in memory, so two stores writing one database would disagree. Given
/// back when dropped, unless kept (then [`release`] gives it back).
pub struct Claim {
    storage: Object,
    kept: bool,
}

impl Claim {
    /// Claims the storage of `conn`; refused while another store holds it.
    pub fn new(conn: &JsSqlConnection) -> Result<Claim> {
        let storage: Object = conn.storage.clone().unchecked_into();
        if OPEN.with(|open| open.has(&storage)) {
            return Err(fields::invalid(
                "options.sql",
                "already has an open store: open one store per Durable Object (e.g. once, kept \
                 in a field) for all its requests, or close the first one",
            ));
        }
        OPEN.with(|open| open.add(&storage));
        Ok(Claim {
            storage,
            kept: false,
        })
    }

    /// Keeps the claim past this value, for the store that was opened.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.kept {
            OPEN.with(|open| open.delete(&self.storage));
        }
    }
}

/// Gives back the claim kept on the storage of `conn` (the store on it closed).
pub fn release(conn: &JsSqlConnection) {
    OPEN.with(|open| open.delete(conn.storage.unchecked_ref()));
}

/// A Durable Object's SQL storage (`ctx.storage`), as a [`SqlConnection`].
pub struct JsSqlConnection {
    storage: JsValue,
    sql: JsValue,
    exec: Function,
    transaction_sync: Function,
}

impl JsSqlConnection {
    /// The connection on `storage`, a Durable Object's `ctx.storage` (it needs `sql.exec` and
    /// `transactionSync`: a SQLite-backed class); `path` names the option in errors.
    pub fn new(storage: &JsValue, path: &str) -> Result<Self> {
        let wanted = "must be the Durable Object's ctx.storage, of a SQLite-backed class \
                      (with sql.exec and transactionSync)";
        if !storage.is_object() {
            return Err(fields::invalid(path, wanted));
        }
        let sql = fields::get(storage, "sql")
            .filter(JsValue::is_object)
            .ok_or_else(|| fields::invalid(path, wanted))?;
        let exec = fields::get(&sql, "exec")
            .and_then(|exec| exec.dyn_into::<Function>().ok())
            .ok_or_else(|| fields::invalid(path, wanted))?;
        let transaction_sync = fields::get(storage, "transactionSync")
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| fields::invalid(path, wanted))?;
        Ok(JsSqlConnection {
            storage: storage.clone(),
            sql,
            exec,
            transaction_sync,
        })
    }

    /// Runs `sql` with `params` and reads every row; answers the rows and `rowsWritten`.
    fn run(&self, sql: &str, params: &[SqlValue]) -> Result<(Vec<Row>, u64)> {
        let args = Array::new_with_length(params.len() as u32 + 1);
        args.set(0, JsValue::from_str(sql));
        for (i, param) in params.iter().enumerate() {
            args.set(i as u32 + 1, to_js(param)?);
        }
        let failed = |error| Error::Storage(detail(&format!("SQL failed: {sql}"), error));
        let cursor = self.exec.apply(&self.sql, &args).map_err(failed)?;
        let raw = call0(&cursor, "raw").map_err(failed)?;
        let rows = call0(&raw, "toArray").map_err(failed)?;
        let rows = rows
            .dyn_into::<Array>()
            .map_err(|_| Error::Storage("sql.exec gave no array of rows".into()))?
            .iter()
            .map(|row| {
                row.dyn_into::<Array>()
                    .map_err(|_| Error::Storage("sql.exec gave a row that is no array".into()))?
                    .iter()
                    .map(|value| from_js(&value))
                    .collect::<Result<Row>>()
            })
            .collect::<Result<Vec<Row>>>()?;
        let written = fields::get(&cursor, "rowsWritten")
            .and_then(|n| n.as_f64())
            .map_or(0, |n| n as u64);
        Ok((rows, written))
    }
}

impl SqlConnection for JsSqlConnection {
    fn query(&self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>> {
        Ok(self.run(sql, params)?.0)
    }

    /// workerd's `rowsWritten` of the statement: its table rows and, unlike SQLite's
    /// `changes()`, the index entries they changed (zero exactly when nothing was written).
    fn execute(&self, sql: &str, params: &[SqlValue]) -> Result<u64> {
        Ok(self.run(sql, params)?.1)
    }

    fn transaction<T>(&self, work: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        let mut work = Some(work);
        let mut outcome = None;
        let mut body = || -> std::result::Result<(), JsValue> {
            let work = work.take().ok_or_else(|| JsValue::from_str(ROLLBACK))?;
            let result = work(self);
            let failed = result.is_err();
            outcome = Some(result);
            if failed {
                Err(JsValue::from_str(ROLLBACK))
            } else {
                Ok(())
            }
        };
        let called = {
            let callback =
                ScopedClosure::<dyn FnMut() -> std::result::Result<(), JsValue>>::borrow_mut_aborting(
                    &mut body,
                );
            self.transaction_sync
                .call1(&self.storage, callback.as_js_value())
        };
        match (outcome, called) {
            (Some(Ok(value)), Ok(_)) => Ok(value),
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(_)), Err(error)) => Err(Error::Storage(detail(
                "the Durable Object's transaction failed to commit",
                error,
            ))),
            (None, Err(error)) => Err(Error::Storage(detail(
                "the Durable Object's transaction did not start",
                error,
            ))),
            (None, Ok(_)) => Err(Error::Storage(
                "transactionSync returned without running its callback".into(),
            )),
        }
    }
}

/// Calls the method `name` of `target` with no arguments.
fn call0(target: &JsValue, name: &str) -> std::result::Result<JsValue, JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(name))?
        .dyn_into::<Function>()?
        .call0(target)
}

/// A value bound to a statement: integers as JS numbers (exact up to 2^53), blobs as
/// `ArrayBuffer`s.
fn to_js(value: &SqlValue) -> Result<JsValue> {
    Ok(match value {
        SqlValue::Null => JsValue::NULL,
        SqlValue::Integer(n) if (-MAX_SAFE..=MAX_SAFE).contains(n) => JsValue::from_f64(*n as f64),
        SqlValue::Integer(n) => {
            return Err(Error::Storage(
                format!("the integer {n} does not fit a JS number exactly").into(),
            ));
        }
        SqlValue::Real(n) => JsValue::from_f64(*n),
        SqlValue::Text(text) => JsValue::from_str(text),
        SqlValue::Blob(bytes) => Uint8Array::from(bytes.as_slice()).buffer().into(),
    })
}

/// A value read from a row: every number as a real (the store's readers accept a real with no
/// fraction as an integer), an `ArrayBuffer` or typed array as a blob.
fn from_js(value: &JsValue) -> Result<SqlValue> {
    if value.is_null() || value.is_undefined() {
        Ok(SqlValue::Null)
    } else if let Some(n) = value.as_f64() {
        Ok(SqlValue::Real(n))
    } else if let Some(text) = value.as_string() {
        Ok(SqlValue::Text(text))
    } else if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        Ok(SqlValue::Blob(Uint8Array::new(buffer).to_vec()))
    } else if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        Ok(SqlValue::Blob(bytes.to_vec()))
    } else {
        let kind = value
            .dyn_ref::<Object>()
            .map_or("a value".into(), |object| String::from(object.to_string()));
        Err(Error::Storage(
            format!("sql.exec gave {kind}, not a SQLite value").into(),
        ))
    }
}
