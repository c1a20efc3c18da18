//! `import` is all or nothing and checks the protocol's rules, through the real binary, into
//! SQLite and PostgreSQL: a duplicate id at line 1,501 leaves the database empty (and the
//! corrected file then imports whole); bad ids, stream ids, types, version or position gaps,
//! keys that do not open under the server's KEK, and inconsistent forgotten lists are each
//! refused with their line number, writing nothing.

use std::path::Path;

use fieldstream_server::AnyBackend;
use fieldstream_server::backend::Backend;
use fieldstream_server::kek::Kek;
use serde_json::{Value, json};

use crate::export_import::{run, run_with_kek};
use crate::support::*;

fn event_line(position: u64, id: uuid::Uuid) -> Value {
    json!({"tenant": "t", "id": id, "stream": "s", "version": position, "position": position,
           "type": "E", "schemaVersion": 1, "data": {"n": position}, "metadata": {}, "recordedAt": 1})
}

fn write(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    std::fs::write(path, text).unwrap();
}

async fn events_in(database: &str) -> u64 {
    AnyBackend::open(database)
        .await
        .unwrap()
        .count_events()
        .await
        .unwrap()
}

/// Imports `file` into `database`; the error text on failure.
fn import(database: &str, file: &Path) -> Result<(), String> {
    let output = run(&[
        "import",
        "--database",
        database,
        "--in",
        file.to_str().unwrap(),
    ]);
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

async fn all_or_nothing(database: &str, dir: &Path) {
    let ids: Vec<uuid::Uuid> = (0..2_000).map(|_| uuid::Uuid::new_v4()).collect();
    let mut lines: Vec<Value> = (1..=2_000)
        .map(|p| event_line(p, ids[p as usize - 1]))
        .collect();
    lines[1_500]["id"] = json!(ids[9]);
    let file = dir.join("duplicate.ndjson");
    write(&file, &lines);
    let error = import(database, &file).unwrap_err();
    assert!(
        error.contains("line 1501") && error.contains("twice"),
        "{error}"
    );
    assert_eq!(
        events_in(database).await,
        0,
        "nothing of the first 1,500 lines was kept"
    );

    lines[1_500]["id"] = json!(ids[1_500]);
    write(&file, &lines);
    import(database, &file).expect("the corrected file imports into the same database");
    assert_eq!(events_in(database).await, 2_000);
}

async fn rules(fresh: impl AsyncFn() -> String, dir: &Path) {
    let good = |p: u64| event_line(p, uuid::Uuid::new_v4());
    let kek = Kek::parse(TEST_KEK).unwrap();
    let key_line = |tenant: &str, subject: &str, id: &str, seq: u64| {
        let material = crate::keys::material(id);
        json!({"kind": "key", "tenant": tenant, "subject": subject, "id": id, "seq": seq,
               "sealed": kek.seal_key(tenant, subject, id, &material)})
    };
    let other = Kek::random();
    let foreign = json!({"kind": "key", "tenant": "t", "subject": "c", "id": "k", "seq": 1,
                         "sealed": other.seal_key("t", "c", "k", &crate::keys::material("k"))});
    let mut cases: Vec<(&str, Vec<Value>, u64)> = Vec::new();
    let with = |field: &str, value: Value| {
        let mut line = good(2);
        line[field] = value;
        vec![good(1), line]
    };
    cases.push(("not JSON", vec![good(1), json!("{broken")], 2));
    cases.push(("id", with("id", json!("not-a-uuid")), 2));
    cases.push(("stream", with("stream", json!("bad stream")), 2));
    cases.push(("type", with("type", json!("1bad")), 2));
    cases.push(("schema version", with("schemaVersion", json!(0)), 2));
    cases.push(("metadata", with("metadata", json!([1])), 2));
    cases.push(("tenant", with("tenant", json!("")), 2));
    cases.push(("position gap", vec![good(1), good(3)], 2));
    cases.push(("version gap", with("version", json!(3)), 2));
    cases.push(("foreign key", vec![good(1), foreign], 2));
    cases.push(("key id", vec![good(1), key_line("t", "c", "!", 1)], 2));
    cases.push((
        "key twice",
        vec![key_line("t", "c", "a", 1), key_line("t", "c", "b", 1)],
        2,
    ));
    cases.push((
        "forgotten gap",
        vec![json!({"kind": "forgotten", "tenant": "t", "subject": "x", "seq": 2})],
        1,
    ));
    cases.push((
        "forgotten with a key",
        vec![
            key_line("t", "c", "a", 1),
            json!({"kind": "forgotten", "tenant": "t", "subject": "c", "seq": 1}),
        ],
        2,
    ));
    cases.push((
        "unknown kind",
        vec![json!({"kind": "mystery", "tenant": "t"})],
        1,
    ));
    for (name, lines, line) in cases {
        let database = fresh().await;
        let file = dir.join("case.ndjson");
        write(&file, &lines);
        let error = import(&database, &file).expect_err(name);
        assert!(error.contains(&format!("line {line}")), "{name}: {error}");
        assert_eq!(events_in(&database).await, 0, "{name} wrote events");
    }
    // Sealed keys open only under the KEK they were sealed with.
    let database = fresh().await;
    let file = dir.join("keys.ndjson");
    write(&file, &[good(1), key_line("t", "c", "a", 1)]);
    let output = run_with_kek(
        &[
            "import",
            "--database",
            &database,
            "--in",
            file.to_str().unwrap(),
        ],
        "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktb3Q=",
    );
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && error.contains("key-encryption key"),
        "{error}"
    );
    assert_eq!(events_in(&database).await, 0);
}

#[tokio::test]
async fn import_is_all_or_nothing_on_sqlite() {
    let (dir, database) = sqlite_path();
    all_or_nothing(&database, dir.path()).await;
}

#[tokio::test]
async fn import_is_all_or_nothing_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    all_or_nothing(&postgres_database().await, dir.path()).await;
}

#[tokio::test]
async fn import_checks_every_rule_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_owned();
    let counter = std::cell::Cell::new(0);
    let fresh = async || {
        counter.set(counter.get() + 1);
        base.join(format!("db{}.db", counter.get()))
            .to_string_lossy()
            .into_owned()
    };
    rules(fresh, dir.path()).await;
}

#[tokio::test]
async fn import_checks_every_rule_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    rules(postgres_database, dir.path()).await;
}
