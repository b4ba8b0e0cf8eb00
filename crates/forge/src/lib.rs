//! The forge boundary: what tern needs from wherever consumer repositories
//! live and changes are proposed.
//!
//! A forge is anything that can show a repository's files at a commit, give
//! a checkout to patch in, publish a branch, open (or adopt) a change for
//! review, report that change's checks, and merge, close or revert it. The
//! fleet sees only the [`Forge`] trait, so a forge is a crate of its own that
//! implements it: `tern-local-forge` (plain git repositories on disk) is one;
//! GitHub and GitLab forges are others.
//!
//! Invariant every implementation keeps: a forge never touches a user's
//! checkout. Changes are made in a separate [`Worktree`] and published by
//! compare-and-swap, so nothing anyone else wrote is ever overwritten.

use std::path::{Path, PathBuf};

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
    /// The branch tern would publish on exists and holds someone else's
    /// commits: tern never overwrites it.
    #[error("repository {repo}: branch {branch} already exists with commits that are not tern's (its tip {tip} is not this migration's commit); tern does not overwrite it: rename or delete that branch, then `tern retry`")]
    BranchTaken {
        /// The repository.
        repo: String,
        /// The branch.
        branch: String,
        /// Its tip.
        tip: String,
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
    /// The branch to move is checked out in the repository's own working
    /// tree, which has uncommitted changes (or untracked files in the way):
    /// the checkout is left alone and the move waits until it is clean.
    #[error("repository {repo}: `{branch}` is checked out there with uncommitted changes ({detail}); tern leaves them alone and merges once the checkout is clean")]
    CheckoutDirty {
        /// The repository.
        repo: String,
        /// The branch checked out.
        branch: String,
        /// What is in the way.
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

/// A checkout made for one change, separate from anyone's own; whatever the
/// forge needs to remove it again lives in `keep` and runs when it drops.
pub struct Worktree {
    path: PathBuf,
    _keep: Box<dyn std::any::Any + Send + Sync>,
}

impl Worktree {
    /// A checkout rooted at `path`; dropping `keep` removes it (a forge
    /// outside this crate makes its own, so both are public).
    pub fn new(path: PathBuf, keep: impl std::any::Any + Send + Sync) -> Worktree {
        Worktree {
            path,
            _keep: Box::new(keep),
        }
    }

    /// The checkout's root.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::fmt::Debug for Worktree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worktree")
            .field("path", &self.path)
            .finish()
    }
}

/// A change put up for review: the branch that carries it, the branch it
/// goes into, and the words a reviewer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The published branch (`tern/<migration>`).
    pub branch: String,
    /// Where it merges (the default branch it was made from).
    pub base: String,
    /// One line.
    pub title: String,
    /// What changed and why.
    pub body: String,
}

/// What the forge's own checks (its CI) say of a proposed commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checks {
    /// The forge runs none: tern's verification is the only check.
    None,
    /// Some are still running; merge later.
    Pending,
    /// All passed.
    Passed,
    /// At least one failed; the words say which.
    Failed(String),
}

/// A forge: what a campaign needs of the place a consumer's repository lives.
pub trait Forge: Send + Sync {
    // Reading what a repository holds.

    /// Checks the repository and finds its default branch and tip.
    fn open(&self, repo: &str) -> Result<RepoInfo>;
    /// Files at `rev` containing any of `needles` (ASCII case ignored): the
    /// repository's own files (tracked regular files, binary ones included;
    /// never a symbolic link or a submodule).
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
    /// The diff a commit introduces, as `git show` prints it.
    fn diff(&self, repo: &str, commit: &str) -> Result<String>;
    /// The newest commit on `branch` whose message carries `needle` (a
    /// trailer); `None` when there is no such branch or commit.
    fn find_commit(&self, repo: &str, branch: &str, needle: &str) -> Result<Option<String>>;

    // Making a change.

    /// A fresh checkout of `rev`, outside anyone's own.
    fn worktree(&self, repo: &str, rev: &str) -> Result<Worktree>;
    /// Commits the changes to `paths` (and nothing else) in `wt` as one
    /// commit; `None` when there is nothing to commit.
    fn commit(&self, wt: &Worktree, message: &str, paths: &[String]) -> Result<Option<String>>;

    // The change's life on the forge.

    /// The tip of a published branch, if it exists.
    fn published(&self, repo: &str, branch: &str) -> Result<Option<String>>;
    /// Publishes `commit` as `branch`; fails if the branch exists elsewhere,
    /// succeeds if it already points there (a run that stopped is resumed).
    fn publish(&self, repo: &str, branch: &str, commit: &str) -> Result<()>;
    /// Opens the change for review, or adopts the one already open for its
    /// branch, and says where a person reviews it (`None` when the forge has
    /// no such page: locally the published branch is the proposal).
    fn propose(&self, repo: &str, proposal: &Proposal) -> Result<Option<String>>;
    /// What the forge's own checks say of the proposed `commit` on `branch`.
    fn checks(&self, repo: &str, branch: &str, commit: &str) -> Result<Checks>;
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
    /// Closes the proposal (if open) and deletes its branch; closing what is
    /// not there is not an error.
    fn close(&self, repo: &str, branch: &str) -> Result<()>;
    /// Adds a commit on `on` that undoes `commit` and returns it.
    fn revert(&self, repo: &str, commit: &str, on: &str, message: &str) -> Result<String>;
    /// Removes what dead tern processes left behind (temporary checkouts):
    /// called when a worker takes over a change from one that died.
    fn sweep(&self, repo: &str) -> Result<()>;
}
