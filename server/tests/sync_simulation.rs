//! Deterministic simulations of sync against the real server router in-process:
//!
//! - `orders`: several devices (the real engine and sync client on memory stores, the Order
//!   example) through a transport that drops requests, loses acknowledgements after the server
//!   committed and sends requests twice, while they work offline and online, restart, and
//!   follow the live feed;
//! - `everything`: the same with every feature on at once (snapshots, upcasters, inline and
//!   background projections, idempotency keys, personal data with a subject forgotten mid-run,
//!   commands near and over the limits, conflicts rebased and rejected), checking after every
//!   settled step that each device's aggregates equal the fold of their log and each read model
//!   equals a fresh rebuild;
//! - `regressions`: the cases where features met sync wrongly, one test each.
//!
//! Every proptest case that fails is shrunk, printed, and saved to `proptest-regressions/`,
//! from which every later run replays it first. 256 cases by default; `PROPTEST_CASES=10000`
//! for the long mode.

#[path = "simulation/devices.rs"]
mod devices;
#[path = "simulation/domain.rs"]
mod domain;
#[path = "simulation/driver.rs"]
mod driver;
#[path = "simulation/everything.rs"]
mod everything;
#[path = "simulation/orders.rs"]
mod orders_fleet;
#[path = "simulation/regressions.rs"]
mod regressions;
#[path = "simulation/transport.rs"]
mod transport;
