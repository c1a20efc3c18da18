//! The simulation with every feature on at once, drawn from the case's seed: snapshots every
//! 1-3 events, `ItemAdded` written at schema v1, v2 or v3 by different devices (upcast on
//! every read), an inline and a background projection, idempotency keys (some repeated),
//! personal data with customers forgotten mid-run (or, in half the cases, no personal data, so
//! that commands are decided inside the store's write on warm states), commands near and over the server's
//! events-per-append limit, and conflicts resolved by rebase (tabs 0, 1) and by reject (tab 2),
//! over a network that loses requests and answers and sends requests twice, with restarts.
//!
//! After every sync that succeeds, and for every device at the end:
//! - `load` of every aggregate equals the fold of its history, and that history is the server's
//!   stream (as far as pulled) followed by the device's own pending events;
//! - every read model has no dead letter and equals a fresh rebuild from the same events;
//! - at the end: nothing on the server twice, every stream contiguous, every command executed
//!   accepted once or rejected, every outbox drained, and all devices agree.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use axum::Router;
use fieldstream::core::{
    Aggregate, Engine, Error, ExecuteOptions, ExecuteResult, ProjectionOptions, Result, StreamId,
    handler_for,
};
use fieldstream::store::{CommandQueue, EventLog, MemoryStore};
use proptest::prelude::*;
use serde_json::Value;

use super::devices::{Device, MAX_EVENTS_PER_APPEND, PROJECTIONS, server};
use super::domain::{
    Tab, TabCommand, Tabs, Tuning, Visit, VisitCommand, fold, lawful_tab, upcasters,
};
use super::transport::{Faults, server_log};

const TABS: u8 = 3;
const VISITS: u8 = 2;
const CUSTOMERS: u8 = 2;

