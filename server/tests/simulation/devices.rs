//! Devices of the every-feature simulation and its regression tests: a memory store that
//! survives restarts, the engine with the simulation's domain, and the real sync client over
//! the in-process transport, against a server router built here.

use std::cell::RefCell;
use std::rc::Rc;

use axum::Router;
use fieldstream::core::{Engine, ProjectionMode, ProjectionOptions, SequentialIds, handler_for};
use fieldstream::store::MemoryStore;
use fieldstream::sync::{SyncClient, SyncConfig};
use fieldstream_server::backend::{AnyBackend, SqliteBackend};
use fieldstream_server::config::{AuthMode, Config, JwtRules};
use fieldstream_server::router;
use fieldstream_server::state::AppState;

use super::domain::{Tabs, TunedTab, Tuning, Visit, upcasters};
use super::transport::{Faults, SimTransport};

/// The secret of servers that check tokens.
pub const SECRET: &[u8] = b"simulation secret, at least thirty-two bytes long";

/// The server's events-per-append limit in the simulation: commands of up to 7 items come
/// near and over it.
pub const MAX_EVENTS_PER_APPEND: usize = 5;

/// A router over a fresh in-memory SQLite backend, in dev mode (no tokens) or checking tokens
/// signed with [`SECRET`], with at most `max_events` events per append.
pub async fn server(jwt: bool, max_events: usize) -> Router {
    let backend = AnyBackend::Sqlite(SqliteBackend::open(":memory:").await.unwrap());
    let auth = match jwt {
        true => AuthMode::Jwt(JwtRules::new(SECRET)),
        false => AuthMode::Dev,
    };
    let mut config = Config::new(auth);
    config.limits.requests_per_second = 0;
    config.limits.max_events_per_append = max_events;
    router(AppState::new(backend, config)).unwrap()
}

/// A token of tenant `t` limited to `streams` (every stream when `None`), valid for an hour.
pub fn token(streams: Option<&[&str]>) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3_600;
    let mut claims = serde_json::json!({ "sub": "rep", "tenant": "t", "exp": exp });
    if let Some(streams) = streams {
        claims["streams"] = serde_json::json!(streams);
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

/// The projections every device runs: `tabs` inline, `tabs_bg` in the background.
pub const PROJECTIONS: [&str; 2] = ["tabs", "tabs_bg"];

/// An engine over `store` with the simulation's domain, tuned by `tuning`.
pub fn engine(store: &MemoryStore, seed: u64, tuning: Tuning) -> Engine<MemoryStore> {
    let mut engine = Engine::new(store.clone())
        .with_ids(Rc::new(SequentialIds::with_seed(seed)))
        .with_upcasters(upcasters());
    engine
        .register_handler(Rc::new(TunedTab::new(tuning)))
        .unwrap();
    if tuning.personal {
        engine.register_handler(handler_for::<Visit>()).unwrap();
    }
    for name in PROJECTIONS {
        let mode = match name {
            "tabs" => ProjectionMode::Inline,
            _ => ProjectionMode::Background { batch_size: 4 },
        };
        let options = ProjectionOptions {
            mode,
            ..ProjectionOptions::default()
        };
        let tabs = Tabs { name: name.into() };
        engine.register_projection(Rc::new(tabs), options).unwrap();
    }
    engine
}

/// One device: its store (kept across restarts), its network, and this run's client.
pub struct Device {
    pub store: MemoryStore,
    pub faults: Rc<RefCell<Faults>>,
    pub client: SyncClient<MemoryStore, SimTransport>,
    pub seed: u64,
    pub tuning: Tuning,
    pub token: Option<String>,
    router: Router,
}

impl Device {
    /// A new device `n` syncing with `router`, sending `token` when given.
    pub fn new(router: &Router, n: u64, tuning: Tuning, token: Option<String>) -> Self {
        let store = MemoryStore::with_client_id(format!("device-{n}"));
        let faults = Rc::new(RefCell::new(Faults::default()));
        let seed = (n + 1) * 100_000;
        let client = client(router, &store, &faults, seed, tuning, token.clone());
        Device {
            store,
            faults,
            client,
            seed,
            tuning,
            token,
            router: router.clone(),
        }
    }

    /// The device's engine.
    pub fn engine(&self) -> &Rc<Engine<MemoryStore>> {
        self.client.engine()
    }

    /// Starts the app again on the same store (nothing in memory survives).
    pub fn restart(&mut self) {
        self.seed += 10;
        self.client = client(
            &self.router,
            &self.store,
            &self.faults,
            self.seed,
            self.tuning,
            self.token.clone(),
        );
    }

    /// Cuts the device off the network (`true`) or brings it back.
    pub fn offline(&self, offline: bool) {
        *self.faults.borrow_mut() = Faults {
            offline,
            ..Faults::default()
        };
    }
}

fn client(
    router: &Router,
    store: &MemoryStore,
    faults: &Rc<RefCell<Faults>>,
    seed: u64,
    tuning: Tuning,
    token: Option<String>,
) -> SyncClient<MemoryStore, SimTransport> {
    let transport = SimTransport {
        router: router.clone(),
        faults: faults.clone(),
        token,
    };
    let config = SyncConfig {
        batch_size: 3,
        max_attempts: 3,
        ..SyncConfig::default()
    };
    SyncClient::new(Rc::new(engine(store, seed, tuning)), transport, config)
        .with_ids(Rc::new(SequentialIds::with_seed(seed + 1_000)))
}
