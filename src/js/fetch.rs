//! The sync transport of browsers, workers and edge workers: protocol v1 over the global
//! `fetch`, with a bearer token from the app's token provider when it has one. It carries the
//! sync client's requests ([`Transport`]) and the remote store's ([`StreamTransport`]).

use js_sys::{Function, Promise, Reflect};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::core::{Cause, Detail, StreamId};
use crate::platform::held;
use crate::protocol::{
    AppendRequest, BatchRequest, BatchResponse, ConflictResponse, ErrorCode, EventsPage,
    ForgottenPage, PutKeys, ServerLimits, StreamPage, SubjectKeys,
};
use crate::sync::{
    AppendAnswer, StreamTransport, TraceParent, Transport, TransportError, decode_answer,
};

/// Calls a `fieldstream-server` at `base_url` through `fetch`.
pub struct FetchTransport {
    base_url: String,
    /// `async ({ refresh }) => token`, asked before each request, and again with
    /// `refresh: true` after a `401`.
    token: Option<Function>,
    /// How long a request may take, body included, before it counts as an unknown outcome.
    timeout_ms: u32,
}

impl FetchTransport {
    /// A transport to `base_url` (such as `http://127.0.0.1:8080`).
    pub fn new(base_url: &str, token: Option<Function>) -> Self {
        FetchTransport {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            timeout_ms: 20_000,
        }
    }

    /// Gives up on a request after `timeout_ms` milliseconds (default 20 s); the round then
    /// resends it unchanged.
    pub fn with_timeout(mut self, timeout_ms: u32) -> Self {
        self.timeout_ms = timeout_ms;
        self
    }

    async fn bearer(&self, refresh: bool) -> Result<Option<String>, TransportError> {
        let Some(provider) = &self.token else {
            return Ok(None);
        };
        let unknown = |error: JsValue| {
            TransportError::Unauthorized(held::detail("the token provider failed", error))
        };
        let ask = js_sys::Object::new();
        Reflect::set(&ask, &"refresh".into(), &refresh.into()).map_err(unknown)?;
        let value = provider.call1(&JsValue::NULL, &ask).map_err(unknown)?;
        let value = match value.dyn_ref::<Promise>() {
            Some(promise) => JsFuture::from(promise.clone()).await.map_err(unknown)?,
            None => value,
        };
        value
            .as_string()
            .map(Some)
            .ok_or_else(|| TransportError::Unauthorized("the token provider gave no string".into()))
    }

    /// Sends a request; a `401` asks the token provider for a fresh token and sends it once more.
    async fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<T, TransportError> {
        self.traced(method, path, body, None).await
    }

    /// [`FetchTransport::request`] with a W3C `traceparent` header when `trace` is given.
    async fn traced<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        trace: Option<&TraceParent>,
    ) -> Result<T, TransportError> {
        let first = self.send(method, path, body.clone(), false, trace).await?;
        let (status, text, retry_after) = match first {
            (401, ..) if self.token.is_some() => self.send(method, path, body, true, trace).await?,
            answer => answer,
        };
        decode_answer(status, text.as_bytes(), retry_after)
    }

    /// One request: its status, body and `Retry-After` seconds.
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        refresh_token: bool,
        trace: Option<&TraceParent>,
    ) -> Result<(u16, String, Option<u64>), TransportError> {
        let what = format!("{method} {path}");
        let unknown = |error: JsValue| TransportError::Unknown(held::detail(&what, error));
        let init = js_sys::Object::new();
        let headers = js_sys::Object::new();
        let set = |target: &js_sys::Object, key: &str, value: &JsValue| {
            Reflect::set(target, &key.into(), value).map(|_| ())
        };
        set(&init, "method", &method.into()).map_err(unknown)?;
        if let Some(body) = body {
            set(&headers, "content-type", &"application/json".into()).map_err(unknown)?;
            set(&init, "body", &body.into()).map_err(unknown)?;
        }
        if let Some(token) = self.bearer(refresh_token).await? {
            set(&headers, "authorization", &format!("Bearer {token}").into()).map_err(unknown)?;
        }
        if let Some(trace) = trace {
            set(&headers, "traceparent", &trace.as_str().into()).map_err(unknown)?;
        }
        set(&init, "headers", &headers).map_err(unknown)?;
        let global = js_sys::global();
        if let Some(signal) = timeout_signal(&global, self.timeout_ms) {
            set(&init, "signal", &signal).map_err(unknown)?;
        }
        let navigator = Reflect::get(&global, &"navigator".into())
            .ok()
            .filter(|n| !n.is_undefined());
        let on_line = navigator
            .and_then(|n| Reflect::get(&n, &"onLine".into()).ok())
            .and_then(|v| v.as_bool());
        if on_line == Some(false) {
            return Err(TransportError::Offline("the browser is offline".into()));
        }
        let fetch: Function = Reflect::get(&global, &"fetch".into())
            .map_err(unknown)?
            .dyn_into()
            .map_err(unknown)?;
        let url = format!("{}{path}", self.base_url);
        let promise: Promise = fetch
            .call2(&global, &url.into(), &init)
            .map_err(unknown)?
            .dyn_into()
            .map_err(unknown)?;
        let response = JsFuture::from(promise).await.map_err(unknown)?;
        let status = Reflect::get(&response, &"status".into())
            .map_err(unknown)?
            .as_f64()
            .unwrap_or(0.0) as u16;
        let text: Function = Reflect::get(&response, &"text".into())
            .map_err(unknown)?
            .dyn_into()
            .map_err(unknown)?;
        let text: Promise = text
            .call0(&response)
            .map_err(unknown)?
            .dyn_into()
            .map_err(unknown)?;
        let text = JsFuture::from(text)
            .await
            .map_err(unknown)?
            .as_string()
            .unwrap_or_default();
        let retry_after = Reflect::get(&response, &"headers".into())
            .ok()
            .and_then(|headers| {
                let get: Function = Reflect::get(&headers, &"get".into())
                    .ok()?
                    .dyn_into()
                    .ok()?;
                get.call1(&headers, &"retry-after".into()).ok()?.as_string()
            })
            .and_then(|seconds| seconds.trim().parse::<u64>().ok());
        Ok((status, text, retry_after))
    }
}

