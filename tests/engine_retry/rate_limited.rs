//! Conflict retries on a remote store whose server rate-limits it: the store's `Retry-After`
//! waits do not spend the command's budget, while its backoffs and attempts still do. The
//! server is a fake in-process one over a manual clock; every wait moves that clock on.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use fieldstream::core::{
    Clock, ConflictRetry, Engine, EngineConfig, Error, ExecuteOptions, ManualClock, NoJitter,
    StreamId,
};
use fieldstream::protocol::{
    AppendRequest, AppendResponse, ConflictResponse, ErrorCode, ServerEvent, StreamPage,
};
use fieldstream::store::EventLog;
use fieldstream::sync::{AppendAnswer, RemoteConfig, RemoteStore, StreamTransport, TransportError};
use serde_json::json;

use super::common::{Counter, RecordingSleeper, run};
use super::{ADD, retry};

/// One stream on a fake server: each request is answered `429` once before it is served, and
/// appends can lose to another writer's event first.
#[derive(Clone)]
struct Throttled {
    events: Rc<RefCell<Vec<ServerEvent>>>,
    clock: Rc<ManualClock>,
    /// `Retry-After` of the `429` each request meets first, in milliseconds.
    retry_after_ms: u64,
    /// Whether the next request is answered `429`.
    limited: Rc<Cell<bool>>,
    /// Appends still to lose to another writer (`u32::MAX`: all of them).
    foreign: Rc<Cell<u32>>,
    /// Milliseconds each served request takes.
    request_ms: i64,
}

impl Throttled {
    fn new(clock: &Rc<ManualClock>, retry_after_ms: u64, foreign: u32) -> Self {
        Throttled {
            events: Rc::default(),
            clock: clock.clone(),
            retry_after_ms,
            limited: Rc::new(Cell::new(true)),
            foreign: Rc::new(Cell::new(foreign)),
            request_ms: 10,
        }
    }

    /// `429` every other request, starting with the first.
    fn gate(&self) -> Result<(), TransportError> {
        self.clock.advance(self.request_ms);
        if self.limited.replace(!self.limited.get()) {
            return Err(TransportError::RateLimited {
                retry_after_ms: self.retry_after_ms,
            });
        }
        Ok(())
    }

    fn push(&self, stream: &StreamId, id: uuid::Uuid, event_type: &str, data: serde_json::Value) {
        let mut events = self.events.borrow_mut();
        let version = events.len() as u64 + 1;
        events.push(ServerEvent {
            id,
            stream: stream.clone(),
            version,
            position: version,
            event_type: event_type.into(),
            schema_version: 3,
            data,
            metadata: json!({}),
            recorded_at: self.clock.now(),
        });
    }
}

impl StreamTransport for Throttled {
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        limit: u32,
    ) -> Result<StreamPage, TransportError> {
        self.gate()?;
        let events = self.events.borrow();
        Ok(StreamPage {
            stream: stream.clone(),
            current_version: events.len() as u64,
            events: (events.iter())
                .skip(from.saturating_sub(1) as usize)
                .take(limit as usize)
                .cloned()
                .collect(),
        })
    }

    async fn append(
        &self,
        stream: &StreamId,
        request: &AppendRequest,
    ) -> Result<AppendAnswer, TransportError> {
        self.gate()?;
        if self.foreign.get() > 0 {
            self.foreign.set(self.foreign.get().saturating_sub(1));
            let data = json!({"amount": 100, "unit": "pcs"});
            self.push(stream, uuid::Uuid::new_v4(), "Added", data);
        }
        let current = self.events.borrow().len() as u64;
        if !request.expected_version.admits(current) {
            return Ok(AppendAnswer::Conflict(ConflictResponse {
                error: ErrorCode::WrongExpectedVersion,
                message: "another writer was first".into(),
                stream: stream.clone(),
                expected_version: request.expected_version,
                current_version: current,
                events: self.events.borrow()[current as usize - 1..].to_vec(),
            }));
        }
        for event in &request.events {
            self.push(stream, event.id, &event.event_type, event.data.clone());
        }
        let last = self.events.borrow().len() as u64;
        Ok(AppendAnswer::Appended(AppendResponse {
            stream: stream.clone(),
            first_version: current + 1,
            last_version: last,
            first_position: current + 1,
            last_position: last,
            recorded_at: Some(self.clock.now()),
        }))
    }

    async fn pause(&self, millis: u64) {
        self.clock.advance(millis as i64);
    }
}

type RemoteEngine = Engine<RemoteStore<Throttled>>;

/// An engine on a remote store over `server`, on the server's clock, without jitter, with a
/// timer that moves that clock on by each backoff.
fn engine(server: &Throttled, retry: ConflictRetry) -> (RemoteEngine, Rc<RecordingSleeper>) {
    let sleeper = Rc::new(RecordingSleeper {
        clock: Some(server.clock.clone()),
        ..RecordingSleeper::default()
    });
    let config = EngineConfig {
        conflict_retry: retry,
        ..RemoteStore::<Throttled>::engine_config()
    };
    let store = RemoteStore::new(server.clone(), RemoteConfig::default());
    let mut engine = Engine::new(store)
        .with_config(config)
        .with_clock(server.clock.clone())
        .with_sleeper(sleeper.clone())
        .with_jitter(Rc::new(NoJitter));
    engine.register::<Counter>().unwrap();
    (engine, sleeper)
}

#[test]
fn rate_limit_waits_longer_than_the_budget_do_not_fail_a_command_that_gets_through() {
    run(async {
        let clock = Rc::new(ManualClock::at(1_700_000_000_000));
        let server = Throttled::new(&clock, 3_000, 3);
        let start = clock.now().0;
        let (engine, sleeper) = engine(&server, retry(10, 100, 1_000));
        let result = engine
            .execute::<Counter>("k", &ADD, ExecuteOptions::default())
            .await
            .unwrap();
        assert_eq!(result.version, 4, "after the other writer's three events");
        assert_eq!(*sleeper.slept.borrow(), vec![10, 20, 40]);
        assert_eq!(engine.stats().conflict_retries, 3);
        let waited = engine.store().rate_limited_ms();
        assert_eq!(
            waited,
            11 * 3_000,
            "a 429 before each request: a read and the append per attempt, and the read of the \
             other writer's events after each conflict"
        );
        assert!(
            (clock.now().0 - start) as u64 > waited,
            "the command ran for far longer than its budget of 1,000 ms"
        );
    });
}

#[test]
fn the_budget_still_ends_a_run_of_conflicts_between_rate_limit_waits() {
    run(async {
        let clock = Rc::new(ManualClock::at(0));
        let server = Throttled::new(&clock, 3_000, u32::MAX);
        let (engine, sleeper) = engine(&server, retry(10, 100, 1_000));
        let error = engine
            .execute::<Counter>("k", &ADD, ExecuteOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
        let slept = sleeper.slept.borrow().clone();
        assert_eq!(
            slept,
            vec![10, 20, 40, 80, 100, 100, 100, 100],
            "backoffs and 60 ms of requests per conflict (three of 20 ms): 550 + 8 × 60 = 1,030 \
             ms by the ninth conflict"
        );
        assert_eq!(engine.stats().conflict_retries, 8);
        let waited = engine.store().rate_limited_ms();
        assert_eq!(
            waited,
            9 * 3 * 3_000,
            "81 s of 429 waits, none of them counted"
        );
    });
}
