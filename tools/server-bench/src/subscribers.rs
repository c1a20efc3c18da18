//! Live subscribers receiving a burst: `subscribers` connect to `GET /v1/subscribe` of the real
//! server on a fresh database; once every one is connected, `writers` concurrent writers append
//! `burst` events (one per append) as fast as the server takes them. Every (event, subscriber)
//! pair is one sample of two delivery latencies, both ending when the subscriber read the event
//! off the socket:
//!
//! - **from the commit** (`deliveryMs`, the figure): from the event's `recordedAt`, the
//!   wall-clock millisecond the server took when its group's transaction began (so this also
//!   counts the transaction itself, and up to 1 ms of truncation: never less than the truth);
//! - **from the send** (`fromSendMs`): from the moment the writer sent its append, so it also
//!   counts the HTTP request and the wait behind the other writers' appends.
//!
//! Every subscriber must receive every position once and in order, or the run fails.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::{Barrier, Mutex};

use crate::database::{FreshDatabase, ServerProcess};
use crate::stats::summary;
use crate::workload::{Shape, append_body, generate};
use crate::{Failure, Target};

/// How long a whole burst may take to reach everybody before the run fails.
const DEADLINE: Duration = Duration::from_secs(120);

/// When a subscriber read one event: on the monotonic clock, and its delay after the event's
/// `recordedAt` on the wall clock, in milliseconds.
struct Arrival {
    at: Instant,
    after_commit_ms: f64,
}

/// Milliseconds since the Unix epoch, with the fraction.
fn wall_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64() * 1e3)
}

/// The `recordedAt` of an SSE message's event, read straight off the text: a JSON parse of every
/// event would cost the subscribers more CPU than the figure they measure.
fn recorded_at(message: &str) -> Option<i64> {
    const KEY: &str = "\"recordedAt\":";
    let data = message
        .lines()
        .find_map(|line| line.strip_prefix("data:"))?;
    // The last occurrence: the envelope's field comes after the event's own data.
    let rest = data[data.rfind(KEY)? + KEY.len()..].trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Follows `/v1/subscribe` until position `last`; returns when each position arrived.
async fn subscriber(
    base: String,
    last: u64,
    connected: Arc<Barrier>,
) -> Result<Vec<Arrival>, Failure> {
    let client = reqwest::Client::new();
    let response = client.get(format!("{base}/v1/subscribe")).send().await?;
    if response.status() != 200 {
        return Err(format!("subscribe answered {}", response.status()).into());
    }
    connected.wait().await;
    let mut body = response.bytes_stream();
    let (mut buffer, mut arrivals) = (String::new(), Vec::with_capacity(last as usize));
    while (arrivals.len() as u64) < last {
        let chunk = body.next().await.ok_or("the subscription ended early")??;
        let (now, wall) = (Instant::now(), wall_ms());
        buffer.push_str(std::str::from_utf8(&chunk)?);
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            if let Some(id) = message.lines().find_map(|line| line.strip_prefix("id: ")) {
                let position: u64 = id.trim().parse()?;
                if position != arrivals.len() as u64 + 1 {
                    return Err(format!("position {position} after {}", arrivals.len()).into());
                }
                let recorded = recorded_at(&message).ok_or("an event without recordedAt")?;
                arrivals.push(Arrival {
                    at: now,
                    after_commit_ms: (wall - recorded as f64).max(0.0),
                });
            }
        }
    }
    Ok(arrivals)
}

/// One repetition: returns its JSON line.
pub async fn run(
    target: &Target,
    subscribers: usize,
    burst: usize,
    writers: usize,
) -> Result<String, Failure> {
    let database = FreshDatabase::create(target).await?;
    let server = ServerProcess::start(&target.server_bin, &database.url).await?;
    let outcome = tokio::time::timeout(
        DEADLINE,
        measure(&server.base, subscribers, burst, writers.min(burst)),
    )
    .await
    .map_err(|_| Failure::from("the burst did not reach every subscriber in time"));
    server.stop().await?;
    database.remove().await?;
    let mut line = outcome??;
    line["backend"] = json!(format!("{:?}", target.backend).to_lowercase());
    Ok(line.to_string())
}

