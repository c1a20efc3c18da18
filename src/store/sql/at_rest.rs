//! Encryption at rest in a [`SqlStore`](super::SqlStore) (`crate::store::at_rest`): a store
//! opened with a key ([`SqlStore::open_sealed`](super::SqlStore::open_sealed), a 256-bit key
//! the host derives from its secret and the database's salt,
//! [`SqlStore::at_rest_salt`](super::SqlStore::at_rest_salt)) seals its key store, documents
//! and undo records; the salt is kept in `meta`.

use super::connection::SqlConnection;
use super::schema;
use crate::core::Result;
use crate::store::at_rest::{new_salt, salt_bytes};

pub use crate::store::at_rest::{AtRest, doc_place, undo_place};

/// The place of the key store.
pub const KEY_STORE: &str = "fieldstream-key-store";

/// The database's salt for its at-rest key: 16 random bytes, made and kept in `meta` by the
/// first call.
pub fn salt<C: SqlConnection>(conn: &C) -> Result<Vec<u8>> {
    const SALT: &str = "at_rest_salt";
    let text = conn.transaction(|conn| {
        schema::create_meta(conn)?;
        if let Some(text) = schema::get(conn, SALT)? {
            return Ok(text);
        }
        let text = new_salt()?;
        schema::set(conn, SALT, &text)?;
        Ok(text)
    })?;
    salt_bytes(&text)
}
