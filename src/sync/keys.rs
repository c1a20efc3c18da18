//! Sync of personal-data keys with the server's key service: before a round pushes events, the
//! keys they were sealed with go up (`PUT /v1/keys/{subject}`); before pulled events are stored,
//! the keys they need and this device lacks come down; each round learns the subjects forgotten
//! on the server since the last, and forgets them here too. Nothing here runs for an engine
//! whose aggregates declare no personal data.

use std::collections::BTreeMap;

use super::{SyncClient, Transport};
use crate::core::personal::SubjectKey;
use crate::core::{Error, EventEnvelope, Result, StreamId};
use crate::protocol::{ErrorBody, ErrorCode, KeyEntry, PutKeys, SubjectKeys};
use crate::store::EventStore;

fn refused(what: &str, body: ErrorBody) -> Error {
    Error::Network(
        format!(
            "the key service refused to {what}: {} {}",
            body.error, body.message
        )
        .into(),
    )
}

impl<S: EventStore, T: Transport> SyncClient<S, T> {
    /// Sends the keys `events` (of `stream`) were sealed with, naming the stream (a token
    /// limited to some streams may only add keys for them); a subject the server reports
    /// forgotten is forgotten here too.
    pub(super) async fn push_keys(
        &self,
        stream: &StreamId,
        events: &[EventEnvelope],
    ) -> Result<()> {
        let shredder = self.engine.shredder();
        if !shredder.is_active() {
            return Ok(());
        }
        let sealed = shredder.sealed_keys(events);
        if sealed
            .iter()
            .any(|(subject, id)| shredder.ring().get(subject, id).is_none())
        {
            // Another tab of this device made the key: it is in the store.
            self.engine.reload_keys().await?;
        }
        let mut by_subject: BTreeMap<String, Vec<KeyEntry>> = BTreeMap::new();
        for (subject, id) in sealed {
            if let Some(key) = shredder.ring().get(&subject, &id) {
                by_subject.entry(subject).or_default().push(KeyEntry {
                    id: key.id.clone(),
                    key: key.key.clone(),
                });
            }
        }
        let mut forgotten = Vec::new();
        for (subject, keys) in by_subject {
            let put = PutKeys {
                keys,
                stream: Some(stream.clone()),
            };
            let answer = self
                .retrying(async || self.transport.put_subject_keys(&subject, &put).await)
                .await?
                .map_err(|body| refused("store keys", body))?;
            if answer.forgotten {
                forgotten.push(subject);
            }
        }
        self.engine.forget_subjects(&forgotten).await
    }

    /// Fetches the keys that `events` need and this device lacks.
    pub(super) async fn fetch_keys(&self, events: &[EventEnvelope]) -> Result<()> {
        let shredder = self.engine.shredder();
        if !shredder.is_active() {
            return Ok(());
        }
        let mut subjects: Vec<String> = shredder
            .missing_keys(events)
            .into_iter()
            .map(|(subject, _)| subject)
            .collect();
        subjects.dedup();
        let mut keys = Vec::new();
        let mut forgotten = Vec::new();
        for subject in subjects {
            let answer: SubjectKeys = self
                .retrying(async || self.transport.subject_keys(&subject).await)
                .await?
                .map_err(|body| refused("give keys", body))?;
            if answer.forgotten {
                forgotten.push(subject);
                continue;
            }
            keys.extend(answer.keys.into_iter().map(|entry| SubjectKey {
                subject: subject.clone(),
                id: entry.id,
                key: entry.key,
            }));
        }
        self.engine.add_keys(keys).await?;
        self.engine.forget_subjects(&forgotten).await
    }

    /// Forgets here the subjects forgotten on the server since the last round.
    pub(super) async fn learn_forgotten(&self) -> Result<()> {
        if !self.engine.shredder().is_active() {
            return Ok(());
        }
        loop {
            let after = self.forgotten_after.get();
            let page = self
                .retrying(async || self.transport.forgotten(after).await)
                .await?
                .map_err(|body| refused("list forgotten subjects", body))?;
            let Some(last) = page.forgotten.last().map(|f| f.seq) else {
                return Ok(());
            };
            let new: Vec<String> = page
                .forgotten
                .into_iter()
                .map(|f| f.subject)
                .filter(|subject| !self.engine.shredder().ring().is_forgotten(subject))
                .collect();
            self.engine.forget_subjects(&new).await?;
            self.forgotten_after.set(last);
        }
    }

    /// Forgets data subject `subject` here, then on the server (`DELETE /v1/keys/{subject}`).
    /// When the server cannot be reached, the forget waits in the key store and a later sync
    /// round sends it.
    pub async fn forget_subject(&self, subject: &str) -> Result<()> {
        self.engine.forget_subject(subject).await?;
        match self.send_forgets().await {
            Err(Error::Network(_)) => Ok(()),
            other => other,
        }
    }

    /// Tells the server of the subjects forgotten here that it has not heard of yet. A forget
    /// the server refuses as `forbidden` (the token lacks the `keys:forget` scope, or reads
    /// only some of the subject's streams) stays queued, and the round goes on without it.
    pub(super) async fn send_forgets(&self) -> Result<()> {
        if !self.engine.shredder().is_active() {
            return Ok(());
        }
        for subject in self.engine.unsent_forgets().await? {
            match self
                .retrying(async || self.transport.forget_subject(&subject).await)
                .await?
            {
                Ok(_) => self.engine.forgets_sent(&[subject]).await?,
                Err(body) if body.error == ErrorCode::Forbidden => {}
                Err(body) => return Err(refused("forget a subject", body)),
            }
        }
        Ok(())
    }
}
