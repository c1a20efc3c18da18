//! `Connection: close` on every response that leaves its request's body unread: refused for
//! its size, its deadline, its token, its rate or its content type. An HTTP/1.1 server closes
//! such a connection rather than read an unwanted body to its end, so the response has to say
//! so; otherwise a client sends its next request on a connection that is about to close, and
//! that request fails with the connection cut off.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

/// Middleware: marks the response `Connection: close` when the handler did not read the
/// request body to its end.
pub async fn close_after_unread_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if http_body::Body::is_end_stream(&body) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let finished = Arc::new(AtomicBool::new(false));
    let body = Body::new(Tracked {
        inner: body,
        finished: finished.clone(),
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if !finished.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that notes when it has been read to its end.
struct Tracked {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(poll, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Release);
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::post;
    use tower::ServiceExt;

    use super::*;

    fn app() -> Router {
        Router::new()
            .route(
                "/read",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .route("/ignore", post(|| async { "refused" }))
            .layer(axum::middleware::from_fn(close_after_unread_body))
    }

    async fn connection_header(path: &str, body: &'static str) -> Option<HeaderValue> {
        let request = Request::post(path).body(Body::from(body)).unwrap();
        let response = app().oneshot(request).await.unwrap();
        response.headers().get(CONNECTION).cloned()
    }

    #[tokio::test]
    async fn only_a_response_that_left_the_body_unread_closes_the_connection() {
        assert_eq!(
            connection_header("/ignore", "a body").await,
            Some(HeaderValue::from_static("close"))
        );
        assert_eq!(connection_header("/read", "a body").await, None);
        assert_eq!(connection_header("/ignore", "").await, None, "no body");
    }
}
