//! The Order fleet: three devices on the Order example through a faulty network, restarts and
//! the live feed; every command is accepted once or rejected, and all devices converge.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use axum::Router;
use fieldstream::core::{Engine, ExecuteOptions, ProjectionOptions, SequentialIds};
use fieldstream::example::{Order, OrderCommand, OrderItem, OrderProjection};
use fieldstream::protocol::ServerEvent;
use fieldstream::store::{CommandQueue, MemoryStore};
use fieldstream::sync::{SyncClient, SyncConfig};
use fieldstream_server::backend::{AnyBackend, SqliteBackend};
use fieldstream_server::config::{AuthMode, Config};
use fieldstream_server::router;
use fieldstream_server::state::AppState;
use proptest::prelude::*;

use super::transport::{Faults, SimTransport, server_log};

#[path = "../shared/orders.rs"]
mod orders;
use orders::command;

/// One device: a store that survives restarts, and the engine and sync client of this run.
struct Device {
    store: MemoryStore,
    faults: Rc<RefCell<Faults>>,
    client: SyncClient<MemoryStore, SimTransport>,
    seed: u64,
    /// The position the device's live feed has reached, while it has one.
    live: Option<u64>,
}

fn client_for(
    store: &MemoryStore,
    router: &Router,
    faults: &Rc<RefCell<Faults>>,
    seed: u64,
) -> SyncClient<MemoryStore, SimTransport> {
    let mut engine = Engine::new(store.clone()).with_ids(Rc::new(SequentialIds::with_seed(seed)));
    engine.register::<Order>().unwrap();
    engine
        .register_projection(Rc::new(OrderProjection), ProjectionOptions::default())
        .unwrap();
    let transport = SimTransport {
        router: router.clone(),
        faults: faults.clone(),
        token: None,
    };
    let config = SyncConfig {
        batch_size: 3,
        max_attempts: 3,
        ..SyncConfig::default()
    };
    SyncClient::new(Rc::new(engine), transport, config)
        .with_ids(Rc::new(SequentialIds::with_seed(seed + 1_000)))
}

#[derive(Debug, Clone)]
enum Step {
    Execute {
        device: usize,
        order: u8,
        kind: u8,
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
    Live {
        device: usize,
        shift: i8,
        count: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 0u8..4, 0u8..3).prop_map(|(device, order, kind)| Step::Execute { device, order, kind }),
        3 => (0..3usize).prop_map(|device| Step::Sync { device }),
        2 => (0..3usize, (prop::bool::weighted(0.2), prop::bool::weighted(0.3), prop::bool::weighted(0.3), prop::bool::weighted(0.2)))
            .prop_map(|(device, faults)| Step::Network { device, faults }),
        1 => (0..3usize).prop_map(|device| Step::Restart { device }),
        3 => (0..3usize, -2i8..=3, 1usize..6).prop_map(|(device, shift, count)| Step::Live { device, shift, count }),
    ]
}

