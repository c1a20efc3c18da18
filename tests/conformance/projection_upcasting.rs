//! Conformance cases of upcasting on read models: every path by which a projection sees events
//! (a build, inline with a commit, events pulled from the server, background catch-up, a
//! rebuild, and the look-ahead that batches a page's reads) shows them upcast, and a failing
//! upcaster is the event's failure.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use fieldstream::core::projection::ProjectionMode;
use fieldstream::core::{
    Engine, EventEnvelope, ExpectedVersion, Projection, ProjectionOptions, Result, Upcasters, View,
};
use fieldstream::store::{Commit, EventStore, SyncBatch};
use serde_json::{Value, json};

use super::projections::foreign;

type Case<S> = fn(S) -> Pin<Box<dyn Future<Output = ()>>>;

/// The upcasting cases, by name.
pub fn cases<S: EventStore + Clone + 'static>() -> Vec<(&'static str, Case<S>)> {
    vec![
        ("projections_see_upcast_events_on_every_path", |s| {
            Box::pin(projections_see_upcast_events_on_every_path(s))
        }),
        ("a_failing_upcaster_is_the_events_failure", |s| {
            Box::pin(a_failing_upcaster_is_the_events_failure(s))
        }),
    ]
}

/// `Counted` events changed shape twice: v1 `{n}`, v2 `{count}`, v3 `{count, unit}`. The v1 → v2
/// step refuses a negative `n`.
fn counted_upcasters() -> Upcasters {
    let mut upcasters = Upcasters::new();
    upcasters
        .register("Counted", 1, |data| match data["n"].as_i64() {
            Some(n) if n >= 0 => Ok(json!({ "count": n })),
            _ => Err(fieldstream::core::Error::invalid("n must be a count")),
        })
        .unwrap();
    upcasters
        .register("Counted", 2, |mut data| {
            data["unit"] = json!("pcs");
            Ok(data)
        })
        .unwrap();
    upcasters
}

/// Sums the counts of each stream; counts every event it is shown in an old shape, the
/// look-ahead's throwaway runs included.
struct Sums {
    name: &'static str,
    version: u32,
    stale: Rc<Cell<u32>>,
}

impl Projection for Sums {
    fn name(&self) -> &str {
        self.name
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn apply(&self, event: &EventEnvelope, view: &mut View<'_>) -> Result<()> {
        let current = event.schema_version == 3 && event.data["unit"] == "pcs";
        if !current {
            self.stale.set(self.stale.get() + 1);
        }
        let key = event.stream.to_string();
        let sum = view
            .get(&key)
            .map_or(0, |doc| doc["sum"].as_i64().unwrap_or(0));
        let count = event.data["count"].as_i64().unwrap_or(1_000);
        view.put(key, json!({ "sum": sum + count }));
        Ok(())
    }
}

fn counted(stream: &str, version: u64, n: i64, position: Option<u64>) -> EventEnvelope {
    let mut event = foreign(
        stream,
        version,
        position.unwrap_or(0),
        "Counted",
        json!({ "n": n }),
    );
    if position.is_none() {
        (event.position, event.recorded_at) = (None, None);
    }
    event
}

async fn sums<S: EventStore>(engine: &Engine<S>, name: &str) -> Vec<Option<Value>> {
    let mut sums = Vec::new();
    for stream in ["Tally-a", "Tally-b", "Tally-c"] {
        let doc = engine.get(name, stream).await.unwrap();
        sums.push(doc.map(|doc| doc["sum"].clone()));
    }
    sums
}

fn engine_with<S: EventStore + Clone>(store: &S, version: u32, stale: &Rc<Cell<u32>>) -> Engine<S> {
    let mut engine = Engine::new(store.clone()).with_upcasters(counted_upcasters());
    let background = ProjectionOptions {
        mode: ProjectionMode::Background { batch_size: 2 },
        ..Default::default()
    };
    for (name, options) in [
        ("sums", ProjectionOptions::default()),
        ("sums_bg", background),
    ] {
        let sums = Sums {
            name,
            version,
            stale: stale.clone(),
        };
        engine.register_projection(Rc::new(sums), options).unwrap();
    }
    engine
}

async fn projections_see_upcast_events_on_every_path<S: EventStore + Clone>(store: S) {
    // Old events in the log before the projections exist: a build reads them.
    let old = vec![
        counted("Tally-a", 1, 1, None),
        counted("Tally-a", 2, 2, None),
    ];
    let stream = old[0].stream.clone();
    store
        .commit(Commit::events(
            stream.clone(),
            ExpectedVersion::NoStream,
            old,
        ))
        .await
        .unwrap();
    let stale = Rc::new(Cell::new(0));
    let engine = engine_with(&store, 1, &stale);
    engine.catch_up_projections().await.unwrap();
    assert_eq!(sums(&engine, "sums").await[0], Some(json!(3)), "built");

    // Pulled from the server: another device's events, in its old shape.
    let pulled = SyncBatch {
        confirmed: vec![
            counted("Tally-b", 1, 5, Some(1)),
            counted("Tally-c", 1, 6, Some(2)),
        ],
        checkpoint: Some(2),
        ..Default::default()
    };
    engine.apply_sync(pulled).await.unwrap();
    // Inline with a commit.
    let mut commit = Commit::events(
        stream,
        ExpectedVersion::Exact(2),
        vec![counted("Tally-a", 3, 4, None)],
    );
    commit.projector = Some(engine.projector().clone());
    store.commit(commit).await.unwrap();
    assert_eq!(
        sums(&engine, "sums").await,
        vec![Some(json!(7)), Some(json!(5)), Some(json!(6))]
    );
    // In the background.
    engine.catch_up_projections().await.unwrap();
    assert_eq!(
        sums(&engine, "sums_bg").await,
        vec![Some(json!(7)), Some(json!(5)), Some(json!(6))]
    );
    // A rebuild of a new version.
    let rebuilt = engine_with(&store, 2, &stale);
    rebuilt.catch_up_projections().await.unwrap();
    assert_eq!(rebuilt.projection_status("sums").await.unwrap().version, 2);
    assert_eq!(
        sums(&rebuilt, "sums").await,
        vec![Some(json!(7)), Some(json!(5)), Some(json!(6))]
    );
    assert_eq!(stale.get(), 0, "no projection saw an event in an old shape");
}

async fn a_failing_upcaster_is_the_events_failure<S: EventStore + Clone>(store: S) {
    let stale = Rc::new(Cell::new(0));
    let mut engine = Engine::new(store.clone()).with_upcasters(counted_upcasters());
    let stops = ProjectionOptions {
        max_retries: 0,
        ..Default::default()
    };
    let projection = Sums {
        name: "sums",
        version: 1,
        stale: stale.clone(),
    };
    engine
        .register_projection(Rc::new(projection), stops)
        .unwrap();
    engine.catch_up_projections().await.unwrap();
    let events = vec![
        counted("Tally-a", 1, 2, None),
        counted("Tally-a", 2, -1, None),
    ];
    let mut commit = Commit::events(events[0].stream.clone(), ExpectedVersion::NoStream, events);
    commit.projector = Some(engine.projector().clone());
    store.commit(commit).await.expect("the commit itself holds");
    let status = engine.projection_status("sums").await.unwrap();
    assert!(status.stopped);
    assert_eq!(status.dead_letters.len(), 1);
    assert_eq!(status.dead_letters[0].version, 2);
    assert_eq!(status.dead_letters[0].error.code, "codec");
    assert_eq!(sums(&engine, "sums").await[0], Some(json!(2)));
    assert_eq!(stale.get(), 0);
}
