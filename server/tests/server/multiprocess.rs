//! Scale-out on PostgreSQL: two real server processes share one database; a live subscriber on
//! one receives an event appended through the other.

use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::*;

/// A running `fieldstream-server serve`; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

async fn start(database: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldstream-server"))
        .args([
            "serve",
            "--database",
            database,
            "--listen",
            "127.0.0.1:0",
            "--heartbeat-secs",
            "60",
            "--idle-timeout-secs",
            "120",
        ])
        .env("FIELDSTREAM_KEY_ENCRYPTION_KEY", TEST_KEK)
        .env(
            "FIELDSTREAM_JWT_SECRET",
            std::str::from_utf8(SECRET).unwrap(),
        )
        .env("FIELDSTREAM_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read the log") {
            if let Some((_, address)) = line.split_once("listening on ") {
                return address.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server listens within 30 s");
    // Keep draining the log so the server never blocks on a full pipe. The 60 s heartbeat (and
    // re-read) means only a cross-process notification can deliver an event within the test.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_one_process_sees_appends_through_another() {
    let database = postgres_database().await;
    let (one, two) = (start(&database).await, start(&database).await);
    let t = token("acme", "alice", None);
    let client = reqwest::Client::new();

    let response = client
        .get(format!("{}/v1/subscribe", two.base))
        .bearer_auth(&t)
        .send()
        .await
        .expect("subscribe on process two");
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();

    let sent = event("CrossedOver", json!({"via": "one"}));
    let answer = client
        .post(format!("{}/v1/streams/Order-1", one.base))
        .bearer_auth(&t)
        .json(&append_body(json!("no_stream"), vec![sent.clone()]))
        .send()
        .await
        .expect("append on process one");
    assert_eq!(answer.status(), 200);

    let received = tokio::time::timeout(Duration::from_secs(15), async {
        let mut text = String::new();
        while let Some(chunk) = body.next().await {
            text.push_str(std::str::from_utf8(&chunk.expect("stream")).unwrap());
            if let Some(data) = text.lines().find_map(|line| line.strip_prefix("data: ")) {
                return serde_json::from_str::<serde_json::Value>(data).unwrap();
            }
        }
        panic!("the subscription ended");
    })
    .await
    .expect("the event crosses processes within 15 s");
    assert_eq!(
        (received["id"].clone(), received["position"].clone()),
        (sent["id"].clone(), json!(1))
    );

    // And the other way round, with the append's retry sent to the other process.
    let body = append_body(json!(1), vec![event("Back", json!(2))]);
    let first = client
        .post(format!("{}/v1/streams/Order-1", two.base))
        .bearer_auth(&t)
        .json(&body)
        .send()
        .await
        .unwrap();
    let retry = client
        .post(format!("{}/v1/streams/Order-1", one.base))
        .bearer_auth(&t)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (first.status().as_u16(), retry.status().as_u16()),
        (200, 200)
    );
    let (first, retry): (serde_json::Value, serde_json::Value) =
        (first.json().await.unwrap(), retry.json().await.unwrap());
    assert_eq!(
        first, retry,
        "a retry through another process is still exactly-once"
    );
    drop((one.child, two.child));
}
