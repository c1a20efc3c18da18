//! The real clock and timer of the platform the crate runs on: `std::time` and a sleeping
//! thread natively, `Date.now()` and `setTimeout` in wasm (browsers, workers, Node.js, workerd),
//! and `Engine::new`, which hands them to the core's engine; in wasm also [`held`], the JS
//! values the crate's errors refer to.

#[cfg(target_arch = "wasm32")]
pub mod held;

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use crate::core::{Clock, Engine, Sleeper, Timestamp};

impl<S> Engine<S> {
    /// An engine over `store` with the platform's clock and timer, random ids and the default
    /// config (the core takes its clock and timer through [`Engine::with_runtime`]).
    pub fn new(store: S) -> Self {
        Engine::with_runtime(store, Rc::new(SystemClock), Rc::new(SystemSleeper))
    }
}

/// The wall clock of the platform.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since_epoch.as_millis() as i64)
    }
}

#[cfg(target_arch = "wasm32")]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(js_sys::Date::now() as i64)
    }
}

/// The timer of the platform: natively a thread that sleeps and then wakes the future (so it
/// works under any executor), in wasm a `setTimeout`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemSleeper;

impl Sleeper for SystemSleeper {
    fn sleep(&self, millis: u64) -> Pin<Box<dyn Future<Output = ()>>> {
        if millis == 0 {
            return Box::pin(std::future::ready(()));
        }
        Box::pin(sleep(millis))
    }
}

/// Completes after `millis` milliseconds.
#[cfg(not(target_arch = "wasm32"))]
pub async fn sleep(millis: u64) {
    let (done, waited) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(millis));
        let _ = done.send(());
    });
    let _ = waited.await;
}

/// Completes after `millis` milliseconds (`globalThis.setTimeout`; at once where there is none).
#[cfg(target_arch = "wasm32")]
pub async fn sleep(millis: u64) {
    use wasm_bindgen::{JsCast, JsValue};
    let wait = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let scheduled = set_timeout.is_some_and(|set_timeout| {
            set_timeout
                .call2(&global, &resolve, &JsValue::from_f64(millis as f64))
                .is_ok()
        });
        if !scheduled {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(wait).await;
}
