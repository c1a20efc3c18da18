//! `export` and `import`: NDJSON backups of everything the server holds. One line per event (a
//! `ServerEvent` plus its `tenant`), ordered by tenant, then position; then one line per record
//! of the key service (`"kind": "key"` with the key still sealed under the KEK, `"key_stream"`,
//! `"forgotten"`). An import checks every line against the protocol's rules and writes all of
//! it in one transaction, or nothing.

mod check;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::backend::{AnyBackend, Backend, ExportedEvent, KeyRecord, KeyService, StoreError};
use crate::kek::Kek;

const CHUNK: u32 = 1_000;

/// A failed export or import.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing the file failed.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// A line of the file breaks a rule; nothing was imported.
    #[error("line {line}: {message}; nothing was imported")]
    Invalid {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The database's keys are sealed under another key-encryption key.
    #[error("the key-encryption key is not the one this database's keys are sealed under")]
    WrongKek,
    /// Import needs a database without events or keys.
    #[error(
        "the target database already holds {0} events or key-service records; import needs an empty database"
    )]
    NotEmpty(u64),
}

/// What an export wrote or an import read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events.
    pub events: u64,
    /// Records of the key service (keys, their streams, forgotten subjects).
    pub key_records: u64,
}

fn bar(len: u64, template: &str) -> ProgressBar {
    // Drawn on stderr only when it is a terminal.
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn write_line(out: &mut impl Write, value: &impl serde::Serialize) -> Result<(), TransferError> {
    serde_json::to_writer(&mut *out, value).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Writes every event of every tenant, then the key service's records, to `out`.
pub async fn export(backend: &AnyBackend, out: &mut impl Write) -> Result<Counts, TransferError> {
    let total = backend.count_events().await?;
    let progress = bar(total, "exporting {bar:40} {pos}/{len} events ({eta})");
    let mut counts = Counts::default();
    let mut after: Option<(String, u64)> = None;
    loop {
        let cursor = after
            .as_ref()
            .map(|(tenant, position)| (tenant.as_str(), *position));
        let page = backend.export_page(cursor, CHUNK).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.tenant.clone(), last.event.position));
        for event in &page {
            write_line(out, event)?;
        }
        counts.events += page.len() as u64;
        progress.inc(page.len() as u64);
    }
    let mut after: Option<KeyRecord> = None;
    loop {
        let page = backend.export_key_records(after.as_ref(), CHUNK).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.clone());
        for record in &page {
            write_line(out, record)?;
        }
        counts.key_records += page.len() as u64;
    }
    out.flush()?;
    progress.finish_and_clear();
    Ok(counts)
}

/// Writes the export to the file at `path`, created readable by its owner only.
pub async fn export_to(backend: &AnyBackend, path: &Path) -> Result<Counts, TransferError> {
    let file = crate::files::create_private(path)?;
    let mut out = std::io::BufWriter::new(file);
    let counts = export(backend, &mut out).await?;
    out.into_inner()
        .map_err(|error| error.into_error())?
        .sync_all()?;
    Ok(counts)
}

/// One line of an export.
enum Line {
    Event(Box<ExportedEvent>),
    Key(KeyRecord),
}

fn parse_line(text: &str) -> Result<Line, String> {
    let value: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    if value.get("kind").is_some() {
        serde_json::from_value(value)
            .map(Line::Key)
            .map_err(|error| error.to_string())
    } else {
        serde_json::from_value(value)
            .map(|event| Line::Event(Box::new(event)))
            .map_err(|error| error.to_string())
    }
}

/// Reads the export at `path` into an empty database, keeping ids, versions, positions, times
/// and sealed keys (which must open under `kek`). Every line is checked before the one
/// transaction is committed: a wrong line, or any failure, writes nothing.
pub async fn import(backend: &AnyBackend, kek: &Kek, path: &Path) -> Result<Counts, TransferError> {
    let input = BufReader::new(File::open(path)?);
    let progress = bar(
        std::fs::metadata(path)?.len(),
        "importing {bar:40} {bytes}/{total_bytes} ({eta})",
    );
    let mut tx = backend.begin_import().await?;
    let (existing, keys_empty) = tx.existing().await?;
    if existing > 0 || !keys_empty {
        return Err(TransferError::NotEmpty(existing.max(1)));
    }
    // The database takes the import's KEK with the import, or not at all.
    if !kek.verifies(&tx.store_kek_check(&kek.check_value()).await?) {
        return Err(TransferError::WrongKek);
    }
    let mut checker = check::Checker::default();
    let mut counts = Counts::default();
    let mut chunk: Vec<ExportedEvent> = Vec::with_capacity(CHUNK as usize);
    for (line, text) in (1u64..).zip(input.lines()) {
        let text = text?;
        progress.inc(text.len() as u64 + 1);
        if text.trim().is_empty() {
            continue;
        }
        let invalid = |message| TransferError::Invalid { line, message };
        match parse_line(&text).map_err(invalid)? {
            Line::Event(event) => {
                checker.event(&event).map_err(invalid)?;
                chunk.push(*event);
                if chunk.len() == CHUNK as usize {
                    tx.events(&chunk).await?;
                    counts.events += chunk.len() as u64;
                    chunk.clear();
                }
            }
            Line::Key(record) => {
                let fingerprint = checker.key_record(&record, kek).map_err(invalid)?;
                tx.key_record(&record, &fingerprint).await?;
                counts.key_records += 1;
            }
        }
    }
    if !chunk.is_empty() {
        tx.events(&chunk).await?;
        counts.events += chunk.len() as u64;
    }
    tx.commit().await?;
    progress.finish_and_clear();
    Ok(counts)
}
