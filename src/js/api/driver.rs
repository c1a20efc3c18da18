//! The catch-up driver: keeps the projections of a store moving by themselves. It runs
//! catch-up steps after commits and sync rounds when there is work (background projections,
//! or events an inline projection left to it), one task at a time, and sets a timer for the
//! next retry of a failed event, so retries happen without anyone asking. After each run it
//! tells the JS layer, which re-reads `projections()` for those who listen.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::{Function, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;

use super::views::report;
use crate::core::{Engine, ProjectionMode, Result};
use crate::js::error::to_js_error;
use crate::js::store::LocalStore;

/// Catch-up steps one run takes at most before it yields to the next trigger.
const MAX_STEPS: usize = 1_000;

/// Drives the catch-up of a store's projections. Clones share one driver.
#[derive(Clone)]
pub(super) struct CatchUpDriver {
    inner: Rc<Inner>,
}

struct Inner {
    engine: Rc<Engine<LocalStore>>,
    background: bool,
    running: Cell<bool>,
    again: Cell<bool>,
    stopped: Cell<bool>,
    /// The pending retry timer: when it fires (ms since the epoch) and its handle.
    timer: RefCell<Option<(f64, JsValue)>>,
    /// Called after each run (the JS layer's `onProjections` fan-out).
    listener: RefCell<Option<Function>>,
}

impl CatchUpDriver {
    /// A driver for `engine`'s projections.
    pub(super) fn new(engine: Rc<Engine<LocalStore>>) -> CatchUpDriver {
        let background = engine
            .projector()
            .all()
            .any(|registered| registered.options.mode != ProjectionMode::Inline);
        CatchUpDriver {
            inner: Rc::new(Inner {
                engine,
                background,
                running: Cell::new(false),
                again: Cell::new(false),
                stopped: Cell::new(false),
                timer: RefCell::new(None),
                listener: RefCell::new(None),
            }),
        }
    }

    /// After a commit or a sync round: runs when background projections may have work, or
    /// when an inline projection left events to the catch-up path.
    pub(super) fn after_write(&self) {
        let left_behind = self.inner.engine.projector().take_left_behind();
        if self.inner.background || left_behind {
            self.kick();
        }
    }

    /// Asks for a run: starts a task unless one runs, which then runs once more.
    pub(super) fn kick(&self) {
        let inner = &self.inner;
        if inner.stopped.get() {
            return;
        }
        inner.again.set(true);
        if inner.running.replace(true) {
            return;
        }
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let inner = &this.inner;
            while inner.again.replace(false) && !inner.stopped.get() {
                match catch_up(&inner.engine).await {
                    Ok(retry_at) => this.schedule(retry_at),
                    Err(error) => report("a projection failed", &to_js_error(error)),
                }
            }
            inner.running.set(false);
            this.notify();
        });
    }

    /// Calls `listener` after each run from now on (replacing the one before).
    pub(super) fn set_listener(&self, listener: Function) {
        *self.inner.listener.borrow_mut() = Some(listener);
    }

    /// Tells the listener that projections may have changed.
    pub(super) fn notify(&self) {
        let listener = self.inner.listener.borrow().clone();
        if let Some(listener) = listener {
            if let Err(thrown) = listener.call0(&JsValue::UNDEFINED) {
                report("an onProjections listener threw", &thrown);
            }
        }
    }

    /// Sets a timer for `retry_at` (ms since the epoch) unless one fires sooner already.
    pub(super) fn schedule(&self, retry_at: Option<i64>) {
        let Some(retry_at) = retry_at.map(|at| at as f64) else {
            return;
        };
        let inner = &self.inner;
        if inner.stopped.get() {
            return;
        }
        if let Some((at, _)) = inner.timer.borrow().as_ref() {
            if *at <= retry_at {
                return;
            }
        }
        self.clear_timer();
        let weak: Weak<Inner> = Rc::downgrade(inner);
        let fire = Closure::once_into_js(move || {
            if let Some(inner) = weak.upgrade() {
                inner.timer.borrow_mut().take();
                CatchUpDriver { inner }.kick();
            }
        });
        let delay = (retry_at - js_sys::Date::now()).max(0.0);
        match set_timeout(&fire, delay) {
            Ok(handle) => *inner.timer.borrow_mut() = Some((retry_at, handle)),
            Err(error) => report("a projection retry could not be scheduled", &error),
        }
    }

    /// A handle that does not keep the driver alive (for callbacks the store itself holds).
    pub(super) fn downgrade(&self) -> WeakDriver {
        WeakDriver(Rc::downgrade(&self.inner))
    }

    /// Stops the driver: no further runs, no timer.
    pub(super) fn stop(&self) {
        self.inner.stopped.set(true);
        self.clear_timer();
        self.inner.listener.borrow_mut().take();
    }

    fn clear_timer(&self) {
        if let Some((_, handle)) = self.inner.timer.borrow_mut().take() {
            let global = js_sys::global();
            if let Some(clear) = function_of(&global, "clearTimeout") {
                let _ = clear.call1(&global, &handle);
            }
        }
    }
}

/// A [`CatchUpDriver`] that may be gone.
pub(super) struct WeakDriver(Weak<Inner>);

impl WeakDriver {
    /// The driver, while it exists.
    pub(super) fn upgrade(&self) -> Option<CatchUpDriver> {
        self.0.upgrade().map(|inner| CatchUpDriver { inner })
    }
}

/// Runs catch-up steps until every projection is up to date, stopped or waiting, or a run
/// makes no progress; resolves to the earliest time a projection wants to be tried again.
pub(super) async fn catch_up(engine: &Engine<LocalStore>) -> Result<Option<i64>> {
    let mut retry_at = None;
    for _ in 0..MAX_STEPS {
        let steps = engine.run_projections(500).await?;
        retry_at = steps.iter().filter_map(|(_, step)| step.retry_at).min();
        let finished = steps.iter().all(|(_, step)| step.finished);
        let progressed = steps.iter().any(|(_, step)| step.processed > 0);
        if finished || !progressed {
            break;
        }
    }
    Ok(retry_at)
}

/// `globalThis.setTimeout(callback, delay)`; in Node.js the timer is unref'd, so a retry
/// waiting does not keep the process alive.
fn set_timeout(callback: &JsValue, delay: f64) -> Result<JsValue, JsValue> {
    let global = js_sys::global();
    let set = function_of(&global, "setTimeout")
        .ok_or_else(|| JsValue::from_str("setTimeout is not available"))?;
    let handle = set.call2(&global, callback, &JsValue::from_f64(delay))?;
    if let Some(unref) = function_of(&handle, "unref") {
        let _ = unref.call0(&handle);
    }
    Ok(handle)
}

fn function_of(target: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(target, &JsValue::from_str(name))
        .ok()?
        .dyn_into::<Function>()
        .ok()
}
