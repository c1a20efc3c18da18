//! Conformance cases of a projection that fails: retries with backoff before a dead letter
//! (inline and in the background), and no event overtaken. The projection and the set-up are
//! shared with `projection_operations.rs`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use fieldstream::core::projection::ProjectionMode;
use fieldstream::core::{
    DomainError, Engine, Error, EventEnvelope, ExecuteOptions, ExpectedVersion, ManualClock,
    Projection, ProjectionOptions, Result, View,
};
use fieldstream::example::{Order, OrderCommand};
use fieldstream::store::{Commit, EventStore};
use serde_json::json;

use super::projections::{create, foreign, pay};

type Case<S> = fn(S) -> Pin<Box<dyn Future<Output = ()>>>;

/// The failure cases, by name.
pub fn cases<S: EventStore + Clone + 'static>() -> Vec<(&'static str, Case<S>)> {
    vec![
        ("failing_events_are_dead_lettered", |s| {
            Box::pin(failing_events_are_dead_lettered(s))
        }),
        (
            "a_failing_event_is_retried_with_backoff_then_dead_lettered",
            |s| {
                Box::pin(a_failing_event_is_retried_with_backoff_then_dead_lettered(
                    s,
                ))
            },
        ),
        ("an_inline_failure_heals_on_its_retry", |s| {
            Box::pin(a_transient_failure_heals_on_its_retry(
                s,
                ProjectionMode::Inline,
            ))
        }),
        ("a_background_failure_heals_on_its_retry", |s| {
            let mode = ProjectionMode::Background { batch_size: 10 };
            Box::pin(a_transient_failure_heals_on_its_retry(s, mode))
        }),
        (
            "a_commit_never_overtakes_an_event_the_projection_has_not_seen",
            |s| Box::pin(a_commit_never_overtakes_an_event_the_projection_has_not_seen(s)),
        ),
    ]
}

/// Keeps each order's trail of event types; fails on `OrderPaid` while `broken` is set.
pub(super) struct Flaky {
    version: u32,
    broken: Rc<Cell<bool>>,
}

impl Projection for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        if self.broken.get() && event.event_type == "OrderPaid" {
            return Err(Error::Domain(DomainError::new(
                "payments_down",
                "the payment service is down",
            )));
        }
        let id = event.stream.aggregate_id().unwrap_or_default().to_owned();
        let trail = view
            .get(&id)
            .and_then(|doc| doc["trail"].as_str().map(str::to_owned));
        let trail = match trail {
            Some(trail) => format!("{trail};{}", event.event_type),
            None => event.event_type.clone(),
        };
        view.put(id, json!({ "trail": trail }));
        Ok(())
    }
}

/// An engine over `store` with the Order aggregate and the `flaky` projection, on a clock that
/// stands still until moved; built and caught up.
pub(super) struct Setup<S: EventStore> {
    pub engine: Engine<S>,
    pub clock: Rc<ManualClock>,
    pub broken: Rc<Cell<bool>>,
}

const T0: i64 = 1_700_000_000_000;

pub(super) async fn setup<S: EventStore + Clone>(
    store: &S,
    version: u32,
    options: ProjectionOptions,
) -> Setup<S> {
    let clock = Rc::new(ManualClock::at(T0));
    let broken = Rc::new(Cell::new(false));
    let mut engine = Engine::new(store.clone()).with_clock(clock.clone());
    engine.register::<Order>().unwrap();
    let flaky = Flaky {
        version,
        broken: broken.clone(),
    };
    engine.register_projection(Rc::new(flaky), options).unwrap();
    engine.catch_up_projections().await.unwrap();
    Setup {
        engine,
        clock,
        broken,
    }
}

pub(super) fn ship() -> OrderCommand {
    OrderCommand::ShipOrder {
        tracking_number: "T".into(),
    }
}

pub(super) async fn trail<S: EventStore>(engine: &Engine<S>, id: &str) -> Option<String> {
    let doc = engine.get("flaky", id).await.unwrap()?;
    doc["trail"].as_str().map(str::to_owned)
}

/// Creates, pays and ships order `id`; every command commits, whatever the projection does.
pub(super) async fn create_pay_ship<S: EventStore>(engine: &Engine<S>, id: &str) {
    for command in [create("c", 1), pay(100), ship()] {
        engine
            .execute::<Order>(id, &command, ExecuteOptions::default())
            .await
            .unwrap();
    }
}

pub(super) fn stop_at_once() -> ProjectionOptions {
    ProjectionOptions {
        max_retries: 0,
        ..Default::default()
    }
}

async fn failing_events_are_dead_lettered<S: EventStore + Clone>(store: S) {
    let stops = setup(&store, 1, stop_at_once()).await;
    stops.broken.set(true);
    create_pay_ship(&stops.engine, "o-1").await;
    let status = stops.engine.projection_status("flaky").await.unwrap();
    assert!(status.stopped, "the default stops at the failing event");
    assert_eq!((status.dead_letters.len(), status.lag), (1, 2));
    assert_eq!(status.retry, None);
    assert_eq!(trail(&stops.engine, "o-1").await.unwrap(), "OrderCreated");
    let letter = &status.dead_letters[0];
    assert_eq!(
        (
            letter.event_type.as_str(),
            letter.error.code.as_str(),
            letter.skipped,
            letter.attempts
        ),
        ("OrderPaid", "payments_down", false, 1)
    );
    assert_eq!(letter.error.message, "the payment service is down");
}

