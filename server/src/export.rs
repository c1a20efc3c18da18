//! `export` and `import`: NDJSON backups that keep tenants, ids, versions and positions.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::{Backend, ExportedEvent, StoreError};

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
    /// A line of the file is not an exported event.
    #[error("line {line}: {message}")]
    Invalid {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Import needs a database without events.
    #[error("the target database already holds {0} events; import needs an empty database")]
    NotEmpty(u64),
}

fn bar(len: u64, template: &str) -> ProgressBar {
    // Drawn on stderr only when it is a terminal.
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Writes every event of every tenant to `out`, one JSON object per line; returns the count.
pub async fn export(backend: &impl Backend, out: &mut impl Write) -> Result<u64, TransferError> {
    let total = backend.count_events().await?;
    let progress = bar(total, "exporting {bar:40} {pos}/{len} events ({eta})");
    let mut after: Option<(String, u64)> = None;
    let mut count = 0;
    loop {
        let page = backend
            .export_page(
                after
                    .as_ref()
                    .map(|(tenant, position)| (tenant.as_str(), *position)),
                CHUNK,
            )
            .await?;
        let Some(last) = page.last() else { break };
        after = Some((last.tenant.clone(), last.event.position));
        for event in &page {
            serde_json::to_writer(&mut *out, event).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
        count += page.len() as u64;
        progress.inc(page.len() as u64);
    }
    out.flush()?;
    progress.finish_and_clear();
    Ok(count)
}

/// Checks that events arrive as an export writes them: per tenant, positions 1, 2, 3…; per
/// stream, versions 1, 2, 3….
#[derive(Default)]
struct Continuity {
    heads: HashMap<String, u64>,
    versions: HashMap<(String, String), u64>,
}

impl Continuity {
    fn check(&mut self, exported: &ExportedEvent) -> Result<(), String> {
        let head = self.heads.entry(exported.tenant.clone()).or_insert(0);
        if exported.event.position != *head + 1 {
            return Err(format!(
                "tenant {:?}: position {} follows {}; positions must be 1, 2, 3…",
                exported.tenant, exported.event.position, head
            ));
        }
        *head += 1;
        let key = (exported.tenant.clone(), exported.event.stream.to_string());
        let version = self.versions.entry(key).or_insert(0);
        if exported.event.version != *version + 1 {
            return Err(format!(
                "stream {}: version {} follows {}",
                exported.event.stream, exported.event.version, version
            ));
        }
        *version += 1;
        Ok(())
    }
}

/// Reads an export from `input` (`size` bytes, for the progress bar) into an empty database.
pub async fn import(
    backend: &impl Backend,
    input: impl BufRead,
    size: u64,
) -> Result<u64, TransferError> {
    let existing = backend.count_events().await?;
    if existing > 0 {
        return Err(TransferError::NotEmpty(existing));
    }
    let progress = bar(size, "importing {bar:40} {bytes}/{total_bytes} ({eta})");
    let mut continuity = Continuity::default();
    let mut chunk = Vec::with_capacity(CHUNK as usize);
    let mut count = 0;
    for (index, line) in (1u64..).zip(input.lines()) {
        let line = line?;
        progress.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        let invalid = |message: String| TransferError::Invalid {
            line: index,
            message,
        };
        let event: ExportedEvent =
            serde_json::from_str(&line).map_err(|error| invalid(error.to_string()))?;
        continuity.check(&event).map_err(invalid)?;
        chunk.push(event);
        if chunk.len() == CHUNK as usize {
            backend.import_chunk(&chunk).await?;
            count += chunk.len() as u64;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        backend.import_chunk(&chunk).await?;
        count += chunk.len() as u64;
    }
    progress.finish_and_clear();
    Ok(count)
}
