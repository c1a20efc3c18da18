//! The backup/restore drill through the real binary: `export` (a file readable by its owner
//! only, keys still sealed), then `import` into an empty database gives the same events, keys
//! and forgotten list for every tenant; a device reads personal data from the restored server,
//! and a forgotten subject stays forgotten there. Import is all or nothing (`import_rules.rs`).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use fieldstream::core::REDACTED;
use fieldstream_server::kek::Kek;
use fieldstream_server::{AnyBackend, Config};
use serde_json::json;

use crate::keys::{call, keys};
use crate::personal_sync::{Delivery, book, device, name_of};
use crate::plaintext::holds_plaintext;
use crate::support::*;

const BINARY: &str = env!("CARGO_BIN_EXE_fieldstream-server");

/// Runs the binary with the test KEK.
pub fn run(args: &[&str]) -> std::process::Output {
    run_with_kek(args, TEST_KEK)
}

/// Runs the binary with key-encryption key `kek`.
pub fn run_with_kek(args: &[&str], kek: &str) -> std::process::Output {
    Command::new(BINARY)
        .args(args)
        .env("FIELDSTREAM_LOG", "warn")
        .env("FIELDSTREAM_KEY_ENCRYPTION_KEY", kek)
        .output()
        .expect("run the binary")
}

/// The test configuration, with the KEK the binary gets.
pub fn kek_config() -> Config {
    let mut config = config();
    config.kek = Arc::new(Kek::parse(TEST_KEK).unwrap());
    config
}

async fn fill(app: &Router) {
    for (tenant, streams) in [
        ("acme", ["Order-1", "Order-2", "Customer-1"]),
        ("globex", ["Order-1", "x", "y"]),
    ] {
        let t = token(tenant, "writer", None);
        for round in 0..40 {
            for stream in streams {
                let events = vec![
                    event(
                        "Happened",
                        json!({"round": round, "stream": stream, "text": "ünïcode ✓"}),
                    ),
                    json!({"id": uuid::Uuid::new_v4(), "type": "Meta", "schemaVersion": 3, "data": null,
                           "metadata": {"correlationId": "c", "nested": {"list": [1, 2]}}}),
                ];
                let (status, _) = post(
                    app,
                    &format!("/v1/streams/{stream}"),
                    &t,
                    &append_body(json!("any"), events),
                )
                .await;
                assert_eq!(status, StatusCode::OK);
            }
        }
        let t = token(tenant, "keeper", None);
        call(
            app,
            "PUT",
            "/v1/keys/s1",
            Some(&t),
            Some(keys(&["b", "a"], Some("Order-1"))),
        )
        .await;
    }
}

/// Deliveries with personal data through a device; then Ada (c1) forgotten.
async fn personal(app: &Router) {
    let a = device(app).await;
    for (id, customer, name) in [("d1", "c1", "Ada"), ("d2", "c2", "Bob")] {
        a.engine()
            .execute::<Delivery>(id, &book(customer, name, "555-0101"), Default::default())
            .await
            .unwrap();
    }
    a.sync().await.unwrap();
    a.forget_subject("c1").await.unwrap();
}

async fn snapshot(app: &Router) -> Vec<serde_json::Value> {
    let mut snapshot = Vec::new();
    for tenant in ["acme", "globex"] {
        let t = token(tenant, "reader", None);
        snapshot.push(json!(all_events(app, &t).await));
        snapshot.push(get(app, "/v1/events?after=17&limit=5", &t).await.1);
        snapshot.push(get(app, "/v1/streams/Order-1?from=3", &t).await.1);
        snapshot.push(get(app, "/v1/keys?after=0", &t).await.1);
        for subject in ["s1", "c1", "c2"] {
            snapshot.push(get(app, &format!("/v1/keys/{subject}"), &t).await.1);
        }
        let limited = token(tenant, "rep", Some(&["Order-1"]));
        snapshot.push(
            call(app, "GET", "/v1/keys/s1", Some(&limited), None)
                .await
                .1,
        );
    }
    snapshot
}

async fn drill(source: &str, target: &str, file: &Path) {
    let original = app(AnyBackend::open(source).await.unwrap(), kek_config());
    fill(&original).await;
    personal(&original).await;
    let before = snapshot(&original).await;
    assert_eq!(before[0].as_array().unwrap().len(), 242);
    assert_eq!(before[3]["forgotten"][0]["subject"], "c1");

    let exported = run(&[
        "export",
        "--database",
        source,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the export is readable by its owner only");
    }
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains("\"kind\":\"key\"") && text.contains("\"kind\":\"forgotten\""));
    assert!(!holds_plaintext(&text, "Ada") && !holds_plaintext(&text, "Bob"));

    let imported = run(&[
        "import",
        "--database",
        target,
        "--in",
        file.to_str().unwrap(),
    ]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );

    let restored = app(AnyBackend::open(target).await.unwrap(), kek_config());
    assert_eq!(snapshot(&restored).await, before);
    // A fresh device reads the personal data the restored server holds; the forgotten
    // subject stays forgotten, and no key of it is taken again.
    let b = device(&restored).await;
    b.sync().await.unwrap();
    assert_eq!(name_of(&b, "d2").await, "Bob");
    assert_eq!(name_of(&b, "d1").await, REDACTED);
    let t = token("acme", "writer", None);
    let (_, again) = call(
        &restored,
        "PUT",
        "/v1/keys/c1",
        Some(&t),
        Some(keys(&["n"], None)),
    )
    .await;
    assert_eq!(
        again,
        json!({"subject": "c1", "keys": [], "forgotten": true})
    );
    // Appends go on where the original left off.
    let (_, answer) = post(
        &restored,
        "/v1/streams/Order-1",
        &t,
        &append_body(json!(80), vec![event("E", json!(1))]),
    )
    .await;
    assert_eq!(
        (
            answer["firstVersion"].clone(),
            answer["firstPosition"].clone()
        ),
        (json!(81), json!(243))
    );

    let again = run(&[
        "import",
        "--database",
        target,
        "--in",
        file.to_str().unwrap(),
    ]);
    assert!(
        !again.status.success(),
        "import into a non-empty database is refused"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty database"));
}

#[tokio::test]
async fn sqlite_export_import_drill() {
    let (dir, source) = sqlite_path();
    let target = dir
        .path()
        .join("restored.db")
        .to_string_lossy()
        .into_owned();
    drill(&source, &target, &dir.path().join("backup.ndjson")).await;
}

#[tokio::test]
async fn sqlite_to_postgres_export_import_drill() {
    let (dir, source) = sqlite_path();
    drill(
        &source,
        &postgres_database().await,
        &dir.path().join("backup.ndjson"),
    )
    .await;
}

#[tokio::test]
async fn postgres_to_sqlite_export_import_drill() {
    let (dir, target) = sqlite_path();
    drill(
        &postgres_database().await,
        &target,
        &dir.path().join("backup.ndjson"),
    )
    .await;
}
