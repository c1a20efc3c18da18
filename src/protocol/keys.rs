//! The key service of personal data: the keys of a data subject, kept per tenant, and the list
//! of subjects forgotten. Keys travel only here, never inside events.

use serde::{Deserialize, Serialize};

use crate::core::StreamId;

/// One key of a subject.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// The key's id, as sealed values name it.
    pub id: String,
    /// The 256-bit key, standard base64.
    pub key: String,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry").field("id", &self.id).finish()
    }
}

/// `PUT /v1/keys/{subject}`: keys to add (a key id already held with the same key is left as
/// it is), and the stream whose events they seal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutKeys {
    /// The keys.
    pub keys: Vec<KeyEntry>,
    /// The stream whose events the keys seal: the server notes the keys as used there, so
    /// that tokens limited to that stream may read them. Required from such tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamId>,
}

/// The answer of `GET`, `PUT` and `DELETE /v1/keys/{subject}`: the subject's keys, or that it
/// was forgotten (then no key is kept or accepted for it again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectKeys {
    /// The data subject.
    pub subject: String,
    /// Its keys (none once forgotten).
    pub keys: Vec<KeyEntry>,
    /// Whether the subject was forgotten.
    pub forgotten: bool,
}

/// One forgotten subject, in the order the server forgot them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgottenSubject {
    /// The data subject.
    pub subject: String,
    /// Its place in the tenant's list of forgotten subjects, from 1.
    pub seq: u64,
}

/// `GET /v1/keys?after=…&limit=…`: subjects forgotten after `after`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgottenPage {
    /// The subjects.
    pub forgotten: Vec<ForgottenSubject>,
}

/// The longest subject id the key service accepts, in characters.
pub const MAX_SUBJECT_LEN: usize = 200;

/// The longest key id the key service accepts (ids are `A-Z a-z 0-9 _ -`).
pub const MAX_KEY_ID_LEN: usize = 64;

/// Whether `id` is a key id the key service accepts: 1-64 characters of `A-Z a-z 0-9 _ -`.
pub fn is_valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEY_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
