//! Reading what a repository has committed, in process, through gitoxide.
//!
//! Planning a fleet reads every consumer's default branch: its refs, its tree
//! and the blobs that name the dataset. Spawning `git for-each-ref`, `git grep`
//! and `git cat-file` for that costs a few milliseconds per repository, far
//! more than the reading itself, so the local forge reads refs and objects
//! here and keeps the git command line for what changes a repository.
//!
//! The answers are git's: a repository's files are the regular files of the
//! commit's tree (executable or not, binary included), never a symbolic
//! link's target or a submodule; refs are resolved as git resolves them
//! (loose, then packed); objects are read from loose files, packs and
//! alternates alike.

use std::path::Path;

use aho_corasick::AhoCorasick;

use tern_forge::{ForgeError, Result};

/// A repository opened for reading, shareable between threads.
pub(crate) type Shared = gix::ThreadSafeRepository;

/// Opens `path` only if it is the top of a working tree or a bare repository
/// (never a folder inside another repository); `None` when it is neither.
/// Configuration beyond the repository's own (system, global, environment) is
/// not read: it cannot change what the repository holds.
pub(crate) fn open(path: &Path) -> Option<Shared> {
    let repo = gix::open_opts(path, gix::open::Options::isolated()).ok()?;
    let top = if repo.is_bare() {
        repo.git_dir().to_path_buf()
    } else {
        repo.workdir()?.to_path_buf()
    };
    (top.canonicalize().ok()? == path).then(|| repo.into_sync())
}

/// The tip of `refs/heads/<branch>`, if the branch exists.
pub(crate) fn branch_tip(repo: &gix::Repository, branch: &str) -> Result<Option<String>> {
    reference_tip(repo, &format!("refs/heads/{branch}"))
}

/// What the full ref `name` (`refs/heads/…`) names, if it exists. Loose
/// refs are read from disk on every call and packed ones when the file
/// changed, so a ref another process moved is seen at once.
pub(crate) fn reference_tip(repo: &gix::Repository, name: &str) -> Result<Option<String>> {
    let Some(mut r) = repo
        .try_find_reference(name)
        .map_err(|e| objects(repo, e))?
    else {
        return Ok(None);
    };
    // A branch names its commit directly (as `for-each-ref` shows it);
    // reading the commit to peel it would cost an inflate per repository.
    if let gix::refs::TargetRef::Object(id) = r.target() {
        return Ok(Some(id.to_string()));
    }
    let id = r.peel_to_id().map_err(|e| objects(repo, e))?;
    Ok(Some(id.to_string()))
}

/// The branch `refs/remotes/origin/HEAD` points to, if it is set.
pub(crate) fn origin_head(repo: &gix::Repository) -> Result<Option<String>> {
    let Some(r) = repo
        .try_find_reference("refs/remotes/origin/HEAD")
        .map_err(|e| objects(repo, e))?
    else {
        return Ok(None);
    };
    Ok(match r.target() {
        gix::refs::TargetRef::Symbolic(name) => name
            .as_bstr()
            .to_string()
            .strip_prefix("refs/remotes/origin/")
            .map(str::to_string),
        gix::refs::TargetRef::Object(_) => None,
    })
}

/// The branch HEAD names, if HEAD is a branch.
pub(crate) fn checked_out(repo: &gix::Repository) -> Result<Option<String>> {
    let name = repo.head_name().map_err(|e| objects(repo, e))?;
    Ok(name.and_then(|n| {
        n.as_bstr()
            .to_string()
            .strip_prefix("refs/heads/")
            .map(str::to_string)
    }))
}

/// The regular files of `rev`'s tree whose bytes `keep` accepts, with their
/// bytes, `/`-separated and in path order (git's own order, as `git grep` and
/// `git ls-tree -r` list them).
pub(crate) fn read_matching(
    repo: &gix::Repository,
    rev: &str,
    keep: &dyn Fn(&[u8]) -> bool,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut objects = Objects::new(repo);
    let files = objects.files(rev)?;
    let mut hits = Vec::new();
    for i in pack_order(repo, files.iter().map(|(_, id)| id)) {
        // A blob that is not kept is looked at where it lies and dropped.
        if let Some(data) = objects.blob_if(files[i].1, keep)? {
            hits.push((files[i].0.clone(), data));
        }
    }
    hits.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(hits)
}

