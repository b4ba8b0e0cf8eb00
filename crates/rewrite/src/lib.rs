//! tern's rewrite engine: a file's bytes and a migration's [`Rules`] in,
//! byte-range [`Edit`]s and unresolved [`Finding`]s out.
//!
//! The engine never touches the file system, never fails a file, and never
//! re-renders text: each language module returns byte ranges to splice, and
//! [`Engine::rewrite`] applies them after checking that they do not overlap, so
//! every byte outside an edit survives (docs/rules.md rule 3). A literal prefilter
//! over every locator ([`Engine::mentions`]) lets callers skip the ~98% of
//! files that never name the dataset before any parsing happens.
//!
//! ```
//! use tern_rewrite::{Engine, Rules, RuleInput};
//! use tern_spec::LocatorKind;
//! let rules = Rules::new(RuleInput {
//!     replace: vec![(LocatorKind::Path, vec!["/warehouse/plays".into()], "gs://lake/plays".into())],
//!     ..Default::default()
//! }).unwrap();
//! let engine = Engine::new(rules);
//! let out = engine.rewrite("job.py", b"load('/warehouse/plays/dt=1')\n");
//! assert_eq!(out.output.unwrap(), b"load('gs://lake/plays/dt=1')\n");
//! ```

mod code;
mod config;
mod dbt;
mod mapped;
mod name;
mod rules;
mod sql;
mod text;

use std::ops::Range;

use serde::Serialize;

pub use code::CodeModule;
pub use config::ConfigModule;
pub use dbt::DbtModule;
pub use rules::{Constant, DbtAlias, Locator, RuleError, RuleInput, Rules};
pub use sql::SqlModule;
pub use text::TextModule;

/// Files larger than this are never rewritten (docs/rules.md rule 10).
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// Replace the bytes in `range` with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Byte range in the original file.
    pub range: Range<usize>,
    /// The new text for that range.
    pub replacement: String,
}

/// A reference tern will not rewrite by itself, with its 1-based line and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, PartialOrd, Ord)]
pub struct Finding {
    /// 1-based line in the file.
    pub line: usize,
    /// Why it was left alone, in the user's words.
    pub reason: String,
}

impl Finding {
    /// A finding at byte `offset` of `bytes`: modules note offsets while they
    /// work and turn them into lines once.
    pub(crate) fn at(bytes: &[u8], offset: usize, reason: impl Into<String>) -> Finding {
        Finding {
            line: line_of(bytes, offset),
            reason: reason.into(),
        }
    }
}

/// Rule 11's verdict on a file: how many rewritten SQL statements were
/// parsed and scoped again on their new text, and the references that
/// failed. A failing statement is left whole, and a change with any failure
/// is never proposed.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaCheck {
    /// Rewritten statements checked.
    pub checked: usize,
    /// References that do not fit the new schema, by line.
    pub failures: Vec<Finding>,
}

impl SchemaCheck {
    /// Adds another file's or fragment's verdict to this one.
    pub fn absorb(&mut self, other: SchemaCheck) {
        self.checked += other.checked;
        self.failures.extend(other.failures);
    }
}

/// What a language module proposes for one file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Byte-range edits; may come in any order but must not overlap.
    pub edits: Vec<Edit>,
    /// References left alone.
    pub findings: Vec<Finding>,
    /// dbt sources of the dataset this file names, and what became of each.
    pub dbt: Vec<DbtSource>,
    /// The schema check of the SQL this file holds.
    pub schema: SchemaCheck,
    /// String constants this file defines that other files may name.
    pub constants: Vec<Constant>,
}

/// A dbt source naming the dataset (`source('shop', 'orders')` in a model,
/// its entry under `sources:`), and whether this file migrates it. A dbt
/// project only builds if every file agrees, so [`Engine::settle`] keeps a
/// source everywhere once any file must keep it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbtSource {
    /// Index of the table locator in [`Rules::locators`].
    pub locator: usize,
    /// True when this file's edits migrate it.
    pub renamed: bool,
    /// For a `sources:` entry, the source and table names that `source()`
    /// calls give it, and the source it moves to, if it leaves its source.
    pub declares: Option<DbtAlias>,
}

