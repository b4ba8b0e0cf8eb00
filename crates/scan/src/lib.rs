//! Walks directory trees for the rewrite engine and writes what it returns.
//!
//! The rewrite crate is pure (bytes in, edits out); this crate is the one place
//! that reads and writes consumer files. It keeps docs/rules.md rule 10: nothing
//! under `.git/`, no file git ignores, no symbolic link (so nothing outside the
//! tree), while hidden files such as `.github/workflows/` are scanned. Binary
//! and oversized files are handed to the engine, which reports them if they name
//! the dataset but never edits them. Work is spread over every core by the
//! `ignore` crate's parallel walker, and each file is written atomically (a
//! temporary file renamed over the old one, permissions kept).
//!
//! ```no_run
//! # fn demo(engine: &tern_rewrite::Engine) -> Result<(), tern_scan::ScanError> {
//! let report = tern_scan::scan_tree(engine, std::path::Path::new("repo"), &|_| {})?;
//! tern_scan::write_changes(std::path::Path::new("repo"), &report)?;
//! # Ok(()) }
//! ```

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use tern_rewrite::{Engine, FileRewrite, Learned, TreeFile, MAX_FILE_BYTES};

/// Files beyond this size are not even read for reporting.
const MAX_READ_BYTES: u64 = 64 * 1024 * 1024;

/// A tree could not be scanned or written.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The directory to scan does not exist or is not a directory.
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    /// Writing a rewritten file failed; the original is intact.
    #[error("{path}: could not write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl ScanError {
    /// True when the user's input was at fault (exit status 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, ScanError::NotADirectory(_))
    }
}

/// A reference left alone, located in the tree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct PathFinding {
    /// Path relative to the scanned root, `/`-separated.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// Why it was left alone.
    pub reason: String,
}

/// One file the rules change.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// Path relative to the scanned root, `/`-separated.
    pub path: String,
    /// Edits applied.
    pub edits: usize,
    /// The file as it was.
    pub before: Vec<u8>,
    /// The file as it will be.
    pub after: Vec<u8>,
}

/// Rule 11 over a tree: rewritten SQL statements checked against the new
/// schema, and the references that failed. Any failure means the change
/// must not be proposed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchemaReport {
    /// Rewritten statements checked.
    pub checked: usize,
    /// References that failed, also listed among the tree's findings.
    pub failures: Vec<PathFinding>,
}

