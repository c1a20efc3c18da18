//! [`AppState`]: what every handler shares.

use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::backend::AnyBackend;
use crate::config::Config;
use crate::limits::SubjectLimiter;
use crate::metrics::Metrics;

/// The state behind the router: backend, configuration, auth, limiter and metrics.
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
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// State for `backend` configured by `config`.
    pub fn new(backend: AnyBackend, config: Config) -> Self {
        AppState {
            backend,
            auth: Arc::new(Authenticator::new(&config.auth)),
            limiter: SubjectLimiter::new(config.limits.requests_per_second).map(Arc::new),
            metrics: Arc::new(Metrics::default()),
            config: Arc::new(config),
            shutdown: Arc::new(watch::channel(false).0),
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
