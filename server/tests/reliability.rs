//! Reliability suite of `fieldstream-server` (issue 10): writers and sync clients through a
//! fault-injecting proxy, SIGKILL in a loop, load with live subscribers, abuse, and fuzzing.
//!
//! Bounded by default; `FIELDSTREAM_SOAK=1` runs the long versions (`scripts/soak.sh`). The
//! PostgreSQL scenarios need `FIELDSTREAM_TEST_POSTGRES_URL` (`scripts/with-postgres.sh`) and
//! fail without it. Figures go to stderr and `target/tmp/reliability-figures.ndjson`.

#[path = "server/support.rs"]
mod support;

#[path = "reliability/fleet.rs"]
mod fleet;
#[path = "reliability/follower.rs"]
mod follower;
#[path = "reliability/ledger.rs"]
mod ledger;
#[path = "reliability/mode.rs"]
mod mode;
#[path = "shared/orders.rs"]
mod orders;
#[path = "reliability/process.rs"]
mod process;
#[path = "reliability/writer.rs"]
mod writer;

#[path = "reliability/abuse.rs"]
mod abuse;
#[path = "reliability/abuse_http.rs"]
mod abuse_http;
#[path = "reliability/abuse_input.rs"]
mod abuse_input;
#[path = "reliability/abuse_limits.rs"]
mod abuse_limits;
#[path = "reliability/abuse_slow.rs"]
mod abuse_slow;
#[path = "reliability/abuse_tenants.rs"]
mod abuse_tenants;
#[path = "reliability/durability.rs"]
mod durability;
#[path = "reliability/fuzz.rs"]
mod fuzz;
#[path = "reliability/fuzz_keys.rs"]
mod fuzz_keys;
#[path = "reliability/keys_at_rest.rs"]
mod keys_at_rest;
#[path = "reliability/load.rs"]
mod load;
#[path = "reliability/read_budget.rs"]
mod read_budget;
#[path = "reliability/sigkill.rs"]
mod sigkill;
#[path = "reliability/sync_clients.rs"]
mod sync_clients;
#[path = "reliability/through_proxy.rs"]
mod through_proxy;