impl SchemaReport {
    /// True when nothing failed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Everything the rules would do to one tree.
#[derive(Debug, Clone, Default)]
pub struct TreeReport {
    /// Changed files, sorted by path.
    pub files: Vec<FileChange>,
    /// Unresolved references, sorted by path and line; schema-check
    /// failures included.
    pub findings: Vec<PathFinding>,
    /// Files tern does not rewrite by design that name the dataset (binary,
    /// oversized): told, never a reason for attention (docs/json.md `notes`).
    pub notes: Vec<PathFinding>,
    /// The schema check of the rewritten SQL (rule 11).
    pub schema: SchemaReport,
    /// Files looked at.
    pub files_scanned: u64,
    /// Bytes read.
    pub bytes_scanned: u64,
}

impl TreeReport {
    /// Total edits over all files.
    pub fn edits(&self) -> usize {
        self.files.iter().map(|f| f.edits).sum()
    }
}

/// Scans `root` with the engine; reports changes without writing anything.
/// `progress` is called with the running count of files scanned.
pub fn scan_tree(
    engine: &Engine,
    root: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<TreeReport, ScanError> {
    if !root.is_dir() {
        return Err(ScanError::NotADirectory(root.to_path_buf()));
    }
    let (found, scanned, bytes) = walk(engine, root, progress);
    // dbt models name a source, not the table: once the first walk has met
    // the repository's `sources:` entries, a second walk can see them.
    match engine.second_pass(&found.learned) {
        Some(engine) => {
            let (found, scanned, bytes) = walk(&engine, root, progress);
            Ok(found.finish(&engine, scanned, bytes))
        }
        None => Ok(found.finish(engine, scanned, bytes)),
    }
}

/// One pass of the engine over a tree: what it found, files and bytes read.
fn walk(engine: &Engine, root: &Path, progress: &(dyn Fn(u64) + Sync)) -> (Collect, u64, u64) {
    let found = Mutex::new(Collect::default());
    let scanned = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .ignore(false)
        .parents(false)
        .require_git(false)
        .follow_links(false)
        .threads(threads)
        .filter_entry(|e| e.file_name() != ".git")
        .build_parallel();
    walker.run(|| {
        Box::new(|entry| {
            let Ok(entry) = entry else {
                return ignore::WalkState::Continue;
            };
            // Only regular files: a symbolic link is never followed, in or out.
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return ignore::WalkState::Continue;
            }
            let rel = relative(root, entry.path());
            let n = scanned.fetch_add(1, Ordering::Relaxed) + 1;
            progress(n);
            BUFFER.with_borrow_mut(|data| match read_into(entry.path(), data) {
                Ok(true) => {
                    bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                    let out = engine.rewrite(&rel, data);
                    // Most files do not name the dataset: nothing to keep.
                    if out.output.is_some()
                        || !out.findings.is_empty()
                        || !out.notes.is_empty()
                        || !out.dbt.is_empty()
                        || !out.schema.failures.is_empty()
                        || !out.constants.is_empty()
                    {
                        found.lock().unwrap_or_else(|e| e.into_inner()).add(
                            rel.into_owned(),
                            data.clone(),
                            out,
                        );
                    }
                }
                Ok(false) => {}
                Err(e) => found
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .findings
                    .push(PathFinding {
                        path: rel.into_owned(),
                        line: 1,
                        reason: format!("could not read the file: {e}"),
                    }),
            });
            ignore::WalkState::Continue
        })
    });
    (
        found.into_inner().unwrap_or_else(|e| e.into_inner()),
        scanned.into_inner(),
        bytes.into_inner(),
    )
}

/// Applies the engine to files already in memory, such as blobs read from a
/// commit without a checkout; `files` are `(relative path, bytes)` and are
/// taken to be the repository's own (regular, tracked) files.
pub fn scan_files(
    engine: &Engine,
    files: impl IntoIterator<Item = (String, Vec<u8>)>,
) -> TreeReport {
    scan_selected(engine, files.into_iter().collect(), |_| Vec::new())
}

/// As [`scan_files`], for files picked from a larger tree by their bytes
/// ([`Engine::may_rewrite`]): when the first pass learns of the repository's
/// constants or dbt sources, `more` is asked for the tree's files the second
/// pass's engine may rewrite, and those not yet held join the second pass
/// (a job naming a constant of another file holds no locator itself).
pub fn scan_selected(
    engine: &Engine,
    mut files: Vec<(String, Vec<u8>)>,
    more: impl FnOnce(&Engine) -> Vec<(String, Vec<u8>)>,
) -> TreeReport {
    let pass = |engine: &Engine, files: &[(String, Vec<u8>)]| {
        let mut found = Collect::default();
        for (path, data) in files {
            let out = engine.rewrite(path, data);
            found.add(path.clone(), data.clone(), out);
        }
        found
    };
    let found = pass(engine, &files);
    match engine.second_pass(&found.learned) {
        Some(second) => {
            let held: std::collections::HashSet<String> =
                files.iter().map(|(p, _)| p.clone()).collect();
            let before = files.len();
            files.extend(more(&second).into_iter().filter(|(p, _)| !held.contains(p)));
            if files.len() > before {
                files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            }
            let (scanned, bytes) = totals(&files);
            pass(&second, &files).finish(&second, scanned, bytes)
        }
        None => {
            let (scanned, bytes) = totals(&files);
            found.finish(engine, scanned, bytes)
        }
    }
}

fn totals(files: &[(String, Vec<u8>)]) -> (u64, u64) {
    (
        files.len() as u64,
        files.iter().map(|(_, d)| d.len() as u64).sum(),
    )
}

/// What the engine made of a tree's files so far.
#[derive(Default)]
struct Collect {
    files: Vec<FileChange>,
    findings: Vec<PathFinding>,
    notes: Vec<PathFinding>,
    schema: SchemaReport,
    /// Files naming a dbt source, held back until the tree is settled.
    dbt: Vec<(String, Vec<u8>, FileRewrite)>,
    /// What a second pass needs to know of the repository.
    learned: Learned,
}

impl Collect {
    fn add(&mut self, path: String, data: Vec<u8>, out: FileRewrite) {
        self.learned.learn(&out);
        if out.dbt.is_empty() {
            self.settled(path, data, out);
        } else {
            self.dbt.push((path, data, out));
        }
    }

    fn settled(&mut self, path: String, data: Vec<u8>, out: FileRewrite) {
        let at = |f: tern_rewrite::Finding| PathFinding {
            path: path.clone(),
            line: f.line,
            reason: f.reason,
        };
        self.schema.checked += out.schema.checked;
        let failures: Vec<PathFinding> = out.schema.failures.into_iter().map(at).collect();
        self.findings.extend(failures.iter().cloned());
        self.schema.failures.extend(failures);
        self.findings.extend(out.findings.into_iter().map(at));
        self.notes.extend(out.notes.into_iter().map(at));
        if let Some(after) = out.output {
            self.files.push(FileChange {
                path,
                edits: out.edits,
                before: data,
                after,
            });
        }
    }

