//! [`AppState`]: what every handler shares.

use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::backend::AnyBackend;
use crate::config::Config;
use crate::limits::{AddressLimiter, SubjectLimiter};
use crate::metrics::Metrics;
use crate::subscriptions::SubscriptionCaps;

/// The state behind the router: backend, configuration, auth, limiters and metrics.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Where events are stored.
    pub backend: AnyBackend,
    /// The configuration the router was built with.
    pub config: Arc<Config>,
    /// Checks bearer tokens.
    pub auth: Arc<Authenticator>,
    /// The per-subject rate limiter, unless rate limiting is off.
    pub limiter: Option<Arc<SubjectLimiter>>,
    /// The per-address limiter of requests without a valid token, unless it is off.
    pub ip_limiter: Option<Arc<AddressLimiter>>,
    /// The caps on live subscriptions.
    pub subscriptions: Arc<SubscriptionCaps>,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// State for `backend` configured by `config`.
    pub fn new(backend: AnyBackend, config: Config) -> Self {
        let limits = &config.limits;
        AppState {
            backend,
            auth: Arc::new(Authenticator::new(&config.auth)),
            limiter: SubjectLimiter::new(limits.requests_per_second).map(Arc::new),
            ip_limiter: AddressLimiter::new(limits.unauthenticated_per_second).map(Arc::new),
            subscriptions: Arc::new(SubscriptionCaps::new(
                limits.max_subscriptions_per_subject,
                limits.max_subscriptions_per_tenant,
            )),
            metrics: Arc::new(Metrics::default()),
            config: Arc::new(config),
            shutdown: Arc::new(watch::channel(false).0),
        }
    }

    /// Forgets idle entries of the rate limiters, so their memory stays bounded.
    pub fn forget_idle_limits(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.forget_idle();
        }
        if let Some(limiter) = &self.ip_limiter {
            limiter.forget_idle();
        }
    }

    /// Ends every live subscription, so that a graceful shutdown does not wait on them.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// A receiver that changes to `true` when the server shuts down.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}