/// git's default `core.maxTreeDepth`.
const MAX_TREE_DEPTH: usize = 4096;
/// Far more tags in a row than anyone makes.
const MAX_PEEL: usize = 64;
/// Far more files and folders than any repository a plan reads holds.
const MAX_TREE_ENTRIES: usize = 10_000_000;

/// A repository's objects as a plan reads them: loose ones by tern's own
/// reader, the rest (packs, alternates) through gitoxide.
struct Objects<'r> {
    repo: &'r gix::Repository,
    loose: Loose,
}

impl<'r> Objects<'r> {
    fn new(repo: &'r gix::Repository) -> Objects<'r> {
        Objects {
            repo,
            loose: Loose::new(repo.common_dir()),
        }
    }

    /// The object's kind and bytes.
    fn read(&mut self, id: gix::ObjectId) -> Result<(gix::objs::Kind, Vec<u8>)> {
        let (kind, data) = self.read_if(id, &|_| true)?;
        Ok((kind, data.unwrap_or_default()))
    }

    /// The blob's bytes if `keep` accepts them.
    fn blob_if(
        &mut self,
        id: gix::ObjectId,
        keep: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Option<Vec<u8>>> {
        let (kind, data) = self.read_if(id, keep)?;
        if kind != gix::objs::Kind::Blob {
            return Err(objects(self.repo, format!("{id} is a {kind}, not a blob")));
        }
        Ok(data)
    }

    /// The object's kind, and its bytes if `keep` accepts them: a packed
    /// object is tested in gitoxide's buffer and copied out only when kept.
    fn read_if(
        &mut self,
        id: gix::ObjectId,
        keep: &dyn Fn(&[u8]) -> bool,
    ) -> Result<(gix::objs::Kind, Option<Vec<u8>>)> {
        if let Some((kind, data)) = self.loose.read(&id) {
            return Ok((kind, keep(data).then(|| data.to_vec())));
        }
        let object = self
            .repo
            .find_object(id)
            .map_err(|e| objects(self.repo, e))?;
        Ok((
            object.kind,
            keep(&object.data).then(|| object.detach().data),
        ))
    }

    /// The bytes of `rev`'s root tree (`rev` a commit id, or a ref name).
    fn root(&mut self, rev: &str) -> Result<Vec<u8>> {
        let e = |e: &dyn std::fmt::Display| objects(self.repo, format!("{rev}: {e}"));
        let hash = self.repo.object_hash();
        let mut id = match gix::ObjectId::from_hex(rev.as_bytes()) {
            Ok(id) => id,
            Err(_) => self
                .repo
                .find_reference(rev)
                .map_err(|x| e(&x))?
                .into_fully_peeled_id()
                .map_err(|x| e(&x))?
                .detach(),
        };
        // Peel tags and the commit down to the tree; a store whose files do
        // not match their names could hold a tag that names itself.
        let mut steps = 0;
        let root = loop {
            steps += 1;
            if steps > MAX_PEEL {
                return Err(e(&format!("more than {MAX_PEEL} tags name one another")));
            }
            let (kind, data) = self.read(id)?;
            id = match kind {
                gix::objs::Kind::Tree => break data,
                gix::objs::Kind::Commit => gix::objs::CommitRefIter::from_bytes(&data, hash)
                    .tree_id()
                    .map_err(|x| e(&x))?,
                gix::objs::Kind::Tag => gix::objs::TagRefIter::from_bytes(&data, hash)
                    .target_id()
                    .map_err(|x| e(&x))?,
                gix::objs::Kind::Blob => return Err(e(&"names a blob, not a commit")),
            };
        };
        Ok(root)
    }

    /// A tree's entries (name, mode, id), checked to be one.
    fn tree(&mut self, id: gix::ObjectId, path: &str) -> Result<Vec<Entry>> {
        let hash = self.repo.object_hash();
        let (kind, data) = self.read(id)?;
        if kind != gix::objs::Kind::Tree {
            return Err(objects(
                self.repo,
                format!("{path} is a {kind}, not a tree"),
            ));
        }
        entries(&data, hash).map_err(|x| objects(self.repo, format!("{path}: {x}")))
    }

    /// The paths whose entry differs between the trees of `from` and `to`,
    /// as `git diff --name-only --no-renames` lists them: files, symbolic
    /// links and submodules whose id or mode changed, and every one below a
    /// folder only one side has. Identical folders are never opened, so
    /// the cost follows the change, not the repository.
    fn changed(&mut self, from: &str, to: &str) -> Result<Vec<String>> {
        let hash = self.repo.object_hash();
        let parse = |data: Vec<u8>, rev: &str| {
            entries(&data, hash).map_err(|x| objects(self.repo, format!("{rev}: {x}")))
        };
        let a = self.root(from)?;
        let a = parse(a, from)?;
        let b = self.root(to)?;
        let b = parse(b, to)?;
        let mut out = Vec::new();
        let mut pairs = vec![(String::new(), a, b, 0usize)];
        let mut seen = 0usize;
        while let Some((prefix, a, b, depth)) = pairs.pop() {
            if depth > MAX_TREE_DEPTH {
                return Err(objects(
                    self.repo,
                    format!("{prefix} is nested deeper than {MAX_TREE_DEPTH} folders"),
                ));
            }
            seen += a.len() + b.len();
            if seen > MAX_TREE_ENTRIES {
                return Err(objects(
                    self.repo,
                    format!("the trees have more than {MAX_TREE_ENTRIES} entries"),
                ));
            }
            let mut names: std::collections::BTreeMap<&[u8], (Option<&Entry>, Option<&Entry>)> =
                Default::default();
            for x in &a {
                names.entry(&x.name).or_default().0 = Some(x);
            }
            for x in &b {
                names.entry(&x.name).or_default().1 = Some(x);
            }
            for (name, (old, new)) in names {
                if let (Some(o), Some(n)) = (old, new) {
                    if o.mode == n.mode && o.id == n.id {
                        continue;
                    }
                }
                let path = join(&prefix, name);
                match (old, new) {
                    (Some(o), Some(n)) if o.mode.is_tree() && n.mode.is_tree() => {
                        let (x, y) = (self.tree(o.id, &path)?, self.tree(n.id, &path)?);
                        pairs.push((path, x, y, depth + 1));
                    }
                    _ => {
                        for side in [old, new].into_iter().flatten() {
                            if side.mode.is_tree() {
                                let below = self.tree(side.id, &path)?;
                                pairs.push((path.clone(), below, Vec::new(), depth + 1));
                            } else {
                                out.push(path.clone());
                            }
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The regular files of `rev`'s tree (a commit id, or a ref name), each
    /// with its blob's id: symbolic links and submodules are not files here.
    fn files(&mut self, rev: &str) -> Result<Vec<(String, gix::ObjectId)>> {
        let e = |e: &dyn std::fmt::Display| objects(self.repo, format!("{rev}: {e}"));
        let hash = self.repo.object_hash();
        let root = self.root(rev)?;
        let mut files = Vec::new();
        let mut trees = vec![(String::new(), root, 0)];
        let mut entries = 0usize;
        while let Some((prefix, data, depth)) = trees.pop() {
            // git's own bound on nesting (core.maxTreeDepth), and one on size:
            // an object store whose files do not match their names can hold a
            // tree that names itself, which would otherwise never end.
            if depth > MAX_TREE_DEPTH {
                return Err(e(&format!(
                    "{prefix} is nested deeper than {MAX_TREE_DEPTH} folders"
                )));
            }
            for entry in gix::objs::TreeRefIter::from_bytes(&data, hash) {
                let entry = entry.map_err(|x| e(&x))?;
                entries += 1;
                if entries > MAX_TREE_ENTRIES {
                    return Err(e(&format!(
                        "the tree has more than {MAX_TREE_ENTRIES} entries"
                    )));
                }
                let path = if prefix.is_empty() {
                    entry.filename.to_string()
                } else {
                    format!("{prefix}/{}", entry.filename)
                };
                if entry.mode.is_tree() {
                    let (kind, sub) = self.read(entry.oid.to_owned())?;
                    if kind != gix::objs::Kind::Tree {
                        return Err(e(&format!("{path} is a {kind}, not a tree")));
                    }
                    trees.push((path, sub, depth + 1));
                } else if entry.mode.is_blob() {
                    files.push((path, entry.oid.to_owned()));
                }
            }
        }
        Ok(files)
    }
}

/// One entry of a tree, owned.
struct Entry {
    name: Vec<u8>,
    mode: gix::objs::tree::EntryMode,
    id: gix::ObjectId,
}

fn entries(data: &[u8], hash: gix::hash::Kind) -> std::result::Result<Vec<Entry>, String> {
    gix::objs::TreeRefIter::from_bytes(data, hash)
        .map(|e| {
            e.map(|e| Entry {
                name: e.filename.to_vec(),
                mode: e.mode,
                id: e.oid.to_owned(),
            })
            .map_err(|x| x.to_string())
        })
        .collect()
}

fn join(prefix: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if prefix.is_empty() {
        name.into_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// The paths that differ between the trees of `from` and `to`, sorted.
pub(crate) fn changed(repo: &gix::Repository, from: &str, to: &str) -> Result<Vec<String>> {
    Objects::new(repo).changed(from, to)
}

/// The order to read `ids` in: loose (or unknown) objects first, then each
/// pack's objects by their offset in it.
///
/// git writes a delta's base before the delta, and gitoxide keeps the
/// objects it decoded last; read in tree order, each blob of a long delta
/// chain inflates the whole chain again (a freshly packed fleet of similar
/// files spent a third of its plan doing so), while in pack order each base
/// is still at hand when its deltas come. An index that cannot be read only
/// costs the order, never an object: gitoxide still finds it.
fn pack_order<'a>(
    repo: &gix::Repository,
    ids: impl Iterator<Item = &'a gix::ObjectId>,
) -> Vec<usize> {
    let packs = repo.common_dir().join("objects").join("pack");
    let mut indices: Vec<_> = std::fs::read_dir(&packs)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    indices.sort();
    let indices: Vec<_> = indices
        .iter()
        .filter_map(|p| gix::odb::pack::index::File::at(p, repo.object_hash()).ok())
        .collect();
    let mut keyed: Vec<(usize, u64, usize)> = ids
        .enumerate()
        .map(|(i, id)| {
            indices
                .iter()
                .enumerate()
                .find_map(|(n, idx)| {
                    idx.lookup(id)
                        .map(|at| (n + 1, idx.pack_offset_at_index(at), i))
                })
                .unwrap_or((0, 0, i))
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

/// The repository's loose objects (`objects/ab/cdef…`, zlib over
/// `blob <size>\0<bytes>`), each read with one `openat` below the objects
/// folder and plain `read`s: gitoxide maps every loose object, and in a
/// process with several threads each unmapping interrupts the other cores,
/// which made a plan over freshly committed repositories slower than
/// spawning git. The read buffer and the inflate state are kept from blob to
/// blob.
struct Loose {
    /// The objects folder, open, when it has any fan-out folder at all.
    dir: Option<rustix::fd::OwnedFd>,
    /// Which of the 256 fan-out folders exist: a packed repository has none,
    /// so its blobs cost no failed `open`.
    fanout: [bool; 256],
    compressed: Vec<u8>,
    /// Inflated bytes, always initialised to its full length, so that no
    /// read pays for zeroing it again.
    out: Vec<u8>,
    inflate: gix::features::zlib::Inflate,
}

impl Loose {
    fn new(common_dir: &Path) -> Loose {
        let objects = common_dir.join("objects");
        let mut fanout = [false; 256];
        for entry in std::fs::read_dir(&objects).into_iter().flatten().flatten() {
            let name = entry.file_name();
            if let Some(i) = name
                .to_str()
                .filter(|n| n.len() == 2)
                .and_then(|n| u8::from_str_radix(n, 16).ok())
            {
                fanout[i as usize] = true;
            }
        }
        use rustix::fs::{Mode, OFlags};
        let dir = fanout
            .contains(&true)
            .then(|| {
                rustix::fs::open(
                    &objects,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .ok()
            })
            .flatten();
        // A packed repository never reads a loose object: it zeroes no buffer.
        let out = if dir.is_some() {
            vec![0; 64 * 1024]
        } else {
            Vec::new()
        };
        Loose {
            dir,
            fanout,
            compressed: Vec::with_capacity(16 * 1024),
            out,
            inflate: Default::default(),
        }
    }

    /// The object's kind and bytes, or `None` when it is not loose here or
    /// not well formed; the caller then asks gitoxide, which also knows packs
    /// and alternates (and says what is wrong with a broken object). The
    /// bytes live in the reader's buffer until the next read.
    fn read(&mut self, oid: &gix::ObjectId) -> Option<(gix::objs::Kind, &[u8])> {
        use gix::features::zlib::Status;
        use rustix::fs::{Mode, OFlags};
        if !self.fanout[*oid.as_bytes().first()? as usize] {
            return None;
        }
        let dir = self.dir.as_ref()?;
        let hex = oid.to_hex().to_string();
        let name = format!("{}/{}", &hex[..2], &hex[2..]);
        let file = rustix::fs::openat(
            dir,
            name.as_str(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        // Read to the end without asking the file's size first (one `statx`
        // less per blob).
        self.compressed.clear();
        loop {
            if self.compressed.capacity() - self.compressed.len() < 4096 {
                self.compressed
                    .reserve(self.compressed.capacity().max(4096));
            }
            let n = rustix::io::read(&file, rustix::buffer::spare_capacity(&mut self.compressed))
                .ok()?;
            if n == 0 {
                break;
            }
        }
        // Inflate into the reused buffer, which always has room to spare:
        // zlib decodes fast only while 258 bytes of output are free, so an
        // output cut to the object's exact size (or a small one for the
        // header alone) decodes its last bytes one symbol at a time.
        self.inflate.reset();
        let (mut status, mut read, mut written) =
            self.inflate.once(&self.compressed, &mut self.out).ok()?;
        let (kind, size, header) = gix::objs::decode::loose_header(&self.out[..written]).ok()?;
        let end = usize::try_from(size).ok()?.checked_add(header)?;
        // zlib expands at most about 1,032 to 1: a header that claims more
        // than its stream could hold is not allocated for.
        if written > end || (end - header) / 1032 > self.compressed.len() {
            return None;
        }
        if self.out.len() < end + SLACK {
            self.out.resize(end + SLACK, 0);
        }
        while status != Status::StreamEnd {
            // The room past the end keeps zlib on its fast path, and shows
            // a stream that runs longer than its header says.
            let room = &mut self.out[written..end + SLACK];
            let (st, r, w) = self.inflate.once(&self.compressed[read..], room).ok()?;
            if st != Status::StreamEnd && r == 0 && w == 0 {
                return None; // cut short
            }
            (status, read, written) = (st, read + r, written + w);
            if written > end {
                return None; // longer than its header says
            }
        }
        (written == end).then(|| (kind, &self.out[header..end]))
    }
}

/// Output room kept free past an object's end, so that zlib stays on its
/// fast path to the last byte (it needs 258).
const SLACK: usize = 512;

/// The search for a set of needles, built once and shared.
pub(crate) fn searcher(needles: &[String]) -> std::result::Result<AhoCorasick, String> {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(needles)
        .map_err(|e| e.to_string())
}

/// The bytes of each of `paths` in `rev`'s tree, in order; an error names the
/// first path that is missing or not a regular file.
pub(crate) fn read_all(
    repo: &gix::Repository,
    rev: &str,
    paths: &[String],
) -> Result<Vec<Vec<u8>>> {
    let mut objects = Objects::new(repo);
    // One walk of the tree: a lookup per path would decode its trees again.
    let found: std::collections::HashMap<String, gix::ObjectId> =
        objects.files(rev)?.into_iter().collect();
    let mut blobs = Vec::with_capacity(paths.len());
    for p in paths {
        let id = found.get(p).ok_or_else(|| ForgeError::Objects {
            repo: repo_name(repo),
            detail: format!("{rev}:{p} is missing"),
        })?;
        blobs.push(objects.blob_if(*id, &|_| true)?.unwrap_or_default());
    }
    Ok(blobs)
}

fn repo_name(repo: &gix::Repository) -> String {
    repo.workdir()
        .unwrap_or_else(|| repo.git_dir())
        .display()
        .to_string()
}

fn objects(repo: &gix::Repository, e: impl std::fmt::Display) -> ForgeError {
    ForgeError::Objects {
        repo: repo_name(repo),
        detail: e.to_string(),
    }
}