async fn measure(
    base: &str,
    subscribers: usize,
    burst: usize,
    writers: usize,
) -> Result<Value, Failure> {
    // The burst's events split over the writers; the last writer takes the remainder.
    let per_writer = burst / writers;
    let mut loads = generate(Shape {
        writers,
        appends: per_writer,
        events: 1,
    });
    let extra = burst - per_writer * writers;
    if extra > 0 {
        let more = generate(Shape {
            writers: 1,
            appends: extra,
            events: 1,
        });
        let last = loads.last_mut().ok_or("no writer")?;
        last.appends
            .extend(more.into_iter().flat_map(|load| load.appends));
    }
    let total = burst as u64;

    let connected = Arc::new(Barrier::new(subscribers + 1));
    let followers: Vec<_> = (0..subscribers)
        .map(|_| tokio::spawn(subscriber(base.to_owned(), total, connected.clone())))
        .collect();
    connected.wait().await;
    // Each subscription reads the (empty) log once when it opens; the burst starts after.
    let mut reads_before = subscription_reads(base).await?;
    while reads_before < subscribers as u64 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        reads_before = subscription_reads(base).await?;
    }

    // When each position's append was sent.
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let started = Instant::now();
    let appenders: Vec<_> = loads
        .into_iter()
        .map(|load| {
            let (base, sent) = (base.to_owned(), sent.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let url = format!("{base}/v1/streams/{}", load.stream);
                for (version, events) in load.appends.iter().enumerate() {
                    let body = append_body(version as u64, events);
                    let at = Instant::now();
                    let response = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await?;
                    if response.status() != 200 {
                        return Err::<(), Failure>(
                            format!("append answered {}", response.status()).into(),
                        );
                    }
                    let answer: Value = serde_json::from_slice(&response.bytes().await?)?;
                    let position = answer["firstPosition"].as_u64().ok_or("no firstPosition")?;
                    sent.lock().await.insert(position, at);
                }
                Ok(())
            })
        })
        .collect();
    for appender in appenders {
        appender.await??;
    }
    let appended = started.elapsed();
    let mut arrivals = Vec::with_capacity(followers.len());
    for follower in followers {
        arrivals.push(follower.await??);
    }
    let reads = subscription_reads(base).await? - reads_before;
    let mut from_send = Vec::with_capacity(subscribers * burst);
    let mut from_commit = Vec::with_capacity(subscribers * burst);
    let mut last_arrival = started;
    let sent = sent.lock().await;
    for follower in arrivals {
        for (index, arrival) in follower.into_iter().enumerate() {
            let at = sent
                .get(&(index as u64 + 1))
                .ok_or("a position nobody appended")?;
            from_send.push(arrival.at.saturating_duration_since(*at).as_secs_f64() * 1e3);
            from_commit.push(arrival.after_commit_ms);
            last_arrival = last_arrival.max(arrival.at);
        }
    }
    let delivered = from_send.len();
    let everything = last_arrival.duration_since(started).as_secs_f64();
    Ok(json!({
        "scenario": "subscribers",
        "subscribers": subscribers,
        "burst": burst,
        "writers": writers,
        "deliveries": delivered,
        "appendMs": (appended.as_secs_f64() * 1e6).round() / 1e3,
        "allDeliveredMs": (everything * 1e6).round() / 1e3,
        "deliveriesPerSecond": (delivered as f64 / everything).round(),
        "readsDuringBurst": reads,
        "deliveryMs": summary(from_commit),
        "fromSendMs": summary(from_send),
    }))
}

/// The server's count of database reads made by subscriptions (`GET /metrics`).
async fn subscription_reads(base: &str) -> Result<u64, Failure> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    let line = text
        .lines()
        .find(|line| line.starts_with("fieldstream_subscription_reads_total"))
        .ok_or("no fieldstream_subscription_reads_total in /metrics")?;
    let value = line
        .split_whitespace()
        .last()
        .ok_or("an empty metric line")?;
    Ok(value.parse::<f64>()? as u64)
}

#[cfg(test)]
mod tests {
    use super::recorded_at;

    #[test]
    fn recorded_at_is_read_off_the_message() {
        let message = "event: event\nid: 7\ndata: {\"position\":7,\"recordedAt\": 1700000000123,\"data\":{}}\n\n";
        assert_eq!(recorded_at(message), Some(1_700_000_000_123));
        assert_eq!(recorded_at("id: 7\ndata: {}\n\n"), None);
    }
}
