//! Two writers of one PostgreSQL database (two backends, as two server processes would be)
//! appending to the same stream with 64 writers: their groups race between read and write, and
//! every race is decided again under the tenant's head lock. An append is refused only by a real
//! conflict (409), never by losing races (500), and positions stay gap-free.

use std::collections::HashSet;

use axum::Router;
use axum::http::StatusCode;
use fieldstream_server::AnyBackend;
use fieldstream_server::backend::PostgresBackend;
use serde_json::{Value, json};

use crate::support::*;

const WRITERS: usize = 64;
const APPENDS: usize = 8;

/// Two routers over two backends of one fresh database.
async fn two_writers() -> (Router, Router) {
    let url = postgres_database().await;
    let open = |url: String| async move {
        let backend = PostgresBackend::connect(&url)
            .await
            .expect("connect PostgreSQL");
        app(AnyBackend::from(backend), config())
    };
    (open(url.clone()).await, open(url).await)
}

/// Runs `WRITERS` writers, alternating between the two routers; each calls `append` with its
/// router and its number, and returns what it got.
async fn run<F, Fut>(routers: &(Router, Router), append: F) -> Vec<(StatusCode, Value)>
where
    F: Fn(Router, usize) -> Fut,
    Fut: Future<Output = Vec<(StatusCode, Value)>> + Send + 'static,
{
    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let router = if writer % 2 == 0 {
                &routers.0
            } else {
                &routers.1
            };
            tokio::spawn(append(router.clone(), writer))
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.unwrap());
    }
    answers
}

/// Every stored event of the tenant, checked for positions 1..N in order.
async fn stored(app: &Router, t: &str) -> Vec<Value> {
    let events = all_events(app, t).await;
    for (index, event) in events.iter().enumerate() {
        assert_eq!(
            event["position"],
            index as u64 + 1,
            "positions without gaps"
        );
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_racing_writers_of_two_processes_are_refused_only_by_conflicts() {
    let routers = two_writers().await;
    let t = token("t", "racer", None);

    // `any` admits every version: every append must be written, however the groups race.
    let answers = run(&routers, |app, writer| {
        let t = t.clone();
        async move {
            let mut answers = Vec::new();
            for append in 0..APPENDS {
                let body = append_body(json!("any"), vec![event("Any", json!([writer, append]))]);
                answers.push(post(&app, "/v1/streams/shared", &t, &body).await);
            }
            answers
        }
    })
    .await;
    for (status, answer) in &answers {
        assert_eq!(*status, StatusCode::OK, "{answer}");
    }
    let events = stored(&routers.1, &t).await;
    assert_eq!(events.len(), WRITERS * APPENDS);
    let ids: HashSet<&Value> = events.iter().map(|event| &event["id"]).collect();
    assert_eq!(ids.len(), events.len(), "each event once");

    // Exact versions: a refusal is a conflict that names a newer version, nothing else.
    let answers = run(&routers, |app, writer| {
        let t = t.clone();
        async move {
            let (mut known, mut answers) = (0u64, Vec::new());
            for append in 0..APPENDS {
                let body = append_body(json!(known), vec![event("Exact", json!([writer, append]))]);
                let (status, answer) = post(&app, "/v1/streams/contended", &t, &body).await;
                known = match status {
                    StatusCode::OK => answer["lastVersion"].as_u64().unwrap(),
                    StatusCode::CONFLICT => answer["currentVersion"].as_u64().unwrap(),
                    _ => known,
                };
                answers.push((status, answer));
            }
            answers
        }
    })
    .await;
    let mut won = 0;
    for (status, answer) in &answers {
        match *status {
            StatusCode::OK => won += 1,
            StatusCode::CONFLICT => assert_eq!(answer["error"], "wrong_expected_version"),
            other => panic!("refused with {other}: {answer}"),
        }
    }
    let events = stored(&routers.0, &t).await;
    assert_eq!(events.len(), WRITERS * APPENDS + won);
}

#[tokio::test]
async fn postgres_a_writer_that_remembers_a_stale_version_reads_and_decides_again() {
    let (a, b) = two_writers().await;
    let t = token("t", "guesser", None);
    let uri = "/v1/streams/moved";
    let append = |app: &Router, expected: Value, n: u64| {
        let body = append_body(expected, vec![event("Moved", json!(n))]);
        let (app, t) = (app.clone(), t.clone());
        async move { post(&app, uri, &t, &body).await }
    };

    // A new stream: written without a read, and remembered at version 1.
    let first = append_body(json!(0), vec![event("Moved", json!(1))]);
    let (status, answer) = post(&a, uri, &t, &first).await;
    assert_eq!(
        (status, answer["lastVersion"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    let (status, _) = append(&b, json!(1), 2).await;
    assert_eq!(status, StatusCode::OK);

    // `a` remembers 1; the stream is at 2: its write is refused by the key, read, written at 3.
    let (status, answer) = append(&a, json!("any"), 3).await;
    assert_eq!(
        (status, answer["lastVersion"].as_u64()),
        (StatusCode::OK, Some(3))
    );
    let (status, _) = append(&b, json!(3), 4).await;
    assert_eq!(status, StatusCode::OK);

    // An expectation that only the stale memory admits is a conflict that names the real version.
    let (status, answer) = append(&a, json!(3), 5).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["currentVersion"].as_u64(), Some(4));

    // The first append sent again is answered as the first time, not written again.
    let (status, answer) = post(&a, uri, &t, &first).await;
    assert_eq!(
        (status, answer["lastVersion"].as_u64()),
        (StatusCode::OK, Some(1))
    );

    // A stream `a` never wrote, guessed new, that `b` created: a conflict, not a second version 1.
    let fresh = append_body(json!(0), vec![event("Fresh", json!(1))]);
    let (status, _) = post(&b, "/v1/streams/fresh", &t, &fresh).await;
    assert_eq!(status, StatusCode::OK);
    let again = append_body(json!(0), vec![event("Fresh", json!(2))]);
    let (status, answer) = post(&a, "/v1/streams/fresh", &t, &again).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["currentVersion"].as_u64(), Some(1));

    assert_eq!(stored(&a, &t).await.len(), 5);
}
