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

use crate::{ForgeError, Result};

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
    let name = format!("refs/heads/{branch}");
    let Some(mut r) = repo
        .try_find_reference(name.as_str())
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
    let tree = tree(repo, rev)?;
    let files: Vec<_> = tree
        .traverse()
        .breadthfirst
        .files()
        .map_err(|e| objects(repo, e))?
        .into_iter()
        .filter(|e| e.mode.is_blob())
        .collect();
    let loose = Loose::new(repo.common_dir());
    let mut hits = Vec::new();
    for i in pack_order(repo, files.iter().map(|e| &e.oid)) {
        let entry = &files[i];
        // A blob that is not kept is looked at where it lies and dropped
        // (gitoxide then reuses its buffer).
        let hit = match loose.read(&entry.oid) {
            Some(data) => keep(&data).then_some(data),
            None => {
                let blob = repo.find_object(entry.oid).map_err(|e| objects(repo, e))?;
                keep(&blob.data).then(|| blob.detach().data)
            }
        };
        if let Some(data) = hit {
            hits.push((i, data));
        }
    }
    let mut hits: Vec<_> = hits
        .into_iter()
        .map(|(i, data)| (files[i].filepath.to_string(), data))
        .collect();
    hits.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(hits)
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
/// `blob <size>\0<bytes>`), read with one plain `read` each: gitoxide maps
/// every loose object, and in a process with several threads each unmapping
/// interrupts the other cores, which made a plan over freshly committed
/// repositories slower than spawning git.
struct Loose {
    objects: std::path::PathBuf,
    /// Which of the 256 fan-out folders exist: a packed repository has none,
    /// so its blobs cost no failed `open`.
    fanout: [bool; 256],
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
        Loose { objects, fanout }
    }

    /// The blob's bytes, or `None` when it is not loose here or not a
    /// well-formed blob; the caller then asks gitoxide, which also knows packs
    /// and alternates.
    fn read(&self, oid: &gix::ObjectId) -> Option<Vec<u8>> {
        use gix::features::zlib::{Inflate, Status};
        if !self.fanout[*oid.as_bytes().first()? as usize] {
            return None;
        }
        let hex = oid.to_hex().to_string();
        let compressed = std::fs::read(self.objects.join(&hex[..2]).join(&hex[2..])).ok()?;
        let mut inflate = Inflate::default();
        let mut out = vec![0u8; (compressed.len() * 4).max(64)];
        let (mut read, mut written) = (0, 0);
        loop {
            let (status, r, w) = inflate
                .once(&compressed[read..], &mut out[written..])
                .ok()?;
            read += r;
            written += w;
            match status {
                Status::StreamEnd => break,
                _ if written == out.len() => out.resize(out.len() * 2, 0),
                _ if r == 0 && w == 0 => return None,
                _ => {}
            }
        }
        out.truncate(written);
        let (kind, size, header) = gix::objs::decode::loose_header(&out).ok()?;
        (kind == gix::objs::Kind::Blob && (written - header) as u64 == size)
            .then(|| out.split_off(header))
    }
}

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
    let tree = tree(repo, rev)?;
    // One walk of the tree: a lookup per path would decode its trees again.
    let wanted: std::collections::HashSet<&str> = paths.iter().map(String::as_str).collect();
    let mut found = std::collections::HashMap::new();
    for entry in tree
        .traverse()
        .breadthfirst
        .files()
        .map_err(|e| objects(repo, e))?
    {
        if entry.mode.is_blob() {
            if let Some(p) = wanted.get(entry.filepath.to_string().as_str()) {
                found.insert(*p, entry.oid);
            }
        }
    }
    let mut blobs = Vec::with_capacity(paths.len());
    for p in paths {
        let oid = found.get(p.as_str()).ok_or_else(|| ForgeError::Objects {
            repo: repo_name(repo),
            detail: format!("{rev}:{p} is missing"),
        })?;
        let blob = repo.find_object(*oid).map_err(|e| objects(repo, e))?;
        blobs.push(blob.detach().data);
    }
    Ok(blobs)
}

/// The tree of a commit given by its id (or, failing that, by a ref name).
fn tree<'r>(repo: &'r gix::Repository, rev: &str) -> Result<gix::Tree<'r>> {
    let id = match gix::ObjectId::from_hex(rev.as_bytes()) {
        Ok(id) => id,
        Err(_) => {
            let r = repo
                .find_reference(rev)
                .map_err(|e| objects(repo, format!("{rev}: {e}")))?;
            r.into_fully_peeled_id()
                .map_err(|e| objects(repo, format!("{rev}: {e}")))?
                .detach()
        }
    };
    repo.find_object(id)
        .map_err(|e| objects(repo, format!("{rev}: {e}")))?
        .peel_to_tree()
        .map_err(|e| objects(repo, format!("{rev}: {e}")))
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
