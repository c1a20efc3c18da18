//! One request through the proxy: fingerprint it, decide its fault, forward it (once, twice or
//! not at all), then answer, hold back, hang up or reset as decided, and log what happened.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::watch;

use crate::plan::{Decision, Fault, FaultPlan, fnv1a};
use crate::record::{Journal, Record};

/// The body of every answer: buffered, or streamed through (`text/event-stream`).
pub type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// How the proxy ends a connection instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hangup {
    /// A normal close (FIN), as when a peer gives up on a request.
    Close,
    /// A reset (RST): `SO_LINGER` 0, then close.
    Reset,
}

/// A connection's hang-up signal, watched by the task that serves it.
pub type HangupSender = Arc<watch::Sender<Option<Hangup>>>;

/// What every request of one proxy shares.
#[derive(Debug)]
pub struct Shared {
    /// The fault probabilities and seed.
    pub plan: FaultPlan,
    /// The server's address.
    pub upstream: SocketAddr,
    /// The HTTP client to the server (pooled connections).
    pub client: Client<HttpConnector, Full<Bytes>>,
    /// The log and stats.
    pub journal: Journal,
}

/// The server's answer to one forward.
enum Upstream {
    /// A whole answer, read to its end.
    Buffered(Response<Full<Bytes>>),
    /// An event stream, passed through as it comes.
    Streaming(Response<Incoming>),
    /// The server could not be reached, or broke off its answer.
    Unreachable,
}

impl Upstream {
    fn status(&self) -> u16 {
        match self {
            Upstream::Buffered(response) => response.status().as_u16(),
            Upstream::Streaming(response) => response.status().as_u16(),
            Upstream::Unreachable => 0,
        }
    }

    fn into_answer(self) -> Response<ProxyBody> {
        match self {
            Upstream::Buffered(response) => {
                response.map(|body| body.map_err(|never| match never {}).boxed())
            }
            Upstream::Streaming(response) => response.map(BodyExt::boxed),
            Upstream::Unreachable => error_answer(
                StatusCode::BAD_GATEWAY,
                "bad_gateway",
                "fault-proxy: the server could not be reached",
            ),
        }
    }
}

fn error_answer(status: StatusCode, code: &str, message: &str) -> Response<ProxyBody> {
    let body = serde_json::json!({"error": code, "message": message}).to_string();
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::CONTENT_LENGTH,
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

impl Shared {
    async fn forward(&self, template: &Request<()>, body: Bytes) -> Upstream {
        let path = template
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = template.method().clone();
        *request.headers_mut() = template.headers().clone();
        strip_hop_by_hop(request.headers_mut());
        request.headers_mut().remove(header::HOST);
        match format!("http://{}{path}", self.upstream).parse() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(_) => return Upstream::Unreachable,
        }
        let Ok(response) = self.client.request(request).await else {
            return Upstream::Unreachable;
        };
        let streaming = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        if streaming {
            return Upstream::Streaming(Response::from_parts(parts, body));
        }
        match body.collect().await {
            Ok(collected) => {
                Upstream::Buffered(Response::from_parts(parts, Full::new(collected.to_bytes())))
            }
            Err(_) => Upstream::Unreachable,
        }
    }
}

