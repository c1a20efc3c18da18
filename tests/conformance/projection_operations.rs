//! Conformance cases of operating a projection that failed: a new version rebuilds it though it
//! stopped, an operator's retry resumes it (or rebuilds it after skips), and a skip passes an
//! event over for good.

use std::future::Future;
use std::pin::Pin;

use fieldstream::core::{OnFailure, ProjectionOptions};
use fieldstream::store::{EventStore, SyncBatch};
use serde_json::json;

use super::projection_failures::{Setup, create_pay_ship, setup, stop_at_once, trail};
use super::projections::foreign;

type Case<S> = fn(S) -> Pin<Box<dyn Future<Output = ()>>>;

/// The operation cases, by name.
pub fn cases<S: EventStore + Clone + 'static>() -> Vec<(&'static str, Case<S>)> {
    vec![
        ("raising_the_version_rebuilds_a_stopped_projection", |s| {
            Box::pin(raising_the_version_rebuilds_a_stopped_projection(s))
        }),
        (
            "retry_resumes_a_stopped_projection_at_its_dead_letter",
            |s| Box::pin(retry_resumes_a_stopped_projection_at_its_dead_letter(s)),
        ),
        ("skipping_a_dead_letter_passes_the_event_and_resumes", |s| {
            Box::pin(skipping_a_dead_letter_passes_the_event_and_resumes(s))
        }),
        ("retrying_after_skips_rebuilds_in_order", |s| {
            Box::pin(retrying_after_skips_rebuilds_in_order(s))
        }),
    ]
}

async fn raising_the_version_rebuilds_a_stopped_projection<S>(store: S)
where
    S: EventStore + Clone,
{
    let v1 = setup(&store, 1, stop_at_once()).await;
    v1.broken.set(true);
    create_pay_ship(&v1.engine, "o-1").await;
    assert!(v1.engine.projection_status("flaky").await.unwrap().stopped);
    drop(v1);

    let v2 = setup(&store, 2, stop_at_once()).await;
    let status = v2.engine.projection_status("flaky").await.unwrap();
    assert_eq!((status.version, status.stopped, status.lag), (2, false, 0));
    assert!(
        status.dead_letters.is_empty(),
        "the old version's dead letters went with it"
    );
    assert_eq!(
        trail(&v2.engine, "o-1").await.unwrap(),
        "OrderCreated;OrderPaid;OrderShipped"
    );
}

async fn retry_resumes_a_stopped_projection_at_its_dead_letter<S>(store: S)
where
    S: EventStore + Clone,
{
    let Setup { engine, broken, .. } = setup(&store, 1, stop_at_once()).await;
    broken.set(true);
    create_pay_ship(&engine, "o-1").await;
    let stopped = engine.projection_status("flaky").await.unwrap();
    assert!(stopped.stopped);
    assert_eq!(stopped.lag, 2);
    broken.set(false);
    let status = engine.retry_projection("flaky").await.unwrap();
    assert_eq!((status.stopped, status.lag), (false, 0));
    assert!(status.dead_letters.is_empty());
    assert_eq!(
        trail(&engine, "o-1").await.unwrap(),
        "OrderCreated;OrderPaid;OrderShipped"
    );
    let error = engine.retry_projection("nope").await.unwrap_err();
    assert_eq!(error.code(), "invalid_input");
}

async fn skipping_a_dead_letter_passes_the_event_and_resumes<S>(store: S)
where
    S: EventStore + Clone,
{
    let Setup { engine, broken, .. } = setup(&store, 1, stop_at_once()).await;
    broken.set(true);
    create_pay_ship(&engine, "o-1").await;
    let stopped = engine.projection_status("flaky").await.unwrap();
    let payment = stopped.dead_letters[0].event_id;

    let missing = engine
        .skip_dead_letter("flaky", uuid::Uuid::new_v4())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "not_found");
    let unknown = engine.skip_dead_letter("nope", payment).await.unwrap_err();
    assert_eq!(unknown.code(), "invalid_input");
    assert_eq!(
        engine.projection_status("flaky").await.unwrap(),
        stopped,
        "nothing was written"
    );

    let status = engine.skip_dead_letter("flaky", payment).await.unwrap();
    assert_eq!((status.stopped, status.lag), (false, 0));
    assert_eq!(status.dead_letters.len(), 1);
    assert!(status.dead_letters[0].skipped);
    assert_eq!(
        trail(&engine, "o-1").await.unwrap(),
        "OrderCreated;OrderShipped"
    );

    // Another device's event arrives first: the pending events are applied again on top of
    // it, and the skipped one stays passed over, without a new dead letter.
    let theirs = foreign(
        "Order-x",
        1,
        1,
        "OrderCreated",
        json!({"customerId": "c", "items": [], "total": 1}),
    );
    let batch = SyncBatch {
        confirmed: vec![theirs],
        checkpoint: Some(1),
        ..Default::default()
    };
    engine.apply_sync(batch).await.unwrap();
    assert_eq!(
        trail(&engine, "o-1").await.unwrap(),
        "OrderCreated;OrderShipped"
    );
    assert_eq!(trail(&engine, "x").await.unwrap(), "OrderCreated");
    let again = engine.skip_dead_letter("flaky", payment).await.unwrap();
    assert_eq!(
        again.dead_letters.len(),
        1,
        "skipping twice changes nothing"
    );
}

async fn retrying_after_skips_rebuilds_in_order<S: EventStore + Clone>(store: S) {
    let options = ProjectionOptions {
        on_failure: OnFailure::Skip,
        ..stop_at_once()
    };
    let Setup { engine, broken, .. } = setup(&store, 1, options).await;
    broken.set(true);
    create_pay_ship(&engine, "o-1").await;
    let skipped = engine.projection_status("flaky").await.unwrap();
    assert!(!skipped.stopped);
    assert!(skipped.dead_letters[0].skipped);
    assert_eq!(
        trail(&engine, "o-1").await.unwrap(),
        "OrderCreated;OrderShipped"
    );
    broken.set(false);
    let status = engine.retry_projection("flaky").await.unwrap();
    assert!(status.dead_letters.is_empty());
    assert_eq!((status.stopped, status.lag, status.version), (false, 0, 1));
    assert_eq!(
        trail(&engine, "o-1").await.unwrap(),
        "OrderCreated;OrderPaid;OrderShipped",
        "the skipped payment is back in its place"
    );
}
