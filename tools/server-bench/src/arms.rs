//! The three arms of the appends benchmark, each writing the same rows on a fresh database:
//!
//! - **server**: `POST /v1/streams/{stream}` with the writer's expected version, to the real
//!   binary over loopback (one keep-alive connection per writer). Each append checks the version,
//!   looks its event ids up (exactly-once), locks the tenant's head, assigns positions in commit
//!   order and commits durably (SQLite `synchronous=FULL`, PostgreSQL `synchronous_commit=on`).
//! - **backend**: the same server code (`AnyBackend::append`) called in-process: no HTTP, no
//!   JSON; the gap between this arm and `server` is the HTTP layer, the gap to `raw` the checks.
//! - **raw** and **raw-ordered**: sqlx straight into the server's own table (see [`raw`]); the
//!   second also takes positions from the head row, in commit order, as the server must.
//!
//! Only the appending is timed: rows, bodies and connections are prepared before a barrier.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use fieldstream::core::{ExpectedVersion, StreamId};
use fieldstream_server::backend::{AppendOutcome, PageSize};
use fieldstream_server::{AnyBackend, Backend};
use serde_json::json;
use tokio::sync::Barrier;

use crate::database::{FreshDatabase, ServerProcess};
use crate::stats::summary;
use crate::workload::{Shape, TENANT, WriterLoad, append_body, generate};
use crate::{Arm, Failure, Target, raw};

/// What the writers of one run measured.
pub struct Timed {
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

/// One repetition of `arm` on a fresh database; returns its JSON line.
pub async fn run(target: &Target, arm: Arm, shape: Shape) -> Result<String, Failure> {
    let database = FreshDatabase::create(target).await?;
    let loads = generate(shape);
    let timed = match arm {
        Arm::Server => server_arm(&target.server_bin, &database, loads).await,
        Arm::Backend => backend_arm(&database, loads).await,
        Arm::Raw => raw::run(&database, loads, false).await,
        Arm::RawOrdered => raw::run(&database, loads, true).await,
    };
    let stored = match &timed {
        Ok(_) => database.count_events().await,
        Err(_) => Ok(0),
    };
    database.remove().await?;
    let (timed, stored) = (timed?, stored?);
    if stored != shape.total_events() as u64 {
        return Err(format!("{stored} events stored, {} expected", shape.total_events()).into());
    }
    let seconds = timed.elapsed.as_secs_f64();
    Ok(json!({
        "scenario": "appends",
        "arm": arm.to_possible_value().map(|value| value.get_name().to_owned()),
        "backend": format!("{:?}", target.backend).to_lowercase(),
        "writers": shape.writers,
        "appendsPerWriter": shape.appends,
        "eventsPerAppend": shape.events,
        "appends": shape.total_appends(),
        "events": shape.total_events(),
        "stored": stored,
        "elapsedMs": (seconds * 1e6).round() / 1e3,
        "appendsPerSecond": (shape.total_appends() as f64 / seconds).round(),
        "latencyMs": summary(timed.latencies_ms),
    })
    .to_string())
}

/// Runs one task per writer; each prepares, waits at the barrier, then appends. The clock runs
/// from the barrier to the last writer's end.
pub async fn time_writers<F, Fut>(loads: Vec<WriterLoad>, writer: F) -> Result<Timed, Failure>
where
    F: Fn(WriterLoad, Arc<Barrier>) -> Fut,
    Fut: Future<Output = Result<Vec<f64>, Failure>> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(loads.len() + 1));
    let tasks: Vec<_> = loads
        .into_iter()
        .map(|load| tokio::spawn(writer(load, barrier.clone())))
        .collect();
    barrier.wait().await;
    let started = Instant::now();
    let mut latencies_ms = Vec::new();
    for task in tasks {
        latencies_ms.extend(task.await??);
    }
    Ok(Timed {
        elapsed: started.elapsed(),
        latencies_ms,
    })
}

/// Milliseconds since `start`.
pub fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

async fn server_arm(
    binary: &str,
    database: &FreshDatabase,
    loads: Vec<WriterLoad>,
) -> Result<Timed, Failure> {
    let server = ServerProcess::start(binary, &database.url).await?;
    let base = server.base.clone();
    let timed = time_writers(loads, |load, barrier| {
        let base = base.clone();
        async move {
            let client = reqwest::Client::new();
            let url = format!("{base}/v1/streams/{}", load.stream);
            // Opens this writer's connection before the clock starts.
            client
                .get(format!("{base}/health"))
                .send()
                .await?
                .bytes()
                .await?;
            let mut version = 0u64;
            let bodies: Vec<Vec<u8>> = load
                .appends
                .iter()
                .map(|events| {
                    let body = append_body(version, events);
                    version += events.len() as u64;
                    body
                })
                .collect();
            barrier.wait().await;
            let mut latencies = Vec::with_capacity(bodies.len());
            for body in bodies {
                let start = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                let status = response.status();
                let answer = response.bytes().await?;
                if status != 200 {
                    let answer = String::from_utf8_lossy(&answer);
                    return Err(format!("append answered {status}: {answer}").into());
                }
                latencies.push(ms_since(start));
            }
            Ok(latencies)
        }
    })
    .await;
    server.stop().await?;
    timed
}

async fn backend_arm(database: &FreshDatabase, loads: Vec<WriterLoad>) -> Result<Timed, Failure> {
    let backend = AnyBackend::open(&database.url).await?;
    time_writers(loads, |load, barrier| {
        let backend = backend.clone();
        async move {
            let stream = StreamId::parse(load.stream.as_str())?;
            barrier.wait().await;
            let (mut version, mut latencies) = (0u64, Vec::with_capacity(load.appends.len()));
            for events in &load.appends {
                let start = Instant::now();
                let expected = ExpectedVersion::Exact(version);
                let conflict = PageSize::new(1_000, 4 << 20);
                match backend
                    .append(TENANT, &stream, expected, events, conflict)
                    .await?
                {
                    AppendOutcome::Appended(_) => {}
                    other => return Err(format!("append refused: {other:?}").into()),
                }
                latencies.push(ms_since(start));
                version += events.len() as u64;
            }
            Ok(latencies)
        }
    })
    .await
}
