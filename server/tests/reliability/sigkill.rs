//! Scenario 5, the server's half: the real server binary is killed with SIGKILL at random
//! moments while writers append, and restarted on the same port and database, over and over,
//! on SQLite and on PostgreSQL. The writers resume by themselves (they resend unknown outcomes).
//! Commands append 1 to 5 events at once, one in ten 200. Afterwards, and after one more kill
//! and restart, every acknowledged event is stored exactly once where its acknowledgement said,
//! and every command is stored whole or not at all.
//!
//! SIGKILL ends the server process, not the machine: what it proves is that the server answers
//! 200 only after its commit, and that a commit cut off by the kill leaves nothing behind.
//! Bounded: 20 kills per backend. `FIELDSTREAM_SOAK=1`: 150.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tokio::sync::watch;

use crate::ledger::{judge, read_everything};
use crate::mode::{heavy, pick, report};
use crate::process::ServerProcess;
use crate::support::{postgres_database, sqlite_path, token};
use crate::writer::Writer;

const WRITERS: u64 = 4;
const STREAMS: u64 = 3;
/// The longest wait, after the first acknowledgement since a restart, before the next kill.
const MAX_KILL_DELAY_MS: u64 = 150;

async fn killed_in_a_loop(database: &str, backend: &str) {
    let _heavy = heavy().await;
    let kills = pick(20, 150);
    let mut server = ServerProcess::start(database, &[]).await;
    let base = server.base();
    let t = token("field-sales", "rep", None);
    let stopping = Arc::new(AtomicBool::new(false));
    let (acked, acks_seen) = watch::channel(0u64);
    let acked = Arc::new(acked);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..WRITERS {
        let (base, t, stopping, acked) = (base.clone(), t.clone(), stopping.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut writer = Writer::new(&base, &t, client, 5);
            let mut acks = Vec::new();
            let mut command = 0;
            while !stopping.load(Ordering::SeqCst) {
                let stream = format!("Counter-{}", writer.below(STREAMS));
                // Mostly small commands; one in ten is a 200-event append, a wider target.
                let size = match writer.below(10) {
                    0 => 200,
                    _ => 1 + writer.below(5),
                };
                acks.push(writer.increment_by(command, &stream, size).await);
                acked.send_modify(|n| *n += 1);
                command += 1;
            }
            (acks, writer.tally)
        }));
    }

    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let mut downtime = Duration::ZERO;
    for _ in 0..kills {
        // Kill under load: once the restarted server has acknowledged something, at a random
        // moment soon after.
        let before = *acks_seen.borrow();
        let mut seen = acks_seen.clone();
        tokio::time::timeout(Duration::from_secs(60), seen.wait_for(|n| *n > before))
            .await
            .expect("the writers make progress after a restart")
            .expect("the writers are running");
        tokio::time::sleep(Duration::from_millis(
            rng.random_range(0..=MAX_KILL_DELAY_MS),
        ))
        .await;
        let down = Instant::now();
        server.kill().await;
        server.restart().await;
        downtime += down.elapsed();
        assert_eq!(server.base(), base, "restarted on the same port");
    }
    stopping.store(true, Ordering::SeqCst);
    let (mut acks, mut resends, mut conflicts, mut cut_off) = (Vec::new(), 0, 0, 0);
    for task in tasks {
        let (mine, tally) = task.await.expect("a writer finished");
        acks.extend(mine);
        resends += tally.resends;
        conflicts += tally.conflicts;
        cut_off += tally.cut_off;
    }
    let elapsed = started.elapsed();
    server.kill().await;
    server.restart().await;
    let stored = read_everything(&server.base(), &t).await;
    let verdict = judge(&stored, &acks);

    assert_eq!(
        (
            verdict.lost,
            verdict.duplicated,
            verdict.torn,
            verdict.unacknowledged
        ),
        (0, 0, 0, 0),
        "{verdict:?}"
    );
    assert!(
        verdict.commands >= kills,
        "appends went on between kills: {verdict:?}"
    );
    assert!(cut_off > 0, "some requests were in flight when a kill came");
    assert_eq!(server.logged_errors(), 0, "the server logged no error");
    report(
        &format!("sigkill-{backend}"),
        json!({
            "kills": kills,
            "writers": WRITERS,
            "verdict": verdict,
            "resends": resends,
            "requestsCutOffByKills": cut_off,
            "conflicts": conflicts,
            "meanRestartMs": downtime.as_secs_f64() * 1000.0 / kills as f64,
            "seconds": elapsed.as_secs_f64(),
        }),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_server_killed_in_a_loop_keeps_every_acknowledged_event() {
    let (_dir, path) = sqlite_path();
    killed_in_a_loop(&path, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_server_killed_in_a_loop_keeps_every_acknowledged_event() {
    killed_in_a_loop(&postgres_database().await, "postgres").await;
}
