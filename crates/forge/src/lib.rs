//! Where consumer repositories live and where changes are proposed.
//!
//! The [`Forge`] trait is what the fleet sees: find a repo's default branch,
//! make a separate [`Worktree`] to patch and verify in, commit, branch, merge,
//! revert, delete. [`LocalForge`] implements it on plain git repositories on
//! disk by driving the real `git` command line. Remote forges (GitHub, GitLab)
//! will implement the same trait over their REST APIs.
//!
//! Invariant: a forge never touches the user's checkout. Every change is made
//! in a temporary worktree and published by moving refs with a compare-and-swap
//! (`git update-ref NEW OLD`), so the user's working tree, index and
//! uncommitted work stay exactly as they were.

mod git;
mod odb;
mod verify;

use std::path::{Path, PathBuf};

pub use git::LocalForge;
pub use verify::{run_verify, tail, VerifyOutcome};

/// What a forge could not do.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// The repository path does not exist.
    #[error("repository {0} does not exist")]
    NoSuchRepo(String),
    /// The path exists but is not the top of a git repository.
    #[error("{0} is not a git repository")]
    NotARepo(String),
    /// The repository lives somewhere this forge cannot reach.
    #[error("repository {0}: remote repositories need a remote forge (github, gitlab); the local forge works on paths")]
    Remote(String),
    /// No default branch could be found.
    #[error(
        "repository {0} has no default branch (no main, master, origin/HEAD or checked-out branch)"
    )]
    NoDefaultBranch(String),
    /// A ref moved while tern was working; nothing was overwritten.
    #[error("repository {repo}: {reference} moved while tern was working; try again")]
    Raced {
        /// The repository.
        repo: String,
        /// The ref that moved.
        reference: String,
    },
    /// A merge or revert does not apply cleanly.
    #[error("repository {repo}: {what} does not apply cleanly: {detail}")]
    Conflict {
        /// The repository.
        repo: String,
        /// Merge or revert of what.
        what: String,
        /// Git's words.
        detail: String,
    },
    /// A repository's refs or objects could not be read.
    #[error("repository {repo}: cannot read what it has committed: {detail}")]
    Objects {
        /// The repository.
        repo: String,
        /// What went wrong.
        detail: String,
    },
    /// The needles to search every repository for cannot be searched for
    /// (far too many or too long): no repository is at fault.
    #[error("cannot search for the needles: {0}")]
    Needles(String),
    /// git itself failed.
    #[error("git {args} in {dir}: {stderr}")]
    Git {
        /// Where it ran.
        dir: String,
        /// What was run.
        args: String,
        /// What it said.
        stderr: String,
    },
    /// The operating system refused (spawning git, temporary directories).
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// Result alias for forge calls.
pub type Result<T, E = ForgeError> = std::result::Result<T, E>;

/// A repository as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    /// The branch changes are made from and merged into.
    pub default_branch: String,
    /// Its tip.
    pub head: String,
}

/// A temporary checkout, separate from the user's, removed when dropped.
#[derive(Debug)]
pub struct Worktree {
    /// The repository it belongs to.
    pub repo: PathBuf,
    /// Where the files are.
    pub path: PathBuf,
    /// Keeps the parent temporary directory alive.
    pub(crate) _dir: tempfile::TempDir,
}

impl Worktree {
    /// The checkout's root.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A forge: the operations a campaign needs on a consumer repository.
pub trait Forge: Send + Sync {
    /// Checks the repository and finds its default branch.
    fn open(&self, repo: &str) -> Result<RepoInfo>;
    /// A fresh checkout of `rev` outside the user's checkout.
    fn worktree(&self, repo: &str, rev: &str) -> Result<Worktree>;
    /// Commits the changes to `paths` (and nothing else) as one commit;
    /// `None` when there is nothing to commit.
    fn commit(&self, wt: &Worktree, message: &str, paths: &[String]) -> Result<Option<String>>;
    /// The tip of a local branch, if it exists.
    fn branch(&self, repo: &str, name: &str) -> Result<Option<String>>;
    /// Creates a branch at `commit`; fails if it exists elsewhere, succeeds if it already points there.
    fn create_branch(&self, repo: &str, name: &str, commit: &str) -> Result<()>;
    /// Deletes a branch; deleting a missing branch is not an error.
    fn delete_branch(&self, repo: &str, name: &str) -> Result<()>;
    /// True when `commit` is already reachable from `branch`.
    fn contains(&self, repo: &str, branch: &str, commit: &str) -> Result<bool>;
    /// Puts `commit` on `into` (fast-forward when possible, else a merge
    /// commit with `message`) and returns the new tip. `base`, the tip the
    /// change was made on, lets the common case be one ref update.
    fn merge(
        &self,
        repo: &str,
        commit: &str,
        into: &str,
        base: Option<&str>,
        message: &str,
    ) -> Result<String>;
    /// Adds a commit on `on` that undoes `commit` and returns it.
    fn revert(&self, repo: &str, commit: &str, on: &str, message: &str) -> Result<String>;
    /// The newest commit on `branch` whose message carries `needle` (a trailer).
    fn find_commit(&self, repo: &str, branch: &str, needle: &str) -> Result<Option<String>>;
    /// The diff a commit introduces, as `git show` prints it.
    fn diff(&self, repo: &str, commit: &str) -> Result<String>;
    /// Files at `rev` containing any of `needles` (ASCII case ignored), without
    /// a checkout: the repository's own files (tracked regular files, binary
    /// ones included; never a symbolic link or a submodule).
    fn grep(&self, repo: &str, rev: &str, needles: &[String]) -> Result<Vec<String>>;
    /// The files at `rev` worth a closer look, with their bytes: those holding
    /// a needle (ASCII case ignored) for which `keep` also holds. `needles` is
    /// what a forge can search for on its side; a forge that reads every blob
    /// itself applies only `keep`, a finer test, in one pass over the tree.
    fn read_matching(
        &self,
        repo: &str,
        rev: &str,
        needles: &[String],
        keep: &(dyn Fn(&[u8]) -> bool + Sync),
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let paths = self.grep(repo, rev, needles)?;
        let blobs = self.read_all(repo, rev, &paths)?;
        Ok(paths
            .into_iter()
            .zip(blobs)
            .filter(|(_, b)| keep(b))
            .collect())
    }
    /// Files' bytes at `rev`, in the order of `paths`.
    fn read_all(&self, repo: &str, rev: &str, paths: &[String]) -> Result<Vec<Vec<u8>>>;
    /// Paths that differ between two commits.
    fn changed_paths(&self, repo: &str, from: &str, to: &str) -> Result<Vec<String>>;
    /// Removes what dead tern processes left in the repository (temporary
    /// worktrees): called when a worker takes over a change from one that died.
    fn sweep(&self, repo: &str) -> Result<()>;
}
