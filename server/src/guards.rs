//! Request guards outside the protocol's own auth: the `Host` check of a development server
//! (against DNS rebinding: a web page whose name resolves to 127.0.0.1 must not reach a server
//! that checks no token) and the bearer token of `/metrics`.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fieldstream::protocol::ErrorCode;

use crate::error::AppError;
use crate::state::AppState;

/// Whether `host` (a `Host` header: name or address, optionally with a port) names this machine
/// through loopback: `localhost`, a name under `.localhost`, `127.0.0.0/8` or `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((address, port)) if port.is_empty() || port.starts_with(':') => address,
            _ => return false,
        }
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
    };
    let name = name.to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|address| address.is_loopback())
}

/// Middleware: with `loopback_host_only`, a request whose `Host` is not a loopback name gets
/// `403 forbidden`.
pub async fn loopback_host_only(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.config.loopback_host_only {
        let host = request
            .headers()
            .get(HOST)
            .and_then(|value| value.to_str().ok())
            .or_else(|| {
                request
                    .uri()
                    .authority()
                    .map(|authority| authority.as_str())
            });
        if !host.is_some_and(is_loopback_host) {
            return AppError::new(
                ErrorCode::Forbidden,
                "this development server answers only to localhost, 127.0.0.1 and [::1]",
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Compares two byte strings in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `unauthorized` unless the request carries `Authorization: Bearer <metrics token>` (when the
/// server has one).
pub fn check_metrics_token(state: &AppState, request: &Request) -> Result<(), AppError> {
    let Some(expected) = &state.config.metrics_token else {
        return Ok(());
    };
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.strip_prefix("Bearer "))
        .unwrap_or_default();
    if same(given.trim().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Unauthorized,
            "/metrics needs Authorization: Bearer <the metrics token>",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_only() {
        for host in [
            "localhost",
            "localhost:8080",
            "LOCALHOST",
            "app.localhost:3000",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1",
            "[::2]:80",
            "[::1]x",
            "",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
