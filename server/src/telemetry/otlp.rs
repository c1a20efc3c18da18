//! Export of the server's spans over OTLP/HTTP (`--otlp-endpoint`, or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`): a batch exporter of the `opentelemetry` SDK behind a
//! `tracing-opentelemetry` layer. Without an endpoint none of this runs.
//!
//! The endpoint is the collector's base URL, as in `OTEL_EXPORTER_OTLP_ENDPOINT`: spans go to
//! `<endpoint>/v1/traces`, over plain HTTP (a collector on the same host or network; TLS is not
//! built in). The encoding is `http/protobuf` unless `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or
//! `OTEL_EXPORTER_OTLP_PROTOCOL` says `http/json`; the batch processor honours the standard
//! `OTEL_BSP_*` variables and the exporter `OTEL_EXPORTER_OTLP_HEADERS` and `_TIMEOUT`.

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider;
use opentelemetry_otlp::{ExporterBuildError, Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

/// The service name the spans are exported under, unless `OTEL_SERVICE_NAME` names another.
pub const SERVICE_NAME: &str = "fieldstream-server";

/// The environment variables that choose the encoding, the more specific first.
const PROTOCOL_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// The protocol variable names an encoding this server does not send.
    #[error("OTLP protocol {0:?} is not supported: use http/protobuf (the default) or http/json")]
    Protocol(String),
    /// The exporter refused its configuration (an invalid URL, typically).
    #[error("--otlp-endpoint: {0}")]
    Build(#[from] ExporterBuildError),
}

/// The encoding named by a protocol variable's value; `None` (not set) is `http/protobuf`.
pub fn protocol(value: Option<&str>) -> Result<Protocol, OtlpError> {
    match value.map(str::trim) {
        None | Some("" | "http/protobuf") => Ok(Protocol::HttpBinary),
        Some("http/json") => Ok(Protocol::HttpJson),
        Some(other) => Err(OtlpError::Protocol(other.to_owned())),
    }
}

/// Where the spans of a collector at `endpoint` (a base URL) are posted.
pub fn traces_url(endpoint: &str) -> String {
    format!("{}/v1/traces", endpoint.trim().trim_end_matches('/'))
}

/// The spans the exporter receives: the server's own at INFO and above, the HTTP layer's
/// events at INFO (they become events of the request span), and everything else's warnings.
fn exported() -> Targets {
    Targets::new()
        .with_target("fieldstream_server", Level::INFO)
        .with_target("tower_http", Level::INFO)
        .with_default(Level::WARN)
}

/// A running OTLP export of this process's spans.
#[derive(Debug)]
pub struct OtlpExport {
    provider: SdkTracerProvider,
}

impl OtlpExport {
    /// Starts a batch exporter to the collector at `endpoint` (its base URL), with the encoding
    /// the protocol variables choose.
    pub fn start(endpoint: &str) -> Result<Self, OtlpError> {
        let chosen = PROTOCOL_VARS
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()));
        let exporter = SpanExporter::builder()
            .with_http()
            .with_endpoint(traces_url(endpoint))
            .with_protocol(protocol(chosen.as_deref())?)
            .build()?;
        let service = std::env::var("OTEL_SERVICE_NAME")
            .ok()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| SERVICE_NAME.to_owned());
        let resource = Resource::builder()
            .with_service_name(service)
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        Ok(OtlpExport { provider })
    }

    /// The layer that turns the server's spans into OpenTelemetry spans for this export.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer(SERVICE_NAME))
            .with_filter(exported())
    }

    /// Sends what is still buffered and stops the exporter (on its own thread: the SDK blocks).
    pub async fn shut_down(self) {
        let provider = self.provider;
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the OTLP exporter did not shut down cleanly"),
            Err(error) => tracing::warn!(%error, "the OTLP exporter's shutdown panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_and_urls() {
        assert!(matches!(protocol(None), Ok(Protocol::HttpBinary)));
        assert!(matches!(
            protocol(Some("http/protobuf")),
            Ok(Protocol::HttpBinary)
        ));
        assert!(matches!(
            protocol(Some("http/json")),
            Ok(Protocol::HttpJson)
        ));
        assert!(matches!(
            protocol(Some("grpc")),
            Err(OtlpError::Protocol(_))
        ));
        assert_eq!(
            traces_url("http://127.0.0.1:4318/"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/otlp"),
            "http://collector:4318/otlp/v1/traces"
        );
    }
}
