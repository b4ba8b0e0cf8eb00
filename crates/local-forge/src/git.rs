//! The local forge: plain git repositories on disk.
//!
//! Each operation spends as few git processes as it can (they dominate a
//! campaign's cost): a repository is validated once per process; refs,
//! trees and blobs are read in process, and tern's own branch is created in
//! process (gitoxide, under git's own lock protocol); the git command line
//! does what touches files (worktrees, commits, bringing a checked-out
//! branch along) and moves the branches people use, so that a tern killed
//! mid-write never leaves a lock on them.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use tern_forge::{Checks, Forge, ForgeError, Proposal, RepoInfo, Result, Worktree};

/// The embedded forge: a consumer's `repo` is a path to a git repository.
#[derive(Debug, Default)]
pub struct LocalForge {
    /// Repositories already validated (and swept): their top folder. Kept
    /// for every repository of a campaign, so it holds only paths.
    checked: Mutex<HashMap<String, PathBuf>>,
    /// The few repositories most recently opened for in-process reads, most
    /// recent first: an open repository holds its packs' indexes, which
    /// ten thousand of them would not fit beside each other in memory.
    open: Mutex<std::collections::VecDeque<(String, Checked)>>,
    /// The last needles searched for and their compiled search.
    search: Mutex<Option<Search>>,
}

type Search = (Vec<String>, std::sync::Arc<aho_corasick::AhoCorasick>);

#[derive(Clone)]
struct Checked {
    top: PathBuf,
    /// The same repository opened for in-process reads.
    repo: crate::odb::Shared,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checked").field("top", &self.top).finish()
    }
}

/// How many repositories stay open for in-process reads at once: enough for
/// every worker thread's current one and the next.
const OPEN_REPOSITORIES: usize = 32;

/// Temporary worktrees live in folders named `tern-wt-<pid>-…`, so that those
/// of a process that died (killed mid-campaign) can be recognised and swept.
const WORKTREE_PREFIX: &str = "tern-wt-";

/// tern commits as itself so that history says who made the change.
const IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "tern"),
    ("GIT_AUTHOR_EMAIL", "tern@localhost"),
    ("GIT_COMMITTER_NAME", "tern"),
    ("GIT_COMMITTER_EMAIL", "tern@localhost"),
];

/// git, looked up on `PATH` once (absolute entries only): left to the
/// system, every one of a campaign's many git processes would first fail
/// to start at each `PATH` entry before git's.
fn program() -> &'static Path {
    static GIT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    GIT.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .filter(|d| d.is_absolute())
            .map(|d| d.join("git"))
            .find(|c| {
                std::fs::metadata(c)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
            .unwrap_or_else(|| PathBuf::from("git"))
    })
}

fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(program());
    cmd.arg("-C").arg(dir);
    // Never let the caller's environment point git somewhere else, and never
    // let git look above the repository it was given.
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_NAMESPACE",
    ] {
        cmd.env_remove(var);
    }
    if let Some(parent) = dir.parent() {
        cmd.env("GIT_CEILING_DIRECTORIES", parent);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .envs(IDENTITY);
    cmd
}

fn failure(dir: &Path, args: &[impl AsRef<OsStr>], stderr: &[u8]) -> ForgeError {
    ForgeError::Git {
        dir: dir.display().to_string(),
        args: args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        stderr: String::from_utf8_lossy(stderr).trim().to_string(),
    }
}

