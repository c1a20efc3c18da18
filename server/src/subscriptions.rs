//! Caps on live subscriptions: at most so many open at once per subject (tenant and `sub`) and
//! per tenant, in this process. A subscription holds a [`Slot`] for as long as it is open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Counts {
    subjects: HashMap<String, usize>,
    tenants: HashMap<String, usize>,
}

/// The open subscriptions of this process, counted per subject and per tenant.
#[derive(Debug)]
pub struct SubscriptionCaps {
    per_subject: usize,
    per_tenant: usize,
    counts: Mutex<Counts>,
}

/// One open subscription's place under the caps; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    caps: Arc<SubscriptionCaps>,
    subject: String,
    tenant: String,
}

/// Which cap a refused subscription met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapReached {
    /// The subject's.
    Subject(usize),
    /// The tenant's.
    Tenant(usize),
}

fn release(map: &mut HashMap<String, usize>, key: &str) {
    if let Some(count) = map.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            map.remove(key);
        }
    }
}

impl SubscriptionCaps {
    /// Caps of `per_subject` and `per_tenant` open subscriptions.
    pub fn new(per_subject: usize, per_tenant: usize) -> Self {
        SubscriptionCaps {
            per_subject,
            per_tenant,
            counts: Mutex::default(),
        }
    }

    /// A slot for one more subscription of `subject` (its limit key) in `tenant`, unless a cap
    /// is reached.
    pub fn take(self: &Arc<Self>, tenant: &str, subject: &str) -> Result<Slot, CapReached> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let by_subject = counts.subjects.get(subject).copied().unwrap_or(0);
        if by_subject >= self.per_subject {
            return Err(CapReached::Subject(self.per_subject));
        }
        let by_tenant = counts.tenants.get(tenant).copied().unwrap_or(0);
        if by_tenant >= self.per_tenant {
            return Err(CapReached::Tenant(self.per_tenant));
        }
        *counts.subjects.entry(subject.to_owned()).or_default() += 1;
        *counts.tenants.entry(tenant.to_owned()).or_default() += 1;
        Ok(Slot {
            caps: self.clone(),
            subject: subject.to_owned(),
            tenant: tenant.to_owned(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.caps.counts.lock().unwrap_or_else(|e| e.into_inner());
        release(&mut counts.subjects, &self.subject);
        release(&mut counts.tenants, &self.tenant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_and_given_back() {
        let caps = Arc::new(SubscriptionCaps::new(2, 3));
        let a1 = caps.take("t", "a").unwrap();
        let _a2 = caps.take("t", "a").unwrap();
        assert_eq!(caps.take("t", "a").unwrap_err(), CapReached::Subject(2));
        let _b1 = caps.take("t", "b").unwrap();
        assert_eq!(caps.take("t", "c").unwrap_err(), CapReached::Tenant(3));
        assert!(caps.take("u", "c").is_ok());
        drop(a1);
        assert!(caps.take("t", "a").is_ok());
    }
}