async fn a_failing_event_is_retried_with_backoff_then_dead_lettered<S>(store: S)
where
    S: EventStore + Clone,
{
    let options = ProjectionOptions {
        max_retries: 2,
        backoff_ms: 100,
        ..Default::default()
    };
    let Setup {
        engine,
        clock,
        broken,
    } = setup(&store, 1, options).await;
    engine
        .execute::<Order>("o-1", &create("c", 1), ExecuteOptions::default())
        .await
        .unwrap();
    broken.set(true);
    engine
        .execute::<Order>("o-1", &pay(100), ExecuteOptions::default())
        .await
        .expect("an inline failure does not fail the command");
    let status = engine.projection_status("flaky").await.unwrap();
    let retry = status.retry.clone().expect("the event waits for a retry");
    assert_eq!((retry.attempts, retry.next_at), (1, T0 + 100));
    assert_eq!(retry.last_error.code, "payments_down");
    assert!(!status.stopped && status.dead_letters.is_empty());
    assert_eq!(status.lag, 1);
    assert_eq!(trail(&engine, "o-1").await.unwrap(), "OrderCreated");

    let steps = engine.run_projections(100).await.unwrap();
    assert_eq!(
        (steps[0].1.processed, steps[0].1.retry_at),
        (0, Some(T0 + 100)),
        "nothing is tried before its time"
    );
    clock.advance(100);
    engine.run_projections(100).await.unwrap();
    let retry = engine.projection_status("flaky").await.unwrap().retry;
    assert_eq!(
        retry.map(|r| (r.attempts, r.next_at)),
        Some((2, T0 + 100 + 200)),
        "the backoff doubles"
    );

    // The retry is part of the stored state: an engine made after a reload sees it.
    let reloaded = setup(&store, 1, options).await;
    let retry = reloaded
        .engine
        .projection_status("flaky")
        .await
        .unwrap()
        .retry;
    assert_eq!(retry.map(|r| r.attempts), Some(2));

    clock.advance(199);
    engine.run_projections(100).await.unwrap();
    assert!(!engine.projection_status("flaky").await.unwrap().stopped);
    clock.advance(1);
    engine.run_projections(100).await.unwrap();
    let status = engine.projection_status("flaky").await.unwrap();
    assert!(status.stopped, "its retries are spent");
    assert_eq!(status.retry, None);
    assert_eq!(status.dead_letters.len(), 1);
    assert_eq!(
        (
            status.dead_letters[0].attempts,
            status.dead_letters[0].skipped
        ),
        (3, false)
    );
}

async fn a_transient_failure_heals_on_its_retry<S>(store: S, mode: ProjectionMode)
where
    S: EventStore + Clone,
{
    let options = ProjectionOptions {
        mode,
        max_retries: 3,
        backoff_ms: 50,
        ..Default::default()
    };
    let Setup {
        engine,
        clock,
        broken,
    } = setup(&store, 1, options).await;
    broken.set(true);
    create_pay_ship(&engine, "o-1").await;
    engine.run_projections(100).await.unwrap();
    assert_eq!(
        trail(&engine, "o-1").await.unwrap(),
        "OrderCreated",
        "nothing after the failing event is applied before it"
    );
    broken.set(false);
    let early = engine.run_projections(100).await.unwrap();
    assert_eq!(early[0].1.processed, 0, "its backoff is not over");
    clock.advance(50);
    let healed = engine.run_projections(100).await.unwrap();
    assert_eq!(healed[0].1.processed, 2);
    assert_eq!(
        trail(&engine, "o-1").await.unwrap(),
        "OrderCreated;OrderPaid;OrderShipped"
    );
    let status = engine.projection_status("flaky").await.unwrap();
    assert_eq!((status.lag, status.retry, status.stopped), (0, None, false));
    assert!(status.dead_letters.is_empty());
    engine
        .execute::<Order>("o-2", &create("c", 1), ExecuteOptions::default())
        .await
        .unwrap();
    if mode == ProjectionMode::Inline {
        assert_eq!(
            trail(&engine, "o-2").await.as_deref(),
            Some("OrderCreated"),
            "read-your-writes again"
        );
    }
}

async fn a_commit_never_overtakes_an_event_the_projection_has_not_seen<S>(store: S)
where
    S: EventStore + Clone,
{
    let Setup { engine, .. } = setup(&store, 1, ProjectionOptions::default()).await;
    engine
        .execute::<Order>("o-1", &create("c", 1), ExecuteOptions::default())
        .await
        .unwrap();
    // A payment committed by a writer that runs no projections (another tab's older code).
    let mut paid = foreign(
        "Order-o-1",
        2,
        0,
        "OrderPaid",
        json!({"paymentMethod": "card", "amount": 100}),
    );
    (paid.position, paid.recorded_at) = (None, None);
    let commit = Commit::events(paid.stream.clone(), ExpectedVersion::Exact(1), vec![paid]);
    store.commit(commit).await.unwrap();
    engine
        .execute::<Order>("o-1", &ship(), ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!(
        trail(&engine, "o-1").await.unwrap(),
        "OrderCreated",
        "the shipment waits for the payment it follows"
    );
    assert_eq!(engine.projection_status("flaky").await.unwrap().lag, 2);
    engine.catch_up_projections().await.unwrap();
    assert_eq!(
        trail(&engine, "o-1").await.unwrap(),
        "OrderCreated;OrderPaid;OrderShipped"
    );
}
