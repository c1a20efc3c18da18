//! The real clock of the platform the crate runs on: `std::time` natively, `Date.now()` in wasm.

use crate::core::{Clock, Timestamp};

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
