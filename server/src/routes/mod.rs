//! The HTTP handlers of protocol v1, one file per endpoint family.

pub mod append;
pub mod batch;
pub mod keys;
pub mod ops;
pub mod read;
pub mod subscribe;
