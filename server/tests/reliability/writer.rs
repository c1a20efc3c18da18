//! A plain HTTP writer that follows protocol v1's retry rules, for driving a real server.
//!
//! Its command is "increment a counter": append one `Incremented` event (or several, as one
//! atomic append) to a stream at the version the writer last saw. An unknown outcome (no answer, a reset, a 5xx) is answered by
//! resending the same request: same event id, same expected version. A `409
//! wrong_expected_version` is answered by pulling the stream and deciding again with a fresh id.
//! Anything else (`idempotency_mismatch`, another 4xx) fails the test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fieldstream::protocol::{AppendResponse, StreamPage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use uuid::Uuid;

/// An acknowledged command: the event ids the server accepted and where it put them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The writer that sent it.
    pub client: u64,
    /// The writer's command number.
    pub command: u64,
    /// The accepted events' ids, in order.
    pub ids: Vec<Uuid>,
    /// The stream.
    pub stream: String,
    /// The first event's version, as acknowledged (the others follow one by one).
    pub version: u64,
    /// The first event's position, as acknowledged (the others follow one by one).
    pub position: u64,
}

/// What a writer went through.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Commands acknowledged.
    pub commands: u64,
    /// Requests resent after an unknown outcome.
    pub resends: u64,
    /// Requests that reached the server's socket but got no answer (reset or closed mid-way),
    /// as opposed to connections refused outright.
    pub cut_off: u64,
    /// `wrong_expected_version` answers (each followed by a pull and a new decision).
    pub conflicts: u64,
    /// How long each append request with a definite answer (200 or 409) took.
    pub latencies: Vec<Duration>,
}

/// A definite answer, or none.
enum Outcome {
    Answered(u16, Value),
    Unknown,
}

/// One client of the counter workload.
pub struct Writer {
    http: reqwest::Client,
    base: String,
    token: String,
    client: u64,
    rng: ChaCha8Rng,
    known: HashMap<String, u64>,
    /// What happened so far.
    pub tally: Tally,
}

/// How long a command may go without a definite answer before the test fails.
const COMMAND_DEADLINE: Duration = Duration::from_secs(90);

impl Writer {
    /// Writer `client` talking to `base` with `token`; `seed` makes its event ids reproducible.
    pub fn new(base: &str, token: &str, client: u64, seed: u64) -> Self {
        Writer {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("an HTTP client"),
            base: base.to_owned(),
            token: token.to_owned(),
            client,
            rng: ChaCha8Rng::seed_from_u64(seed ^ client.rotate_left(32)),
            known: HashMap::new(),
            tally: Tally::default(),
        }
    }

    /// A number drawn from the writer's seeded generator, below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.rng.random_range(0..n)
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Outcome {
        let response = match request.bearer_auth(&self.token).send().await {
            Ok(response) => response,
            Err(error) => {
                if !error.is_connect() {
                    self.tally.cut_off += 1;
                }
                return Outcome::Unknown;
            }
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Ok(_) if status >= 500 => Outcome::Unknown,
            Ok(bytes) => Outcome::Answered(
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ),
            Err(_) => Outcome::Unknown,
        }
    }

    async fn back_off(&mut self, tries: u32, started: Instant, what: &str) {
        assert!(
            started.elapsed() < COMMAND_DEADLINE,
            "client {}: no definite answer to {what} within {COMMAND_DEADLINE:?}",
            self.client
        );
        self.tally.resends += 1;
        let wait = Duration::from_millis((2u64 << tries.min(6)).min(100));
        tokio::time::sleep(wait).await;
    }

    /// The stream's current version, read until a definite answer comes.
    async fn pull(&mut self, stream: &str) -> u64 {
        let (started, mut tries) = (Instant::now(), 0);
        let url = format!("{}/v1/streams/{stream}?from=1&limit=1", self.base);
        loop {
            match self.send(self.http.get(&url)).await {
                Outcome::Answered(200, body) => {
                    let page: StreamPage = serde_json::from_value(body).expect("a stream page");
                    return page.current_version;
                }
                Outcome::Answered(status, body) => {
                    panic!("client {}: pull {stream}: {status} {body}", self.client)
                }
                Outcome::Unknown => self.back_off(tries, started, "a pull").await,
            }
            tries += 1;
        }
    }

    /// Runs command number `command` (one increment of `stream`) until it is acknowledged.
    pub async fn increment(&mut self, command: u64, stream: &str) -> Ack {
        self.increment_by(command, stream, 1).await
    }

    /// Runs command number `command`, `size` increments of `stream` in one append, until it is
    /// acknowledged. Event `part` of `of` carries `{client, command, part, of}` as its data.
    pub async fn increment_by(&mut self, command: u64, stream: &str, size: u64) -> Ack {
        let started = Instant::now();
        let url = format!("{}/v1/streams/{stream}", self.base);
        let mut expected = self.known.get(stream).copied().unwrap_or(0);
        loop {
            // Decide: fresh event ids at the version last seen.
            let ids: Vec<Uuid> = (0..size)
                .map(|_| uuid::Builder::from_random_bytes(self.rng.random()).into_uuid())
                .collect();
            let events: Vec<Value> = ids
                .iter()
                .zip(0..)
                .map(|(id, part)| {
                    let data = json!({"client": self.client, "command": command,
                                      "part": part, "of": size});
                    json!({"id": id, "type": "Incremented", "data": data})
                })
                .collect();
            let body = json!({"expectedVersion": expected, "events": events});
            let mut tries = 0;
            // Send, and resend the very same body until the answer is definite.
            let conflict = loop {
                let sent = Instant::now();
                let outcome = self.send(self.http.post(&url).json(&body)).await;
                match outcome {
                    Outcome::Answered(200, answer) => {
                        self.tally.latencies.push(sent.elapsed());
                        let answer: AppendResponse =
                            serde_json::from_value(answer).expect("an append answer");
                        assert_eq!(answer.last_version + 1 - answer.first_version, size);
                        assert_eq!(answer.last_position + 1 - answer.first_position, size);
                        self.known.insert(stream.to_owned(), answer.last_version);
                        self.tally.commands += 1;
                        return Ack {
                            client: self.client,
                            command,
                            ids,
                            stream: stream.to_owned(),
                            version: answer.first_version,
                            position: answer.first_position,
                        };
                    }
                    Outcome::Answered(409, answer)
                        if answer["error"] == "wrong_expected_version" =>
                    {
                        self.tally.latencies.push(sent.elapsed());
                        break answer;
                    }
                    Outcome::Answered(status, answer) => panic!(
                        "client {} command {command}: {status} {answer} for {body}",
                        self.client
                    ),
                    Outcome::Unknown => self.back_off(tries, started, "an append").await,
                }
                tries += 1;
            };
            self.tally.conflicts += 1;
            let current = conflict["currentVersion"].as_u64().expect("currentVersion");
            assert!(current != expected, "a conflict names another version");
            expected = self.pull(stream).await;
            assert!(expected >= current, "a pull never goes back");
            self.known.insert(stream.to_owned(), expected);
        }
    }
}
