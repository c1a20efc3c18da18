//! Comparing what the writers were told with what the server holds: lost, duplicated and
//! unacknowledged events, commands stored only in part, and the gap-free numbering of positions
//! and versions.

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
    pub commands: u64,
    /// Events acknowledged to the writers.
    pub acked: u64,
    /// Events the server holds.
    pub stored: u64,
    /// Acknowledged events not stored where the acknowledgement said.
    pub lost: u64,
    /// Events of a command stored more than once (under any ids), plus ids stored more than once.
    pub duplicated: u64,
    /// Commands of which only some events are stored.
    pub torn: u64,
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
    // Per (client, command): how many times each part is stored, and how many parts it has.
    let mut commands: HashMap<(u64, u64), (HashMap<u64, u64>, u64)> = HashMap::new();
    for event in stored {
        let field = |name: &str| event.data[name].as_u64().unwrap_or(u64::MAX);
        let parts = commands
            .entry((field("client"), field("command")))
            .or_insert_with(|| (HashMap::new(), field("of")));
        *parts.0.entry(field("part")).or_insert(0) += 1;
    }
    let duplicated = commands
        .values()
        .flat_map(|(parts, _)| parts.values())
        .map(|n| n - 1)
        .sum::<u64>()
        + (stored.len() - by_id.len()) as u64;
    let torn = commands
        .values()
        .filter(|(parts, of)| parts.len() as u64 != *of)
        .count() as u64;
    let acked_ids: HashSet<_> = acks.iter().flat_map(|a| a.ids.iter().copied()).collect();
    let by_id = &by_id;
    let lost = acks
        .iter()
        .flat_map(|ack| {
            ack.ids.iter().zip(0..).map(move |(id, i)| {
                by_id.get(id).is_none_or(|e| {
                    (e.stream.as_str(), e.version, e.position)
                        != (ack.stream.as_str(), ack.version + i, ack.position + i)
                })
            })
        })
        .filter(|lost| *lost)
        .count() as u64;
    Verdict {
        commands: acks.len() as u64,
        acked: acked_ids.len() as u64,
        stored: stored.len() as u64,
        lost,
        duplicated,
        torn,
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

/// The judge itself must catch what it claims to catch.
#[test]
fn the_judge_counts_lost_duplicated_torn_and_unacknowledged_events() {
    use serde_json::json;
    use uuid::Uuid;

    let ids: Vec<Uuid> = (1..=6).map(Uuid::from_u128).collect();
    let stored_event = |i: usize, stream: &str, version: u64, command: u64, part: u64, of: u64| {
        serde_json::from_value::<ServerEvent>(json!({
            "id": ids[i], "stream": stream, "version": version, "position": i as u64 + 1,
            "type": "Incremented", "data": {"client": 0, "command": command, "part": part, "of": of},
            "schemaVersion": 1, "metadata": {}, "recordedAt": 0,
        }))
        .unwrap()
    };
    let ack = |command: u64, range: std::ops::Range<usize>, version: u64| Ack {
        client: 0,
        command,
        ids: ids[range.clone()].to_vec(),
        stream: "s".into(),
        version,
        position: range.start as u64 + 1,
    };
    // Command 0: two events, both stored, and its first part stored once more under another id
    // (a duplicate, never acknowledged). Command 2: two parts, one stored (torn). Command 9:
    // stored, never acknowledged.
    let stored = vec![
        stored_event(0, "s", 1, 0, 0, 2),
        stored_event(1, "s", 2, 0, 1, 2),
        stored_event(2, "s", 3, 0, 0, 1),
        stored_event(3, "s", 4, 2, 0, 2),
        stored_event(4, "s", 5, 9, 0, 1),
    ];
    let mut acks = vec![ack(0, 0..2, 1), ack(2, 3..4, 4)];
    let verdict = judge(&stored, &acks);
    assert_eq!(
        (
            verdict.lost,
            verdict.duplicated,
            verdict.torn,
            verdict.unacknowledged
        ),
        (0, 1, 1, 2),
        "{verdict:?}"
    );
    // An acknowledgement naming a place where its event is not: lost.
    acks.push(ack(3, 5..6, 6));
    acks[0].version = 2;
    let verdict = judge(&stored, &acks);
    assert_eq!(verdict.lost, 3, "{verdict:?}");
}
