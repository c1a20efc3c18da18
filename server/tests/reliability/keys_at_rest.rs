//! The key service on disk, through the real binary: keys are sealed under the KEK (the key is
//! never in a database file, SQLite or PostgreSQL), a forgotten key's sealed record leaves the
//! SQLite files too (overwrite, `secure_delete`, WAL checkpoint), key writes from two
//! processes on one SQLite file all succeed (`BEGIN IMMEDIATE`), and keys an older version kept
//! in clear are sealed (and their table dropped) on the first start.

use std::path::Path;

use base64::Engine;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::process::ServerProcess;
use crate::support::{postgres_database, scoped_token, sqlite_path};

/// A random 32-byte key as the key service takes it.
fn fresh_key() -> (Vec<u8>, String) {
    let bytes: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|id| *id.as_bytes())
        .collect();
    let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
    (bytes, text)
}

/// Whether any file in `dir` (recursively) whose name starts with `prefix` contains `needle`.
fn on_disk(dir: &Path, prefix: &str, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(on_disk(&path, "", needle));
        } else if entry.file_name().to_string_lossy().starts_with(prefix)
            && let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|window| window == needle)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

async fn call(
    server: &ServerProcess,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let http = reqwest::Client::new();
    let mut request = http
        .request(method.parse().unwrap(), format!("{}{uri}", server.base()))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_key_leaves_the_sqlite_files() {
    let (dir, path) = sqlite_path();
    let server = ServerProcess::start(&path, &[]).await;
    let admin = scoped_token("acme", "dpo", None, Some("keys:forget"));
    let (raw, key) = fresh_key();
    let put = json!({"keys": [{"id": "k1", "key": key}], "stream": "Order-1"});
    let (status, answer) = call(&server, "PUT", "/v1/keys/c1", &admin, Some(put)).await;
    assert_eq!(
        (status, answer["keys"][0]["key"].clone()),
        (200, json!(key))
    );

    let sealed: String = {
        let mut db = sqlx::SqliteConnection::connect(&format!("sqlite:{path}?mode=ro"))
            .await
            .unwrap();
        let sealed = sqlx::query_scalar("SELECT sealed FROM fieldstream_keys WHERE subject = 'c1'")
            .fetch_one(&mut db)
            .await
            .unwrap();
        db.close().await.unwrap();
        sealed
    };
    let name = Path::new(&path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    for needle in [key.as_bytes(), &raw[..]] {
        assert!(
            on_disk(dir.path(), &name, needle).is_empty(),
            "the key is never stored as it is"
        );
    }
    let sealed_bytes = &sealed.as_bytes()[..40];
    assert!(
        !on_disk(dir.path(), &name, sealed_bytes).is_empty(),
        "the sealed record is in the files before the forget (the search works)"
    );

    let (status, answer) = call(&server, "DELETE", "/v1/keys/c1", &admin, None).await;
    assert_eq!((status, answer["forgotten"].clone()), (200, json!(true)));
    for needle in [sealed_bytes, key.as_bytes(), &raw[..]] {
        let found = on_disk(dir.path(), &name, needle);
        assert!(found.is_empty(), "after the forget, found in {found:?}");
    }
    let (status, answer) = call(
        &server,
        "PUT",
        "/v1/keys/c1",
        &admin,
        Some(json!({"keys": [{"id": "k2", "key": key}]})),
    )
    .await;
    assert_eq!(
        (status, answer["forgotten"].clone(), answer["keys"].clone()),
        (200, json!(true), json!([]))
    );
    assert_eq!(server.logged_errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_sealed_in_the_postgres_data_directory() {
    let database = postgres_database().await;
    let server = ServerProcess::start(&database, &[]).await;
    let admin = scoped_token("acme", "dpo", None, Some("keys:forget"));
    let (_, key) = fresh_key();
    let put = json!({"keys": [{"id": "k1", "key": key}], "stream": "Order-1"});
    assert_eq!(
        call(&server, "PUT", "/v1/keys/c1", &admin, Some(put))
            .await
            .0,
        200
    );
    let mut db = sqlx::PgConnection::connect(&database).await.unwrap();
    sqlx::query("CHECKPOINT").execute(&mut db).await.unwrap();
    let data: String = sqlx::query_scalar("SHOW data_directory")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let found = on_disk(Path::new(&data), "", key.as_bytes());
    assert!(found.is_empty(), "the key in clear in {found:?}");
    let (status, _) = call(&server, "DELETE", "/v1/keys/c1", &admin, None).await;
    assert_eq!(status, 200);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fieldstream_keys")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_writes_from_two_processes_on_one_sqlite_file_all_succeed() {
    let (_dir, path) = sqlite_path();
    let servers = [
        ServerProcess::start(&path, &[]).await,
        ServerProcess::start(&path, &[]).await,
    ];
    let admin = scoped_token("acme", "tablet", None, Some("keys:forget"));
    let http = reqwest::Client::new();
    let writes = (0..200).map(|i| {
        let (http, admin) = (http.clone(), admin.clone());
        let base = servers[i % 2].base();
        async move {
            let (_, key) = fresh_key();
            let body = json!({"keys": [{"id": format!("k{i}"), "key": key}], "stream": "Order-1"});
            let (method, uri) = if i % 10 == 9 {
                ("DELETE", format!("{base}/v1/keys/c{}", i - 1))
            } else {
                ("PUT", format!("{base}/v1/keys/c{i}"))
            };
            let request = http
                .request(method.parse().unwrap(), uri)
                .bearer_auth(admin);
            let request = if method == "PUT" {
                request.json(&body)
            } else {
                request
            };
            request.send().await.expect("an answer").status().as_u16()
        }
    });
    let statuses = futures_util::future::join_all(writes).await;
    let failed: Vec<_> = statuses.iter().filter(|s| **s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of 200 key writes failed: {failed:?}",
        failed.len()
    );
    for server in &servers {
        assert_eq!(server.logged_errors(), 0);
    }
}

async fn plain_keys_are_sealed_on_first_start(database: &str, files: Option<(&Path, &str)>) {
    let (_, key_a) = fresh_key();
    let (_, key_b) = fresh_key();
    let id = uuid::Uuid::new_v4();
    let statements = [
        "CREATE TABLE fieldstream_subject_keys (tenant TEXT NOT NULL, subject TEXT NOT NULL, \
         key_id TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tenant, subject, key_id))"
            .to_owned(),
        format!("INSERT INTO fieldstream_subject_keys VALUES ('acme', 'c1', 'b', '{key_b}')"),
        format!("INSERT INTO fieldstream_subject_keys VALUES ('acme', 'c1', 'a', '{key_a}')"),
        format!(
            "INSERT INTO fieldstream_events VALUES ('acme', 1, '{id}', 'Order-7', 1, 'Booked', 1, \
             '{{\"name\":{{\"$enc\":\"v1\",\"k\":\"c1\",\"i\":\"a\",\"n\":\"x\",\"c\":\"y\"}}}}', '{{}}', 1)"
        ),
        "INSERT INTO fieldstream_heads VALUES ('acme', 1)".to_owned(),
    ];
    // The server makes today's tables; the older version's table is added beside them.
    let mut server = ServerProcess::start(database, &[]).await;
    server.kill().await;
    if database.starts_with("postgres") {
        let mut db = sqlx::PgConnection::connect(database).await.unwrap();
        for statement in &statements {
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&mut db)
                .await
                .unwrap();
        }
    } else {
        let mut db = sqlx::SqliteConnection::connect(&format!("sqlite:{database}"))
            .await
            .unwrap();
        for statement in &statements {
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&mut db)
                .await
                .unwrap();
        }
        db.close().await.unwrap();
    }
    server.restart().await;
    let admin = scoped_token("acme", "admin", None, None);
    let (status, answer) = call(&server, "GET", "/v1/keys/c1", &admin, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["keys"],
        json!([{"id": "a", "key": key_a}, {"id": "b", "key": key_b}]),
        "numbered in key-id order, as they were listed"
    );
    let rep = scoped_token("acme", "rep", Some(&["Order-7"]), None);
    let (_, seen) = call(&server, "GET", "/v1/keys/c1", &rep, None).await;
    assert_eq!(
        seen["keys"],
        json!([{"id": "a", "key": key_a}]),
        "used in its stream's events"
    );
    if let Some((dir, name)) = files {
        for key in [&key_a, &key_b] {
            let found = on_disk(dir, name, key.as_bytes());
            assert!(found.is_empty(), "a key in clear left in {found:?}");
        }
    }
    assert_eq!(server.logged_errors(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_an_older_version_kept_in_clear_are_sealed_on_sqlite() {
    let (dir, path) = sqlite_path();
    let name = Path::new(&path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    plain_keys_are_sealed_on_first_start(&path, Some((dir.path(), &name))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_an_older_version_kept_in_clear_are_sealed_on_postgres() {
    plain_keys_are_sealed_on_first_start(&postgres_database().await, None).await;
}
