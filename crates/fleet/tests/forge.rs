//! The forge boundary from outside: a forge with a review page and CI of its
//! own, written here over the local forge as a GitHub or GitLab forge would
//! be, and the fleet keeping to what its checks say.

mod common;

use std::path::Path;
use std::sync::Mutex;

use tern_catalog::{ChangeState, Store};
use tern_fleet::Fleet;
use tern_forge::{Checks, Forge, Proposal, RepoInfo, Result, Worktree};
use tern_local_forge::LocalForge;

use common::git;

/// The local forge, plus a review page per proposal and checks that say
/// whatever the test sets.
#[derive(Default)]
struct Reviewed {
    git: LocalForge,
    checks: Mutex<Option<Checks>>,
    proposed: Mutex<Vec<Proposal>>,
}

impl Reviewed {
    fn set(&self, c: Checks) {
        *self.checks.lock().unwrap() = Some(c);
    }
}

impl Forge for Reviewed {
    fn open(&self, repo: &str) -> Result<RepoInfo> {
        self.git.open(repo)
    }
    fn grep(&self, repo: &str, rev: &str, needles: &[String]) -> Result<Vec<String>> {
        self.git.grep(repo, rev, needles)
    }
    fn read_all(&self, repo: &str, rev: &str, paths: &[String]) -> Result<Vec<Vec<u8>>> {
        self.git.read_all(repo, rev, paths)
    }
    fn changed_paths(&self, repo: &str, from: &str, to: &str) -> Result<Vec<String>> {
        self.git.changed_paths(repo, from, to)
    }
    fn diff(&self, repo: &str, commit: &str) -> Result<String> {
        self.git.diff(repo, commit)
    }
    fn find_commit(&self, repo: &str, branch: &str, needle: &str) -> Result<Option<String>> {
        self.git.find_commit(repo, branch, needle)
    }
    fn worktree(&self, repo: &str, rev: &str) -> Result<Worktree> {
        // A checkout of our own making, as a remote forge's clone would be.
        let inner = self.git.worktree(repo, rev)?;
        Ok(Worktree::new(inner.path().to_path_buf(), inner))
    }
    fn commit(&self, wt: &Worktree, message: &str, paths: &[String]) -> Result<Option<String>> {
        self.git.commit(wt, message, paths)
    }
    fn published(&self, repo: &str, branch: &str) -> Result<Option<String>> {
        self.git.published(repo, branch)
    }
    fn publish(&self, repo: &str, branch: &str, commit: &str) -> Result<()> {
        self.git.publish(repo, branch, commit)
    }
    fn propose(&self, repo: &str, proposal: &Proposal) -> Result<Option<String>> {
        self.git.propose(repo, proposal)?;
        let mut all = self.proposed.lock().unwrap();
        all.push(proposal.clone());
        Ok(Some(format!(
            "https://forge.example/{}/pull/{}",
            proposal.branch,
            all.len()
        )))
    }
    fn checks(&self, _repo: &str, _branch: &str, _commit: &str) -> Result<Checks> {
        Ok(self.checks.lock().unwrap().clone().unwrap_or(Checks::None))
    }
    fn merge(
        &self,
        repo: &str,
        commit: &str,
        into: &str,
        base: Option<&str>,
        message: &str,
    ) -> Result<String> {
        self.git.merge(repo, commit, into, base, message)
    }
    fn close(&self, repo: &str, branch: &str) -> Result<()> {
        self.git.close(repo, branch)
    }
    fn revert(&self, repo: &str, commit: &str, on: &str, message: &str) -> Result<String> {
        self.git.revert(repo, commit, on, message)
    }
    fn sweep(&self, repo: &str) -> Result<()> {
        self.git.sweep(repo)
    }
}

const SPEC: &str = "version: 1
id: plays-move
title: Move plays
dataset: {from: hdfs-plays}
replace:
  - kind: path
    old: /warehouse/plays
    new: gs://lake/plays
verify: {command: 'true'}
rollout: {waves: ['100%']}
approval: owners
";

/// One consumer, `daily`, planned and verified: open, proposed on the forge.
fn world(forge: &Reviewed) -> (tempfile::TempDir, Box<dyn Store>, String) {
    let (dir, store, repo) = repo_and_catalog();
    let spec = tern_spec::Spec::parse(SPEC, "plays.yaml").unwrap();
    let fleet = Fleet {
        store: store.as_ref(),
        forge,
    };
    let status = fleet.run(&spec, SPEC, "plays.yaml", &|_| {}).unwrap();
    assert_eq!(status.counts["open"], 1, "{status:?}");
    (dir, store, repo)
}