    /// Makes the files agree on their dbt sources ([`Engine::settle`]) and
    /// sorts everything into a report.
    fn finish(mut self, engine: &Engine, files_scanned: u64, bytes_scanned: u64) -> TreeReport {
        let dbt = std::mem::take(&mut self.dbt);
        let mut tree: Vec<TreeFile> = dbt
            .iter()
            .map(|(path, data, out)| TreeFile {
                path,
                bytes: Some(data),
                out: out.clone(),
            })
            .collect();
        engine.settle(&mut tree);
        let outs: Vec<FileRewrite> = tree.into_iter().map(|f| f.out).collect();
        for ((path, data, _), out) in dbt.into_iter().zip(outs) {
            self.settled(path, data, out);
        }
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        self.findings.sort();
        self.notes.sort();
        self.schema.failures.sort();
        TreeReport {
            files: self.files,
            findings: self.findings,
            notes: self.notes,
            schema: self.schema,
            files_scanned,
            bytes_scanned,
        }
    }
}

thread_local! {
    /// Each walker thread reads every file into the same buffer: most files
    /// are dropped once the prefilter has looked at them.
    static BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(SMALL_READ));
}

/// Files up to this size are read without asking their size first.
const SMALL_READ: usize = 64 * 1024;

/// Reads a file into `data`; `false` when it is too large to be worth
/// reading. A small file costs an `open`, a `read` and a `read` that finds
/// its end; only one that fills the first 64 KiB is asked its size.
fn read_into(path: &Path, data: &mut Vec<u8>) -> std::io::Result<bool> {
    let f = fs::File::open(path)?;
    data.clear();
    (&f).take(SMALL_READ as u64).read_to_end(data)?;
    if data.len() == SMALL_READ {
        let len = f.metadata()?.len();
        if len <= MAX_READ_BYTES {
            (&f).take(MAX_READ_BYTES + 1 - SMALL_READ as u64)
                .read_to_end(data)?;
        }
        if len > MAX_READ_BYTES || data.len() as u64 > MAX_READ_BYTES {
            tracing::warn!(path = %path.display(), len, "file too large to scan");
            return Ok(false);
        }
    }
    Ok(true)
}

/// `path` below `root`, `/`-separated; borrowed when it is valid UTF-8.
fn relative<'p>(root: &Path, path: &'p Path) -> std::borrow::Cow<'p, str> {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy()
}

/// Writers per core: a writer spends most of its time waiting in the kernel
/// (creating the temporary file, the rename), not on a core.
const WRITERS_PER_CORE: usize = 4;

/// Writes every changed file of a report under `root`, each atomically.
/// The files are written by several threads per core: each rename makes ext4
/// start writing the new data out, and those waits overlap across files
/// (738 files: 120 ms with one writer per core, 100 ms with four). On an
/// error the files not yet written are left as they were.
pub fn write_changes(root: &Path, report: &TreeReport) -> Result<(), ScanError> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .saturating_mul(WRITERS_PER_CORE)
        .min(report.files.len());
    if threads <= 1 {
        return report.files.iter().try_for_each(|f| write_one(root, f));
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let first_error = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let Some(f) = report.files.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    if let Err(e) = write_one(root, f) {
                        failed.store(true, Ordering::Relaxed);
                        first_error
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(e);
                    }
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn write_one(root: &Path, f: &FileChange) -> Result<(), ScanError> {
    let path = root.join(&f.path);
    write_atomic(&path, &f.after).map_err(|source| ScanError::Write { path, source })
}

/// Writes through a temporary sibling and a rename, keeping permissions, so a
/// crash leaves either the old file or the new one, never half of each.
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let meta = fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Err(std::io::Error::other(
            "refusing to write through a symbolic link",
        ));
    }
    if data.len() > MAX_FILE_BYTES * 2 {
        return Err(std::io::Error::other(
            "refusing to write a file over 16 MiB",
        ));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tern-{}", std::process::id()));
    // `create_new` (O_EXCL) never opens through something already at the
    // temporary name, such as a planted symbolic link; what a dead process
    // with the same id left there is removed first.
    let create = || {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
    };
    let result = (|| {
        let mut f = match create() {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                fs::remove_file(&tmp)?;
                create()?
            }
            other => other?,
        };
        f.write_all(data)?;
        f.set_permissions(meta.permissions())?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A unified diff of one file change, with `a/` and `b/` headers as git prints them.
pub fn unified_diff(change: &FileChange) -> String {
    let before = String::from_utf8_lossy(&change.before);
    let after = String::from_utf8_lossy(&change.after);
    similar::TextDiff::from_lines(before.as_ref(), after.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{}", change.path), &format!("b/{}", change.path))
        .to_string()
}
