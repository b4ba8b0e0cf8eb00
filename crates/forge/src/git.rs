//! The local forge: plain git repositories on disk, driven through the git CLI.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::*;

/// The embedded forge: a consumer's `repo` is a path to a git repository.
#[derive(Debug, Default)]
pub struct LocalForge {
    /// Repositories already checked to be the top of a repository, so each
    /// operation does not pay two more git processes to check again.
    checked: Mutex<HashMap<String, PathBuf>>,
}

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

fn git<I, S>(dir: &Path, args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(&args);
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
    let out = cmd
        .output()
        .map_err(|e| ForgeError::Io("running git (is it installed?)".into(), e))?;
    if !out.status.success() {
        return Err(ForgeError::Git {
            dir: dir.display().to_string(),
            args: args
                .iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
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
    /// Resolves and checks a repository path: it must be the top of a
    /// repository (or a bare one), never a folder inside some other repository.
    fn path(&self, repo: &str) -> Result<PathBuf> {
        if let Some(p) = self
            .checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(repo)
        {
            return Ok(p.clone());
        }
        let path = self.check(repo)?;
        self.sweep(&path);
        self.checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(repo.to_string(), path.clone());
        Ok(path)
    }

    fn check(&self, repo: &str) -> Result<PathBuf> {
        if repo.contains("://") || repo.starts_with("git@") {
            return Err(ForgeError::Remote(repo.to_string()));
        }
        let path = Path::new(repo);
        if !path.exists() {
            return Err(ForgeError::NoSuchRepo(repo.to_string()));
        }
        let path = path
            .canonicalize()
            .map_err(|e| ForgeError::Io(format!("resolving {repo}"), e))?;
        let not_repo = || ForgeError::NotARepo(repo.to_string());
        let bare = git(&path, ["rev-parse", "--is-bare-repository"]).map_err(|_| not_repo())?;
        let top = if bare == "true" {
            git(&path, ["rev-parse", "--absolute-git-dir"])
        } else {
            git(&path, ["rev-parse", "--show-toplevel"])
        }
        .map_err(|_| not_repo())?;
        let top = Path::new(&top).canonicalize().map_err(|_| not_repo())?;
        if top != path {
            return Err(not_repo());
        }
        Ok(path)
    }

    /// Removes worktrees left by tern processes that no longer run (a
    /// campaign killed mid-step), so crashes leave nothing behind.
    fn sweep(&self, dir: &Path) {
        let Ok(list) = git(dir, ["worktree", "list", "--porcelain"]) else {
            return;
        };
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
        }
        let _ = git(dir, ["worktree", "prune"]);
    }

    fn rev(&self, dir: &Path, rev: &str) -> Result<Option<String>> {
        match git(
            dir,
            [
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        ) {
            Ok(sha) => Ok(Some(sha)),
            Err(ForgeError::Git { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn default_branch(&self, dir: &Path, repo: &str) -> Result<String> {
        let exists =
            |b: &str| -> Result<bool> { Ok(self.rev(dir, &format!("refs/heads/{b}"))?.is_some()) };
        if let Ok(head) = git(dir, ["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"]) {
            if let Some(b) = head.strip_prefix("refs/remotes/origin/") {
                if exists(b)? {
                    return Ok(b.to_string());
                }
            }
        }
        for b in ["main", "master"] {
            if exists(b)? {
                return Ok(b.to_string());
            }
        }
        if let Ok(b) = git(dir, ["symbolic-ref", "--quiet", "--short", "HEAD"]) {
            if exists(&b)? {
                return Ok(b);
            }
        }
        Err(ForgeError::NoDefaultBranch(repo.to_string()))
    }

    /// Moves `refs/heads/<branch>` from `old` to `new`, failing if it moved meanwhile.
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

    fn make_worktree(&self, dir: &Path, rev: &str) -> Result<Worktree> {
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
        Ok(Worktree {
            repo: dir.to_path_buf(),
            path,
            _dir: tmp,
        })
    }
}

impl Drop for Worktree {
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
    fn open(&self, repo: &str) -> Result<RepoInfo> {
        let dir = self.path(repo)?;
        let default_branch = self.default_branch(&dir, repo)?;
        let head = self
            .rev(&dir, &format!("refs/heads/{default_branch}"))?
            .ok_or_else(|| ForgeError::NoDefaultBranch(repo.to_string()))?;
        Ok(RepoInfo {
            default_branch,
            head,
        })
    }

    fn worktree(&self, repo: &str, rev: &str) -> Result<Worktree> {
        let dir = self.path(repo)?;
        self.make_worktree(&dir, rev)
    }

    fn commit(&self, wt: &Worktree, message: &str) -> Result<Option<String>> {
        git(&wt.path, ["add", "--all"])?;
        if git_ok(&wt.path, &["diff", "--cached", "--quiet"])? {
            return Ok(None);
        }
        git(
            &wt.path,
            [
                "commit",
                "--quiet",
                "--no-verify",
                "--no-gpg-sign",
                "-m",
                message,
            ],
        )?;
        Ok(Some(git(&wt.path, ["rev-parse", "HEAD"])?))
    }

    fn branch(&self, repo: &str, name: &str) -> Result<Option<String>> {
        let dir = self.path(repo)?;
        self.rev(&dir, &format!("refs/heads/{name}"))
    }

    fn create_branch(&self, repo: &str, name: &str, commit: &str) -> Result<()> {
        let dir = self.path(repo)?;
        match self.rev(&dir, &format!("refs/heads/{name}"))? {
            Some(at) if at == commit => Ok(()),
            Some(_) => Err(ForgeError::Raced {
                repo: repo.to_string(),
                reference: format!("refs/heads/{name}"),
            }),
            // The all-zero old value makes creation fail if the branch appeared meanwhile.
            None => self.swap(
                &dir,
                repo,
                name,
                commit,
                "0000000000000000000000000000000000000000",
            ),
        }
    }

    fn delete_branch(&self, repo: &str, name: &str) -> Result<()> {
        let dir = self.path(repo)?;
        if let Some(at) = self.rev(&dir, &format!("refs/heads/{name}"))? {
            git(
                &dir,
                ["update-ref", "-d", &format!("refs/heads/{name}"), &at],
            )?;
        }
        Ok(())
    }

    fn contains(&self, repo: &str, branch: &str, commit: &str) -> Result<bool> {
        let dir = self.path(repo)?;
        git_ok(
            &dir,
            &[
                "merge-base",
                "--is-ancestor",
                commit,
                &format!("refs/heads/{branch}"),
            ],
        )
    }

    fn merge(&self, repo: &str, commit: &str, into: &str, message: &str) -> Result<String> {
        let dir = self.path(repo)?;
        let tip = self
            .rev(&dir, &format!("refs/heads/{into}"))?
            .ok_or_else(|| ForgeError::NoDefaultBranch(repo.to_string()))?;
        if git_ok(&dir, &["merge-base", "--is-ancestor", commit, &tip])? {
            return Ok(tip);
        }
        let new = if git_ok(&dir, &["merge-base", "--is-ancestor", &tip, commit])? {
            commit.to_string()
        } else {
            // The default branch moved on: merge in a scratch worktree.
            let wt = self.make_worktree(&dir, &tip)?;
            if let Err(e) = git(
                &wt.path,
                [
                    "merge",
                    "--no-ff",
                    "--no-edit",
                    "--quiet",
                    "-m",
                    message,
                    commit,
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
        self.swap(&dir, repo, into, &new, &tip)?;
        Ok(new)
    }

    fn revert(&self, repo: &str, commit: &str, on: &str, message: &str) -> Result<String> {
        let dir = self.path(repo)?;
        let tip = self
            .rev(&dir, &format!("refs/heads/{on}"))?
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
        git(
            &wt.path,
            [
                "commit",
                "--quiet",
                "--no-verify",
                "--no-gpg-sign",
                "--allow-empty",
                "-m",
                message,
            ],
        )?;
        let new = git(&wt.path, ["rev-parse", "HEAD"])?;
        self.swap(&dir, repo, on, &new, &tip)?;
        Ok(new)
    }

    fn find_commit(&self, repo: &str, branch: &str, needle: &str) -> Result<Option<String>> {
        let dir = self.path(repo)?;
        if self.rev(&dir, &format!("refs/heads/{branch}"))?.is_none() {
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
        let dir = self.path(repo)?;
        let mut args: Vec<String> = ["grep", "-l", "-I", "-i", "-F", "--no-color"]
            .map(String::from)
            .to_vec();
        for n in needles {
            args.push("-e".into());
            args.push(n.clone());
        }
        args.push(rev.to_string());
        args.push("--".into());
        match git(&dir, &args) {
            // `rev:path` per line.
            Ok(out) => Ok(out
                .lines()
                .map(|l| l.strip_prefix(&format!("{rev}:")).unwrap_or(l).to_string())
                .collect()),
            // Exit status 1: nothing found.
            Err(ForgeError::Git { stderr, .. }) if stderr.is_empty() => Ok(vec![]),
            Err(e) => Err(e),
        }
    }

    fn read(&self, repo: &str, rev: &str, path: &str) -> Result<Vec<u8>> {
        let dir = self.path(repo)?;
        let out = Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(["cat-file", "blob", &format!("{rev}:{path}")])
            .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap_or(&dir))
            .output()
            .map_err(|e| ForgeError::Io("running git".into(), e))?;
        if !out.status.success() {
            return Err(ForgeError::Git {
                dir: dir.display().to_string(),
                args: format!("cat-file blob {rev}:{path}"),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.stdout)
    }

    fn changed_paths(&self, repo: &str, from: &str, to: &str) -> Result<Vec<String>> {
        let dir = self.path(repo)?;
        let out = git(
            &dir,
            ["diff", "--name-only", "--no-renames", "-z", from, to],
        )?;
        Ok(out
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect())
    }

    fn diff(&self, repo: &str, commit: &str) -> Result<String> {
        let dir = self.path(repo)?;
        git(
            &dir,
            ["show", "--format=", "--no-color", "--no-ext-diff", commit],
        )
    }
}

/// True when a process with this id exists.
fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}