/// Handles one request of connection `conn`; hangs up through `hangup` when the fault says so.
pub async fn handle(
    shared: Arc<Shared>,
    conn: u64,
    hangup: HangupSender,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        // The caller went away while sending: nothing to forward or to answer.
        let _ = hangup.send(Some(Hangup::Close));
        return Ok(std::future::pending::<Response<ProxyBody>>().await);
    };
    let mut template = Request::from_parts(parts, ());
    let uri = template
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let key = fnv1a(&[template.method().as_str().as_bytes(), uri.as_bytes(), &body]);
    let (seq, attempt) = shared.journal.arrive(key);
    let request_id = match template.headers().get("x-request-id") {
        Some(id) => String::from_utf8_lossy(id.as_bytes()).into_owned(),
        None => {
            let id = format!("fp-{seq}");
            if let Ok(value) = HeaderValue::from_str(&id) {
                template.headers_mut().insert("x-request-id", value);
            }
            id
        }
    };
    let decision = shared.plan.decide(key, attempt);
    let (upstream, answer) = act(&shared, &template, body, decision, &hangup).await;
    let answered = match &answer {
        Ok(response) => Some(response.status().as_u16()),
        Err(_) => None,
    };
    shared.journal.write(&Record {
        seq,
        conn,
        request_id,
        method: template.method().to_string(),
        uri,
        key: format!("{key:016x}"),
        attempt,
        decision,
        upstream,
        answered,
        elapsed_ms: started.elapsed().as_millis() as u64,
    });
    match answer {
        Ok(response) => Ok(response),
        Err(how) => {
            let _ = hangup.send(Some(how));
            // The connection task drops this future when it sees the hang-up.
            Ok(std::future::pending::<Response<ProxyBody>>().await)
        }
    }
}

/// Carries out `decision`; returns the server's statuses and the answer, or how to hang up.
async fn act(
    shared: &Shared,
    template: &Request<()>,
    body: Bytes,
    decision: Decision,
    hangup: &HangupSender,
) -> (Vec<u16>, Result<Response<ProxyBody>, Hangup>) {
    let hold = || tokio::time::sleep(decision.delay);
    match decision.fault {
        Fault::Reset => (Vec::new(), Err(Hangup::Reset)),
        Fault::DropRequest => {
            hold().await;
            (Vec::new(), Err(Hangup::Close))
        }
        Fault::Pass => {
            let upstream = shared.forward(template, body).await;
            hold().await;
            let status = upstream.status();
            (
                vec![status],
                Ok(cut_if(upstream, decision.stream_cut, hangup)),
            )
        }
        Fault::DropResponse => {
            let upstream = shared.forward(template, body).await;
            let status = upstream.status();
            if let Upstream::Streaming(_) = upstream {
                // The stream starts, then the connection is reset after the delay.
                return (
                    vec![status],
                    Ok(cut_if(upstream, Some(decision.delay), hangup)),
                );
            }
            (vec![status], Err(Hangup::Reset))
        }
        Fault::Duplicate => {
            let (first, second) = tokio::join!(
                shared.forward(template, body.clone()),
                shared.forward(template, body)
            );
            let statuses = vec![first.status(), second.status()];
            let chosen = if decision.duplicate_answer == 0 {
                first
            } else {
                second
            };
            hold().await;
            (statuses, Ok(cut_if(chosen, decision.stream_cut, hangup)))
        }
        Fault::Error => {
            let status = StatusCode::from_u16(decision.error_status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let upstream = if decision.error_after_forward {
                vec![shared.forward(template, body).await.status()]
            } else {
                Vec::new()
            };
            hold().await;
            let answer = error_answer(status, "injected", "fault-proxy: injected error");
            (upstream, Ok(answer))
        }
    }
}

/// The answer to send; an event stream with `cut` set is reset that long after it starts.
fn cut_if(upstream: Upstream, cut: Option<Duration>, hangup: &HangupSender) -> Response<ProxyBody> {
    match (upstream, cut) {
        (Upstream::Streaming(response), Some(after)) => {
            let (parts, stream) = response.into_parts();
            let stream = CutOff {
                inner: stream,
                deadline: Box::pin(tokio::time::sleep(after)),
                hangup: hangup.clone(),
            };
            Response::from_parts(parts, BodyExt::boxed(stream))
        }
        (upstream, _) => upstream.into_answer(),
    }
}

/// A body that passes `inner` through until `deadline` fires, then resets the connection.
struct CutOff {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    hangup: HangupSender,
}

impl hyper::body::Body for CutOff {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            let _ = self.hangup.send(Some(Hangup::Reset));
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }
}
