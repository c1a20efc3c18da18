//! The request body's deadline: the whole body must arrive within a time counted from the
//! moment the request reached the router, or reading it fails with [`BodyTimedOut`].
//!
//! The same rule as `tower_http`'s `RequestBodyDeadlineLayer`, with one difference in cost: the
//! timer is registered only when the body is not there yet. A small body usually arrives with
//! the request's head, so most requests read it without touching the runtime's timer wheel
//! (registering a timer that is earlier than the one a parked worker sleeps toward wakes that
//! worker: one eventfd write and one context switch per request).

use std::error::Error;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::http::Request;
use hyper::body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

/// The body did not arrive before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTimedOut;

impl fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body did not arrive before its deadline")
    }
}

impl Error for BodyTimedOut {}

/// A body that fails with [`BodyTimedOut`] once `deadline` has passed.
struct DeadlineBody {
    body: Body,
    deadline: Instant,
    /// Created (and registered) only once the body had to wait.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let timed_out = || Poll::Ready(Some(Err(BodyTimedOut.into())));
        let this = &mut *self;
        let elapsed = match &mut this.sleep {
            Some(sleep) => sleep.as_mut().poll(cx).is_ready(),
            None => Instant::now() >= this.deadline,
        };
        if elapsed {
            return timed_out();
        }
        let frame = Pin::new(&mut this.body)
            .poll_frame(cx)
            .map_err(axum::BoxError::from);
        if frame.is_pending() && this.sleep.is_none() {
            let mut sleep = Box::pin(tokio::time::sleep_until(this.deadline));
            // Registers the timer, so that the deadline wakes this task.
            if sleep.as_mut().poll(cx).is_ready() {
                return timed_out();
            }
            this.sleep = Some(sleep);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Layer: every request body gets a deadline of `timeout` from the request's arrival.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadlineLayer {
    timeout: Duration,
}

impl BodyDeadlineLayer {
    /// Bodies must arrive whole within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        BodyDeadlineLayer { timeout }
    }
}

impl<S> Layer<S> for BodyDeadlineLayer {
    type Service = BodyDeadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyDeadline {
            inner,
            timeout: self.timeout,
        }
    }
}

/// The service of [`BodyDeadlineLayer`].
#[derive(Debug, Clone)]
pub struct BodyDeadline<S> {
    inner: S,
    timeout: Duration,
}

impl<S: Service<Request<Body>>> Service<Request<Body>> for BodyDeadline<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let deadline = Instant::now() + self.timeout;
        self.inner.call(request.map(|body| {
            Body::new(DeadlineBody {
                body,
                deadline,
                sleep: None,
            })
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn deadline_body(body: Body, timeout: Duration) -> Body {
        Body::new(DeadlineBody {
            body,
            deadline: Instant::now() + timeout,
            sleep: None,
        })
    }

    #[tokio::test]
    async fn a_body_already_there_is_read_without_a_timer() {
        let body = deadline_body(Body::from("hello"), Duration::from_secs(5));
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"hello");
    }

    #[tokio::test]
    async fn a_body_that_stalls_times_out() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, axum::Error>>(1);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|frame| (frame, rx))
        });
        let body = deadline_body(
            Body::new(http_body_util::StreamBody::new(stream)),
            Duration::from_millis(50),
        );
        tx.send(Ok(Frame::data(Bytes::from_static(b"part"))))
            .await
            .unwrap();
        let error = body.collect().await.unwrap_err();
        let source = error.into_inner();
        assert!(source.is::<BodyTimedOut>(), "{source}");
        drop(tx);
    }

    #[tokio::test]
    async fn a_deadline_already_past_fails_even_with_data() {
        let body = deadline_body(Body::from("late"), Duration::ZERO);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let error = body.collect().await.unwrap_err();
        assert!(error.into_inner().is::<BodyTimedOut>());
    }
}
