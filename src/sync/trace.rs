//! W3C trace context for sync requests: each request carries a `traceparent` whose trace id
//! comes from the correlation id of the first command it carries, so a command made on a device,
//! the request that pushes it and the server's work on it (append, commit, notification) form
//! one trace that can be found by the command's correlation id.

use std::fmt;

use uuid::Uuid;

/// The `traceparent` header of one request: version 00, a trace id, this request's span id,
/// sampled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    header: String,
}

impl TraceParent {
    /// The context of a request for the command correlated by `correlation`, as span `span`
    /// (any value; 0 is replaced, since the W3C format forbids an all-zero span id).
    pub fn for_correlation(correlation: &str, span: u64) -> Self {
        let span = if span == 0 { 1 } else { span };
        TraceParent {
            header: format!("00-{}-{span:016x}-01", trace_id(correlation)),
        }
    }

    /// The header's value.
    pub fn as_str(&self) -> &str {
        &self.header
    }

    /// The trace id: 32 lowercase hex digits.
    pub fn trace_id(&self) -> &str {
        &self.header[3..35]
    }

    /// The span id: 16 lowercase hex digits.
    pub fn span_id(&self) -> &str {
        &self.header[36..52]
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header)
    }
}

/// The trace id of the commands correlated by `correlation`: the correlation id's own 128 bits
/// when it is a UUID (as the engine makes them), else a UUID derived from its text (version 5),
/// so the same correlation always gives the same trace.
pub fn trace_id(correlation: &str) -> String {
    let id = match Uuid::parse_str(correlation) {
        Ok(id) if !id.is_nil() => id,
        _ => Uuid::new_v5(&Uuid::NAMESPACE_OID, correlation.as_bytes()),
    };
    id.simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_correlation_is_the_trace_id() {
        let trace = TraceParent::for_correlation("1b4e28ba-2fa1-41d2-883f-0016d3cca427", 0xab);
        assert_eq!(
            trace.as_str(),
            "00-1b4e28ba2fa141d2883f0016d3cca427-00000000000000ab-01"
        );
        assert_eq!(trace.trace_id(), "1b4e28ba2fa141d2883f0016d3cca427");
        assert_eq!(trace.span_id(), "00000000000000ab");
    }

    #[test]
    fn other_correlations_give_a_stable_trace_and_no_span_is_zero() {
        let a = TraceParent::for_correlation("c-7", 0);
        let b = TraceParent::for_correlation("c-7", 5);
        assert_eq!(a.trace_id(), b.trace_id());
        assert_ne!(a.trace_id(), trace_id("c-8"));
        assert_eq!(a.span_id(), "0000000000000001");
        assert_ne!(
            trace_id("00000000-0000-0000-0000-000000000000"),
            "0".repeat(32)
        );
    }
}
