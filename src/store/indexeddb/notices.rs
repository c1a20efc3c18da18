//! Change notices between tabs and workers on one database, over `BroadcastChannel`.
//!
//! After each commit a store posts the newest local sequence number it wrote on the channel
//! `fieldstream:<database>`; every other store on that database (in this or another tab or
//! worker) hears it without polling and tells its subscribers. Where `BroadcastChannel` does not
//! exist the store works on, without notices.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

type Listener = Rc<dyn Fn(u64)>;
type Listeners = Rc<RefCell<Vec<(u64, Listener)>>>;

/// The channel of one database.
pub struct Notices {
    channel: BroadcastChannel,
    listeners: Listeners,
    next_id: Cell<u64>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

/// Keeps a change listener registered; dropping it unregisters the listener.
pub struct ChangeSubscription {
    id: u64,
    listeners: Weak<RefCell<Vec<(u64, Listener)>>>,
}

impl Drop for ChangeSubscription {
    fn drop(&mut self) {
        if let Some(listeners) = self.listeners.upgrade() {
            listeners.borrow_mut().retain(|(id, _)| *id != self.id);
        }
    }
}

impl Notices {
    /// Joins the channel of database `name`; `None` where `BroadcastChannel` does not exist.
    pub fn join(name: &str) -> Option<Notices> {
        let exists =
            js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("BroadcastChannel"));
        if !exists.unwrap_or(false) {
            return None;
        }
        let channel = BroadcastChannel::new(&format!("fieldstream:{name}")).ok()?;
        let listeners: Listeners = Rc::default();
        let heard = Rc::downgrade(&listeners);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |message: MessageEvent| {
            let Some(seq) = message.data().as_f64() else {
                return;
            };
            let Some(listeners) = heard.upgrade() else {
                return;
            };
            // Call a copy, so a listener may subscribe or unsubscribe while being called.
            let current: Vec<Listener> =
                listeners.borrow().iter().map(|(_, f)| f.clone()).collect();
            for listener in current {
                listener(seq as u64);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Notices {
            channel,
            listeners,
            next_id: Cell::new(0),
            _on_message: on_message,
        })
    }

    /// Tells every other store on the database that it now holds events up to `last_seq`.
    pub fn announce(&self, last_seq: u64) {
        // A closed channel only means nobody hears it; the commit itself stands.
        let _ = self
            .channel
            .post_message(&JsValue::from_f64(last_seq as f64));
    }

    /// Calls `listener` with the newest local sequence number whenever another store commits.
    pub fn subscribe(&self, listener: impl Fn(u64) + 'static) -> ChangeSubscription {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.listeners.borrow_mut().push((id, Rc::new(listener)));
        ChangeSubscription {
            id,
            listeners: Rc::downgrade(&self.listeners),
        }
    }
}

impl Drop for Notices {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
