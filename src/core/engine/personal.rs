//! The engine's side of personal data: loading the key ring, writing new keys before the
//! commits that need them, reloading when another tab made a key, and forgetting a subject.

use super::Engine;
use crate::core::error::{Error, Result};
use crate::core::outbox::RejectedCommand;
use crate::core::personal::{KeyUpdate, Shredder, SubjectKey};
use crate::core::storage::{EventLog, EventStore, KeyVault, ReadModelStore};

impl<S: EventLog + ReadModelStore + KeyVault> Engine<S> {
    /// The shredder that seals and opens personal data.
    pub fn shredder(&self) -> &Shredder {
        &self.shredder
    }

    /// Loads the store's keys into the ring once, when some aggregate declares personal data.
    pub(super) async fn ensure_keys(&self) -> Result<()> {
        if self.shredder.is_active() && !self.shredder.ring().is_loaded() {
            self.reload_keys().await?;
        }
        Ok(())
    }

    /// Loads the store's keys into the ring again.
    pub async fn reload_keys(&self) -> Result<()> {
        let stored = self.store.keys().await?;
        self.shredder.load(stored);
        Ok(())
    }

    /// Whether `result` failed on a key the ring lacks, after reloading the ring (another tab
    /// may have made the key): then the caller tries once more.
    pub(super) async fn retry_with_new_keys<T>(&self, result: &Result<T>) -> Result<bool> {
        if matches!(result, Err(Error::Crypto(_))) && self.shredder.ring().take_missing() {
            self.reload_keys().await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Writes the keys made in memory and not stored yet; before any commit that uses them.
    pub(super) async fn save_new_keys(&self) -> Result<()> {
        let unsaved = self.shredder.unsaved();
        if unsaved.is_empty() {
            return Ok(());
        }
        self.store
            .update_keys(&KeyUpdate {
                put: unsaved.clone(),
                ..Default::default()
            })
            .await?;
        self.shredder.ring().saved(&unsaved);
        Ok(())
    }

    /// Adds keys that another device made (fetched from the key service), storing them.
    pub async fn add_keys(&self, keys: Vec<SubjectKey>) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.ensure_keys().await?;
        self.store
            .update_keys(&KeyUpdate {
                put: keys.clone(),
                ..Default::default()
            })
            .await?;
        let mut ring = self.shredder.ring();
        for key in keys {
            ring.insert(key);
        }
        Ok(())
    }

    /// Forgets data subject `subject` on this device: deletes its keys, so every read path
    /// shows its personal fields as [`REDACTED`](crate::core::personal::REDACTED), and
    /// rebuilds every read model so that no decrypted value of theirs stays in one.
    /// The forget is queued for the server (a sync client sends it).
    pub async fn forget_subject(&self, subject: &str) -> Result<()> {
        self.forget_with(&[subject.to_owned()], true).await
    }

    /// [`Engine::forget_subject`] for subjects the server reports forgotten (nothing queued).
    pub async fn forget_subjects(&self, subjects: &[String]) -> Result<()> {
        self.forget_with(subjects, false).await
    }

    /// Subjects forgotten here that the server has not been told of yet.
    pub async fn unsent_forgets(&self) -> Result<Vec<String>> {
        Ok(self.store.keys().await?.unsent)
    }

    /// Records that the server now knows `subjects` are forgotten.
    pub async fn forgets_sent(&self, subjects: &[String]) -> Result<()> {
        self.store
            .update_keys(&KeyUpdate {
                sent: subjects.to_vec(),
                ..Default::default()
            })
            .await
    }

    async fn forget_with(&self, subjects: &[String], announce: bool) -> Result<()> {
        if subjects.is_empty() {
            return Ok(());
        }
        // States folded from the subjects' personal data are not kept.
        self.warm.clear();
        self.ensure_keys().await?;
        self.store
            .update_keys(&KeyUpdate {
                forget: subjects.to_vec(),
                announce,
                ..Default::default()
            })
            .await?;
        {
            let mut ring = self.shredder.ring();
            for subject in subjects {
                ring.forget(subject);
            }
        }
        self.projector.force_rebuilds();
        self.retries.borrow_mut().clear();
        let rebuilt = self.rebuild_all().await;
        if rebuilt.is_err() {
            // The next catch-up step starts the rebuild over.
            self.projector.force_rebuilds();
        }
        rebuilt?;
        self.refresh_subscriptions().await;
        Ok(())
    }

    /// Runs every projection's forced rebuild to its end; the first failure stops it.
    async fn rebuild_all(&self) -> Result<()> {
        for registered in self.projector.all() {
            let name = registered.projection.name();
            while !self
                .store
                .run_projection(&self.projector, name, 500)
                .await?
                .finished
            {}
        }
        Ok(())
    }
}

impl<S: EventStore> Engine<S> {
    /// The rejected inbox, oldest first, with its personal data opened (or redacted) and the
    /// events that caused each rejection upcast, as every read path shows events.
    pub async fn rejected(&self) -> Result<Vec<RejectedCommand>> {
        let rejected = self.store.rejected().await?;
        if !self.shredder.is_active() && self.upcasters.is_empty() {
            return Ok(rejected);
        }
        self.ensure_keys().await?;
        rejected
            .into_iter()
            .map(|entry| {
                Ok(RejectedCommand {
                    command: self
                        .shredder
                        .reveal_command(&entry.command_id, &entry.command)?,
                    caused_by: self.upcast_all(entry.caused_by.clone())?,
                    ..entry
                })
            })
            .collect()
    }
}
