//! Conflict retries with backoff: each retry waits a jittered, doubling, capped backoff first,
//! for as long as the command's budget in time lasts; a command with an expected version is
//! never retried. The timer is a recording one, so no test waits.

#![cfg(not(target_arch = "wasm32"))]

mod common;
#[path = "engine_retry/rate_limited.rs"]
mod rate_limited;

use std::cell::Cell;
use std::rc::Rc;

use common::{Counter, CounterCommand, RecordingSleeper, foreign_commit, run};
use fieldstream::core::{
    ConflictRetry, Engine, EngineConfig, Error, ExecuteOptions, ExpectedVersion, ManualClock,
    NoJitter, StreamId,
};
use fieldstream::store::{Commit, EventLog, MemoryStore};
use serde_json::json;

/// Makes the next `times` commits of the engine's (every commit, with `None`) meet another
/// writer's commit to the same stream first; with `slow_ms`, each of those commits also takes
/// that long on `clock`.
fn contended(store: &MemoryStore, times: Option<u32>, slow: Option<(Rc<ManualClock>, i64)>) {
    let left = Rc::new(Cell::new(times.unwrap_or(u32::MAX)));
    store.set_commit_hook(Some(Rc::new(
        move |inner: &MemoryStore, commit: &Commit| {
            if let Some((clock, millis)) = &slow {
                clock.advance(*millis);
            }
            if left.get() > 0 {
                left.set(left.get() - 1);
                let data = json!({"amount": 100, "unit": "pcs"});
                foreign_commit(inner, &commit.stream, data, "Added");
            }
        },
    )));
}

/// An engine with a manual clock, no jitter (each backoff is its whole ceiling) and a
/// recording timer.
fn engine(
    store: &MemoryStore,
    retry: ConflictRetry,
) -> (Engine<MemoryStore>, Rc<RecordingSleeper>, Rc<ManualClock>) {
    let clock = Rc::new(ManualClock::at(1_700_000_000_000));
    let sleeper = Rc::new(RecordingSleeper::default());
    let config = EngineConfig {
        conflict_retry: retry,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(store.clone())
        .with_config(config)
        .with_clock(clock.clone())
        .with_sleeper(sleeper.clone())
        .with_jitter(Rc::new(NoJitter));
    engine.register::<Counter>().unwrap();
    (engine, sleeper, clock)
}

fn retry(base_ms: u64, max_delay_ms: u64, max_ms: u64) -> ConflictRetry {
    ConflictRetry {
        base_ms,
        max_delay_ms,
        max_ms,
        ..ConflictRetry::default()
    }
}

const ADD: CounterCommand = CounterCommand::Add { amount: 1 };

async fn version_of(store: &MemoryStore, stream: &str) -> u64 {
    let stream = StreamId::parse(stream).unwrap();
    store.stream_version(&stream).await.unwrap()
}

#[test]
fn a_command_that_keeps_losing_backs_off_longer_each_time_then_applies() {
    run(async {
        let store = MemoryStore::default();
        contended(&store, Some(6), None);
        let (engine, sleeper, _) = engine(&store, retry(5, 40, 10_000));
        let result = engine
            .execute::<Counter>("k", &ADD, ExecuteOptions::default())
            .await
            .unwrap();
        assert_eq!(
            *sleeper.slept.borrow(),
            vec![5, 10, 20, 40, 40, 40],
            "doubling from the base, capped"
        );
        assert_eq!(engine.stats().conflict_retries, 6);
        assert_eq!(result.version, 7, "after the other writer's six events");
        let loaded = engine.load::<Counter>("k").await.unwrap();
        assert_eq!((loaded.version, loaded.state.total), (7, 601));
    });
}

#[test]
fn random_jitter_keeps_each_backoff_within_its_ceiling() {
    run(async {
        let store = MemoryStore::default();
        contended(&store, Some(12), None);
        let policy = retry(8, 200, 60_000);
        let (engine, sleeper, _) = engine(&store, policy);
        let engine = engine.with_jitter(Rc::new(fieldstream::core::RandomJitter));
        engine
            .execute::<Counter>("k", &ADD, ExecuteOptions::default())
            .await
            .unwrap();
        let slept = sleeper.slept.borrow();
        assert_eq!(slept.len(), 12, "one backoff before each retry");
        for (n, millis) in slept.iter().enumerate() {
            let ceiling = policy.ceiling(n as u32 + 1);
            assert!(*millis <= ceiling, "backoff {n}: {millis} > {ceiling}");
        }
    });
}

#[test]
fn the_budget_in_time_ends_in_a_conflict_error() {
    run(async {
        let store = MemoryStore::default();
        contended(&store, None, None);
        let (engine, sleeper, _) = engine(&store, retry(10, 100, 1_000));
        let error = engine
            .execute::<Counter>("k", &ADD, ExecuteOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
        let slept = sleeper.slept.borrow().clone();
        let mut expected = vec![10, 20, 40, 80];
        expected.extend([100; 8]);
        expected.push(50);
        assert_eq!(
            slept, expected,
            "the last backoff ends where the budget does"
        );
        assert_eq!(slept.iter().sum::<u64>(), 1_000);
        assert_eq!(engine.stats().conflict_retries, 13);
        assert_eq!(engine.stats().failed, 1);
        assert_eq!(
            version_of(&store, "Counter-k").await,
            14,
            "only foreign events"
        );
    });
}

#[test]
fn time_spent_on_the_attempts_counts_against_the_budget() {
    run(async {
        let store = MemoryStore::default();
        let clock = Rc::new(ManualClock::at(0));
        let (engine, sleeper, _) = engine(&store, retry(10, 100, 1_000));
        let engine = engine.with_clock(clock.clone());
        contended(&store, None, Some((clock, 400)));
        let error = engine
            .execute::<Counter>("k", &ADD, ExecuteOptions::default())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "conflict");
        assert_eq!(
            *sleeper.slept.borrow(),
            vec![10, 20, 40],
            "400 ms per attempt: the fourth conflict comes 1,200 ms after the first"
        );
        assert_eq!(engine.stats().conflict_retries, 3);
    });
}

#[test]
fn a_zero_budget_fails_at_the_first_conflict() {
    run(async {
        let store = MemoryStore::default();
        contended(&store, Some(1), None);
        let (engine, sleeper, _) = engine(&store, retry(5, 250, 0));
        let error = engine
            .execute::<Counter>("k", &ADD, ExecuteOptions::default())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "conflict");
        assert!(sleeper.slept.borrow().is_empty());
        assert_eq!(engine.stats().conflict_retries, 0);
    });
}

