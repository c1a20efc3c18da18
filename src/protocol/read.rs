//! The two reads: one stream by version, and a tenant's whole log by position.

use serde::{Deserialize, Serialize};

use crate::core::StreamId;
use crate::protocol::event::ServerEvent;

/// `GET /v1/streams/{stream}`: a page of one stream, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamPage {
    /// The stream read.
    pub stream: StreamId,
    /// The stream's version now; 0 when it does not exist.
    pub current_version: u64,
    /// Events from the requested version on.
    pub events: Vec<ServerEvent>,
}

/// `GET /v1/events`: a page of every event the caller may read, in position order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsPage {
    /// Events strictly after the requested position.
    pub events: Vec<ServerEvent>,
    /// The newest position of the caller's tenant; 0 when it has no events.
    pub head: u64,
}
