//! Trace propagation through the router: a request with a W3C `traceparent` becomes a `request`
//! span of the caller's trace with the caller's span as its parent, and the append's spans
//! (`append`, `append transaction`, `notify`) descend from it, on SQLite and PostgreSQL.
//!
//! A test binary of its own: the spans go through a global subscriber, as in the server. A
//! thread-local one (`set_default`) would not see a span that closes on another thread, such as
//! SQLite's connection worker, which holds the transaction's span while it runs a statement.
//!
//! PostgreSQL needs `FIELDSTREAM_TEST_POSTGRES_URL` (`scripts/with-postgres.sh`).

#[path = "server/support.rs"]
mod support;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use support::*;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
/// The spans of one traced append.
const ALL: [&str; 4] = ["request", "append", "append transaction", "notify"];

/// The exporter and provider behind the global subscriber, installed once.
fn recorder() -> &'static (InMemorySpanExporter, SdkTracerProvider) {
    static RECORDER: OnceLock<(InMemorySpanExporter, SdkTracerProvider)> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .init();
        (exporter, provider)
    })
}

async fn post_traced(app: &Router, uri: &str, body: &Value, traceparent: Option<&str>) {
    let t = token("t", "alice", None);
    let mut builder = request("POST", uri, Some(&t)).header("content-type", "application/json");
    if let Some(traceparent) = traceparent {
        builder = builder.header("traceparent", traceparent);
    }
    let (status, answer) = send(app, builder.body(Body::from(body.to_string())).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// The spans finished so far, once every name in `names` is among them: a span ends when the
/// last task holding it lets go, which may be a moment after the answer (polled, bounded).
async fn finished(names: &[&str]) -> Vec<SpanData> {
    let (exporter, provider) = recorder();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        provider.force_flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        if names
            .iter()
            .all(|name| spans.iter().any(|span| span.name == *name))
        {
            return spans;
        }
        let seen: Vec<&str> = spans.iter().map(|span| &*span.name).collect();
        assert!(
            Instant::now() < deadline,
            "{names:?} not all finished, only {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|span| span.name == name).collect()
}

/// The one span named `name` whose parent is `parent`.
fn child<'a>(spans: &'a [SpanData], name: &str, parent: &SpanData) -> &'a SpanData {
    let children: Vec<_> = named(spans, name)
        .into_iter()
        .filter(|span| span.parent_span_id == parent.span_context.span_id())
        .collect();
    assert_eq!(children.len(), 1, "one {name} span under {}", parent.name);
    children[0]
}

/// Checks one traced request's spans: the request continues the caller's span, and append,
/// its transaction and the notification descend from it in the caller's trace.
fn check_trace(spans: &[SpanData]) {
    let trace = TraceId::from_hex(TRACE).unwrap();
    let requests = named(spans, "request");
    assert_eq!(requests.len(), 1);
    let request = requests[0];
    assert_eq!(request.span_context.trace_id(), trace);
    assert_eq!(
        request.parent_span_id,
        SpanId::from_hex(CALLER_SPAN).unwrap()
    );
    assert!(request.parent_span_is_remote);
    let append = child(spans, "append", request);
    let transaction = child(spans, "append transaction", append);
    let notify = child(spans, "notify", transaction);
    for span in [append, transaction, notify] {
        assert_eq!(span.span_context.trace_id(), trace, "{}", span.name);
    }
}

/// An append, a batch (both traced) and an untraced append through `app`, each checked.
async fn append_and_batch_continue_the_callers_trace(app: Router) {
    let (exporter, _) = recorder();
    exporter.reset();
    let traceparent = format!("00-{TRACE}-{CALLER_SPAN}-01");

    let body = append_body(json!("no_stream"), vec![event("A", json!(1))]);
    post_traced(&app, "/v1/streams/s", &body, Some(&traceparent)).await;
    check_trace(&finished(&ALL).await);

    exporter.reset();
    let batch = json!({"appends": [
        {"stream": "s", "expectedVersion": 1, "events": [event("B", json!(2))]},
        {"stream": "u", "expectedVersion": "no_stream", "events": [event("C", json!(3))]},
    ]});
    post_traced(&app, "/v1/batch", &batch, Some(&traceparent)).await;
    check_trace(&finished(&ALL).await);

    exporter.reset();
    let body = append_body(json!(2), vec![event("D", json!(4))]);
    post_traced(&app, "/v1/streams/s", &body, None).await;
    let spans = finished(&ALL).await;
    let request = named(&spans, "request")[0];
    assert_eq!(
        request.parent_span_id,
        SpanId::INVALID,
        "no traceparent: a new trace"
    );
    assert_ne!(
        request.span_context.trace_id(),
        TraceId::from_hex(TRACE).unwrap()
    );
    let append = child(&spans, "append", request);
    assert_eq!(
        append.span_context.trace_id(),
        request.span_context.trace_id()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_continue_through_appends_on_sqlite_and_postgres() {
    append_and_batch_continue_the_callers_trace(sqlite_app().await).await;
    append_and_batch_continue_the_callers_trace(app(postgres().await, config())).await;
}
