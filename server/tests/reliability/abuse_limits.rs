//! Limits of the real binary over real sockets: requests without a valid token are limited per
//! address; a batch counts each of its appends; live subscriptions are capped per subject and per
//! tenant (429) and a subscriber limited to some streams reads only the new part of the log;
//! token claims (`nbf`, `iss`, `aud`, lifetime); `/metrics` behind its token.

use std::time::Duration;

use serde_json::{Value, json};

use crate::process::ServerProcess;
use crate::support::{append_body, event, now_secs, sign, sqlite_path, token};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn append(server: &ServerProcess, token: &str, stream: &str) -> u16 {
    http()
        .post(format!("{}/v1/streams/{stream}", server.base()))
        .bearer_auth(token)
        .json(&append_body(json!("any"), vec![event("E", json!(1))]))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_token_are_limited_per_address() {
    let (_dir, path) = sqlite_path();
    let server = ServerProcess::start(&path, &["--rate-limit-unauthenticated", "5"]).await;
    let started = std::time::Instant::now();
    let url = format!("{}/v1/events", server.base());
    let tries = (0..60).map(|i| {
        let url = url.clone();
        async move {
            let request = http().get(url);
            let request = if i % 2 == 0 {
                request.bearer_auth("a.b.c")
            } else {
                request
            };
            request.send().await.unwrap().status().as_u16()
        }
    });
    let statuses = futures_util::future::join_all(tries).await;
    let elapsed = started.elapsed().as_secs_f64();
    let unauthorized = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(unauthorized + limited, 60, "{statuses:?}");
    assert!(
        unauthorized <= 5 + (5.0 * elapsed).ceil() as usize + 1,
        "{unauthorized} in {elapsed:.2} s"
    );
    assert!(limited > 0);
    // A valid token is not held up by the address's bad requests.
    assert_eq!(
        append(&server, &token("t", "alice", None), "Order-1").await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_counts_each_of_its_appends() {
    let (_dir, path) = sqlite_path();
    let server = ServerProcess::start(&path, &["--rate-limit", "10"]).await;
    let t = token("t", "alice", None);
    let appends: Vec<Value> = (0..10)
        .map(|i| json!({"stream": format!("S-{i}"), "expectedVersion": 0, "events": [event("E", json!(i))]}))
        .collect();
    let answer = http()
        .post(format!("{}/v1/batch", server.base()))
        .bearer_auth(&t)
        .json(&json!({"appends": appends}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert!(
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "ok")
    );
    let status = append(&server, &t, "Order-1").await;
    assert_eq!(status, 429, "the batch spent the allowance of ten requests");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        append(&server, &t, "Order-1").await,
        200,
        "the allowance refills"
    );
}

async fn subscribe(server: &ServerProcess, token: &str) -> reqwest::Response {
    http()
        .get(format!("{}/v1/subscribe", server.base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_subscriptions_are_capped_per_subject_and_tenant() {
    let (_dir, path) = sqlite_path();
    let flags = [
        "--max-subscriptions-per-subject",
        "2",
        "--max-subscriptions-per-tenant",
        "3",
        "--heartbeat-secs",
        "1",
        "--idle-timeout-secs",
        "10",
    ];
    let server = ServerProcess::start(&path, &flags).await;
    let (a, b, other) = (
        token("t", "a", None),
        token("t", "b", None),
        token("u", "a", None),
    );
    let mut open = vec![subscribe(&server, &a).await, subscribe(&server, &a).await];
    assert!(open.iter().all(|r| r.status() == 200));
    let refused = subscribe(&server, &a).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "rate_limited"
    );
    open.push(subscribe(&server, &b).await);
    assert_eq!(open[2].status(), 200);
    assert_eq!(
        subscribe(&server, &b).await.status(),
        429,
        "the tenant's cap"
    );
    assert_eq!(
        subscribe(&server, &other).await.status(),
        200,
        "another tenant is not held up"
    );
    drop(open.remove(0));
    // The server notices the closed feed at its next heartbeat.
    let mut again = 429;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let answer = subscribe(&server, &a).await;
        again = answer.status().as_u16();
        if again == 200 {
            break;
        }
    }
    assert_eq!(again, 200, "a closed subscription gives its place back");
}

async fn scanned(server: &ServerProcess) -> u64 {
    let metrics = http()
        .get(format!("{}/metrics", server.base()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("fieldstream_subscription_scanned_positions_total "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the scan counter")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restricted_subscriber_reads_only_the_new_part_of_the_log() {
    let (_dir, path) = sqlite_path();
    let server = ServerProcess::start(&path, &[]).await;
    let (admin, rep) = (
        token("t", "admin", None),
        token("t", "rep", Some(&["Order-1"])),
    );
    assert_eq!(append(&server, &admin, "Order-1").await, 200);
    let mut live = subscribe(&server, &rep).await;
    let first = tokio::time::timeout(Duration::from_secs(10), live.chunk()).await;
    assert!(matches!(first, Ok(Ok(Some(_)))));
    let before = scanned(&server).await;
    let appends = 300;
    for i in 0..appends {
        assert_eq!(append(&server, &admin, &format!("Other-{i}")).await, 200);
    }
    assert_eq!(append(&server, &admin, "Order-1").await, 200);
    let text = tokio::time::timeout(Duration::from_secs(10), async {
        let mut text = String::new();
        while !text.contains("\"version\":2") {
            let chunk = live.chunk().await.unwrap().unwrap();
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    })
    .await
    .expect("its second event arrives");
    assert!(!text.contains("Other-"), "only its stream");
    let looked_at = scanned(&server).await - before;
    crate::mode::report(
        "restricted subscriber",
        json!({"appendsElsewhere": appends, "positionsScanned": looked_at}),
    );
    // Rescanning from its last event on every append would look at ~45,000 positions.
    assert!(
        looked_at <= 3 * appends as u64,
        "{looked_at} positions looked at"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_claims_are_checked_as_configured() {
    let (_dir, path) = sqlite_path();
    let flags = [
        "--jwt-issuer",
        "https://id.example",
        "--jwt-audience",
        "fieldstream",
        "--max-token-lifetime-secs",
        "3600",
        "--metrics-token",
        "scrape-me",
    ];
    let server = ServerProcess::start(&path, &flags).await;
    let now = now_secs();
    let claims = |extra: Value| {
        let mut claims = json!({"sub": "a", "tenant": "t", "exp": now + 600,
                                "iss": "https://id.example", "aud": "fieldstream"});
        for (key, value) in extra.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        sign(&claims)
    };
    for (label, token, status) in [
        ("valid", claims(json!({})), 200),
        (
            "audience in a list",
            claims(json!({"aud": ["other", "fieldstream"]})),
            200,
        ),
        (
            "wrong issuer",
            claims(json!({"iss": "https://evil.example"})),
            401,
        ),
        ("no issuer", claims(json!({"iss": null})), 401),
        ("wrong audience", claims(json!({"aud": "other"})), 401),
        ("no audience", claims(json!({"aud": null})), 401),
        ("not yet valid", claims(json!({"nbf": now + 600})), 401),
        ("valid since", claims(json!({"nbf": now - 10})), 200),
        (
            "too long a life",
            claims(json!({"iat": now, "exp": now + 7_200})),
            401,
        ),
        (
            "too long without iat",
            claims(json!({"exp": now + 7_200})),
            401,
        ),
    ] {
        let answer = http()
            .get(format!("{}/v1/events", server.base()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status, "{label}");
    }
    let metrics = format!("{}/metrics", server.base());
    assert_eq!(http().get(&metrics).send().await.unwrap().status(), 401);
    let wrong = http()
        .get(&metrics)
        .bearer_auth("scrape-you")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = http()
        .get(&metrics)
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);

    // Without --jwt-audience, a token's `aud` is no reason to refuse it.
    let (_dir2, path2) = sqlite_path();
    let plain = ServerProcess::start(&path2, &[]).await;
    let with_aud = sign(&json!({"sub": "a", "tenant": "t", "exp": now + 600, "aud": "anything"}));
    let answer = http()
        .get(format!("{}/v1/events", plain.base()))
        .bearer_auth(with_aud)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}