/// One file of a repository for [`Engine::settle`]: its path, its bytes
/// (needed only if its rewrite renames a dbt source) and its rewrite.
#[derive(Debug)]
pub struct TreeFile<'a> {
    /// Path relative to the repository.
    pub path: &'a str,
    /// The file as it is.
    pub bytes: Option<&'a [u8]>,
    /// What [`Engine::rewrite`] made of it; replaced when settling changes it.
    pub out: FileRewrite,
}

/// A language plug-in: turns one file into edits and findings.
///
/// Modules are pure functions of the rules, the path (for its extension) and
/// the bytes; they are tried in order and the first that claims a file wins.
pub trait Language: Send + Sync {
    /// Short name, used in logs.
    fn name(&self) -> &'static str;
    /// Whether this module understands the file at `path`.
    fn claims(&self, path: &str) -> bool;
    /// Proposes edits; never panics on any input.
    fn rewrite(&self, rules: &Rules, path: &str, text: &[u8]) -> Outcome;
}

/// The result of rewriting one file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileRewrite {
    /// The new content; `None` when nothing changes (the file stays byte-identical).
    pub output: Option<Vec<u8>>,
    /// How many edits were applied.
    pub edits: usize,
    /// References left alone, sorted by line.
    pub findings: Vec<Finding>,
    /// Files tern does not rewrite by design (binary, oversized) that name
    /// the dataset: told, but they do not make a consumer need attention
    /// (docs/json.md `notes`).
    pub notes: Vec<Finding>,
    /// dbt sources of the dataset the file names (see [`Engine::settle`]).
    pub dbt: Vec<DbtSource>,
    /// Rule 11's verdict on the file's rewritten SQL.
    pub schema: SchemaCheck,
    /// String constants the file defines that name the dataset (or part of
    /// its location), for other files that name them (see [`Learned`]).
    pub constants: Vec<Constant>,
}

/// What a first pass over a repository learned that one file cannot see:
/// the `sources:` entries dbt models name, and the string constants other
/// files name. Fed to [`Engine::second_pass`].
#[derive(Debug, Default, Clone)]
pub struct Learned {
    dbt_met: bool,
    dbt: Vec<DbtAlias>,
    constants: Vec<Constant>,
}

impl Learned {
    /// Takes in what one file's first-pass rewrite found.
    pub fn learn(&mut self, out: &FileRewrite) {
        self.dbt_met |= !out.dbt.is_empty();
        self.dbt
            .extend(out.dbt.iter().filter_map(|d| d.declares.clone()));
        self.constants.extend(out.constants.iter().cloned());
    }
}

/// Rules plus the language modules that apply them.
pub struct Engine {
    rules: Rules,
    languages: Vec<Box<dyn Language>>,
}

impl Engine {
    /// An engine with every built-in language module; plain text is the fallback.
    pub fn new(rules: Rules) -> Engine {
        // Text is the fallback, so it comes last.
        let mut languages: Vec<Box<dyn Language>> = vec![Box::new(DbtModule)];
        languages.extend(CodeModule::all().map(|m| Box::new(m) as Box<dyn Language>));
        languages.push(Box::new(ConfigModule));
        languages.push(Box::new(TextModule));
        Engine { rules, languages }
    }

    /// The rules this engine applies.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Cheap literal check: can this file name the dataset at all?
    pub fn mentions(&self, bytes: &[u8]) -> bool {
        self.rules.prefilter(bytes).is_some()
    }

    /// Whether [`rewrite`](Self::rewrite) might change or report this file,
    /// whatever its path: for readers that choose files by their bytes
    /// alone before rewriting (a forge reading blobs), so that no file the
    /// engine would have changed or reported is left unread. Wider than
    /// [`mentions`](Self::mentions): a locator's tail (`ROOT + "/plays"`),
    /// a constant of the repository, a known dbt source.
    pub fn may_rewrite(&self, bytes: &[u8]) -> bool {
        match utf16(bytes) {
            Some((text, _)) => self.gate(None, text.as_bytes()).is_some(),
            None => self.gate(None, bytes).is_some(),
        }
    }

    /// What `rewrite` looks at: `None` for a file it leaves alone, else
    /// whether a locator's last part occurs as a word (only then is parsing
    /// worth it). Besides the locators: a model calling a known dbt source,
    /// and in code (any file, when the path is not known) a constant of the
    /// repository or a locator's last part as a word (`BASE + "/plays"`).
    fn gate(&self, path: Option<&str>, bytes: &[u8]) -> Option<bool> {
        self.rules.prefilter(bytes).or_else(|| {
            let code = path.is_none_or(CodeModule::claimed);
            (self.rules.dbt_mentioned(bytes)
                || (code && self.rules.constants_mentioned(bytes))
                || (code && self.rules.tail_joined(bytes)))
            .then_some(true)
        })
    }

