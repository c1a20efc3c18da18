//! What the proxy remembers: one NDJSON [`Record`] per request in the log, and running
//! [`Stats`] that tests read.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::plan::{Decision, Fault};

/// One logged request: what came in, what was decided, what the server and the caller got.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Arrival order in this run (not part of the decision).
    pub seq: u64,
    /// The connection the request came on (arrival order of connections).
    pub conn: u64,
    /// The request's `x-request-id` (the proxy sets `fp-<seq>` when the caller sent none).
    pub request_id: String,
    /// The method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The request's fingerprint (hex), a hash of method, path, query and body.
    pub key: String,
    /// How many times this fingerprint was seen before (0 for the first).
    pub attempt: u32,
    /// What the proxy did.
    #[serde(flatten)]
    pub decision: Decision,
    /// The server's statuses (two for a duplicate); an entry is 0 when the server could not be
    /// reached.
    pub upstream: Vec<u16>,
    /// The status the caller got; `None` when it got no answer (dropped or reset).
    pub answered: Option<u16>,
    /// Milliseconds from arrival to the answer (or the hang-up).
    pub elapsed_ms: u64,
}

/// Counts over a run, by fault and by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Requests received.
    pub requests: u64,
    /// Requests per fault (snake_case names, as in the log).
    pub faults: HashMap<String, u64>,
    /// Requests whose answer was held back.
    pub delayed: u64,
    /// Requests forwarded to the server, duplicates counted twice.
    pub forwarded: u64,
    /// Answers of the server itself with a 5xx status (injected errors are not counted).
    pub upstream_5xx: u64,
    /// Forwards that could not reach the server.
    pub upstream_unreachable: u64,
    /// Requests the caller got no answer to.
    pub unanswered: u64,
}

impl Stats {
    /// How many requests got `fault`.
    pub fn count(&self, fault: Fault) -> u64 {
        let name = serde_json::to_value(fault).expect("a fault serialises");
        self.faults
            .get(name.as_str().unwrap_or_default())
            .copied()
            .unwrap_or(0)
    }

    fn add(&mut self, record: &Record) {
        self.requests += 1;
        let name = serde_json::to_value(record.decision.fault).expect("a fault serialises");
        *self
            .faults
            .entry(name.as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
        if !record.decision.delay.is_zero() && record.decision.fault != Fault::DropRequest {
            self.delayed += 1;
        }
        self.forwarded += record.upstream.len() as u64;
        self.upstream_5xx += record.upstream.iter().filter(|s| **s >= 500).count() as u64;
        self.upstream_unreachable += record.upstream.iter().filter(|s| **s == 0).count() as u64;
        if record.answered.is_none() {
            self.unanswered += 1;
        }
    }
}

/// Where records go: the optional NDJSON file, the stats, and the attempt counts per fingerprint.
#[derive(Debug, Default)]
pub struct Journal {
    inner: Mutex<JournalInner>,
}

#[derive(Debug, Default)]
struct JournalInner {
    file: Option<BufWriter<File>>,
    stats: Stats,
    attempts: HashMap<u64, u32>,
    seq: u64,
}

impl Journal {
    /// A journal that writes NDJSON to `path` (created or truncated), or only counts.
    pub fn new(path: Option<&Path>) -> std::io::Result<Self> {
        let file = path.map(File::create).transpose()?.map(BufWriter::new);
        Ok(Journal {
            inner: Mutex::new(JournalInner {
                file,
                ..JournalInner::default()
            }),
        })
    }

    /// The arrival number of a new request and how many times its fingerprint `key` came before.
    pub fn arrive(&self, key: u64) -> (u64, u32) {
        let mut inner = self.lock();
        inner.seq += 1;
        let seq = inner.seq;
        let attempt = inner.attempts.entry(key).or_insert(0);
        let this = *attempt;
        *attempt += 1;
        (seq, this)
    }

    /// Counts `record` and writes it as one line.
    pub fn write(&self, record: &Record) {
        let mut inner = self.lock();
        inner.stats.add(record);
        if let Some(file) = inner.file.as_mut() {
            let line = serde_json::to_string(record).expect("a record serialises");
            // A full disk must not fail the request being proxied; the stats still count it.
            let _ = writeln!(file, "{line}");
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// Writes buffered lines to the file.
    pub fn flush(&self) -> std::io::Result<()> {
        match self.lock().file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JournalInner> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
