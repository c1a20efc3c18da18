//! The cipher of personal fields: AES-256-GCM under a subject's key, one sealed JSON value at a
//! time.
//!
//! A sealed value is `{"$enc":"v1","k":subject,"i":keyId,"n":nonce,"c":ciphertext}` (nonce and
//! ciphertext in standard base64): the JSON text of the plaintext value, encrypted with a fresh
//! random 96-bit nonce. The additional authenticated data binds it to where it belongs (an
//! event id and a field path, or a command id), so a sealed value moved elsewhere fails to open.
//!
//! The cipher needs the cargo feature `personal`. Without it, sealing and opening fail with a
//! crypto error; such a build refuses to declare personal data ([`Shredder::declare`]
//! (super::Shredder::declare)) and a secret, so nothing reaches them.

#[cfg(feature = "personal")]
use aes_gcm::aead::{Aead, KeyInit, Payload};
#[cfg(feature = "personal")]
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
#[cfg(feature = "personal")]
use serde_json::json;
use serde_json::{Map, Value};

use crate::core::error::{Error, Result};

/// The marker key of a sealed value, and its format version.
pub const SEALED_MARKER: &str = "$enc";
/// The format version written in [`SEALED_MARKER`].
pub const SEALED_VERSION: &str = "v1";

/// One data subject's key: 256 bits, with an id that sealed values name.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectKey {
    /// The data subject, such as a customer id.
    pub subject: String,
    /// The key's id (a subject may have several keys, made on different devices).
    pub id: String,
    /// The key, in standard base64.
    pub key: String,
}

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectKey")
            .field("subject", &self.subject)
            .field("id", &self.id)
            .field("key", &"<hidden>")
            .finish()
    }
}

impl SubjectKey {
    /// A fresh random key for `subject`.
    pub fn generate(subject: &str) -> Result<Self> {
        let mut key = [0u8; 32];
        let mut id = [0u8; 12];
        random(&mut key)?;
        random(&mut id)?;
        Ok(SubjectKey {
            subject: subject.to_owned(),
            id: hex(&id),
            key: STANDARD.encode(key),
        })
    }

    #[cfg(feature = "personal")]
    fn cipher(&self) -> Result<Aes256Gcm> {
        let bytes = STANDARD
            .decode(&self.key)
            .map_err(|_| Error::Crypto("a subject key is not base64".into()))?;
        Aes256Gcm::new_from_slice(&bytes)
            .map_err(|_| Error::Crypto("a subject key is not 256 bits".into()))
    }

    /// Seals `value` for the place `aad` names.
    #[cfg(feature = "personal")]
    pub fn seal(&self, aad: &str, value: &Value) -> Result<Value> {
        let plaintext = serde_json::to_vec(value)?;
        let mut nonce = [0u8; 12];
        random(&mut nonce)?;
        let ciphertext = self
            .cipher()?
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::Crypto("encryption failed".into()))?;
        Ok(json!({
            SEALED_MARKER: SEALED_VERSION,
            "k": self.subject,
            "i": self.id,
            "n": STANDARD.encode(nonce),
            "c": STANDARD.encode(ciphertext),
        }))
    }

    /// Seals nothing: this build has no cipher (cargo feature `personal`).
    #[cfg(not(feature = "personal"))]
    pub fn seal(&self, _aad: &str, _value: &Value) -> Result<Value> {
        Err(no_cipher())
    }

    /// Opens nothing: this build has no cipher (cargo feature `personal`).
    #[cfg(not(feature = "personal"))]
    pub fn open(&self, _aad: &str, _sealed: &Sealed<'_>) -> Result<Value> {
        Err(no_cipher())
    }

    /// Opens a value sealed for the place `aad` names; fails if it was sealed under another
    /// key, for another place, or changed.
    #[cfg(feature = "personal")]
    pub fn open(&self, aad: &str, sealed: &Sealed<'_>) -> Result<Value> {
        let nonce: [u8; 12] = STANDARD
            .decode(sealed.nonce)
            .ok()
            .and_then(|nonce| nonce.try_into().ok())
            .ok_or_else(|| Error::Crypto("a sealed value's nonce is malformed".into()))?;
        let ciphertext = STANDARD
            .decode(sealed.ciphertext)
            .map_err(|_| Error::Crypto("a sealed value's ciphertext is not base64".into()))?;
        let plaintext =
            self.cipher()?
                .decrypt(
                    &Nonce::from(nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| {
                    Error::Crypto(format!(
                    "a sealed value does not open under key {} (wrong key, moved or tampered)",
                    self.id
                ).into())
                })?;
        serde_json::from_slice(&plaintext)
            .map_err(|_| Error::Crypto("a sealed value's plaintext is not JSON".into()))
    }
}