/// `AbortSignal.timeout(ms)` where the platform has it.
fn timeout_signal(global: &JsValue, timeout_ms: u32) -> Option<JsValue> {
    let abort_signal = Reflect::get(global, &"AbortSignal".into()).ok()?;
    let timeout: Function = Reflect::get(&abort_signal, &"timeout".into())
        .ok()?
        .dyn_into()
        .ok()?;
    timeout
        .call1(&abort_signal, &JsValue::from(timeout_ms))
        .ok()
}

fn json<T: Serialize>(value: &T) -> Result<String, TransportError> {
    serde_json::to_string(value).map_err(|error| {
        let cause = Cause::Described(error.to_string());
        TransportError::Unknown(Detail::described("encoding a request", cause))
    })
}

impl Transport for FetchTransport {
    async fn batch(&self, request: &BatchRequest) -> Result<BatchResponse, TransportError> {
        self.request("POST", "/v1/batch", Some(json(request)?))
            .await
    }

    async fn events(&self, after: u64, limit: u32) -> Result<EventsPage, TransportError> {
        self.request(
            "GET",
            &format!("/v1/events?after={after}&limit={limit}"),
            None,
        )
        .await
    }

    async fn batch_traced(
        &self,
        request: &BatchRequest,
        trace: &TraceParent,
    ) -> Result<BatchResponse, TransportError> {
        self.traced("POST", "/v1/batch", Some(json(request)?), Some(trace))
            .await
    }

    async fn events_traced(
        &self,
        after: u64,
        limit: u32,
        trace: &TraceParent,
    ) -> Result<EventsPage, TransportError> {
        let path = format!("/v1/events?after={after}&limit={limit}");
        self.traced("GET", &path, None, Some(trace)).await
    }

    async fn pause(&self, millis: u64) {
        crate::platform::sleep(millis).await
    }

    async fn limits(&self) -> Result<ServerLimits, TransportError> {
        self.request("GET", "/v1/limits", None).await
    }

    async fn subject_keys(&self, subject: &str) -> Result<SubjectKeys, TransportError> {
        self.request("GET", &key_path(subject), None).await
    }

    async fn put_subject_keys(
        &self,
        subject: &str,
        keys: &PutKeys,
    ) -> Result<SubjectKeys, TransportError> {
        self.request("PUT", &key_path(subject), Some(json(keys)?))
            .await
    }

    async fn forget_subject(&self, subject: &str) -> Result<SubjectKeys, TransportError> {
        self.request("DELETE", &key_path(subject), None).await
    }

    async fn forgotten(&self, after: u64) -> Result<ForgottenPage, TransportError> {
        self.request("GET", &format!("/v1/keys?after={after}"), None)
            .await
    }
}

/// The key service's path of `subject`, percent-encoded.
fn key_path(subject: &str) -> String {
    format!(
        "/v1/keys/{}",
        String::from(js_sys::encode_uri_component(subject))
    )
}

impl StreamTransport for FetchTransport {
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        limit: u32,
    ) -> Result<StreamPage, TransportError> {
        let path = format!("/v1/streams/{stream}?from={from}&limit={limit}");
        self.request("GET", &path, None).await
    }

    async fn append(
        &self,
        stream: &StreamId,
        request: &AppendRequest,
    ) -> Result<AppendAnswer, TransportError> {
        let path = format!("/v1/streams/{stream}");
        let body = Some(json(request)?);
        let (status, text, retry_after) = match self
            .send("POST", &path, body.clone(), false, None)
            .await?
        {
            (401, ..) if self.token.is_some() => self.send("POST", &path, body, true, None).await?,
            answer => answer,
        };
        if status == 409 {
            if let Ok(conflict) = serde_json::from_str::<ConflictResponse>(&text) {
                if conflict.error == ErrorCode::WrongExpectedVersion {
                    return Ok(AppendAnswer::Conflict(conflict));
                }
            }
        }
        decode_answer(status, text.as_bytes(), retry_after).map(AppendAnswer::Appended)
    }

    async fn pause(&self, millis: u64) {
        crate::platform::sleep(millis).await
    }
}
