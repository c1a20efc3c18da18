//! Rate limiting per subject, with `governor`'s keyed GCRA limiter.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Allows each subject (tenant and `sub`) a number of requests per second, with that many as burst.
#[derive(Debug)]
pub struct SubjectLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl SubjectLimiter {
    /// A limiter of `per_second` requests per subject, or `None` when `per_second` is 0.
    pub fn new(per_second: u32) -> Option<Self> {
        let per_second = NonZeroU32::new(per_second)?;
        Some(SubjectLimiter {
            limiter: RateLimiter::keyed(Quota::per_second(per_second)),
        })
    }

    /// Whether `subject` may make one more request now (and counts it).
    pub fn allow(&self, subject: &str) -> bool {
        // Building the key allocates; the common case is an existing key, so this is cheap enough.
        self.limiter.check_key(&subject.to_owned()).is_ok()
    }

    /// Forgets subjects whose allowance is full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}