fn git<I, S>(dir: &Path, args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let out = command(dir)
        .args(&args)
        .output()
        .map_err(|e| ForgeError::Io("running git (is it installed?)".into(), e))?;
    if !out.status.success() {
        let mut detail = out.stderr;
        if detail.is_empty() {
            detail = out.stdout;
        }
        return Err(failure(dir, &args, &detail));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

/// Like `git`, but a failing exit is an answer (`false`), not an error.
fn git_ok(dir: &Path, args: &[&str]) -> Result<bool> {
    match git(dir, args) {
        Ok(_) => Ok(true),
        Err(ForgeError::Git { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

impl LocalForge {
    /// Resolves a repository path, validating it once per process.
    fn path(&self, repo: &str) -> Result<PathBuf> {
        match self.validated(repo) {
            Some(top) => Ok(top),
            None => Ok(self.checked(repo)?.top),
        }
    }

    /// The top folder of a repository this process already validated.
    fn validated(&self, repo: &str) -> Option<PathBuf> {
        self.checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(repo)
            .cloned()
    }

    /// The needles' search, built once for a campaign's many repositories.
    fn searcher(&self, needles: &[String]) -> Result<std::sync::Arc<aho_corasick::AhoCorasick>> {
        let mut last = self.search.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((n, s)) = last.as_ref() {
            if n.as_slice() == needles {
                return Ok(s.clone());
            }
        }
        let s = std::sync::Arc::new(crate::odb::searcher(needles).map_err(ForgeError::Needles)?);
        *last = Some((needles.to_vec(), s.clone()));
        Ok(s)
    }

    /// The repository for in-process reads (refs, trees, blobs).
    fn reader(&self, repo: &str) -> Result<gix::Repository> {
        Ok(self.checked(repo)?.repo.to_thread_local())
    }

    fn checked(&self, repo: &str) -> Result<Checked> {
        {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = open.iter().position(|(r, _)| r == repo) {
                let hit = open.remove(i).expect("found at i");
                open.push_front(hit.clone());
                return Ok(hit.1);
            }
        }
        let checked = match self.validated(repo) {
            Some(top) => Checked {
                repo: crate::odb::open(&top)
                    .ok_or_else(|| ForgeError::NotARepo(repo.to_string()))?,
                top,
            },
            None => {
                let checked = self.check(repo)?;
                self.sweep(&checked.top, checked.repo.git_dir());
                self.checked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(repo.to_string(), checked.top.clone());
                checked
            }
        };
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.push_front((repo.to_string(), checked.clone()));
        open.truncate(OPEN_REPOSITORIES);
        Ok(checked)
    }

    /// The path must be the top of a repository (or a bare one), never a
    /// folder inside some other repository.
    fn check(&self, repo: &str) -> Result<Checked> {
        if repo.contains("://") || repo.starts_with("git@") {
            return Err(ForgeError::Remote(repo.to_string()));
        }
        let path = Path::new(repo);
        if !path.exists() {
            return Err(ForgeError::NoSuchRepo(repo.to_string()));
        }
        let top = path
            .canonicalize()
            .map_err(|e| ForgeError::Io(format!("resolving {repo}"), e))?;
        let repo = crate::odb::open(&top).ok_or_else(|| ForgeError::NotARepo(repo.to_string()))?;
        Ok(Checked { top, repo })
    }

    /// Removes worktrees left by tern processes that no longer run (a
    /// campaign killed mid-step), so crashes leave nothing behind.
    fn sweep(&self, dir: &Path, git_dir: &Path) {
        empty_leftovers();
        if !git_dir.join("worktrees").is_dir() {
            return;
        }
        let Ok(list) = git(dir, ["worktree", "list", "--porcelain"]) else {
            return;
        };
        let mut removed = false;
        for path in list.lines().filter_map(|l| l.strip_prefix("worktree ")) {
            let Some(owner) = Path::new(path)
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix(WORKTREE_PREFIX))
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<i32>().ok())
            else {
                continue;
            };
            if owner == std::process::id() as i32 || alive(owner) {
                continue;
            }
            tracing::debug!(
                worktree = path,
                owner,
                "removing a worktree left by a dead tern"
            );
            let _ = git(dir, ["worktree", "remove", "--force", path]);
            if let Some(parent) = Path::new(path).parent() {
                let _ = std::fs::remove_dir_all(parent);
            }
            removed = true;
        }
        if removed {
            let _ = git(dir, ["worktree", "prune"]);
        }
    }

    /// What the full ref `reference` names now, read in process.
    fn tip(&self, repo: &str, reference: &str) -> Result<Option<String>> {
        crate::odb::reference_tip(&self.reader(repo)?, reference)
    }

    /// The default branch and its tip: origin's HEAD if that branch exists
    /// here, else `main`, else `master`, else the checked-out branch.
    fn default_branch(&self, repo: &str) -> Result<(String, String)> {
        let r = self.reader(repo)?;
        let named = crate::odb::origin_head(&r)?
            .into_iter()
            .chain(["main".to_string(), "master".to_string()]);
        for b in named.chain(crate::odb::checked_out(&r)?) {
            if let Some(sha) = crate::odb::branch_tip(&r, &b)? {
                return Ok((b, sha));
            }
        }
        Err(ForgeError::NoDefaultBranch(repo.to_string()))
    }

    /// Moves `refs/heads/<branch>` from `old` to `new`, failing if it moved
    /// meanwhile: a branch people work on, so by a git process of its own.
    /// Killed with tern, an in-process write could leave the branch's lock
    /// file behind, and every `git commit` there would fail until someone
    /// removed it; a git child finishes its write and lets go whatever
    /// happens to tern.
    fn swap(&self, dir: &Path, repo: &str, branch: &str, new: &str, old: &str) -> Result<()> {
        let reference = format!("refs/heads/{branch}");
        git(dir, ["update-ref", "-m", "tern", &reference, new, old]).map_err(|e| match e {
            ForgeError::Git { .. } => ForgeError::Raced {
                repo: repo.to_string(),
                reference,
            },
            other => other,
        })?;
        Ok(())
    }

    /// Creates tern's own branch `refs/heads/<branch>` at `new`, in process,
    /// under git's own protocol (a `.lock` file beside the ref, renamed into
    /// place, the reflog written as `git update-ref` writes it): a campaign
    /// publishes a branch in each of thousands of repositories. No one but
    /// the tern working the change writes its branch, so a lock on it was
    /// left by a tern that died in the middle of this write; it is removed
    /// and the write made again, once.
    fn create_own(&self, repo: &str, branch: &str, new: &str) -> Result<()> {
        use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
        let reference = format!("refs/heads/{branch}");
        let r = self.reader(repo)?;
        let bad = |e: &dyn std::fmt::Display| ForgeError::Objects {
            repo: repo.to_string(),
            detail: format!("creating {reference}: {e}"),
        };
        let raced = || ForgeError::Raced {
            repo: repo.to_string(),
            reference: reference.clone(),
        };
        let id = gix::ObjectId::from_hex(new.as_bytes()).map_err(|e| bad(&e))?;
        let name: gix::refs::FullName = reference.as_str().try_into().map_err(|e| bad(&e))?;
        let edit = || RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: "tern".into(),
                },
                expected: PreviousValue::MustNotExist,
                new: gix::refs::Target::Object(id),
            },
            name: name.clone(),
            deref: false,
        };
        let me = gix::actor::Signature {
            name: IDENTITY[2].1.into(),
            email: IDENTITY[3].1.into(),
            time: gix::date::Time::now_local_or_utc(),
        };
        use gix::reference::edit::Error as Edit;
        use gix::refs::file::transaction::prepare::Error as Prepare;
        for attempt in 0..2 {
            let mut time = gix::date::parse::TimeBuf::default();
            match r.edit_references_as(Some(edit()), Some(me.to_ref(&mut time))) {
                Ok(_) => return Ok(()),
                Err(Edit::FileTransactionPrepare(Prepare::LockAcquire { .. })) if attempt == 0 => {
                    let lock = r.common_dir().join(format!("{reference}.lock"));
                    tracing::info!(lock = %lock.display(), "removing the lock a dead tern left on its branch");
                    let _ = std::fs::remove_file(&lock);
                }
                Err(Edit::FileTransactionPrepare(
                    Prepare::MustNotExist { .. }
                    | Prepare::LockAcquire { .. }
                    | Prepare::PackedTransactionAcquire(_),
                )) => return Err(raced()),
                Err(e) => return Err(bad(&e)),
            }
        }
        Err(raced())
    }

    /// Moves a branch people work on, as git moves a checked-out branch on
    /// a push under `receive.denyCurrentBranch=updateInstead`: where it is
    /// checked out in the repository's own working tree, a clean checkout is
    /// brought along (index and files), and one with uncommitted changes is
    /// left alone and the move refused ([`ForgeError::CheckoutDirty`]), so
    /// `git status` there never shows tern's commit as a pending reversal.
    fn move_branch(
        &self,
        dir: &Path,
        repo: &str,
        branch: &str,
        new: &str,
        old: &str,
    ) -> Result<()> {
        let reference = format!("refs/heads/{branch}");
        let r = self.reader(repo)?;
        if r.is_bare() || crate::odb::checked_out(&r)?.as_deref() != Some(branch) {
            return self.swap(dir, repo, branch, new, old);
        }
        if crate::odb::reference_tip(&r, &reference)?.as_deref() != Some(old) {
            return Err(ForgeError::Raced {
                repo: repo.to_string(),
                reference,
            });
        }
        let dirty = |detail: String| ForgeError::CheckoutDirty {
            repo: repo.to_string(),
            branch: branch.to_string(),
            detail,
        };
        // One look at index and files against HEAD (which is `old`): git
        // refreshes stat information first, so a touched but unchanged file
        // is clean.
        let uncommitted = git(
            dir,
            [
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--ignore-submodules",
            ],
        )?;
        let marker = move_marker(r.git_dir(), branch);
        let expected = format!("{old} {new}\n");
        if !uncommitted.is_empty() {
            // A move of ours that was killed between bringing the checkout
            // along and moving the ref leaves exactly that mixed state.
            let ours = std::fs::read_to_string(&marker).is_ok_and(|m| m == expected)
                && only_the_move(dir, old, new)?;
            if !ours {
                let first: Vec<&str> = uncommitted.lines().take(3).map(str::trim).collect();
                return Err(dirty(format!("uncommitted: {}", first.join(", "))));
            }
            git(dir, ["read-tree", "--reset", "-u", new])?;
            self.swap(dir, repo, branch, new, old)?;
            let _ = std::fs::remove_file(&marker);
            return Ok(());
        }
        // Say what is being done, so a kill in the middle can be finished.
        std::fs::write(&marker, &expected)
            .map_err(|e| ForgeError::Io(format!("writing {}", marker.display()), e))?;
        // Index and files from `old` to `new`; refused, touching nothing, when
        // an untracked file stands where `new` has one.
        if let Err(e) = git(dir, ["read-tree", "-u", "-m", old, new]) {
            let _ = std::fs::remove_file(&marker);
            let detail = match e {
                ForgeError::Git { stderr, .. } => stderr,
                other => other.to_string(),
            };
            return Err(dirty(detail));
        }
        if let Err(e) = self.swap(dir, repo, branch, new, old) {
            // Someone moved the branch meanwhile: put the checkout back.
            let _ = git(dir, ["read-tree", "-u", "-m", new, old]);
            let _ = std::fs::remove_file(&marker);
            return Err(e);
        }
        let _ = std::fs::remove_file(&marker);
        Ok(())
    }

    /// Forgets a move's marker once the branch is no longer where the move
    /// started (the move finished, or someone else moved it): a marker only
    /// ever speaks for the branch's current tip.
    fn forget_finished_move(&self, repo: &str, branch: &str) -> Result<()> {
        let marker = move_marker(self.reader(repo)?.git_dir(), branch);
        let Ok(text) = std::fs::read_to_string(&marker) else {
            return Ok(());
        };
        let started = text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        if self.tip(repo, &format!("refs/heads/{branch}"))?.as_deref() != Some(started.as_str()) {
            let _ = std::fs::remove_file(&marker);
        }
        Ok(())
    }

    fn make_worktree(&self, dir: &Path, rev: &str) -> Result<Checkout> {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{WORKTREE_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| ForgeError::Io("creating a temporary directory".into(), e))?;
        let path = tmp.path().join("tree");
        git(
            dir,
            [
                OsStr::new("worktree"),
                OsStr::new("add"),
                OsStr::new("--detach"),
                OsStr::new("--quiet"),
                path.as_os_str(),
                OsStr::new(rev),
            ],
        )?;
        Ok(Checkout {
            repo: dir.to_path_buf(),
            path,
            _dir: tmp,
        })
    }
}

/// A temporary worktree of a local repository; dropping it removes it from
/// the repository and from disk.
struct Checkout {
    repo: PathBuf,
    path: PathBuf,
    /// Keeps the parent temporary directory alive until the worktree is gone.
    _dir: tempfile::TempDir,
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = git(
            &self.repo,
            [
                OsStr::new("worktree"),
                OsStr::new("remove"),
                OsStr::new("--force"),
                self.path.as_os_str(),
            ],
        );
    }
}

