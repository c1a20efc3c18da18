//! The simulations' transport: calls the server's router in-process (the real server code, no
//! socket) and applies the faults the case draws: the device offline, a request lost, an
//! answer lost after the server committed, a request sent twice, requests answered `429`.

use std::cell::RefCell;
use std::rc::Rc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use fieldstream::protocol::{
    BatchRequest, BatchResponse, EventsPage, ForgottenPage, PutKeys, ServerEvent, ServerLimits,
    SubjectKeys,
};
use fieldstream::sync::{Transport, TransportError};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// What the network does to one device's requests, decided step by step from the case's seed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    pub offline: bool,
    pub drop_request: bool,
    pub lose_answer: bool,
    pub duplicate: bool,
    /// How many of the next requests are answered `429` (rate limited) without reaching the
    /// server.
    pub throttled: u32,
}

/// A transport that calls the router in-process and applies the current faults.
pub struct SimTransport {
    pub router: Router,
    pub faults: Rc<RefCell<Faults>>,
    /// A bearer token sent with every request (servers that check JWTs).
    pub token: Option<String>,
}

impl SimTransport {
    /// A transport without faults or token (for reading the server's log).
    pub fn plain(router: &Router) -> Self {
        SimTransport {
            router: router.clone(),
            faults: Rc::default(),
            token: None,
        }
    }

    fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        match body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(Body::from(body.to_vec())),
            None => builder.body(Body::empty()),
        }
        .expect("a valid request")
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        replayable: bool,
    ) -> Result<Answer, TransportError> {
        let faults = *self.faults.borrow();
        if faults.throttled > 0 {
            self.faults.borrow_mut().throttled -= 1;
            return Err(TransportError::RateLimited { retry_after_ms: 1 });
        }
        if faults.offline || faults.drop_request {
            return Err(TransportError::Unknown("the request was lost".into()));
        }
        if faults.duplicate && replayable {
            let _ = self
                .router
                .clone()
                .oneshot(self.request(method, path, body))
                .await;
        }
        let response = self
            .router
            .clone()
            .oneshot(self.request(method, path, body))
            .await
            .expect("the router is infallible");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(axum::http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.parse().ok());
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("in-memory body")
            .to_bytes();
        if faults.lose_answer {
            return Err(TransportError::Unknown("the answer was lost".into()));
        }
        Ok((status, bytes, retry_after))
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, TransportError> {
        answer(self.call("GET", path, None, false).await?)
    }
}

/// An answer as the router gave it: its status, its body and its `Retry-After` seconds.
type Answer = (u16, axum::body::Bytes, Option<u64>);

/// Reads an answer with the sync client's own decoding, the one the browser's transport uses.
pub fn answer<T: serde::de::DeserializeOwned>(
    (status, body, retry_after): Answer,
) -> Result<T, TransportError> {
    fieldstream::sync::decode_answer(status, &body, retry_after)
}

impl Transport for SimTransport {
    async fn batch(&self, request: &BatchRequest) -> Result<BatchResponse, TransportError> {
        let body = serde_json::to_vec(request).unwrap();
        answer(self.call("POST", "/v1/batch", Some(&body), true).await?)
    }

    async fn events(&self, after: u64, limit: u32) -> Result<EventsPage, TransportError> {
        self.get(&format!("/v1/events?after={after}&limit={limit}"))
            .await
    }

    async fn pause(&self, _millis: u64) {
        // No time passes, but other tasks of the test run, as they would while a timer waits.
        tokio::task::yield_now().await;
    }

    async fn limits(&self) -> Result<ServerLimits, TransportError> {
        self.get("/v1/limits").await
    }

    async fn subject_keys(&self, subject: &str) -> Result<SubjectKeys, TransportError> {
        self.get(&format!("/v1/keys/{subject}")).await
    }

    async fn put_subject_keys(
        &self,
        subject: &str,
        keys: &PutKeys,
    ) -> Result<SubjectKeys, TransportError> {
        let body = serde_json::to_vec(keys).unwrap();
        let path = format!("/v1/keys/{subject}");
        answer(self.call("PUT", &path, Some(&body), true).await?)
    }

    async fn forget_subject(&self, subject: &str) -> Result<SubjectKeys, TransportError> {
        let path = format!("/v1/keys/{subject}");
        answer(self.call("DELETE", &path, None, true).await?)
    }

    async fn forgotten(&self, after: u64) -> Result<ForgottenPage, TransportError> {
        self.get(&format!("/v1/keys?after={after}")).await
    }
}

/// Every event on the server, in position order.
pub async fn server_log(router: &Router) -> Vec<ServerEvent> {
    server_log_as(router, None).await
}

/// Every event on the server that `token` may read, in position order.
pub async fn server_log_as(router: &Router, token: Option<String>) -> Vec<ServerEvent> {
    let transport = SimTransport {
        token,
        ..SimTransport::plain(router)
    };
    let mut events = Vec::new();
    loop {
        let page = transport.events(events.len() as u64, 1_000).await.unwrap();
        let done = page.events.is_empty();
        events.extend(page.events);
        if done {
            return events;
        }
    }
}
