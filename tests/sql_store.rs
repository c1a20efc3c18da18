//! The store conformance suite on `SqlStore` over a native SQLite connection, what a reopened
//! database keeps, and the rows a commit writes.

#![cfg(not(target_arch = "wasm32"))]

mod conformance;
mod sql;

use fieldstream::store::SqlStore;

use sql::{Floats, Sqlite};

/// A fresh store on a database in memory.
fn fresh() -> SqlStore<Sqlite> {
    SqlStore::open(Sqlite::memory()).unwrap()
}

/// The conformance suite on `SqlStore`, one test per case.
mod suite {
    use super::*;

    conformance::each_case!(conformance::blocking_case_tests; fresh());

    #[test]
    fn every_case_has_a_test() {
        conformance::every_case_has_a_test::<SqlStore<Sqlite>>();
    }
}

/// The conformance suite on `SqlStore` over a connection that hands numbers over as floats,
/// as workerd does.
mod suite_with_floats {
    use super::*;

    conformance::each_case!(conformance::blocking_case_tests; SqlStore::open(Floats(Sqlite::memory())).unwrap());
}