    /// Rewrites one file's bytes; `path` is relative and only used to pick a module.
    pub fn rewrite(&self, path: &str, bytes: &[u8]) -> FileRewrite {
        // UTF-16 with its byte-order mark is text (docs/rules.md rule 10): it is
        // read as UTF-8 and written back in its own encoding.
        if let Some((text, big_endian)) = utf16(bytes) {
            let mut out = self.rewrite(path, text.as_bytes());
            if let Some(o) = out.output.take() {
                out.output = Some(to_utf16(&String::from_utf8_lossy(&o), big_endian));
            }
            return out;
        }
        let Some(tail) = self.gate(Some(path), bytes) else {
            return FileRewrite::default();
        };
        if bytes.len() > MAX_FILE_BYTES || is_binary(bytes) {
            return self.untouchable(bytes);
        }
        let text = &self.languages[self.languages.len() - 1];
        let mut module = self
            .languages
            .iter()
            .find(|l| l.claims(path))
            .unwrap_or(text);
        // Parsing is the expensive part; a file where no locator's last part
        // occurs as a word gets nothing more from it than the text matcher
        // finds (every structural rule needs such a word nearby).
        if !tail {
            module = text;
        }
        let outcome = module.rewrite(&self.rules, path, bytes);
        apply(bytes, outcome)
    }

    /// Rewrites a repository's files held in memory, then [settles](Self::settle)
    /// them; the results are in the order of `files`.
    pub fn rewrite_all(&self, files: &[(&str, &[u8])]) -> Vec<FileRewrite> {
        let mut learned = Learned::default();
        for &(path, bytes) in files {
            learned.learn(&self.rewrite(path, bytes));
        }
        match self.second_pass(&learned) {
            Some(engine) => engine.settled_all(files),
            None => self.settled_all(files),
        }
    }

    fn settled_all(&self, files: &[(&str, &[u8])]) -> Vec<FileRewrite> {
        let mut tree: Vec<TreeFile> = files
            .iter()
            .map(|&(path, bytes)| TreeFile {
                path,
                bytes: Some(bytes),
                out: self.rewrite(path, bytes),
            })
            .collect();
        self.settle(&mut tree);
        tree.into_iter().map(|f| f.out).collect()
    }

    /// Some references cannot be read from their own file: a dbt model
    /// names a source (`source('shop', 'orders')`), not the table its
    /// `sources:` entry resolves it to, and a job names a constant another
    /// file defines (`ExampleData.TABLE`). When the first pass over a
    /// repository met either, this is the engine for a second pass that
    /// knows them; callers rewrite every file again with it (and settle).
    pub fn second_pass(&self, learned: &Learned) -> Option<Engine> {
        if self.rules.dbt_known() || (!learned.dbt_met && learned.constants.is_empty()) {
            return None;
        }
        Some(Engine::new(self.rules.with_repository(
            learned.dbt.clone(),
            learned.constants.clone(),
        )))
    }

