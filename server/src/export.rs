//! `export` and `import`: NDJSON backups that keep tenants, ids, versions and positions.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

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

/// Reads the export at `path` into an empty database. The whole file is checked first (every
/// line parses; positions and versions run 1, 2, 3…), so a broken file writes nothing.
pub async fn import(backend: &impl Backend, path: &Path) -> Result<u64, TransferError> {
    let existing = backend.count_events().await?;
    if existing > 0 {
        return Err(TransferError::NotEmpty(existing));
    }
    let size = std::fs::metadata(path)?.len();
    let progress = bar(size * 2, "importing {bar:40} {bytes}/{total_bytes} ({eta})");
    let mut continuity = Continuity::default();
    for item in events_in(path, &progress)? {
        let (line, event) = item?;
        continuity
            .check(&event)
            .map_err(|message| TransferError::Invalid { line, message })?;
    }
    let mut chunk = Vec::with_capacity(CHUNK as usize);
    let mut count = 0;
    for item in events_in(path, &progress)? {
        chunk.push(item?.1);
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

/// The events of the file at `path`, each with its 1-based line number.
fn events_in<'a>(
    path: &Path,
    progress: &'a ProgressBar,
) -> Result<impl Iterator<Item = Result<(u64, ExportedEvent), TransferError>> + 'a, TransferError> {
    let input = BufReader::new(File::open(path)?);
    Ok((1u64..).zip(input.lines()).filter_map(move |(line, text)| {
        let text = match text {
            Ok(text) => text,
            Err(error) => return Some(Err(error.into())),
        };
        progress.inc(text.len() as u64 + 1);
        if text.trim().is_empty() {
            return None;
        }
        Some(
            serde_json::from_str(&text)
                .map(|event| (line, event))
                .map_err(|error| TransferError::Invalid {
                    line,
                    message: error.to_string(),
                }),
        )
    }))
}
