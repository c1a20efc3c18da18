//! The backup/restore drill through the real binary: `export`, then `import` into an empty
//! database, gives identical `/v1/events` (and stream reads) for every tenant.

use std::path::Path;
use std::process::Command;

use axum::Router;
use axum::http::StatusCode;
use fieldstream_server::AnyBackend;
use serde_json::json;

use crate::support::*;

const BINARY: &str = env!("CARGO_BIN_EXE_fieldstream-server");

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BINARY)
        .args(args)
        .env("FIELDSTREAM_LOG", "warn")
        .env("FIELDSTREAM_KEY_ENCRYPTION_KEY", TEST_KEK)
        .output()
        .expect("run the binary")
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
    }
}

async fn snapshot(app: &Router) -> Vec<serde_json::Value> {
    let mut snapshot = Vec::new();
    for tenant in ["acme", "globex"] {
        let t = token(tenant, "reader", None);
        snapshot.push(json!(all_events(app, &t).await));
        snapshot.push(get(app, "/v1/events?after=17&limit=5", &t).await.1);
        snapshot.push(get(app, "/v1/streams/Order-1?from=3", &t).await.1);
    }
    snapshot
}

async fn round_trip(source: &str, target: &str, file: &Path) {
    let original = app(AnyBackend::open(source).await.unwrap(), config());
    fill(&original).await;
    let before = snapshot(&original).await;
    assert_eq!(before[0].as_array().unwrap().len(), 240);

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
    assert_eq!(std::fs::read_to_string(file).unwrap().lines().count(), 480);
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

    let restored = app(AnyBackend::open(target).await.unwrap(), config());
    assert_eq!(snapshot(&restored).await, before);
    // Appends go on where the original left off.
    let t = token("acme", "writer", None);
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
        (json!(81), json!(241))
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
async fn sqlite_export_import_round_trip() {
    let (dir, source) = sqlite_path();
    let target = dir
        .path()
        .join("restored.db")
        .to_string_lossy()
        .into_owned();
    round_trip(&source, &target, &dir.path().join("backup.ndjson")).await;
}

#[tokio::test]
async fn sqlite_to_postgres_export_import_round_trip() {
    let (dir, source) = sqlite_path();
    round_trip(
        &source,
        &postgres_database().await,
        &dir.path().join("backup.ndjson"),
    )
    .await;
}

#[tokio::test]
async fn import_rejects_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.ndjson");
    let line = |position: u64| {
        json!({"tenant": "t", "id": uuid::Uuid::new_v4(), "stream": "s", "version": position, "position": position,
               "type": "E", "schemaVersion": 1, "data": null, "metadata": {}, "recordedAt": 1})
        .to_string()
    };
    std::fs::write(&file, format!("{}\n{}\n", line(1), line(3))).unwrap();
    let target = dir.path().join("t.db");
    let output = run(&[
        "import",
        "--database",
        target.to_str().unwrap(),
        "--in",
        file.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
