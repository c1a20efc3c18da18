//! [`KeyVault`]: the subject keys of personal data a store holds.

use crate::core::Result;
use crate::core::personal::{KeyStore, KeyUpdate};

/// The subject keys of a store (personal data), and the subjects it has forgotten.
#[allow(async_fn_in_trait)]
pub trait KeyVault {
    /// The subject keys held and the subjects forgotten (personal data).
    async fn keys(&self) -> Result<KeyStore>;

    /// Adds keys and forgets subjects (deleting their keys), in one write.
    async fn update_keys(&self, update: &KeyUpdate) -> Result<()>;
}
