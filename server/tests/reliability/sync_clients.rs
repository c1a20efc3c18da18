//! Scenario 1 in full: 4 devices, each the real engine and sync client on a memory store with the
//! Order example, execute commands on shared orders (offline-first) and sync with the real server
//! binary through the fault proxy at 30% lost answers, 10% duplicated requests and 10% errors.
//! Afterwards every command a device executed is on the server exactly once or in that device's
//! rejected inbox, never both and never neither; no event is stored twice; every stream is
//! contiguous; every outbox is drained; and every device holds the same orders and read model as a
//! fresh device that syncs straight from the server.
//!
//! Each command takes the next step (create, pay, ship) of a random order, as the device sees it.
//! Bounded: 4 devices × 100 commands. `FIELDSTREAM_SOAK=1`: 4 × 2,500.

use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use fault_proxy::{FaultPlan, FaultProxy, ProxyConfig};
use fieldstream::core::{Engine, ExecuteOptions, ProjectionOptions};
use fieldstream::example::{Order, OrderCommand, OrderItem, OrderProjection};
use fieldstream::protocol::{BatchRequest, BatchResponse, ErrorBody, EventsPage};
use fieldstream::store::{EventStore, MemoryStore};
use fieldstream::sync::{SyncClient, SyncConfig, Transport, TransportError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::ledger::read_everything;
use crate::mode::{heavy, pick, report};
use crate::process::ServerProcess;
use crate::support::{sqlite_path, token};

const DEVICES: u64 = 4;

/// Protocol v1 over real HTTP with reqwest.
struct HttpTransport {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl HttpTransport {
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, TransportError> {
        let unknown = |e: reqwest::Error| TransportError::Unknown(e.to_string());
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(unknown)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(unknown)?;
        match status {
            200 => {
                serde_json::from_slice(&body).map_err(|e| TransportError::Unknown(e.to_string()))
            }
            401 => Err(TransportError::Unauthorized(
                String::from_utf8_lossy(&body).into(),
            )),
            429 => Err(TransportError::RateLimited { retry_after_ms: 50 }),
            400..=499 => Err(TransportError::Refused(
                serde_json::from_slice::<ErrorBody>(&body).expect("a protocol error body"),
            )),
            _ => Err(TransportError::Unknown(format!("status {status}"))),
        }
    }
}

impl Transport for HttpTransport {
    async fn batch(&self, request: &BatchRequest) -> Result<BatchResponse, TransportError> {
        self.send(
            self.http
                .post(format!("{}/v1/batch", self.base))
                .json(request),
        )
        .await
    }

    async fn events(&self, after: u64, limit: u32) -> Result<EventsPage, TransportError> {
        let url = format!("{}/v1/events?after={after}&limit={limit}", self.base);
        self.send(self.http.get(url)).await
    }

    async fn pause(&self, millis: u64) {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
}

fn device(store: &MemoryStore, base: &str, token: &str) -> SyncClient<MemoryStore, HttpTransport> {
    let mut engine = Engine::new(store.clone());
    engine.register::<Order>().unwrap();
    engine
        .register_projection(Rc::new(OrderProjection), ProjectionOptions::default())
        .unwrap();
    let transport = HttpTransport {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        base: base.to_owned(),
        token: token.to_owned(),
    };
    let config = SyncConfig {
        batch_size: 20,
        max_attempts: 30,
        backoff_ms: 5,
        max_backoff_ms: 100,
        ..SyncConfig::default()
    };
    SyncClient::new(Rc::new(engine), transport, config)
}

fn command(kind: u64) -> OrderCommand {
    match kind {
        0 => OrderCommand::CreateOrder {
            customer_id: "c".into(),
            items: vec![OrderItem {
                product_id: "p".into(),
                quantity: 1,
                unit_price: 10,
            }],
        },
        1 => OrderCommand::PayOrder {
            payment_method: "card".into(),
            amount: 10,
        },
        _ => OrderCommand::ShipOrder {
            tracking_number: "T".into(),
        },
    }
}

/// Syncs until a round succeeds with nothing left to push; fails the test after 200 rounds.
async fn drain(client: &SyncClient<MemoryStore, HttpTransport>) {
    for _ in 0..200 {
        let pending = client.engine().store().read_outbox(1).await.unwrap();
        if client.sync().await.is_ok() && pending.is_empty() {
            return;
        }
    }
    panic!("a device could not drain its outbox in 200 rounds");
}

#[tokio::test(flavor = "current_thread")]
async fn devices_through_faults_converge_with_every_command_once_or_rejected() {
    let _heavy = heavy().await;
    let commands = pick(100, 2_500);
    // As many orders as commands per device: each takes three steps (create, pay, ship), so
    // most commands find a step to take, and devices often step on each other's orders.
    let orders = commands;
    let (_dir, path) = sqlite_path();
    let server = ServerProcess::start(&path, &[]).await;
    let plan = FaultPlan {
        drop_response: 0.30,
        duplicate: 0.10,
        error: 0.10,
        drop_request: 0.03,
        reset: 0.02,
        delay: 0.2,
        max_delay: Duration::from_millis(20),
        ..FaultPlan::none(1)
    };
    let proxy = FaultProxy::start(ProxyConfig::new(server.addr(), plan))
        .await
        .unwrap();
    let through_proxy = format!("http://{}", proxy.addr());
    let started = Instant::now();
    let local = tokio::task::LocalSet::new();
    let stores: Vec<MemoryStore> = (0..DEVICES)
        .map(|n| MemoryStore::with_client_id(format!("device-{n}")))
        .collect();
    let tasks: Vec<_> = stores
        .iter()
        .zip(0..)
        .map(|(store, n)| {
            let client = device(
                store,
                &through_proxy,
                &token("field-sales", &format!("rep-{n}"), None),
            );
            local.spawn_local(async move {
                let mut rng = ChaCha8Rng::seed_from_u64(n);
                let mut executed = Vec::new();
                for _ in 0..commands {
                    // The order's next step as this device sees it: the first command it accepts.
                    let order = rng.random_range(0..orders).to_string();
                    for kind in 0..3 {
                        let outcome = client
                            .engine()
                            .execute::<Order>(&order, &command(kind), ExecuteOptions::default())
                            .await;
                        if let Some(result) = outcome.ok().filter(|r| !r.events.is_empty()) {
                            executed.push(result.command_id);
                            break;
                        }
                    }
                    if rng.random_range(0..5) == 0 {
                        let _ = client.sync().await;
                    }
                }
                drain(&client).await;
                (client, executed)
            })
        })
        .collect();
    let (devices, executed) = local
        .run_until(async {
            let mut devices = Vec::new();
            let mut executed = Vec::new();
            for task in tasks {
                let (client, mine) = task.await.expect("a device finished");
                devices.push(client);
                executed.push(mine);
            }
            // Everyone pulls what the others pushed last.
            for client in &devices {
                drain(client).await;
            }
            (devices, executed)
        })
        .await;
    let elapsed = started.elapsed();
    let stats = proxy.stop().await;

    let log = read_everything(&server.base(), &token("field-sales", "auditor", None)).await;
    let ids: HashSet<_> = log.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), log.len(), "no event is on the server twice");
    let mut versions: BTreeMap<&str, u64> = BTreeMap::new();
    for event in &log {
        let version = versions.entry(event.stream.as_str()).or_insert(0);
        *version += 1;
        assert_eq!(event.version, *version, "{} is contiguous", event.stream);
    }
    let on_server: HashSet<&str> = log
        .iter()
        .filter_map(|e| e.metadata["commandId"].as_str())
        .collect();
    let (mut accepted, mut rejected) = (0u64, 0u64);
    for (n, store) in stores.iter().enumerate() {
        let inbox: HashSet<String> = store
            .rejected()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.command_id)
            .collect();
        for command in &executed[n] {
            let (stored, refused) = (
                on_server.contains(command.as_str()),
                inbox.contains(command),
            );
            assert!(
                stored != refused,
                "device {n} command {command}: on the server {stored}, rejected {refused}"
            );
            accepted += u64::from(stored);
            rejected += u64::from(refused);
        }
        assert!(
            store.read_outbox(usize::MAX).await.unwrap().is_empty(),
            "device {n} drained"
        );
    }
    let fresh = MemoryStore::with_client_id("fresh");
    let reference = device(&fresh, &server.base(), &token("field-sales", "fresh", None));
    local.run_until(drain(&reference)).await;
    for order in (0..orders).map(|o| o.to_string()) {
        let expected = reference.engine().load::<Order>(&order).await.unwrap();
        let expected_doc = reference.engine().get("orders", &order).await.unwrap();
        for (n, client) in devices.iter().enumerate() {
            assert_eq!(
                client.engine().load::<Order>(&order).await.unwrap(),
                expected,
                "order {order} on device {n}"
            );
            assert_eq!(
                client.engine().get("orders", &order).await.unwrap(),
                expected_doc,
                "read model {order} on device {n}"
            );
        }
    }
    assert_eq!(stats.upstream_5xx, 0);
    assert_eq!(server.logged_errors(), 0);
    let executed_total: u64 = executed.iter().map(|e| e.len() as u64).sum();
    report(
        "sync-clients-sqlite",
        json!({
            "devices": DEVICES,
            "commandsTriedPerDevice": commands,
            "orders": orders,
            "executed": executed_total,
            "accepted": accepted,
            "rejected": rejected,
            "lostOrBoth": executed_total - accepted - rejected,
            "duplicatedEvents": log.len() - ids.len(),
            "serverEvents": log.len(),
            "proxy": stats,
            "seconds": elapsed.as_secs_f64(),
        }),
    );
}
