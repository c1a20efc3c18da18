//! Comparing what the writers were told with what the server holds: lost, duplicated and
//! unacknowledged events, and the gap-free numbering of positions and versions.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use fieldstream::protocol::{EventsPage, ServerEvent};
use serde::Serialize;

use crate::writer::Ack;

/// The verdict on one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// Commands acknowledged to the writers.
    pub acked: u64,
    /// Events the server holds.
    pub stored: u64,
    /// Acknowledged events not stored where the acknowledgement said.
    pub lost: u64,
    /// Commands stored more than once (under any ids), plus ids stored more than once.
    pub duplicated: u64,
    /// Stored events no writer was told about.
    pub unacknowledged: u64,
}

/// Every event of the token's tenant, read straight from the server (no proxy), page by page.
pub async fn read_everything(base: &str, token: &str) -> Vec<ServerEvent> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut events: Vec<ServerEvent> = Vec::new();
    loop {
        let after = events.last().map_or(0, |e| e.position);
        let page: EventsPage = http
            .get(format!("{base}/v1/events?after={after}&limit=10000"))
            .bearer_auth(token)
            .send()
            .await
            .expect("read /v1/events")
            .error_for_status()
            .expect("200 from /v1/events")
            .json()
            .await
            .expect("an events page");
        if page.events.is_empty() {
            assert_eq!(after, page.head, "the reader caught up with the head");
            return events;
        }
        events.extend(page.events);
    }
}

/// Checks `stored` against `acks`. Panics at once when positions or versions have a gap or a
/// repeat (the store itself is broken); counts lost, duplicated and unacknowledged events.
pub fn judge(stored: &[ServerEvent], acks: &[Ack]) -> Verdict {
    for (index, event) in stored.iter().enumerate() {
        assert_eq!(event.position, index as u64 + 1, "positions are 1, 2, 3…");
    }
    let mut versions: HashMap<&str, u64> = HashMap::new();
    for event in stored {
        let version = versions.entry(event.stream.as_str()).or_insert(0);
        *version += 1;
        assert_eq!(
            event.version, *version,
            "versions of {} are 1, 2, 3…",
            event.stream
        );
    }
    let by_id: HashMap<_, _> = stored.iter().map(|e| (e.id, e)).collect();
    let mut commands: HashMap<(u64, u64), u64> = HashMap::new();
    for event in stored {
        let key = (
            event.data["client"].as_u64().unwrap_or(u64::MAX),
            event.data["command"].as_u64().unwrap_or(u64::MAX),
        );
        *commands.entry(key).or_insert(0) += 1;
    }
    let acked_ids: HashSet<_> = acks.iter().map(|a| a.id).collect();
    let lost = acks
        .iter()
        .filter(|ack| {
            by_id.get(&ack.id).is_none_or(|e| {
                (e.stream.as_str(), e.version, e.position)
                    != (ack.stream.as_str(), ack.version, ack.position)
            })
        })
        .count() as u64;
    let duplicated = commands.values().map(|n| n.saturating_sub(1)).sum::<u64>()
        + (stored.len() - by_id.len()) as u64;
    Verdict {
        acked: acks.len() as u64,
        stored: stored.len() as u64,
        lost,
        duplicated,
        unacknowledged: stored.iter().filter(|e| !acked_ids.contains(&e.id)).count() as u64,
    }
}

/// The `q`-quantile (0..=1) of `samples`, in milliseconds.
pub fn quantile_ms(samples: &mut [Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_unstable();
    let index = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[index].as_secs_f64() * 1000.0
}
