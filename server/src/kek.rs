//! The key-encryption key (KEK): the server's own 256-bit key that seals the key service's
//! subject keys at rest (AES-256-GCM, each bound to its tenant, subject and key id), and keys the
//! fingerprints that tell whether a key sent again is the one held. It comes from `--key-file`
//! or `FIELDSTREAM_KEY_ENCRYPTION_KEY` (standard base64 of 32 bytes); for the embedded SQLite
//! database the binary makes one on first start, next to the database file, readable by its
//! owner only.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a key-encryption key or a sealed value could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KekError {
    /// The text is not standard base64 of exactly 32 bytes.
    #[error("a key-encryption key is standard base64 of exactly 32 bytes")]
    Malformed,
    /// Reading or writing the key file failed.
    #[error("key file {path}: {error}")]
    File {
        /// The file.
        path: String,
        /// What failed.
        error: std::io::Error,
    },
    /// The system gave no randomness.
    #[error("no randomness available: {0}")]
    Random(String),
    /// A sealed value is malformed, or was sealed under another key or for another place.
    #[error("a sealed key does not open with this key-encryption key")]
    WrongKey,
}

/// The key-encryption key, split into a sealing key and a fingerprint key.
#[derive(Clone)]
pub struct Kek {
    cipher: Aes256Gcm,
    mac_key: [u8; 32],
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(<hidden>)")
    }
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master).expect("any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], KekError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| KekError::Random(error.to_string()))?;
    Ok(bytes)
}

/// The associated data that binds a sealed subject key to its place.
fn place(tenant: &str, subject: &str, key_id: &str) -> String {
    format!("fieldstream-subject-key\0{tenant}\0{subject}\0{key_id}")
}

impl Kek {
    /// The KEK of 32 raw bytes.
    pub fn from_bytes(master: [u8; 32]) -> Self {
        let sealing = derive(&master, "fieldstream kek: seal subject keys");
        Kek {
            cipher: Aes256Gcm::new_from_slice(&sealing).expect("32 bytes"),
            mac_key: derive(&master, "fieldstream kek: fingerprint subject keys"),
        }
    }

    /// A fresh random KEK.
    pub fn random() -> Self {
        Kek::from_bytes(random_bytes().expect("the system has randomness"))
    }

    /// The KEK written as standard base64 of 32 bytes (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, KekError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KekError::Malformed)?;
        let master: [u8; 32] = bytes.try_into().map_err(|_| KekError::Malformed)?;
        Ok(Kek::from_bytes(master))
    }

    /// Reads the KEK in `path`.
    pub fn read(path: &Path) -> Result<Self, KekError> {
        let file_error = |error| KekError::File {
            path: path.display().to_string(),
            error,
        };
        Kek::parse(&std::fs::read_to_string(path).map_err(file_error)?)
    }

    /// Reads the KEK in `path`, or makes a new one there (mode 0600) when the file is absent.
    /// Returns the key and whether it was made now.
    pub fn read_or_create(path: &Path) -> Result<(Self, bool), KekError> {
        if path.exists() {
            return Ok((Kek::read(path)?, false));
        }
        let master: [u8; 32] = random_bytes()?;
        let file_error = |error| KekError::File {
            path: path.display().to_string(),
            error,
        };
        let mut file = crate::files::create_private(path).map_err(file_error)?;
        writeln!(file, "{}", STANDARD.encode(master)).map_err(file_error)?;
        file.sync_all().map_err(file_error)?;
        Ok((Kek::from_bytes(master), true))
    }

    fn seal_bytes(&self, aad: &str, plaintext: &[u8]) -> String {
        let nonce: [u8; 12] = random_bytes().expect("the system has randomness");
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM seals any message this size");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        STANDARD.encode(out)
    }

    fn open_bytes(&self, aad: &str, sealed: &str) -> Result<Vec<u8>, KekError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| KekError::WrongKey)?;
        if bytes.len() < 12 {
            return Err(KekError::WrongKey);
        }
        let (nonce, body) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| KekError::WrongKey)?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: body,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| KekError::WrongKey)
    }

    /// Seals subject key `key` (its base64 text) for its place.
    pub fn seal_key(&self, tenant: &str, subject: &str, key_id: &str, key: &str) -> String {
        self.seal_bytes(&place(tenant, subject, key_id), key.as_bytes())
    }

    /// Opens a sealed subject key of that place; its base64 text.
    pub fn open_key(
        &self,
        tenant: &str,
        subject: &str,
        key_id: &str,
        sealed: &str,
    ) -> Result<String, KekError> {
        let plain = self.open_bytes(&place(tenant, subject, key_id), sealed)?;
        String::from_utf8(plain).map_err(|_| KekError::WrongKey)
    }

    /// A keyed fingerprint of subject key `key` at its place: equal fingerprints mean the same
    /// key, and without the KEK a fingerprint says nothing about the key.
    pub fn fingerprint(&self, tenant: &str, subject: &str, key_id: &str, key: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key).expect("32 bytes");
        mac.update(place(tenant, subject, key_id).as_bytes());
        mac.update(b"\0");
        mac.update(key.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }

    /// A value sealed under this KEK that [`Kek::verifies`] recognises: stored with a database
    /// so that a server started with another KEK refuses to run on it.
    pub fn check_value(&self) -> String {
        self.seal_bytes(CHECK_PLACE, CHECK_TEXT)
    }

    /// Whether `check` was made by [`Kek::check_value`] of this KEK.
    pub fn verifies(&self, check: &str) -> bool {
        self.open_bytes(CHECK_PLACE, check)
            .is_ok_and(|text| text == CHECK_TEXT)
    }
}

const CHECK_PLACE: &str = "fieldstream-kek-check";
const CHECK_TEXT: &[u8] = b"this database's keys are sealed under this key";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_at_their_place_under_their_kek() {
        let kek = Kek::random();
        let sealed = kek.seal_key("t", "s", "k1", "secret");
        assert_eq!(kek.open_key("t", "s", "k1", &sealed).unwrap(), "secret");
        assert!(kek.open_key("t", "s", "k2", &sealed).is_err());
        assert!(kek.open_key("u", "s", "k1", &sealed).is_err());
        assert!(Kek::random().open_key("t", "s", "k1", &sealed).is_err());
        assert!(kek.verifies(&kek.check_value()));
        assert!(!Kek::random().verifies(&kek.check_value()));
        assert_eq!(
            kek.fingerprint("t", "s", "k", "x"),
            kek.fingerprint("t", "s", "k", "x")
        );
        assert_ne!(
            kek.fingerprint("t", "s", "k", "x"),
            kek.fingerprint("t", "s", "k", "y")
        );
        assert!(Kek::parse("c2hvcnQ=").is_err());
    }
}
