//! `fieldstream-server`: the sync server of protocol v1 (`docs/protocol.md`).
//!
//! [`router`] builds the whole HTTP application from an [`AppState`], so tests (and the sync
//! simulation) drive it in-process; `main.rs` only parses flags, opens the backend and serves.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod backend;
pub mod config;
pub mod deadline;
pub mod error;
pub mod export;
pub mod extract;
pub mod files;
pub mod grants;
pub mod guards;
pub mod json;
pub mod kek;
pub mod limits;
pub mod metrics;
pub mod routes;
pub mod serve;
pub mod state;
pub mod subscriptions;
pub mod telemetry;
pub mod unread;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::{any, get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

pub use backend::{AnyBackend, Backend};
pub use config::{AuthMode, Config, JwtRules, Limits};
pub use state::AppState;

/// A CORS origin that is not a valid header value, or `*` given with other origins.
#[derive(Debug, thiserror::Error)]
pub enum InvalidOrigin {
    /// Not a valid header value.
    #[error("invalid CORS origin {0:?}")]
    Malformed(String),
    /// `*` (any origin) with other origins.
    #[error("--cors-origin '*' allows every origin; it cannot be combined with other origins")]
    WildcardWithOthers,
}

fn cors(origins: &[String]) -> Result<Option<CorsLayer>, InvalidOrigin> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|origin| origin.trim() == "*") {
        if origins.len() > 1 {
            return Err(InvalidOrigin::WildcardWithOthers);
        }
        // Tokens travel in `Authorization`, not in cookies, so no credentials are allowed and
        // `*` means what it says.
        AllowOrigin::any()
    } else {
        let origins = origins
            .iter()
            .map(|origin| {
                HeaderValue::from_str(origin).map_err(|_| InvalidOrigin::Malformed(origin.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(origins)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("last-event-id"),
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("traceparent"),
            ])
            .expose_headers([HeaderName::from_static("x-request-id")])
            .max_age(Duration::from_secs(3600)),
    ))
}

/// The HTTP application: protocol v1 under `/v1`, `/health`, `/metrics`, and the static folder
/// (when configured) on every other path.
pub fn router(state: AppState) -> Result<Router, InvalidOrigin> {
    use routes::{append, batch, keys, ops, read, subscribe};
    let config = state.config.clone();
    let api = Router::new()
        .route(
            "/v1/streams/{stream}",
            post(append::append).get(read::read_stream),
        )
        .route("/v1/batch", post(batch::batch))
        .route("/v1/events", get(read::read_all))
        .route("/v1/subscribe", get(subscribe::subscribe))
        .route("/v1/limits", get(ops::limits))
        .route("/v1/keys", get(keys::forgotten))
        .route(
            "/v1/keys/{subject}",
            get(keys::get_keys).put(keys::put_keys).delete(keys::forget),
        )
        .route("/health", get(ops::health))
        .route("/metrics", get(metrics::serve_metrics))
        .route("/v1", any(ops::not_found))
        .route("/v1/{*rest}", any(ops::not_found))
        .method_not_allowed_fallback(ops::method_not_allowed);
    let app = match &config.static_dir {
        Some(dir) => api.fallback_service(ServeDir::new(dir)),
        None => api.fallback(ops::not_found),
    };
    let app = app
        .layer(DefaultBodyLimit::max(config.limits.max_body_bytes))
        .layer(deadline::BodyDeadlineLayer::new(config.limits.body_timeout))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guards::loopback_host_only,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ));
    let app = match cors(&config.cors_origins)? {
        Some(cors) => app.layer(cors),
        None => app,
    };
    Ok(app
        .layer(axum::middleware::from_fn(unread::close_after_unread_body))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::request_span)
                .on_response(telemetry::on_response),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state))
}