#[derive(Debug, Clone)]
enum Step {
    Tab {
        device: usize,
        id: u8,
        kind: u8,
        count: u32,
        key: Option<u8>,
    },
    Visit {
        device: usize,
        id: u8,
        customer: u8,
        slot: Option<u32>,
    },
    Sync {
        device: usize,
    },
    Network {
        device: usize,
        faults: (bool, bool, bool, bool),
    },
    Restart {
        device: usize,
    },
    Forget {
        device: usize,
        customer: u8,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let device = 0..3usize;
    prop_oneof![
        6 => (device.clone(), 0..TABS, 0u8..4, 1u32..=7, prop::option::weighted(0.4, 0u8..2))
            .prop_map(|(device, id, kind, count, key)| Step::Tab { device, id, kind, count, key }),
        2 => (device.clone(), 0..VISITS, 0..CUSTOMERS, prop::option::of(0u32..3))
            .prop_map(|(device, id, customer, slot)| Step::Visit { device, id, customer, slot }),
        4 => device.clone().prop_map(|device| Step::Sync { device }),
        2 => (device.clone(), (prop::bool::weighted(0.2), prop::bool::weighted(0.3), prop::bool::weighted(0.3), prop::bool::weighted(0.2)))
            .prop_map(|(device, faults)| Step::Network { device, faults }),
        1 => device.clone().prop_map(|device| Step::Restart { device }),
        1 => (device, 0..CUSTOMERS).prop_map(|(device, customer)| Step::Forget { device, customer }),
    ]
}

fn tuning() -> impl Strategy<Value = Tuning> {
    (1u64..=3, 1u32..=3).prop_map(|(snapshot_every, writes_item_version)| Tuning {
        snapshot_every,
        writes_item_version,
        personal: true,
    })
}

/// What the run has seen: the commands executed, and the first result of each idempotency key.
#[derive(Default)]
struct Ledger {
    executed: Vec<(usize, String)>,
    keys: HashMap<(usize, String), ExecuteResult>,
    checks: u64,
}

/// Executes a tab command and checks what it did against the ledger.
async fn tab(
    device: &Device,
    n: usize,
    id: u8,
    kind: u8,
    count: u32,
    key: Option<u8>,
    ledger: &mut Ledger,
) {
    let engine = device.engine();
    let id = id.to_string();
    let command = match kind {
        0 => TabCommand::Open,
        1 | 2 => TabCommand::Add {
            count,
            price: i64::from(count) + 1,
        },
        _ => TabCommand::Close {
            total: engine.load::<Tab>(&id).await.unwrap().state.total,
        },
    };
    let key = key.map(|key| format!("{id}-{kind}-{key}"));
    let options = ExecuteOptions {
        idempotency_key: key.clone(),
        ..ExecuteOptions::default()
    };
    let stream = StreamId::for_aggregate("Tab", &id).unwrap();
    let before = (
        device.store.stream_version(&stream).await.unwrap(),
        device.store.read_outbox(usize::MAX).await.unwrap().len(),
    );
    let outcome = engine.execute::<Tab>(&id, &command, options).await;
    let first = key
        .as_ref()
        .and_then(|key| ledger.keys.get(&(n, key.clone())));
    match (&outcome, first) {
        (Ok(result), Some(first)) => {
            assert!(
                result.deduplicated,
                "a repeated key is answered from its record"
            );
            assert_eq!(result.command_id, first.command_id);
            for event in &result.events {
                assert_eq!(
                    event.metadata.command_id.as_deref(),
                    Some(first.command_id.as_str()),
                    "a repeat answers with its own command's events"
                );
            }
        }
        (Err(Error::Domain(error)), Some(first)) => {
            let rejected = device.store.rejected().await.unwrap();
            let came_back = rejected
                .iter()
                .find(|r| r.command_id == first.command_id)
                .unwrap_or_else(|| {
                    panic!("a repeat refused with {error} names a command in the inbox")
                });
            assert_eq!(came_back.reason.code, error.code);
        }
        (Ok(result), None) => {
            assert!(!result.deduplicated);
            if let Some(key) = key {
                ledger.keys.insert((n, key), result.clone());
            }
            ledger.executed.push((n, result.command_id.clone()));
        }
        (Err(Error::Domain(_)), None) => {}
        (Err(Error::InvalidInput(message)), _) if count as usize > MAX_EVENTS_PER_APPEND => {
            assert!(message.contains("maxEventsPerAppend"), "{message}");
            let after = (
                device.store.stream_version(&stream).await.unwrap(),
                device.store.read_outbox(usize::MAX).await.unwrap().len(),
            );
            assert_eq!(after, before, "a command over the limits writes nothing");
        }
        (Err(error), _) => panic!("tab command {command:?} failed: {error}"),
    }
}

async fn visit(
    device: &Device,
    n: usize,
    id: u8,
    customer: u8,
    slot: Option<u32>,
    ledger: &mut Ledger,
) {
    let command = match slot {
        None => VisitCommand::Book {
            customer: format!("cust-{customer}"),
            name: format!("Customer {customer}"),
        },
        Some(slot) => VisitCommand::Reschedule { slot },
    };
    match device
        .engine()
        .execute::<Visit>(&id.to_string(), &command, ExecuteOptions::default())
        .await
    {
        Ok(result) => ledger.executed.push((n, result.command_id)),
        Err(Error::Domain(_)) => {}
        Err(Error::InvalidInput(message)) if message.contains("was forgotten") => {}
        Err(error) => panic!("visit command {command:?} failed: {error}"),
    }
}

/// `load` equals the fold of the history, and the history is the server's stream (as far as
/// this device pulled) followed by the device's pending events.
async fn check_aggregate<A: Aggregate + PartialEq + std::fmt::Debug>(
    device: &Device,
    id: &str,
    log: &[fieldstream::protocol::ServerEvent],
) -> Result<A> {
    let engine = device.engine();
    let history = engine.history(A::TYPE, id).await?;
    let loaded = engine.load::<A>(id).await?;
    assert_eq!(
        loaded.state,
        fold::<A>(&history)?,
        "load of {}-{id}",
        A::TYPE
    );
    assert_eq!(loaded.version, history.len() as u64);
    let stream = StreamId::for_aggregate(A::TYPE, id)?;
    let server: Vec<_> = log
        .iter()
        .filter(|e| e.stream == stream)
        .map(|e| e.id)
        .collect();
    let confirmed = history.iter().take_while(|e| e.position.is_some()).count();
    assert!(
        history[confirmed..].iter().all(|e| e.position.is_none()),
        "pending after confirmed"
    );
    let held: Vec<_> = history[..confirmed].iter().map(|e| e.id).collect();
    assert_eq!(
        held,
        server[..confirmed.min(server.len())],
        "{stream}: the confirmed prefix is the server's"
    );
    Ok(loaded.state)
}

/// Every read-model document of interest on `engine`'s projection `name`.
async fn docs(engine: &Engine<MemoryStore>, name: &str) -> BTreeMap<String, Option<Value>> {
    let mut docs = BTreeMap::new();
    let keys = (0..TABS)
        .map(|id| format!("Tab-{id}"))
        .chain((0..VISITS).map(|id| format!("Visit-{id}")));
    for key in keys {
        docs.insert(key.clone(), engine.get(name, &key).await.unwrap());
    }
    docs
}

/// The invariants of one device after a step that settled.
async fn check_device(device: &Device, router: &Router, ledger: &mut Ledger) {
    let engine = device.engine();
    engine.catch_up_projections().await.unwrap();
    let log = server_log(router).await;
    for id in 0..TABS {
        check_aggregate::<Tab>(device, &id.to_string(), &log)
            .await
            .unwrap();
        let history = engine.history("Tab", &id.to_string()).await.unwrap();
        lawful_tab(&history).unwrap();
    }
    for id in (0..VISITS).filter(|_| device.tuning.personal) {
        check_aggregate::<Visit>(device, &id.to_string(), &log)
            .await
            .unwrap();
    }
    for name in PROJECTIONS {
        let letters = engine.dead_letters(name).await.unwrap();
        assert!(letters.is_empty(), "{name} dead-lettered {letters:?}");
    }
    ledger.checks += 1;
    let fresh_name = format!("fresh{}", ledger.checks);
    let mut fresh = Engine::new(device.store.clone()).with_upcasters(upcasters());
    fresh.register_handler(handler_for::<Tab>()).unwrap();
    if device.tuning.personal {
        fresh.register_handler(handler_for::<Visit>()).unwrap();
    }
    let projection = Tabs {
        name: fresh_name.clone(),
    };
    fresh
        .register_projection(Rc::new(projection), ProjectionOptions::default())
        .unwrap();
    fresh.catch_up_projections().await.unwrap();
    let rebuilt = docs(&fresh, &fresh_name).await;
    for name in PROJECTIONS {
        assert_eq!(
            docs(engine, name).await,
            rebuilt,
            "{name} equals a fresh rebuild"
        );
    }
}

async fn run_case(tunings: [Tuning; 3], steps: Vec<Step>) {
    let router = server(false, MAX_EVENTS_PER_APPEND).await;
    let mut devices: Vec<Device> = (0..3)
        .map(|n| Device::new(&router, n as u64, tunings[n], None))
        .collect();
    let mut ledger = Ledger::default();
    let personal = tunings[0].personal;
    for step in &steps {
        match *step {
            Step::Tab {
                device,
                id,
                kind,
                count,
                key,
            } => {
                tab(&devices[device], device, id, kind, count, key, &mut ledger).await;
            }
            Step::Visit {
                device,
                id,
                customer,
                slot,
            } => {
                if personal {
                    visit(&devices[device], device, id, customer, slot, &mut ledger).await;
                }
            }
            Step::Sync { device } => {
                if devices[device].client.sync().await.is_ok() {
                    check_device(&devices[device], &router, &mut ledger).await;
                }
            }
            Step::Network {
                device,
                faults: (offline, drop_request, lose_answer, duplicate),
            } => {
                *devices[device].faults.borrow_mut() = Faults {
                    offline,
                    drop_request,
                    lose_answer,
                    duplicate,
                    ..Faults::default()
                };
            }
            Step::Restart { device } => {
                devices[device].restart();
                devices[device]
                    .engine()
                    .catch_up_projections()
                    .await
                    .unwrap();
            }
            Step::Forget { device, customer } if personal => {
                let subject = format!("cust-{customer}");
                devices[device]
                    .client
                    .forget_subject(&subject)
                    .await
                    .unwrap();
            }
            Step::Forget { .. } => {}
        }
    }
    for device in &devices {
        *device.faults.borrow_mut() = Faults::default();
    }
    for _ in 0..2 {
        for device in &devices {
            device
                .client
                .sync()
                .await
                .expect("a sync on a good network succeeds");
        }
    }
    for device in &devices {
        check_device(device, &router, &mut ledger).await;
    }
    check_fleet(&router, &mut devices, &ledger).await;
}

/// The end of a run: nothing lost or doubled, and every device agrees.
async fn check_fleet(router: &Router, devices: &mut [Device], ledger: &Ledger) {
    let log = server_log(router).await;
    let ids: HashSet<_> = log.iter().map(|event| event.id).collect();
    assert_eq!(ids.len(), log.len(), "no event is on the server twice");
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for event in &log {
        versions
            .entry(event.stream.to_string())
            .or_default()
            .push(event.version);
    }
    for (stream, versions) in &versions {
        assert_eq!(
            versions,
            &(1..=versions.len() as u64).collect::<Vec<_>>(),
            "{stream} is contiguous"
        );
    }
    let accepted: HashSet<&str> = log
        .iter()
        .filter_map(|event| event.metadata["commandId"].as_str())
        .collect();
    for (device, command_id) in &ledger.executed {
        let rejected = devices[*device].store.rejected().await.unwrap();
        let came_back = rejected.iter().any(|r| &r.command_id == command_id);
        let on_server = accepted.contains(command_id.as_str());
        assert!(
            on_server != came_back,
            "command {command_id} of device {device}: on the server {on_server}, rejected {came_back}"
        );
    }
    for device in devices.iter() {
        assert!(
            device
                .store
                .read_outbox(usize::MAX)
                .await
                .unwrap()
                .is_empty(),
            "every outbox drained"
        );
    }
    let reference = &devices[0];
    for other in &devices[1..] {
        for id in 0..TABS {
            let id = id.to_string();
            assert_eq!(
                other.engine().load::<Tab>(&id).await.unwrap(),
                reference.engine().load::<Tab>(&id).await.unwrap()
            );
        }
        for id in (0..VISITS).filter(|_| other.tuning.personal) {
            let id = id.to_string();
            assert_eq!(
                other.engine().load::<Visit>(&id).await.unwrap(),
                reference.engine().load::<Visit>(&id).await.unwrap()
            );
        }
        assert_eq!(
            docs(other.engine(), "tabs").await,
            docs(reference.engine(), "tabs").await
        );
    }
}

proptest! {
    #[test]
    fn with_every_feature_on_every_device_stays_consistent_and_converges(
        tunings in [tuning(), tuning(), tuning()],
        personal in any::<bool>(),
        steps in prop::collection::vec(step(), 1..50),
    ) {
        let tunings = tunings.map(|tuning| Tuning { personal, ..tuning });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(tokio::task::LocalSet::new().run_until(run_case(tunings, steps)));
    }
}
