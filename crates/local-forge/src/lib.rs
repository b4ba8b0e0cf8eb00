//! The embedded forge: a consumer's `repo` is a path to a git repository on
//! this machine, and a proposed change is the branch tern publishes in it.
//!
//! It implements [`tern_forge::Forge`] from outside the boundary crate, as
//! GitHub and GitLab forges do. Every change is made in a temporary worktree
//! and published by moving refs with a compare-and-swap (as `git update-ref NEW
//! OLD` does), so the user's working tree, index and uncommitted work stay exactly
//! as they were.

mod git;
mod odb;

pub use git::LocalForge;
