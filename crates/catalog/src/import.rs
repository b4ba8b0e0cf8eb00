//! What comes into the catalog, and how: one policy for `tern catalog
//! import` and the portal's `POST /api/v1/lineage` alike.
//!
//! Everything is parsed before anything is written, so a bad file anywhere
//! writes nothing. Lineage is matched against the datasets and consumers
//! already in the catalog and those arriving in the same import. A relative
//! repository path means relative to where it came from: a Backstage file's
//! folder (`dir:`), an event file's folder, and for events that came with no
//! file (over HTTP) the folder of a file catalog; with none of these it is
//! left out with a warning, never resolved against a working directory.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::openlineage::{self, RunEvent};
use crate::{backstage, CatalogError, ImportBatch, ImportSummary, Result, Store};

/// An import being gathered: Backstage entities, and lineage events with
/// the folder their relative repository paths are resolved against.
#[derive(Debug, Default)]
pub struct Incoming {
    entities: ImportBatch,
    lineage: Vec<(Vec<RunEvent>, Option<PathBuf>)>,
    strict: bool,
}

/// What an import wrote, and what it left out and why.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    /// Counts of what was written.
    #[serde(flatten)]
    pub summary: ImportSummary,
    /// Lineage events read.
    pub events: usize,
    /// What was left out, in words.
    pub warnings: Vec<String>,
}

impl Incoming {
    /// Reads one catalog file: `.json`, `.ndjson` and `.jsonl` hold
    /// OpenLineage events, anything else Backstage YAML (docs/catalog.md).
    pub fn file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Unreadable {
            file: path.to_path_buf(),
            source,
        })?;
        self.text(&text, path)
    }

    /// Like [`Incoming::file`], for a file's text already read.
    pub fn text(&mut self, text: &str, path: &Path) -> Result<()> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if matches!(ext, "json" | "ndjson" | "jsonl") {
            let events = openlineage::parse(text, path)?;
            let folder = std::path::absolute(path)
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf));
            self.lineage.push((events, folder));
        } else {
            self.entities.extend(backstage::parse(text, path)?);
        }
        Ok(())
    }

    /// Makes every warning refuse the whole import, for CI-style use where a
    /// typo must fail the build rather than leave a dataset without readers.
    pub fn strict(&mut self) {
        self.strict = true;
    }

    /// Under [`Incoming::strict`], refuses what the files alone already
    /// warn about, before any catalog is opened or created.
    pub fn check(&self) -> Result<()> {
        if self.strict && !self.entities.warnings.is_empty() {
            return Err(CatalogError::Strict(self.entities.warnings.clone()));
        }
        Ok(())
    }

    /// Events that came with no file of their own; `home` is where their
    /// relative repository paths are resolved ([`Store::home`]).
    pub fn events(&mut self, events: Vec<RunEvent>, home: Option<PathBuf>) {
        self.lineage.push((events, home));
    }
}

/// Writes what was gathered in one transaction.
pub fn import(store: &dyn Store, incoming: Incoming) -> Result<Imported> {
    let Incoming {
        mut entities,
        lineage,
        strict,
    } = incoming;
    let mut events = 0;
    if !lineage.is_empty() {
        let mut known = store.datasets()?;
        known.extend(entities.datasets.iter().cloned());
        let mut consumers = store.consumers()?;
        consumers.extend(entities.consumers.iter().cloned());
        for (list, base) in &lineage {
            events += list.len();
            let batch = openlineage::to_batch(list, &known, &consumers, base.as_deref());
            // A later file's job in a repository an earlier one named is that consumer.
            consumers.extend(batch.discovered.iter().cloned());
            entities.extend(batch);
        }
    }
    if strict && !entities.warnings.is_empty() {
        return Err(CatalogError::Strict(entities.warnings));
    }
    let summary = store.import(&entities)?;
    Ok(Imported {
        summary,
        events,
        warnings: entities.warnings,
    })
}