fn repo_and_catalog() -> (tempfile::TempDir, Box<dyn Store>, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let repo = root.join("daily");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("job.py"), "PATH = \"/warehouse/plays\"\n").unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "init"]);
    let catalog = format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {{name: hdfs-plays, annotations: {{tern.dev/paths: /warehouse/plays}}}}\nspec: {{type: dataset, owner: data-platform}}\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: daily, annotations: {{backstage.io/source-location: 'dir:{}'}}}}\nspec: {{type: service, owner: insights, dependsOn: [resource:default/hdfs-plays]}}\n",
        repo.display()
    );
    let file = root.join("catalog-info.yaml");
    let store = tern_catalog::open("sqlite::memory:").unwrap();
    store
        .import(&tern_catalog::backstage::parse(&catalog, &file).unwrap())
        .unwrap();
    (dir, store, repo.display().to_string())
}

#[test]
fn a_proposal_is_opened_on_the_forge_and_its_page_kept() {
    let forge = Reviewed::default();
    let (_dir, store, _) = world(&forge);
    let proposed = forge.proposed.lock().unwrap().clone();
    assert_eq!(proposed.len(), 1);
    assert_eq!(proposed[0].branch, "tern/plays-move");
    assert_eq!(proposed[0].base, "main");
    assert_eq!(proposed[0].title, "Move plays");
    assert!(proposed[0].body.ends_with("Tern-Migration: plays-move"));
    let change = store.change("plays-move", "daily").unwrap().unwrap();
    assert_eq!(
        change.url.as_deref(),
        Some("https://forge.example/tern/plays-move/pull/1")
    );
    let status = Fleet {
        store: store.as_ref(),
        forge: &forge,
    }
    .status("plays-move")
    .unwrap();
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(
        json["consumers"][0]["url"],
        "https://forge.example/tern/plays-move/pull/1"
    );
}

#[test]
fn nothing_merges_while_the_forges_checks_run_or_after_they_fail() {
    let forge = Reviewed::default();
    let (_dir, store, repo) = world(&forge);
    let main_before = git(Path::new(&repo), &["rev-parse", "main"]);
    let fleet = Fleet {
        store: store.as_ref(),
        forge: &forge,
    };
    forge.set(Checks::Pending);
    let status = fleet.approve("plays-move", "daily", None).unwrap();
    assert_eq!(
        status.consumers[0].state,
        ChangeState::Approved,
        "waits for CI"
    );
    assert_eq!(git(Path::new(&repo), &["rev-parse", "main"]), main_before);

    forge.set(Checks::Failed("unit-tests: 2 failed".into()));
    fleet
        .work_everything(
            true,
            std::time::Duration::ZERO,
            &Default::default(),
            &|_| {},
        )
        .unwrap();
    let change = store.change("plays-move", "daily").unwrap().unwrap();
    assert_eq!(change.state, ChangeState::Failed);
    assert!(
        change
            .error
            .as_deref()
            .unwrap_or("")
            .contains("unit-tests: 2 failed"),
        "{:?}",
        change.error
    );
    assert_eq!(git(Path::new(&repo), &["rev-parse", "main"]), main_before);
}

#[test]
fn an_approved_change_merges_once_the_checks_pass() {
    let forge = Reviewed::default();
    let (_dir, store, repo) = world(&forge);
    let fleet = Fleet {
        store: store.as_ref(),
        forge: &forge,
    };
    forge.set(Checks::Passed);
    let status = fleet.approve("plays-move", "daily", None).unwrap();
    assert_eq!(status.consumers[0].state, ChangeState::Merged);
    assert_eq!(
        git(Path::new(&repo), &["show", "main:job.py"]),
        "PATH = \"gs://lake/plays\""
    );
}

#[test]
fn a_run_waits_for_running_checks_without_spinning_then_merges() {
    // Held back for a second at a time while the checks run.
    std::env::set_var("TERN_CHECKS_POLL_SECS", "1");
    let forge = Reviewed::default();
    forge.set(Checks::Pending);
    let (_dir, store, repo) = repo_and_catalog();
    let text = SPEC.replace("approval: owners", "approval: auto");
    let spec = tern_spec::Spec::parse(&text, "plays.yaml").unwrap();
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let status = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            forge.set(Checks::Passed);
        });
        Fleet {
            store: store.as_ref(),
            forge: &forge,
        }
        .run(&spec, &text, "plays.yaml", &|p| {
            asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert_eq!(p.total, 1);
            assert!(p.done <= 1, "a waiting change is not done: {p:?}");
        })
        .unwrap()
    });
    assert_eq!(status.consumers[0].state, ChangeState::Merged, "{status:?}");
    assert_eq!(
        git(Path::new(&repo), &["show", "main:job.py"]),
        "PATH = \"gs://lake/plays\""
    );
}
