//! Bounded or long mode, the lock that keeps heavy scenarios apart, and the figures file.
//!
//! The normal run is bounded (seconds per scenario). `FIELDSTREAM_SOAK=1` selects the long
//! versions (`scripts/soak.sh`). Every scenario appends its figures as one JSON line to
//! `target/tmp/reliability-figures.ndjson` and prints them to stderr.

use std::io::Write;

use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};

/// Whether the long versions run (`FIELDSTREAM_SOAK` set to anything but `0` or empty).
pub fn soak() -> bool {
    std::env::var("FIELDSTREAM_SOAK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `bounded` in the normal run, `long` with `FIELDSTREAM_SOAK`.
pub fn pick<T>(bounded: T, long: T) -> T {
    if soak() { long } else { bounded }
}

static HEAVY: Mutex<()> = Mutex::const_new(());

/// Held by each scenario that runs servers under load, so that they do not measure each other.
pub async fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().await
}

/// Records a scenario's figures (stderr, and one line of the figures file).
pub fn report(scenario: &str, figures: Value) {
    let line = serde_json::json!({
        "scenario": scenario,
        "mode": if soak() { "long" } else { "bounded" },
        "server": std::env::var("FIELDSTREAM_SERVER_BIN").unwrap_or_else(|_| "debug build".into()),
        "figures": figures,
    });
    eprintln!("FIGURES {line}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability-figures.ndjson");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}
