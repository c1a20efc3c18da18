//! Rate limits with `governor`'s keyed GCRA limiter: per subject (tenant and `sub`), and per
//! client IP address for requests without a valid token. Each process counts on its own.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Allows each key a number of requests per second, with that many as burst.
#[derive(Debug)]
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    burst: NonZeroU32,
}

/// The limiter of token subjects (tenant and `sub`).
pub type SubjectLimiter = KeyedLimiter<String>;

/// The limiter of client addresses without a valid token.
pub type AddressLimiter = KeyedLimiter<IpAddr>;

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter of `per_second` requests per key, or `None` when `per_second` is 0.
    pub fn new(per_second: u32) -> Option<Self> {
        let burst = NonZeroU32::new(per_second)?;
        Some(KeyedLimiter {
            limiter: RateLimiter::keyed(Quota::per_second(burst)),
            burst,
        })
    }

    /// Whether `key` may make one more request now (and counts it).
    pub fn allow(&self, key: &K) -> bool {
        self.limiter.check_key(key).is_ok()
    }

    /// Whether `key` may make `n` more requests now (and counts them). More than the burst
    /// count as the burst, so that the largest batch still passes once the allowance is full.
    pub fn allow_n(&self, key: &K, n: u32) -> bool {
        let Some(n) = NonZeroU32::new(n.min(self.burst.get())) else {
            return true;
        };
        matches!(self.limiter.check_key_n(key, n), Ok(Ok(())))
    }

    /// Forgets keys whose allowance is full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}
