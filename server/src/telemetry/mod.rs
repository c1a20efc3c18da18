//! Request tracing: one span per request with its request id and W3C trace context, continued
//! as an OpenTelemetry trace when the caller sent a valid `traceparent`, and (with
//! [`otlp::OtlpExport`]) exported over OTLP/HTTP.
//!
//! The spans of a traced append: `request` (its parent is the caller's span named in
//! `traceparent`) → `append` (the route's call to the backend, queueing included) → `append
//! transaction` (the group-commit writer's transaction, a child of the first append of its group
//! and linked to the others) → `notify` (the broadcast of the head move to live subscribers).

pub mod otlp;

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Response};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tower_http::trace::{DefaultOnResponse, OnResponse};
use tracing::{Level, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The trace id and parent span id of a valid W3C `traceparent` header
/// (`00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`).
pub fn parse_traceparent(value: &str) -> Option<(&str, &str)> {
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |text: &str, len: usize| {
        text.len() == len
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let valid = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(span, 16)
        && span.bytes().any(|b| b != b'0')
        && hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    valid.then_some((trace, span))
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get(name)
        .and_then(|value: &HeaderValue| value.to_str().ok())
}

/// Request headers as the carrier an OpenTelemetry propagator reads.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// The span of one request: method, path (never the query, which may hold a token), request id,
/// and the caller's trace context when it sent a valid `traceparent`, which also becomes the
/// span's OpenTelemetry parent (a no-op when no OpenTelemetry layer is installed).
pub fn request_span(request: &Request) -> Span {
    let trace = header(request, "traceparent").and_then(parse_traceparent);
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        method = %request.method(),
        path = %request.uri().path(),
        status = tracing::field::Empty,
        request_id = header(request, "x-request-id").unwrap_or_default(),
        trace_id = trace.map(|(trace, _)| trace),
        parent_span_id = trace.map(|(_, span)| span),
    );
    if trace.is_some() && !span.is_disabled() {
        let parent = TraceContextPropagator::new().extract(&Headers(request.headers()));
        // Fails only when no OpenTelemetry layer is installed: nothing to continue then.
        let _ = span.set_parent(parent);
    }
    span
}

/// Records a response's status on its request span (a 5xx marks the span as an error) and logs
/// it as [`DefaultOnResponse`] does at level INFO.
pub fn on_response<B>(response: &Response<B>, latency: Duration, span: &Span) {
    let status = response.status();
    span.record("status", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    DefaultOnResponse::new()
        .level(Level::INFO)
        .on_response(response, latency, span);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            parse_traceparent(valid),
            Some(("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"))
        );
        assert_eq!(
            parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(parse_traceparent("garbage"), None);
    }
}
