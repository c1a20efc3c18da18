//! The reference Order domain.
