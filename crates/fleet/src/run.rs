//! The campaign: each consumer's change through the states of SPEC §5.
//!
//! Every step writes the change to the store before the next begins, and every
//! forge step can be repeated: a branch that already holds tern's commit is
//! reused, a merge of something already merged is a no-op, a revert already on
//! the default branch (found by its trailer) is not made twice.

use std::collections::HashMap;

use tern_catalog::{now, Change, ChangeState, Migration, MigrationState, VerifyResult, Via};
use tern_forge::{run_verify, Worktree};
use tern_rewrite::Engine;
use tern_spec::{Approval, Spec};

use crate::plan::{plan_all, to_unresolved};
use crate::{
    branch_name, commit_message, resolve, trailer, Fleet, FleetError, Progress, Result, Status,
};

impl Fleet<'_> {
    /// Runs (or continues) a campaign until every change is settled or waits
    /// for a person. Sequential within this call; resumable across calls.
    pub fn run(
        &self,
        spec: &Spec,
        spec_text: &str,
        spec_file: &str,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Status> {
        let resolved = resolve(spec, self.store, spec_file)?;
        let engine = Engine::new(resolved.rules);
        let mut migration = match self.store.migration(&spec.id)? {
            Some(m) if m.state == MigrationState::RolledBack => {
                return Err(FleetError::State(format!(
                    "migration {} was rolled back; give the spec a new id to start again",
                    spec.id
                )))
            }
            Some(m) if m.state == MigrationState::Paused => {
                return Err(FleetError::State(format!(
                    "migration {} is paused ({}); `tern resume {}` to continue",
                    spec.id,
                    m.paused_reason.as_deref().unwrap_or("by request"),
                    spec.id
                )))
            }
            Some(mut m) => {
                m.spec = spec_text.to_string();
                m.spec_file = spec_file.to_string();
                m.title = spec.title.clone();
                m.owner = resolved.owner.clone();
                m.state = MigrationState::Running;
                m.finished_at = None;
                m
            }
            None => Migration {
                id: spec.id.clone(),
                spec: spec_text.to_string(),
                spec_file: spec_file.to_string(),
                title: spec.title.clone(),
                owner: resolved.owner.clone(),
                state: MigrationState::Running,
                started_at: now(),
                finished_at: None,
                paused_reason: None,
                manual_interventions: 0,
            },
        };
        self.store.put_migration(&migration)?;
        self.discover(spec, &engine, progress)?;

        let changes = self.store.changes(&spec.id)?;
        let total = changes.len();
        for (i, mut change) in changes.into_iter().enumerate() {
            self.advance(spec, &engine, &mut change)?;
            progress(Progress {
                phase: "migrating",
                done: i + 1,
                total,
                consumer: &change.consumer,
            });
        }
        let changes = self.store.changes(&spec.id)?;
        if changes.iter().all(|c| c.state.is_settled()) {
            migration.state = MigrationState::Done;
            migration.finished_at = Some(now());
        }
        self.store.put_migration(&migration)?;
        self.status(&spec.id)
    }

    /// Records a planned change for every consumer not yet in the campaign.
    fn discover(
        &self,
        spec: &Spec,
        engine: &Engine,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<()> {
        let known: HashMap<String, Change> = self
            .store
            .changes(&spec.id)?
            .into_iter()
            .map(|c| (c.consumer.clone(), c))
            .collect();
        let fresh: Vec<_> = self
            .candidates(spec)?
            .into_iter()
            .filter(|(c, _, _)| !known.contains_key(&c.id))
            .collect();
        // Declared readers need no scan now: patching scans them. Others are
        // only in the campaign if their code names the dataset.
        let (declared, scanned): (Vec<_>, Vec<_>) = fresh.into_iter().partition(|(_, _, d)| *d);
        for (consumer, via, _) in &declared {
            self.store.put_change(
                &Change::planned(&spec.id, consumer, *via),
                "found in the catalog",
            )?;
        }
        let plans = plan_all(self.forge, engine, &scanned, progress);
        for ((consumer, _, _), plan) in scanned.iter().zip(plans) {
            if plan.error.is_none() && !plan.is_empty() {
                self.store.put_change(
                    &Change::planned(&spec.id, consumer, Via::Scan),
                    "found by scanning its code",
                )?;
                self.store.add_edge(
                    spec.dataset.from.as_deref().unwrap_or(&spec.id),
                    &consumer.id,
                    Via::Scan,
                )?;
            }
        }
        Ok(())
    }

    /// Moves one change forward as far as it can go without a person.
    pub(crate) fn advance(&self, spec: &Spec, engine: &Engine, change: &mut Change) -> Result<()> {
        let mut worktree: Option<Worktree> = None;
        loop {
            let step = match change.state {
                ChangeState::Planned => self.patch(spec, engine, change).map(|wt| worktree = wt),
                ChangeState::Patched | ChangeState::Verifying => {
                    self.verify(spec, change, worktree.take())
                }
                ChangeState::Open if spec.approval == Approval::Auto => {
                    change.state = ChangeState::Approved;
                    change.approved_by = Some("auto".into());
                    self.save(change, "approved automatically (approval: auto)")
                }
                ChangeState::Approved => self.merge(spec, change),
                _ => return Ok(()),
            };
            match step {
                Ok(()) => {}
                Err(Step::Store(e)) => return Err(e.into()),
                Err(Step::Forge(e)) => {
                    change.error = Some(e.to_string());
                    change.state = ChangeState::Failed;
                    self.save(change, "could not work on the repository")
                        .map_err(|e| match e {
                            Step::Store(e) => FleetError::Catalog(e),
                            Step::Forge(e) => FleetError::State(e.to_string()),
                        })?;
                    return Ok(());
                }
            }
        }
    }

    fn save(&self, change: &mut Change, note: &str) -> Result<(), Step> {
        change.updated_at = now();
        self.store.put_change(change, note).map_err(Step::Store)
    }

    /// Planned → patched (or skipped, needs_attention): rewrite in a worktree, commit, branch.
    fn patch(
        &self,
        spec: &Spec,
        engine: &Engine,
        change: &mut Change,
    ) -> Result<Option<Worktree>, Step> {
        let info = self.forge.open(&change.repo)?;
        let branch = branch_name(&spec.id);
        change.base_branch = Some(info.default_branch.clone());
        if let Some(tip) = self.forge.branch(&change.repo, &branch)? {
            // A run that stopped after branching: reuse tern's commit.
            if self
                .forge
                .find_commit(&change.repo, &branch, &trailer(&spec.id))?
                .as_deref()
                != Some(tip.as_str())
            {
                return Err(Step::Forge(tern_forge::ForgeError::Raced {
                    repo: change.repo.clone(),
                    reference: format!(
                        "refs/heads/{branch} exists and its tip is not tern's commit"
                    ),
                }));
            }
            change.branch = Some(branch.clone());
            change.commit = Some(tip);
            change.state = ChangeState::Patched;
            self.save(change, &format!("found tern's commit on {branch}"))?;
            return Ok(None);
        }
        let wt = self.forge.worktree(&change.repo, &info.head)?;
        let report = tern_scan::scan_tree(engine, wt.path(), &|_| {}).map_err(|e| {
            Step::Forge(tern_forge::ForgeError::Io(
                e.to_string(),
                std::io::Error::other("scan"),
            ))
        })?;
        change.edits = report.edits() as u64;
        change.files = report.files.iter().map(|f| f.path.clone()).collect();
        change.unresolved = report
            .findings
            .clone()
            .into_iter()
            .map(to_unresolved)
            .collect();
        if report.files.is_empty() {
            change.state = if change.unresolved.is_empty() {
                ChangeState::Skipped
            } else {
                ChangeState::NeedsAttention
            };
            let note = if change.unresolved.is_empty() {
                "nothing to change"
            } else {
                "only references tern cannot rewrite"
            };
            self.save(change, note)?;
            return Ok(None);
        }
        tern_scan::write_changes(wt.path(), &report).map_err(|e| {
            Step::Forge(tern_forge::ForgeError::Io(
                e.to_string(),
                std::io::Error::other("write"),
            ))
        })?;
        let Some(commit) = self.forge.commit(&wt, &commit_message(spec))? else {
            change.state = ChangeState::Skipped;
            self.save(change, "nothing to commit")?;
            return Ok(None);
        };
        self.forge.create_branch(&change.repo, &branch, &commit)?;
        change.branch = Some(branch.clone());
        change.commit = Some(commit);
        change.state = ChangeState::Patched;
        self.save(change, &format!("committed on {branch}"))?;
        Ok(Some(wt))
    }

    /// Patched → open / needs_attention / failed: the repo's own verification.
    fn verify(&self, spec: &Spec, change: &mut Change, wt: Option<Worktree>) -> Result<(), Step> {
        let commit = change.commit.clone().unwrap_or_default();
        let wt = match wt {
            Some(wt) => wt,
            None => self.forge.worktree(&change.repo, &commit)?,
        };
        let command = match repo_verify_command(wt.path()) {
            Ok(Some(c)) => Some(c),
            Ok(None) => spec.verify.command.clone(),
            Err(why) => {
                change.error = Some(why);
                change.state = ChangeState::Failed;
                return self.save(change, "bad .tern.yaml");
            }
        };
        change.state = ChangeState::Verifying;
        self.save(change, command.as_deref().unwrap_or("no verify command"))?;
        let result = match &command {
            None => VerifyResult {
                ok: true,
                seconds: 0.0,
                command: None,
                log_tail: "no verify command: neither .tern.yaml nor the spec names one".into(),
            },
            Some(cmd) => {
                let out = run_verify(wt.path(), cmd, spec.verify.timeout).map_err(|e| {
                    Step::Forge(tern_forge::ForgeError::Io(format!("running {cmd:?}"), e))
                })?;
                VerifyResult {
                    ok: out.ok,
                    seconds: (out.seconds * 1000.0).round() / 1000.0,
                    command: Some(cmd.clone()),
                    log_tail: out.log_tail,
                }
            }
        };
        let ok = result.ok;
        change.verify = Some(result);
        let (state, note) = match (ok, change.unresolved.is_empty()) {
            (false, _) => (ChangeState::Failed, "verification failed"),
            (true, true) => (ChangeState::Open, "verified; proposed"),
            (true, false) => (
                ChangeState::NeedsAttention,
                "verified, but some references need a person",
            ),
        };
        change.state = state;
        self.save(change, note)
    }

    /// Approved → merged.
    pub(crate) fn merge(&self, spec: &Spec, change: &mut Change) -> Result<(), Step> {
        let commit = change.commit.clone().unwrap_or_default();
        let base = match &change.base_branch {
            Some(b) => b.clone(),
            None => self.forge.open(&change.repo)?.default_branch,
        };
        let message = format!(
            "Merge {}: {}\n\n{}",
            branch_name(&spec.id),
            spec.title,
            trailer(&spec.id)
        );
        let tip = self.forge.merge(&change.repo, &commit, &base, &message)?;
        change.merge_commit = Some(tip);
        change.state = ChangeState::Merged;
        self.save(change, &format!("merged into {base}"))
    }
}

/// The repo's own verification command: `.tern.yaml` key `verify`.
fn repo_verify_command(root: &std::path::Path) -> Result<Option<String>, String> {
    let path = root.join(".tern.yaml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let doc = tern_yaml::load_one(&text)
        .map_err(|e| format!(".tern.yaml:{}: not valid YAML: {}", e.line, e.message))?;
    match doc.get("verify") {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| format!(".tern.yaml:{}: `verify` must be a shell command", v.line)),
    }
}

/// Why a step stopped: the store (fatal) or the repository (the change fails).
pub(crate) enum Step {
    Store(tern_catalog::CatalogError),
    Forge(tern_forge::ForgeError),
}

impl From<tern_forge::ForgeError> for Step {
    fn from(e: tern_forge::ForgeError) -> Step {
        Step::Forge(e)
    }
}