/// The parts of a sealed value, borrowed from its JSON.
#[derive(Debug, Clone, Copy)]
pub struct Sealed<'a> {
    /// The data subject.
    pub subject: &'a str,
    /// The key's id.
    pub key_id: &'a str,
    // Read by the cipher alone (cargo feature `personal`).
    #[cfg_attr(not(feature = "personal"), allow(dead_code))]
    nonce: &'a str,
    #[cfg_attr(not(feature = "personal"), allow(dead_code))]
    ciphertext: &'a str,
}

impl<'a> Sealed<'a> {
    /// The sealed value `value` holds, if it is one; `Err` when it has the marker but is
    /// malformed.
    pub fn parse(value: &'a Value) -> Result<Option<Self>> {
        let Value::Object(fields) = value else {
            return Ok(None);
        };
        Self::parse_object(fields)
    }

    /// As [`Sealed::parse`], on an object.
    pub fn parse_object(fields: &'a Map<String, Value>) -> Result<Option<Self>> {
        let Some(version) = fields.get(SEALED_MARKER) else {
            return Ok(None);
        };
        let text = |name: &str| fields.get(name).and_then(Value::as_str);
        match (version.as_str(), text("k"), text("i"), text("n"), text("c")) {
            (Some(SEALED_VERSION), Some(subject), Some(key_id), Some(nonce), Some(ciphertext)) => {
                Ok(Some(Sealed {
                    subject,
                    key_id,
                    nonce,
                    ciphertext,
                }))
            }
            _ => Err(Error::Crypto("a sealed value is malformed".into())),
        }
    }
}

/// The error of sealing or opening in a build without the cargo feature `personal`.
#[cfg(not(feature = "personal"))]
fn no_cipher() -> Error {
    Error::Crypto(
        "this build of fieldstream has no cipher: it needs the cargo feature `personal`".into(),
    )
}

fn random(buffer: &mut [u8]) -> Result<()> {
    getrandom::fill(buffer).map_err(|error| Error::Crypto(format!("no randomness: {error}").into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(all(test, feature = "personal"))]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_in_its_place_under_its_key() {
        let key = SubjectKey::generate("c1").unwrap();
        let sealed = key.seal("e1/name", &json!("Ada")).unwrap();
        assert!(!sealed.to_string().contains("Ada"));
        let parts = Sealed::parse(&sealed).unwrap().unwrap();
        assert_eq!(key.open("e1/name", &parts).unwrap(), json!("Ada"));
        assert_eq!(key.open("e2/name", &parts).unwrap_err().code(), "crypto");
        let other = SubjectKey {
            id: key.id.clone(),
            ..SubjectKey::generate("c1").unwrap()
        };
        assert_eq!(other.open("e1/name", &parts).unwrap_err().code(), "crypto");
    }

    #[test]
    fn a_changed_ciphertext_fails() {
        let key = SubjectKey::generate("c1").unwrap();
        let mut sealed = key.seal("p", &json!({"street": "x"})).unwrap();
        let c = sealed["c"].as_str().unwrap().to_owned();
        let flipped = if c.starts_with('A') { "B" } else { "A" };
        sealed["c"] = json!(format!("{flipped}{}", &c[1..]));
        let parts = Sealed::parse(&sealed).unwrap().unwrap();
        assert_eq!(key.open("p", &parts).unwrap_err().code(), "crypto");
    }

    #[test]
    fn the_key_stays_out_of_debug_output() {
        let key = SubjectKey::generate("c1").unwrap();
        assert!(!format!("{key:?}").contains(&key.key));
    }
}