async fn run_case(steps: Vec<Step>) {
    let backend = AnyBackend::Sqlite(SqliteBackend::open(":memory:").await.unwrap());
    let mut config = Config::new(AuthMode::Dev);
    config.limits.requests_per_second = 0;
    let router = router(AppState::new(backend, config)).unwrap();
    let mut devices: Vec<Device> = (0..3u64)
        .map(|n| {
            let store = MemoryStore::with_client_id(format!("device-{n}"));
            let faults = Rc::new(RefCell::new(Faults::default()));
            let seed = (n + 1) * 100_000;
            Device {
                client: client_for(&store, &router, &faults, seed),
                store,
                faults,
                seed,
                live: None,
            }
        })
        .collect();
    let mut executed: Vec<(usize, String)> = Vec::new();
    for step in &steps {
        match step {
            Step::Execute {
                device,
                order,
                kind,
            } => {
                let engine = devices[*device].client.engine().clone();
                let id = order.to_string();
                let outcome = engine
                    .execute::<Order>(&id, &command(u64::from(*kind)), ExecuteOptions::default())
                    .await;
                if let Some(result) = outcome.ok().filter(|result| !result.events.is_empty()) {
                    executed.push((*device, result.command_id));
                }
            }
            Step::Sync { device } => {
                let _ = devices[*device].client.sync().await;
            }
            Step::Network {
                device,
                faults: (offline, drop_request, lose_answer, duplicate),
            } => {
                let faults = Faults {
                    offline: *offline,
                    drop_request: *drop_request,
                    lose_answer: *lose_answer,
                    duplicate: *duplicate,
                    ..Faults::default()
                };
                *devices[*device].faults.borrow_mut() = faults;
            }
            Step::Restart { device } => {
                let device = &mut devices[*device];
                device.seed += 10;
                device.client = client_for(&device.store, &router, &device.faults, device.seed);
                device.client.engine().catch_up_projections().await.unwrap();
                device.live = None;
            }
            Step::Live {
                device,
                shift,
                count,
            } => {
                let device = &mut devices[*device];
                // A shift of 3 drops the feed and subscribes again; others shift its start
                // around the checkpoint when it opens.
                if *shift == 3 {
                    device.live = None;
                }
                let after = match device.live {
                    Some(through) => through,
                    None => {
                        let checkpoint = device.store.pull_checkpoint().await.unwrap();
                        checkpoint.saturating_add_signed(i64::from(*shift))
                    }
                };
                let events: Vec<_> = server_log(&router)
                    .await
                    .into_iter()
                    .filter(|event| event.position > after)
                    .take(*count)
                    .collect();
                device.live = Some(events.last().map_or(after, |event| event.position));
                let events = events.iter().map(ServerEvent::to_envelope).collect();
                device.client.receive_live(after, events);
                device
                    .client
                    .apply_live()
                    .await
                    .expect("storing live events needs no network");
            }
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
    check(&router, &devices, &executed).await;
}

async fn check(router: &Router, devices: &[Device], executed: &[(usize, String)]) {
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
    let mut accepted: HashMap<String, HashSet<u32>> = HashMap::new();
    for event in &log {
        let command = event.metadata["commandId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        accepted
            .entry(command)
            .or_default()
            .insert(event.id.as_u128() as u32);
    }
    for (device, command_id) in executed {
        let rejected = devices[*device]
            .store
            .rejected()
            .await
            .unwrap()
            .iter()
            .any(|r| &r.command_id == command_id);
        let on_server = accepted.contains_key(command_id);
        assert!(
            on_server != rejected,
            "command {command_id} of device {device}: on the server {on_server}, rejected {rejected}"
        );
    }
    for device in devices {
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
    let fresh = MemoryStore::with_client_id("fresh");
    let fresh_client = client_for(&fresh, router, &Rc::default(), 9_000_000);
    fresh_client.engine().catch_up_projections().await.unwrap();
    fresh_client.sync().await.unwrap();
    for order in 0u8..4 {
        let id = order.to_string();
        let expected = fresh_client.engine().load::<Order>(&id).await.unwrap();
        let expected_doc = fresh_client.engine().get("orders", &id).await.unwrap();
        for (n, device) in devices.iter().enumerate() {
            let engine = device.client.engine();
            assert_eq!(
                engine.load::<Order>(&id).await.unwrap(),
                expected,
                "order {id} on device {n}"
            );
            assert_eq!(
                engine.get("orders", &id).await.unwrap(),
                expected_doc,
                "read model of {id} on device {n}"
            );
        }
    }
}

proptest! {
    #[test]
    fn every_command_is_accepted_once_or_rejected_and_all_devices_converge(steps in prop::collection::vec(step(), 1..60)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(tokio::task::LocalSet::new().run_until(run_case(steps)));
    }
}

/// A device's second command on an order counts on its first one; when the first conflicts
/// (another device added an item meanwhile), the second must not land on the other device's
/// item as if it had been decided on it: the payment of the old total comes back instead.
#[test]
fn a_later_command_never_lands_on_another_devices_events_undecided() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(tokio::task::LocalSet::new().run_until(async {
        let backend = AnyBackend::Sqlite(SqliteBackend::open(":memory:").await.unwrap());
        let mut config = Config::new(AuthMode::Dev);
        config.limits.requests_per_second = 0;
        let router = router(AppState::new(backend, config)).unwrap();
        let faults = Rc::new(RefCell::new(Faults::default()));
        let (a_store, b_store) = (
            MemoryStore::with_client_id("device-a"),
            MemoryStore::with_client_id("device-b"),
        );
        let a = client_for(&a_store, &router, &faults, 1_000);
        let b = client_for(&b_store, &router, &faults, 2_000);
        let add = |unit_price| OrderCommand::AddItem {
            item: OrderItem {
                product_id: "p".into(),
                quantity: 1,
                unit_price,
            },
        };
        let run = |client: &SyncClient<MemoryStore, SimTransport>, command: OrderCommand| {
            let engine = client.engine().clone();
            async move {
                engine
                    .execute::<Order>("1", &command, ExecuteOptions::default())
                    .await
                    .unwrap();
            }
        };
        run(&a, command(0)).await; // an order of 10
        a.sync().await.unwrap();
        b.sync().await.unwrap();
        run(&a, add(5)).await; // version 2 on device a: total 15
        run(
            &a,
            OrderCommand::PayOrder {
                payment_method: "card".into(),
                amount: 15,
            },
        )
        .await; // version 3, expecting version 2
        run(&b, add(7)).await; // the server's version 2: total 17
        b.sync().await.unwrap();
        a.sync().await.unwrap();

        let log = server_log(&router).await;
        let types: Vec<&str> = log.iter().map(|event| event.event_type.as_str()).collect();
        assert_eq!(types, ["OrderCreated", "OrderItemAdded", "OrderItemAdded"]);
        let rejected = a_store.rejected().await.unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].reason.code, "payment_amount_mismatch");
    }));
}