    /// Makes a repository's files agree on its dbt sources: a source that one
    /// file keeps (a model's `SELECT *` held back, a `sources:` entry shared
    /// with other tables) and another renames would leave `source()` calls
    /// naming a source that no longer exists, so the renaming files are
    /// rewritten again keeping it, with a finding that says which file keeps
    /// it. Repeats until no file disagrees; files without dbt sources are
    /// untouched.
    pub fn settle(&self, files: &mut [TreeFile<'_>]) {
        let mut kept: Vec<(usize, String)> = Vec::new();
        loop {
            let mut more = Vec::new();
            for l in 0..self.rules.locators.len() {
                if kept.iter().any(|(k, _)| *k == l) {
                    continue;
                }
                let uses = |renamed: bool| {
                    files.iter().find(|f| {
                        f.out
                            .dbt
                            .iter()
                            .any(|d| d.locator == l && d.renamed == renamed)
                    })
                };
                if let (Some(keeper), Some(_)) = (uses(false), uses(true)) {
                    more.push((l, keeper.path.to_string()));
                }
            }
            if more.is_empty() {
                return;
            }
            kept.extend(more);
            let engine = Engine::new(self.rules.keeping_dbt(&kept));
            for f in files.iter_mut() {
                let renames_kept = f
                    .out
                    .dbt
                    .iter()
                    .any(|d| d.renamed && kept.iter().any(|(k, _)| *k == d.locator));
                if let (true, Some(bytes)) = (renames_kept, f.bytes) {
                    f.out = engine.rewrite(f.path, bytes);
                }
            }
        }
    }

    /// A binary or oversized file that names the dataset is reported, never edited.
    fn untouchable(&self, bytes: &[u8]) -> FileRewrite {
        let why = if bytes.len() > MAX_FILE_BYTES {
            "file is over 8 MiB; tern does not rewrite it"
        } else {
            "binary file names the dataset; tern does not rewrite binary files"
        };
        let found = text::find(&self.rules, bytes);
        let notes = found
            .matches
            .iter()
            .map(|m| m.range.start)
            .chain(found.unresolved.iter().map(|(at, _)| *at))
            .map(|at| Finding::at(bytes, at, why))
            .take(1)
            .collect();
        FileRewrite {
            output: None,
            edits: 0,
            findings: vec![],
            notes,
            dbt: vec![],
            schema: SchemaCheck::default(),
            constants: vec![],
        }
    }
}

/// A UTF-16 file (by its byte-order mark) as text, and whether it is big-endian.
fn utf16(bytes: &[u8]) -> Option<(String, bool)> {
    let big_endian = match bytes {
        [0xFF, 0xFE, ..] => false,
        [0xFE, 0xFF, ..] => true,
        _ => return None,
    };
    let body = &bytes[2..];
    if !body.len().is_multiple_of(2) || bytes.len() > MAX_FILE_BYTES {
        return None;
    }
    let units = body.chunks_exact(2).map(|c| {
        if big_endian {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
        .map(|s| (s, big_endian))
}

fn to_utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    out.extend_from_slice(if big_endian {
        &[0xFE, 0xFF]
    } else {
        &[0xFF, 0xFE]
    });
    for u in text.encode_utf16() {
        out.extend_from_slice(&if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    out
}

/// Git's heuristic: a NUL byte in the first 8000 bytes means binary.
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8000)]).is_some()
}

/// 1-based line of a byte offset.
pub fn line_of(bytes: &[u8], offset: usize) -> usize {
    memchr::memchr_iter(b'\n', &bytes[..offset.min(bytes.len())]).count() + 1
}

/// Applies non-overlapping edits. Overlapping edits are a module bug: they are
/// dropped and reported as a finding rather than producing a corrupt file.
fn apply(bytes: &[u8], mut outcome: Outcome) -> FileRewrite {
    outcome.edits.sort_by_key(|e| (e.range.start, e.range.end));
    outcome.edits.dedup();
    let mut kept: Vec<Edit> = Vec::with_capacity(outcome.edits.len());
    for edit in outcome.edits {
        if edit.range.end > bytes.len() || edit.range.start > edit.range.end {
            continue;
        }
        match kept.last() {
            Some(prev) if prev.range.end > edit.range.start => outcome.findings.push(Finding::at(
                bytes,
                edit.range.start,
                "two rewrites overlap here; left unchanged",
            )),
            _ => kept.push(edit),
        }
    }
    // Edits that replace text with itself are not changes.
    kept.retain(|e| bytes[e.range.clone()] != *e.replacement.as_bytes());
    outcome.findings.sort();
    outcome.findings.dedup();
    outcome.schema.failures.sort();
    outcome.schema.failures.dedup();
    if kept.is_empty() {
        return FileRewrite {
            output: None,
            edits: 0,
            findings: outcome.findings,
            notes: vec![],
            dbt: outcome.dbt,
            schema: outcome.schema,
            constants: outcome.constants,
        };
    }
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut at = 0;
    for e in &kept {
        out.extend_from_slice(&bytes[at..e.range.start]);
        out.extend_from_slice(e.replacement.as_bytes());
        at = e.range.end;
    }
    out.extend_from_slice(&bytes[at..]);
    FileRewrite {
        output: Some(out),
        edits: kept.len(),
        findings: outcome.findings,
        notes: vec![],
        dbt: outcome.dbt,
        schema: outcome.schema,
        constants: outcome.constants,
    }
}
