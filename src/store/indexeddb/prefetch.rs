//! Projection states read ahead: a command's transaction asks for every projection's state
//! with its first reads, so that the inline projections' fold, which needs its state first,
//! does not wait for a read of its own. Each state is served once from what was read ahead;
//! a state written in the transaction, or asked for again, is read from the store as before.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use wasm_bindgen::JsValue;

use super::records::field;
use super::txn::fail;
use crate::core::Result;

/// A `getAll` whose answer has not been awaited yet.
type PendingGetAll = <idb::request::GetAllStoreRequest as std::future::IntoFuture>::IntoFuture;

enum Read {
    Pending(PendingGetAll),
    Done(HashMap<String, JsValue>),
}

/// The projection states one transaction read ahead, and the names already served or written.
#[derive(Default)]
pub struct StatesAhead {
    read: RefCell<Option<Read>>,
    used: RefCell<HashSet<String>>,
}

impl StatesAhead {
    /// Issues the read of every record of `projections`.
    pub fn issue(&self, projections: &idb::ObjectStore) -> Result<()> {
        let request = projections.get_all(None, None).map_err(fail)?;
        *self.read.borrow_mut() = Some(Read::Pending(request.into_future()));
        Ok(())
    }

    /// The record of projection `name` as read ahead: `Some(None)` when it had none, `None`
    /// when nothing was read ahead or `name` was served or written since.
    pub async fn take(&self, name: &str) -> Result<Option<Option<JsValue>>> {
        if self.read.borrow().is_none() || !self.used.borrow_mut().insert(name.to_owned()) {
            return Ok(None);
        }
        // The borrow ends with this statement: the arms below borrow again.
        let read = self.read.borrow_mut().take();
        let records = match read {
            Some(Read::Pending(pending)) => {
                let mut records = HashMap::new();
                for record in pending.await.map_err(fail)? {
                    if let Some(name) = field(&record, "name")?.as_string() {
                        records.insert(name, record);
                    }
                }
                records
            }
            Some(Read::Done(records)) => records,
            None => return Ok(None),
        };
        let record = records.get(name).cloned();
        *self.read.borrow_mut() = Some(Read::Done(records));
        Ok(Some(record))
    }

    /// Notes that the state of `name` is written in this transaction: later reads go to the
    /// store.
    pub fn written(&self, name: &str) {
        self.used.borrow_mut().insert(name.to_owned());
    }
}