#[test]
fn an_explicit_expected_version_fails_at_once_on_either_path() {
    for inline in [false, true] {
        run(async {
            let store = MemoryStore::default();
            store.hook_inline_commits(inline);
            contended(&store, Some(1), None);
            let (engine, sleeper, _) = engine(&store, ConflictRetry::default());
            let options = ExecuteOptions {
                expected_version: Some(ExpectedVersion::Exact(0)),
                ..ExecuteOptions::default()
            };
            let error = engine
                .execute::<Counter>("k", &ADD, options)
                .await
                .unwrap_err();
            match error {
                Error::Conflict {
                    expected, actual, ..
                } => assert_eq!((expected, actual), (ExpectedVersion::Exact(0), 1)),
                other => panic!("inline {inline}: not a conflict: {other:?}"),
            }
            assert!(sleeper.slept.borrow().is_empty(), "inline {inline}");
            assert_eq!(engine.stats().conflict_retries, 0, "inline {inline}");
            assert_eq!(store.read_stats().commits, 2, "the other writer's and ours");
            assert_eq!(version_of(&store, "Counter-k").await, 1);
        });
    }
}

#[test]
fn a_conflict_in_the_one_write_path_backs_off_and_goes_in_steps() {
    run(async {
        let store = MemoryStore::default();
        store.hook_inline_commits(true);
        contended(&store, Some(1), None);
        let (engine, sleeper, _) = engine(&store, retry(5, 250, 5_000));
        let result = engine
            .execute::<Counter>("k", &ADD, ExecuteOptions::default())
            .await
            .unwrap();
        assert_eq!(*sleeper.slept.borrow(), vec![5]);
        assert_eq!(engine.stats().conflict_retries, 1);
        assert_eq!(result.version, 2);
        assert_eq!(
            store.read_stats().commits,
            3,
            "the other writer's, ours in one write, ours in steps"
        );
        let loaded = engine.load::<Counter>("k").await.unwrap();
        assert_eq!((loaded.version, loaded.state.total), (2, 101));
    });
}
