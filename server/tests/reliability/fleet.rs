//! A fleet of devices for the sync scenarios: the real engine and sync client (native, on memory
//! stores, with the Order example) over a reqwest transport, the workload they run, and the check
//! that every command is on the server once or rejected and that every device converges.

use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;
use std::time::Duration;

use fieldstream::core::{Engine, ExecuteOptions, ProjectionOptions};
use fieldstream::example::{Order, OrderProjection};
use fieldstream::protocol::{BatchRequest, BatchResponse, EventsPage};
use fieldstream::store::{CommandQueue, MemoryStore};
use fieldstream::sync::{SyncClient, SyncConfig, Transport, TransportError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::task::LocalSet;

use crate::ledger::read_everything;
use crate::orders::command;
use crate::support::token;

/// How many devices a fleet has.
pub const DEVICES: u64 = 4;

/// Protocol v1 over real HTTP with reqwest.
pub struct HttpTransport {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl HttpTransport {
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, TransportError> {
        let unknown = |e: reqwest::Error| TransportError::Unknown(e.to_string().into());
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(unknown)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok()?.parse().ok());
        let body = response.bytes().await.map_err(unknown)?;
        fieldstream::sync::decode_answer(status, &body, retry_after)
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

/// A device: the engine with the Order example and its projection, syncing with `base`.
pub fn device(
    store: &MemoryStore,
    base: &str,
    token: &str,
) -> SyncClient<MemoryStore, HttpTransport> {
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

/// Syncs until a round succeeds with nothing left to push; fails the test after 200 rounds.
pub async fn drain(client: &SyncClient<MemoryStore, HttpTransport>) {
    for _ in 0..200 {
        let pending = client.engine().store().read_outbox(1).await.unwrap();
        if client.sync().await.is_ok() && pending.is_empty() {
            return;
        }
    }
    panic!("a device could not drain its outbox in 200 rounds");
}

/// The devices after their run, and the ids of the commands each one executed.
pub struct Fleet {
    stores: Vec<MemoryStore>,
    clients: Vec<SyncClient<MemoryStore, HttpTransport>>,
    executed: Vec<Vec<String>>,
    orders: u64,
}

/// Runs [`DEVICES`] devices against `base`, `commands` each: every command takes the next step
/// (create, pay, ship) of a random one of `orders` orders as the device sees it, with a sync after
/// one command in five; then every device drains its outbox, and pulls again once all have.
pub async fn run_fleet(local: &LocalSet, base: &str, commands: u64, orders: u64) -> Fleet {
    let stores: Vec<MemoryStore> = (0..DEVICES)
        .map(|n| MemoryStore::with_client_id(format!("device-{n}")))
        .collect();
    let tasks: Vec<_> = stores
        .iter()
        .zip(0..)
        .map(|(store, n)| {
            let client = device(
                store,
                base,
                &token("field-sales", &format!("rep-{n}"), None),
            );
            local.spawn_local(async move {
                let mut rng = ChaCha8Rng::seed_from_u64(n);
                let mut executed = Vec::new();
                for _ in 0..commands {
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
    local
        .run_until(async {
            let (mut clients, mut executed) = (Vec::new(), Vec::new());
            for task in tasks {
                let (client, mine) = task.await.expect("a device finished");
                clients.push(client);
                executed.push(mine);
            }
            for client in &clients {
                drain(client).await;
            }
            Fleet {
                stores,
                clients,
                executed,
                orders,
            }
        })
        .await
}

impl Fleet {
    /// Syncs every device once more until it succeeds (after the network or server settled).
    pub async fn settle(&self, local: &LocalSet) {
        local
            .run_until(async {
                for client in &self.clients {
                    drain(client).await;
                }
            })
            .await;
    }

    /// Checks the fleet against the server at `server_base` (no proxy); returns the figures.
    pub async fn check(&self, local: &LocalSet, server_base: &str) -> Value {
        let log = read_everything(server_base, &token("field-sales", "auditor", None)).await;
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
        for (n, store) in self.stores.iter().enumerate() {
            let inbox: HashSet<String> = store
                .rejected()
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.command_id)
                .collect();
            for command in &self.executed[n] {
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
        let reference = device(&fresh, server_base, &token("field-sales", "fresh", None));
        local.run_until(drain(&reference)).await;
        for order in (0..self.orders).map(|o| o.to_string()) {
            let expected = reference.engine().load::<Order>(&order).await.unwrap();
            let expected_doc = reference.engine().get("orders", &order).await.unwrap();
            for (n, client) in self.clients.iter().enumerate() {
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
        let executed: u64 = self.executed.iter().map(|e| e.len() as u64).sum();
        json!({
            "devices": DEVICES,
            "orders": self.orders,
            "executed": executed,
            "accepted": accepted,
            "rejected": rejected,
            "lostOrBoth": executed - accepted - rejected,
            "duplicatedEvents": log.len() - ids.len(),
            "serverEvents": log.len(),
        })
    }
}
