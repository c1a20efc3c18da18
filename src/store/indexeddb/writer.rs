//! The connection that commits commands, with a chosen durability and full error detail.
//!
//! rexie opens transactions without options and hides a transaction's `error` once it has
//! aborted, yet a command commit needs both: `durability: "strict"` on request, and the
//! `QuotaExceededError` that aborts a commit when the disk is full (it arrives on the
//! transaction at commit time, after every request succeeded). So commits run on a second
//! connection, opened through `idb` (the layer rexie is built on), whose transactions are
//! created through web-sys with their options. It closes itself on `versionchange`, like
//! rexie's, so it never blocks an upgrade in another tab.

use std::cell::RefCell;
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{DomException, Event, IdbDatabase, IdbTransaction};

use super::Durability;
use super::errors::{classify, idb_error};
use crate::core::{Error, Result};
use crate::platform::held;

/// The committing connection of one store.
pub struct Writer {
    db: Rc<RefCell<Option<IdbDatabase>>>,
    _on_version_change: Closure<dyn FnMut(Event)>,
}

/// Maps an `idb` failure to a typed error.
pub fn failed(context: &str, error: &idb::Error) -> Error {
    idb_error(context, error)
}

impl Writer {
    /// Opens the connection to database `name` at its current version.
    pub async fn open(name: &str) -> Result<Writer> {
        let context = "opening the database for writing";
        let factory = idb::Factory::new().map_err(|e| failed(context, &e))?;
        let request = factory.open(name, None).map_err(|e| failed(context, &e))?;
        let database: IdbDatabase = request.await.map_err(|e| failed(context, &e))?.into();
        let db = Rc::new(RefCell::new(Some(database.clone())));
        let to_close = db.clone();
        let on_version_change = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(db) = to_close.borrow_mut().take() {
                db.close();
            }
        });
        database.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        Ok(Writer {
            db,
            _on_version_change: on_version_change,
        })
    }

    /// Starts a readwrite transaction over `stores` with the given durability.
    pub fn begin(&self, stores: &[&str], durability: Durability) -> Result<IdbTransaction> {
        let context = "starting a commit";
        let db = self.db.borrow().clone().ok_or_else(|| {
            Error::Storage(format!(
                "{context}: the connection was closed by an upgrade in another tab; reload the page"
            ).into())
        })?;
        let names: Array = stores.iter().map(|name| JsValue::from_str(name)).collect();
        let options = Object::new();
        let durability = match durability {
            Durability::Relaxed => "relaxed",
            Durability::Strict => "strict",
        };
        // `IDBTransactionOptions` is behind web-sys's unstable-API cfg; a plain object does the same.
        Reflect::set(&options, &"durability".into(), &durability.into())
            .map_err(|_| Error::Storage(format!("{context}: cannot build options").into()))?;
        let transaction: Function = Reflect::get(&db, &"transaction".into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| {
                Error::Storage(format!("{context}: IDBDatabase.transaction is missing").into())
            })?;
        let raw = transaction
            .call3(&db, &names, &"readwrite".into(), &options)
            .map_err(|error| classify(context, &held::describe(&error), Some(&error)))?;
        raw.dyn_into()
            .map_err(|_| Error::Storage(format!("{context}: not an IDBTransaction").into()))
    }

    /// Starts a readonly transaction over `stores`.
    pub fn read(&self, stores: &[&str]) -> Result<idb::Transaction> {
        let context = "starting a read";
        let db = self.db.borrow().clone().ok_or_else(|| {
            Error::Storage(format!(
                "{context}: the connection was closed by an upgrade in another tab; reload the page"
            ).into())
        })?;
        let names: Array = stores.iter().map(|name| JsValue::from_str(name)).collect();
        let transaction = db
            .transaction_with_str_sequence(&names)
            .map_err(|error| classify(context, &held::describe(&error), Some(&error)))?;
        Ok(idb::Transaction::from(transaction))
    }

    /// Closes the connection.
    pub fn close(&self) {
        if let Some(db) = self.db.borrow_mut().take() {
            db.close();
        }
    }
}

/// How a transaction ended: committed, or aborted with its error (`None` for an explicit abort).
pub type Ending = std::result::Result<(), Option<DomException>>;

/// Watches a transaction from its start until it commits or aborts.
///
/// Made before the first request, so no outcome is missed; it reads the transaction's `error`
/// when `abort` fires, which is when IndexedDB sets it.
pub struct Watch {
    transaction: IdbTransaction,
    ended: oneshot::Receiver<Ending>,
    on_complete: Closure<dyn FnMut(Event)>,
    on_abort: Closure<dyn FnMut(Event)>,
}

impl Watch {
    /// Starts watching `transaction`.
    pub fn new(transaction: &IdbTransaction) -> Watch {
        let (sender, ended) = oneshot::channel::<Ending>();
        let sender = Rc::new(RefCell::new(Some(sender)));
        let on_complete_sender = sender.clone();
        let on_complete = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(sender) = on_complete_sender.borrow_mut().take() {
                let _ = sender.send(Ok(()));
            }
        });
        let aborted = transaction.clone();
        let on_abort = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(sender) = sender.borrow_mut().take() {
                let _ = sender.send(Err(aborted.error()));
            }
        });
        // Adding a listener to a live transaction cannot fail.
        let _ = transaction
            .add_event_listener_with_callback("complete", on_complete.as_ref().unchecked_ref());
        let _ = transaction
            .add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        Watch {
            transaction: transaction.clone(),
            ended,
            on_complete,
            on_abort,
        }
    }

    /// Waits for the transaction to end.
    pub async fn ended(mut self) -> Ending {
        (&mut self.ended).await.unwrap_or(Err(None))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.transaction.remove_event_listener_with_callback(
            "complete",
            self.on_complete.as_ref().unchecked_ref(),
        );
        let _ = self
            .transaction
            .remove_event_listener_with_callback("abort", self.on_abort.as_ref().unchecked_ref());
    }
}
