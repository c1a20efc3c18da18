//! The key service's values as a backend takes and gives them: keys sealed under the KEK (a
//! backend never sees a key in the clear), what a caller sees of a subject, what a `PUT` did.

/// One stored key: its id and its sealed material.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The key's id.
    pub id: String,
    /// The key, sealed under the KEK.
    pub sealed: String,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey").field("id", &self.id).finish()
    }
}

/// A key to add: its id, sealed material and fingerprint.
#[derive(Clone, PartialEq, Eq)]
pub struct NewKey {
    /// The key's id.
    pub id: String,
    /// The key, sealed under the KEK.
    pub sealed: String,
    /// The key's keyed fingerprint.
    pub fingerprint: String,
}

impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey").field("id", &self.id).finish()
    }
}

/// What a caller sees of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyView {
    /// The keys it may see, oldest first.
    pub keys: Vec<StoredKey>,
    /// Whether the subject was forgotten.
    pub forgotten: bool,
    /// Whether the caller may see the subject at all: it reads every stream, or one of the
    /// subject's keys is used in a stream it reads.
    pub visible: bool,
}

/// What a `PUT` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// Stored (or nothing to store); the subject as the caller now sees it.
    Stored(KeyView),
    /// This key id is held with other key material: nothing was written.
    IdTaken(String),
}
