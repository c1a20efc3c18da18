//! Prometheus metrics: the registry, the middleware that times and counts requests, and the
//! `/metrics` handler.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fieldstream::protocol::ErrorCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    method: String,
    route: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Appends that wrote events (idempotent replays excluded).
    pub appends: Counter,
    /// Events written.
    pub events: Counter,
    /// Appends refused with `wrong_expected_version`.
    pub conflicts: Counter,
    /// Retries answered from stored events without writing.
    pub replays: Counter,
    /// Live subscriptions open now.
    pub subscribers: Gauge,
    rejected: Family<CodeLabel, Counter>,
    latency: Family<RouteLabel, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("fieldstream");
        let metrics = Metrics {
            appends: Counter::default(),
            events: Counter::default(),
            conflicts: Counter::default(),
            replays: Counter::default(),
            subscribers: Gauge::default(),
            rejected: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            registry: Registry::default(),
        };
        registry.register(
            "appends",
            "Appends that wrote events",
            metrics.appends.clone(),
        );
        registry.register("events_appended", "Events written", metrics.events.clone());
        registry.register(
            "conflicts",
            "Appends refused with wrong_expected_version",
            metrics.conflicts.clone(),
        );
        registry.register(
            "idempotent_replays",
            "Retried appends answered without writing",
            metrics.replays.clone(),
        );
        registry.register(
            "live_subscribers",
            "Open live subscriptions",
            metrics.subscribers.clone(),
        );
        registry.register(
            "rejected_requests",
            "Requests answered with an error, by code",
            metrics.rejected.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request (to the first byte for subscriptions)",
            metrics.latency.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    /// The metrics in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// Counts one request rejected with `code`.
    pub fn reject(&self, code: ErrorCode) {
        self.rejected
            .get_or_create(&CodeLabel {
                code: code.as_str(),
            })
            .inc();
    }
}

/// Middleware: times every request and counts error answers by code.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    if let Some(code) = response.extensions().get::<ErrorCode>() {
        metrics.reject(*code);
    }
    metrics
        .latency
        .get_or_create(&RouteLabel { method, route })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub async fn serve_metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
