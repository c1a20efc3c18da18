//! Prometheus metrics: the registry, the middleware that times and counts requests, and the
//! `/metrics` handler.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
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
    method: &'static str,
    route: &'static str,
}

/// The routes the router declares; a matched path outside this list is labelled `other`.
const ROUTES: [&str; 11] = [
    "/v1/streams/{stream}",
    "/v1/batch",
    "/v1/events",
    "/v1/subscribe",
    "/v1/keys",
    "/v1/keys/{subject}",
    "/v1/limits",
    "/health",
    "/metrics",
    "/v1",
    "/v1/{*rest}",
];

/// The label of a request method: the standard ones by name, anything else `OTHER`, so that
/// no text a client sends ever becomes a label (every label value creates a series for good).
fn method_label(method: &Method) -> &'static str {
    [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::PATCH,
        Method::CONNECT,
        Method::TRACE,
    ]
    .iter()
    .find(|known| *known == method)
    .map_or("OTHER", Method::as_str)
}

/// The label of a route: the router's own template, `other` for a template this list lacks,
/// `unmatched` when no route matched (static files, unknown paths).
fn route_label(path: Option<&MatchedPath>) -> &'static str {
    match path {
        None => "unmatched",
        Some(path) => ROUTES
            .iter()
            .find(|route| **route == path.as_str())
            .copied()
            .unwrap_or("other"),
    }
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
    /// Positions of the log that live subscriptions' reads looked at (from their cursor to the
    /// tenant's head, per read).
    pub subscription_scan: Counter,
    /// Reads of the database that live subscriptions made (events sent from a signal need none).
    pub subscription_reads: Counter,
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
            subscription_scan: Counter::default(),
            subscription_reads: Counter::default(),
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
            "subscription_scanned_positions",
            "Positions of the log that live subscriptions' reads looked at",
            metrics.subscription_scan.clone(),
        );
        registry.register(
            "subscription_reads",
            "Reads of the database that live subscriptions made",
            metrics.subscription_reads.clone(),
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
    let method = method_label(request.method());
    let route = route_label(request.extensions().get::<MatchedPath>());
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

/// `GET /metrics` (with `Authorization: Bearer <metrics token>` when the server has one).
pub async fn serve_metrics(State(state): State<AppState>, request: Request) -> Response {
    if let Err(refusal) = crate::guards::check_metrics_token(&state, &request) {
        return refusal.into_response();
    }
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_lists() {
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(&[b'X'; 3000]).unwrap();
        assert_eq!(method_label(&odd), "OTHER");
        assert_eq!(route_label(None), "unmatched");
    }
}
