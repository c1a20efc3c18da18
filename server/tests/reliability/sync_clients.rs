//! Scenario 1 in full, and scenario 5 with the sync client: 4 devices (see [`crate::fleet`])
//! execute commands on shared orders, offline-first, and sync with the real server binary on
//! SQLite, either through the fault proxy at 30% lost answers, 10% duplicated requests and 10%
//! errors, or directly while the server (on SQLite or PostgreSQL) is killed with SIGKILL and
//! restarted over and over.
//! Afterwards every command a device executed is on the server exactly once or in that device's
//! rejected inbox, never both and never neither; no event is stored twice; every stream is
//! contiguous; every outbox is drained; and every device holds the same orders and read model as
//! a fresh device that syncs straight from the server.
//!
//! Bounded: 4 devices × 100 commands (10 kills). `FIELDSTREAM_SOAK=1`: 4 × 2,500 (100 kills).

use std::time::{Duration, Instant};

use fault_proxy::{FaultPlan, FaultProxy, ProxyConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::task::LocalSet;

use crate::fleet::run_fleet;
use crate::mode::{heavy, pick, report};
use crate::process::ServerProcess;
use crate::support::{postgres_database, sqlite_path};

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
    let local = LocalSet::new();
    let started = Instant::now();
    let fleet = run_fleet(
        &local,
        &format!("http://{}", proxy.addr()),
        commands,
        orders,
    )
    .await;
    let elapsed = started.elapsed();
    let stats = proxy.stop().await;
    let mut figures = fleet.check(&local, &server.base()).await;
    assert_eq!(stats.upstream_5xx, 0);
    assert_eq!(server.logged_errors(), 0);
    figures["commandsTriedPerDevice"] = commands.into();
    figures["proxy"] = serde_json::to_value(stats).unwrap();
    figures["seconds"] = elapsed.as_secs_f64().into();
    report("sync-clients-proxy-sqlite", figures);
}

async fn devices_and_a_server_killed_in_a_loop(database: &str, backend: &str) {
    let _heavy = heavy().await;
    let (commands, kills) = pick((100, 10), (2_500, 100));
    let mut server = ServerProcess::start(database, &[]).await;
    let local = LocalSet::new();
    let base = server.base();
    let started = Instant::now();
    let killer = async {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..kills {
            tokio::time::sleep(Duration::from_millis(rng.random_range(20..=200))).await;
            server.kill().await;
            server.restart().await;
        }
    };
    let (fleet, ()) = tokio::join!(run_fleet(&local, &base, commands, commands), killer);
    fleet.settle(&local).await;
    let elapsed = started.elapsed();
    let mut figures = fleet.check(&local, &server.base()).await;
    assert_eq!(server.logged_errors(), 0);
    figures["commandsTriedPerDevice"] = commands.into();
    figures["kills"] = kills.into();
    figures["seconds"] = elapsed.as_secs_f64().into();
    report(&format!("sync-clients-sigkill-{backend}"), figures);
}

#[tokio::test(flavor = "current_thread")]
async fn sqlite_devices_syncing_with_a_server_killed_in_a_loop_converge() {
    let (_dir, path) = sqlite_path();
    devices_and_a_server_killed_in_a_loop(&path, "sqlite").await;
}

#[tokio::test(flavor = "current_thread")]
async fn postgres_devices_syncing_with_a_server_killed_in_a_loop_converge() {
    devices_and_a_server_killed_in_a_loop(&postgres_database().await, "postgres").await;
}
