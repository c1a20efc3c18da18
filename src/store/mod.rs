//! Event stores.
