//! The server's test suite, compiled as one binary (one link instead of many).
//!
//! PostgreSQL tests need `FIELDSTREAM_TEST_POSTGRES_URL` (run them through
//! `scripts/with-postgres.sh cargo test -p fieldstream-server`); they fail without it.

#[path = "../../tests/shared/plaintext.rs"]
mod plaintext;
#[path = "server/support.rs"]
mod support;

#[path = "server/cli.rs"]
mod cli;
#[path = "server/concurrency.rs"]
mod concurrency;
#[path = "server/conformance.rs"]
mod conformance;
#[path = "server/conformance_more.rs"]
mod conformance_more;
#[path = "server/drain.rs"]
mod drain;
#[path = "server/export_import.rs"]
mod export_import;
#[path = "server/fanout.rs"]
mod fanout;
#[path = "server/grants.rs"]
mod grants;
#[path = "server/import_rules.rs"]
mod import_rules;
#[path = "server/keys.rs"]
mod keys;
#[path = "server/multiprocess.rs"]
mod multiprocess;
#[path = "server/pages.rs"]
mod pages;
#[path = "server/payloads.rs"]
mod payloads;
#[path = "server/personal_sync.rs"]
mod personal_sync;
#[path = "server/remote_store.rs"]
mod remote_store;
#[path = "server/retries.rs"]
mod retries;
#[path = "server/router_auth.rs"]
mod router_auth;
#[path = "server/router_errors.rs"]
mod router_errors;
#[path = "server/router_ok.rs"]
mod router_ok;
#[path = "server/router_subscribe.rs"]
mod router_subscribe;
#[path = "server/startup.rs"]
mod startup;
#[path = "server/writers_race.rs"]
mod writers_race;