impl Forge for LocalForge {
    fn sweep(&self, repo: &str) -> Result<()> {
        let c = self.check(repo)?;
        LocalForge::sweep(self, &c.top, c.repo.git_dir());
        Ok(())
    }

    fn open(&self, repo: &str) -> Result<RepoInfo> {
        let (default_branch, head) = self.default_branch(repo)?;
        Ok(RepoInfo {
            default_branch,
            head,
        })
    }

    fn worktree(&self, repo: &str, rev: &str) -> Result<Worktree> {
        let dir = self.path(repo)?;
        let checkout = self.make_worktree(&dir, rev)?;
        Ok(Worktree::new(checkout.path.clone(), checkout))
    }

    fn commit(&self, wt: &Worktree, message: &str, paths: &[String]) -> Result<Option<String>> {
        if paths.is_empty() {
            return Ok(None);
        }
        // Only the named paths: whatever else a hook or a build left in the
        // worktree stays out of the change.
        let file = message_file(message)?;
        // No automatic maintenance after the commit: a campaign commits once
        // in each of thousands of repositories, and their upkeep is their own.
        let mut args: Vec<&OsStr> = [
            "-c",
            "maintenance.auto=false",
            "commit",
            "--quiet",
            "--no-verify",
            "--no-gpg-sign",
            "--file",
        ]
        .iter()
        .map(OsStr::new)
        .collect();
        args.push(file.path().as_os_str());
        args.push(OsStr::new("--"));
        args.extend(paths.iter().map(OsStr::new));
        match git(wt.path(), &args) {
            Ok(_) => match detached_head(wt.path()) {
                Some(id) => Ok(Some(id)),
                None => Ok(Some(git(wt.path(), ["rev-parse", "HEAD"])?)),
            },
            Err(ForgeError::Git { stderr, .. })
                if stderr.contains("nothing") || stderr.contains("no changes") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn published(&self, repo: &str, name: &str) -> Result<Option<String>> {
        self.tip(repo, &format!("refs/heads/{name}"))
    }

    fn publish(&self, repo: &str, name: &str, commit: &str) -> Result<()> {
        // Creation fails if the branch exists; then it may already be ours.
        match self.create_own(repo, name, commit) {
            Ok(()) => Ok(()),
            Err(ForgeError::Raced { .. })
                if self.tip(repo, &format!("refs/heads/{name}"))?.as_deref() == Some(commit) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn propose(&self, repo: &str, proposal: &Proposal) -> Result<Option<String>> {
        // The published branch is the proposal; check it is there to review.
        match self.tip(repo, &format!("refs/heads/{}", proposal.branch))? {
            Some(_) => Ok(None),
            None => Err(ForgeError::Raced {
                repo: repo.to_string(),
                reference: format!(
                    "refs/heads/{} (gone before it was proposed)",
                    proposal.branch
                ),
            }),
        }
    }

    fn checks(&self, _repo: &str, _branch: &str, _commit: &str) -> Result<Checks> {
        // A repository on disk has no CI of its own.
        Ok(Checks::None)
    }

    fn close(&self, repo: &str, name: &str) -> Result<()> {
        let dir = self.path(repo)?;
        if let Some(at) = self.tip(repo, &format!("refs/heads/{name}"))? {
            git(
                &dir,
                ["update-ref", "-d", &format!("refs/heads/{name}"), &at],
            )?;
        }
        Ok(())
    }

    fn merge(
        &self,
        repo: &str,
        commit: &str,
        into: &str,
        base: Option<&str>,
        message: &str,
    ) -> Result<String> {
        let dir = self.path(repo)?;
        self.forget_finished_move(repo, into)?;
        // The common case: the default branch has not moved since the change
        // was made on it, so one compare-and-swap fast-forwards it.
        if let Some(base) = base {
            match self.move_branch(&dir, repo, into, commit, base) {
                Ok(()) => return Ok(commit.to_string()),
                Err(e @ ForgeError::CheckoutDirty { .. }) => return Err(e),
                Err(_) => {}
            }
        }
        let tip = self
            .tip(repo, &format!("refs/heads/{into}"))?
            .ok_or_else(|| ForgeError::NoDefaultBranch(repo.to_string()))?;
        if git_ok(&dir, &["merge-base", "--is-ancestor", commit, &tip])? {
            return Ok(tip);
        }
        let new = if git_ok(&dir, &["merge-base", "--is-ancestor", &tip, commit])? {
            commit.to_string()
        } else {
            // The default branch moved on: merge in a scratch worktree.
            let wt = self.make_worktree(&dir, &tip)?;
            let file = message_file(message)?;
            if let Err(e) = git(
                &wt.path,
                [
                    OsStr::new("merge"),
                    OsStr::new("--no-ff"),
                    OsStr::new("--no-edit"),
                    OsStr::new("--quiet"),
                    OsStr::new("--file"),
                    file.path().as_os_str(),
                    OsStr::new(commit),
                ],
            ) {
                let _ = git(&wt.path, ["merge", "--abort"]);
                return Err(ForgeError::Conflict {
                    repo: repo.to_string(),
                    what: format!("merging {commit} into {into}"),
                    detail: e.to_string(),
                });
            }
            git(&wt.path, ["rev-parse", "HEAD"])?
        };
        self.move_branch(&dir, repo, into, &new, &tip)?;
        Ok(new)
    }

    fn revert(&self, repo: &str, commit: &str, on: &str, message: &str) -> Result<String> {
        let dir = self.path(repo)?;
        self.forget_finished_move(repo, on)?;
        let tip = self
            .tip(repo, &format!("refs/heads/{on}"))?
            .ok_or_else(|| ForgeError::NoDefaultBranch(repo.to_string()))?;
        let parents = git(&dir, ["rev-list", "--parents", "-n", "1", commit])?;
        let merge = parents.split_whitespace().count() > 2;
        let wt = self.make_worktree(&dir, &tip)?;
        let mut args = vec!["revert", "--no-edit", "--no-commit"];
        if merge {
            args.extend(["-m", "1"]);
        }
        args.push(commit);
        if let Err(e) = git(&wt.path, &args) {
            let _ = git(&wt.path, ["revert", "--abort"]);
            return Err(ForgeError::Conflict {
                repo: repo.to_string(),
                what: format!("reverting {commit} on {on}"),
                detail: e.to_string(),
            });
        }
        let file = message_file(message)?;
        git(
            &wt.path,
            [
                OsStr::new("commit"),
                OsStr::new("--quiet"),
                OsStr::new("--no-verify"),
                OsStr::new("--no-gpg-sign"),
                OsStr::new("--allow-empty"),
                OsStr::new("--file"),
                file.path().as_os_str(),
            ],
        )?;
        let new = git(&wt.path, ["rev-parse", "HEAD"])?;
        self.move_branch(&dir, repo, on, &new, &tip)?;
        Ok(new)
    }

    fn find_commit(&self, repo: &str, branch: &str, needle: &str) -> Result<Option<String>> {
        let dir = self.path(repo)?;
        if self.tip(repo, &format!("refs/heads/{branch}"))?.is_none() {
            return Ok(None);
        }
        let out = git(
            &dir,
            [
                "log",
                "-n",
                "1",
                "--format=%H",
                "--fixed-strings",
                &format!("--grep={needle}"),
                &format!("refs/heads/{branch}"),
            ],
        )?;
        Ok(Some(out).filter(|s| !s.is_empty()))
    }

    fn grep(&self, repo: &str, rev: &str, needles: &[String]) -> Result<Vec<String>> {
        let search = self.searcher(needles)?;
        let files = crate::odb::read_matching(&self.reader(repo)?, rev, &|b| search.is_match(b))?;
        Ok(files.into_iter().map(|(path, _)| path).collect())
    }

    fn read_matching(
        &self,
        repo: &str,
        rev: &str,
        _needles: &[String],
        keep: &(dyn Fn(&[u8]) -> bool + Sync),
    ) -> Result<Vec<(String, Vec<u8>)>> {
        crate::odb::read_matching(&self.reader(repo)?, rev, keep)
    }

    fn read_all(&self, repo: &str, rev: &str, paths: &[String]) -> Result<Vec<Vec<u8>>> {
        crate::odb::read_all(&self.reader(repo)?, rev, paths)
    }

    fn changed_paths(&self, repo: &str, from: &str, to: &str) -> Result<Vec<String>> {
        crate::odb::changed(&self.reader(repo)?, from, to)
    }

    fn diff(&self, repo: &str, commit: &str) -> Result<String> {
        let dir = self.path(repo)?;
        git(
            &dir,
            ["show", "--format=", "--no-color", "--no-ext-diff", commit],
        )
    }
}

/// The commit a worktree's detached HEAD names, read from the worktree's
/// folder in the repository (its `.git` file says where): one git process
/// less per commit. `None` when HEAD there is not a plain id.
fn detached_head(wt: &Path) -> Option<String> {
    let link = std::fs::read_to_string(wt.join(".git")).ok()?;
    let admin = Path::new(link.strip_prefix("gitdir:")?.trim());
    let head = std::fs::read_to_string(wt.join(admin).join("HEAD")).ok()?;
    let head = head.trim();
    (matches!(head.len(), 40 | 64) && head.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| head.to_string())
}

/// A commit message in a file of its own, for `--file`: a message of any
/// length (a spec's long description) never meets the limit on arguments.
fn message_file(message: &str) -> Result<tempfile::NamedTempFile> {
    let mut file = tempfile::NamedTempFile::new()
        .map_err(|e| ForgeError::Io("writing a commit message".into(), e))?;
    std::io::Write::write_all(&mut file, message.as_bytes())
        .map_err(|e| ForgeError::Io("writing a commit message".into(), e))?;
    Ok(file)
}

/// Where a move of `branch` says what it is doing while it brings the
/// checkout along.
fn move_marker(git_dir: &Path, branch: &str) -> PathBuf {
    git_dir.join(format!("tern-move-{}", branch.replace('/', "%")))
}

/// Whether every difference between the checkout (index and files) and
/// `old` is a path the move to `new` changes, holding `old`'s or `new`'s
/// version: the state a move interrupted half way leaves, and nothing of
/// the user's.
fn only_the_move(dir: &Path, old: &str, new: &str) -> Result<bool> {
    let names = |args: &[&str]| -> Result<std::collections::HashSet<String>> {
        Ok(git(dir, args)?
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect())
    };
    let diff = |cached: bool, rev: &str| {
        let mut args = vec![
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--ignore-submodules",
        ];
        if cached {
            args.push("--cached");
        }
        args.extend([rev, "--"]);
        names(&args)
    };
    let (files_old, files_new) = (diff(false, old)?, diff(false, new)?);
    let (index_old, index_new) = (diff(true, old)?, diff(true, new)?);
    if files_old.intersection(&files_new).next().is_some()
        || index_old.intersection(&index_new).next().is_some()
    {
        return Ok(false);
    }
    // A file the move adds that the index does not know yet must be the move's.
    for path in names(&[
        "diff",
        "--name-only",
        "-z",
        "--no-renames",
        "--diff-filter=A",
        old,
        new,
    ])? {
        let on_disk = dir.join(&path);
        if index_new.contains(&path) && on_disk.exists() {
            let written = git(dir, ["hash-object", "--", path.as_str()])?;
            if written != git(dir, ["rev-parse", &format!("{new}:{path}")])? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Removes, once per process, the empty temporary folders a dead tern made
/// for a worktree it never got to add (killed in between); anything with
/// content is a repository's to sweep, and stays.
fn empty_leftovers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(empty_leftovers_now);
}

fn empty_leftovers_now() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(WORKTREE_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() as i32 && !alive(pid) {
            // Fails, harmlessly, on a folder that is not empty.
            let _ = std::fs::remove_dir(e.path());
        }
    }
}

/// True when a process with this id exists.
fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}
