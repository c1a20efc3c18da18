//! The rules an import checks, line by line, before anything it read can be committed: events
//! as the protocol allows them (ids, stream ids, types, schema versions, metadata), positions
//! 1, 2, 3… per tenant and versions 1, 2, 3… per stream in file order, each event id once per
//! tenant; keys with valid ids that open under the server's KEK as 32-byte keys, each
//! forgotten subject numbered 1, 2, 3… per tenant and holding no key.

use std::collections::{HashMap, HashSet};

use fieldstream::core::StreamId;
use fieldstream::protocol::ClientEvent;
use fieldstream::protocol::keys::{MAX_SUBJECT_LEN, is_valid_key_id};
use uuid::Uuid;

use crate::auth::MAX_TENANT_LEN;
use crate::backend::{ExportedEvent, KeyRecord};
use crate::kek::Kek;
use crate::routes::keys::is_valid_key;

/// What the lines read so far established.
#[derive(Default)]
pub struct Checker {
    heads: HashMap<String, u64>,
    versions: HashMap<(String, String), u64>,
    ids: HashMap<String, HashSet<Uuid>>,
    key_seqs: HashMap<(String, String), HashSet<u64>>,
    forgotten: HashMap<String, (u64, HashSet<String>)>,
}

fn check_tenant(tenant: &str) -> Result<(), String> {
    let length = tenant.chars().count();
    if length == 0 || length > MAX_TENANT_LEN || tenant.chars().any(char::is_control) {
        return Err(format!(
            "tenant {tenant:?}: a tenant is 1-{MAX_TENANT_LEN} characters, none a control character"
        ));
    }
    Ok(())
}

fn check_subject(subject: &str) -> Result<(), String> {
    let length = subject.chars().count();
    if length == 0 || length > MAX_SUBJECT_LEN || subject.chars().any(char::is_control) {
        return Err(format!(
            "subject {subject:?}: a subject is 1-{MAX_SUBJECT_LEN} characters, none a control character"
        ));
    }
    Ok(())
}

fn check_key_id(id: &str) -> Result<(), String> {
    if is_valid_key_id(id) {
        Ok(())
    } else {
        Err(format!(
            "key id {id:?}: a key id is 1-64 characters of A-Z a-z 0-9 _ -"
        ))
    }
}

impl Checker {
    /// Checks one exported event against the protocol and the lines before it.
    pub fn event(&mut self, exported: &ExportedEvent) -> Result<(), String> {
        let event = &exported.event;
        check_tenant(&exported.tenant)?;
        ClientEvent {
            id: event.id,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            data: serde_json::Value::Null,
            metadata: event.metadata.clone(),
        }
        .validate()
        .map_err(|error| format!("event {}: {error}", event.id))?;
        let head = self.heads.entry(exported.tenant.clone()).or_insert(0);
        if event.position != *head + 1 {
            return Err(format!(
                "tenant {:?}: position {} follows {}; positions must be 1, 2, 3…",
                exported.tenant, event.position, head
            ));
        }
        *head += 1;
        let key = (exported.tenant.clone(), event.stream.to_string());
        let version = self.versions.entry(key).or_insert(0);
        if event.version != *version + 1 {
            return Err(format!(
                "stream {}: version {} follows {}; versions must be 1, 2, 3…",
                event.stream, event.version, version
            ));
        }
        *version += 1;
        if !self
            .ids
            .entry(exported.tenant.clone())
            .or_default()
            .insert(event.id)
        {
            return Err(format!(
                "tenant {:?}: event id {} appears twice",
                exported.tenant, event.id
            ));
        }
        Ok(())
    }

    /// Checks one key-service record; for a key, returns its fingerprint under `kek`.
    pub fn key_record(&mut self, record: &KeyRecord, kek: &Kek) -> Result<String, String> {
        match record {
            KeyRecord::Key {
                tenant,
                subject,
                id,
                seq,
                sealed,
            } => {
                check_tenant(tenant)?;
                check_subject(subject)?;
                check_key_id(id)?;
                let forgotten = self
                    .forgotten
                    .get(tenant)
                    .is_some_and(|(_, subjects)| subjects.contains(subject));
                if forgotten {
                    return Err(format!("subject {subject:?} is forgotten and holds a key"));
                }
                let seqs = self
                    .key_seqs
                    .entry((tenant.clone(), subject.clone()))
                    .or_default();
                if *seq == 0 || !seqs.insert(*seq) {
                    return Err(format!(
                        "subject {subject:?}: key number {seq} is not 1 or more, or appears twice"
                    ));
                }
                let key = kek.open_key(tenant, subject, id, sealed).map_err(|_| {
                    format!(
                        "key {id:?} of subject {subject:?} does not open with this server's \
                         key-encryption key (--key-file / FIELDSTREAM_KEY_ENCRYPTION_KEY): \
                         import with the key file of the exported database"
                    )
                })?;
                if !is_valid_key(&key) {
                    return Err(format!(
                        "key {id:?} of subject {subject:?} is not a 32-byte key"
                    ));
                }
                Ok(kek.fingerprint(tenant, subject, id, &key))
            }
            KeyRecord::KeyStream {
                tenant,
                subject,
                id,
                stream,
            } => {
                check_tenant(tenant)?;
                check_subject(subject)?;
                check_key_id(id)?;
                StreamId::parse(stream.as_str())
                    .map_err(|error| format!("stream {stream:?}: {error}"))?;
                Ok(String::new())
            }
            KeyRecord::Forgotten {
                tenant,
                subject,
                seq,
            } => {
                check_tenant(tenant)?;
                check_subject(subject)?;
                if self
                    .key_seqs
                    .contains_key(&(tenant.clone(), subject.clone()))
                {
                    return Err(format!("subject {subject:?} is forgotten and holds a key"));
                }
                let (last, subjects) = self.forgotten.entry(tenant.clone()).or_default();
                if *seq != *last + 1 {
                    return Err(format!(
                        "tenant {tenant:?}: forgotten number {seq} follows {last}; they must be 1, 2, 3…"
                    ));
                }
                if !subjects.insert(subject.clone()) {
                    return Err(format!("subject {subject:?} is forgotten twice"));
                }
                *last = *seq;
                Ok(String::new())
            }
        }
    }
}
