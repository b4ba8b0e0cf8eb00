//! The campaign: each consumer's change through the states of docs/cli.md.
//!
//! Every step writes the change to the store before the next begins, and every
//! forge step can be repeated: a branch that already holds tern's commit is
//! reused, a merge of something already merged is a no-op, a revert already on
//! the default branch (found by its trailer) is not made twice.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;

use tern_catalog::{
    now, Change, ChangeState, EdgeMove, Migration, MigrationState, VerifyResult, Via,
};
use tern_forge::{Checks, ForgeError, Proposal, Worktree};
use tern_rewrite::Engine;
use tern_spec::{Approval, Spec};

use crate::plan::{plan_all, to_unresolved};
use crate::resolve::{campaign_rules, kept};
use crate::rollout::{clears_gate, describe, waiting_for_people, wave_of};
use crate::verifier::{run_verify_in, Jail};
use crate::{
    branch_name, commit_message, resolve, trailer, Fleet, FleetError, Progress, Result, Status,
};

impl Fleet<'_> {
    /// Runs (or continues) a campaign: wave by wave, each wave's consumers in
    /// parallel on every core (bounded by `max_in_flight`), until every change
    /// has settled, waits for a person, or a limit (wave gate, hourly limit,
    /// window, error budget) stops it. Resumable across calls.
    pub fn run(
        &self,
        spec: &Spec,
        spec_text: &str,
        spec_file: &str,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Status> {
        crate::verifier::end_orphans();
        let existing = self.store.migration(&spec.id)?;
        // The rules are fixed when a campaign first runs: running the same
        // spec again (a retry, a second `tern run`) rewrites as before even
        // if the catalog has learned more since; a changed spec is resolved
        // anew, because its author asked for something else.
        let (rules, kept, owner) = match existing
            .as_ref()
            .filter(|m| m.spec == spec_text && m.rules.is_some())
        {
            Some(m) => (
                campaign_rules(self.store, m, spec)?,
                m.rules.clone(),
                m.owner.clone(),
            ),
            None => {
                let r = resolve(spec, self.store, spec_file)?;
                (r.rules, kept(&r.input), r.owner)
            }
        };
        let engine = Engine::new(rules);
        let migration = match existing {
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
            Some(m) => {
                // On the record as it is when written, and only what a run
                // says: a pause or a digest written meanwhile stays.
                let mut refused = None;
                let written = self.store.update_migration(&m.id, &mut |m| {
                    if m.state == MigrationState::Paused {
                        refused = Some(m.paused_reason.clone());
                        return;
                    }
                    m.spec = spec_text.to_string();
                    m.spec_file = spec_file.to_string();
                    m.title = spec.title.clone();
                    m.owner = owner.clone();
                    m.rules = kept.clone();
                    m.state = MigrationState::Running;
                    m.finished_at = None;
                })?;
                if let Some(reason) = refused {
                    return Err(FleetError::State(format!(
                        "migration {} is paused ({}); `tern resume {}` to continue",
                        spec.id,
                        reason.as_deref().unwrap_or("by request"),
                        spec.id
                    )));
                }
                written.unwrap_or(m)
            }
            None => {
                self.refuse_a_second(spec)?;
                let m = Migration {
                    id: spec.id.clone(),
                    spec: spec_text.to_string(),
                    spec_file: spec_file.to_string(),
                    title: spec.title.clone(),
                    owner,
                    state: MigrationState::Running,
                    started_at: now(),
                    finished_at: None,
                    paused_reason: None,
                    manual_interventions: 0,
                    pauses: 0,
                    waiting: None,
                    open_wave: None,
                    remaining_references: None,
                    burndown: vec![],
                    digests: vec![],
                    nudged: Default::default(),
                    rules: kept,
                };
                self.store.put_migration(&m)?;
                m
            }
        };
        self.discover(spec, &engine, progress)?;
        if migration.burndown.is_empty() {
            self.baseline(&spec.id, &engine)?;
        }

        let waves = spec.rollout.waves.len().max(1) as u32;
        let mut waiting = None;
        let total = self.store.changes(&spec.id)?.len();
        let done = AtomicUsize::new(0);
        for wave in 0..waves {
            let changes = self.store.changes(&spec.id)?;
            let blockers: Vec<&Change> = changes
                .iter()
                .filter(|c| c.wave < wave && !clears_gate(c, spec.approval))
                .collect();
            if !blockers.is_empty() {
                waiting = Some(format!(
                    "wave {} of {waves} waits for {}",
                    wave + 1,
                    describe(&blockers)
                ));
                break;
            }
            if let Some(stop) = self.work(spec, &engine, wave, &done, total, progress)? {
                waiting = Some(stop);
                break;
            }
        }
        self.finish_run(&spec.id, waiting, &engine)?;
        self.send_digests(spec)?;
        self.status(&spec.id)
    }

    /// Settles the campaign's state after a run: paused stays paused, all
    /// settled is done, anything else is running with the reason it waits.
    fn finish_run(&self, id: &str, waiting: Option<String>, engine: &Engine) -> Result<()> {
        let changes = self.store.changes(id)?;
        let open = waiting_for_people(&changes);
        let complete = changes.iter().all(crate::waits::is_complete);
        let held: Vec<&Change> = changes.iter().filter(|c| c.waiting.is_some()).collect();
        let why = |c: &Change| c.waiting.clone().unwrap_or_default();
        let waiting = waiting.or_else(|| match held.as_slice() {
            [] => None,
            [one] => Some(format!("{} waits for a person: {}", one.consumer, why(one))),
            many => Some(format!(
                "{} wait for a person; {}: {}",
                describe(many),
                many[0].consumer,
                why(many[0])
            )),
        });
        let m = crate::campaign(self.store, id)?;
        let people = crate::waits::needs_people(&changes, &m, crate::stored_spec(&m)?.approval);
        let waiting = match (people, waiting) {
            (Some(p), Some(w)) => Some(format!("{p}; {w}")),
            (p, w) => p.or(w),
        };
        // The slow part (reading every default branch) before the write, and
        // the write decides on the record as it is then: a pause someone
        // made meanwhile stays.
        let remaining = self.remaining_references(engine, &changes);
        self.store.update_migration(id, &mut |m| {
            if m.state == MigrationState::Running {
                if complete {
                    m.state = MigrationState::Done;
                    m.finished_at = Some(now());
                    m.waiting = None;
                } else {
                    m.waiting = waiting.clone();
                }
            }
            m.remaining_references = remaining;
            m.burndown.push(tern_catalog::BurndownPoint {
                at: now(),
                remaining: remaining.unwrap_or(0),
                open,
            });
        })?;
        Ok(())
    }

    /// Two running campaigns moving one dataset would rewrite the same
    /// consumers twice over: a new one is refused, naming the first, while
    /// that one still has changes on consumers the new one would take.
    fn refuse_a_second(&self, spec: &Spec) -> Result<()> {
        let names = |s: &Spec| -> Vec<String> {
            let mut n: Vec<String> = s
                .replace
                .iter()
                .flat_map(|r| r.old.iter().map(|o| o.to_ascii_lowercase()))
                .collect();
            n.extend(s.dataset.from.iter().map(|f| format!("dataset:{f}")));
            n
        };
        let mine = names(spec);
        let candidates: std::collections::HashSet<String> = self
            .candidates(spec)?
            .into_iter()
            .map(|(c, _, _)| c.id)
            .collect();
        for other in self.store.migrations()? {
            if other.id == spec.id
                || !matches!(
                    other.state,
                    MigrationState::Running | MigrationState::Paused
                )
            {
                continue;
            }
            let Ok(theirs) = crate::resolve::stored_spec(&other) else {
                continue;
            };
            if !names(&theirs).iter().any(|n| mine.contains(n)) {
                continue;
            }
            let shared: Vec<String> = self
                .store
                .changes(&other.id)?
                .into_iter()
                .filter(|c| !c.state.is_settled() && candidates.contains(&c.consumer))
                .map(|c| c.consumer)
                .collect();
            if !shared.is_empty() {
                let more = match shared.len() {
                    0..=3 => String::new(),
                    n => format!(" and {} more", n - 3),
                };
                return Err(FleetError::State(format!(
                    "migration {} already moves this dataset and is {} with changes on the same consumers ({}{more}); finish it or roll it back before starting {}",
                    other.id,
                    if other.state == MigrationState::Paused { "paused" } else { "running" },
                    shared[..shared.len().min(3)].join(", "),
                    spec.id
                )));
            }
        }
        Ok(())
    }

    /// The campaign's first burndown point: what the consumers' default
    /// branches hold before anything is changed.
    fn baseline(&self, id: &str, engine: &Engine) -> Result<()> {
        let changes = self.store.changes(id)?;
        let remaining = self.remaining_references(engine, &changes);
        self.store.update_migration(id, &mut |m| {
            m.remaining_references = remaining;
            m.burndown.push(tern_catalog::BurndownPoint {
                at: now(),
                remaining: remaining.unwrap_or(0),
                open: 0,
            });
        })?;
        Ok(())
    }

    /// Records a planned change for every consumer not yet in the campaign,
    /// in waves: on the first run by the spec's wave sizes, later arrivals in
    /// the last wave.
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
        let plans = plan_all(self.forge, engine, &scanned, progress);
        let mut joining: Vec<(Change, &str)> = declared
            .iter()
            .map(|(c, via, _)| {
                let note = match via {
                    Via::Catalog => "found in the catalog",
                    Via::Lineage => "found in lineage",
                    Via::Scan => "found by scanning its code",
                };
                (Change::planned(&spec.id, c, *via), note)
            })
            .collect();
        for ((consumer, _, _), plan) in scanned.iter().zip(plans) {
            if plan.error.is_none() && !plan.is_empty() {
                joining.push((
                    Change::planned(&spec.id, consumer, Via::Scan),
                    "found by scanning its code",
                ));
                self.store.add_edge(
                    spec.dataset.from.as_deref().unwrap_or(&spec.id),
                    &consumer.id,
                    Via::Scan,
                )?;
            }
        }
        joining.sort_by(|a, b| a.0.consumer.cmp(&b.0.consumer));
        let count = joining.len();
        let last = spec.rollout.waves.len().saturating_sub(1) as u32;
        for (i, (mut change, note)) in joining.into_iter().enumerate() {
            change.wave = if known.is_empty() {
                wave_of(i, count, &spec.rollout.waves)
            } else {
                last
            };
            self.store.put_change(&change, note)?;
        }
        Ok(())
    }

    /// Moves one change forward as far as it can go without a person.
    pub(crate) fn advance(&self, spec: &Spec, engine: &Engine, change: &mut Change) -> Result<()> {
        let mut worktree: Option<Worktree> = None;
        loop {
            let before = change.state;
            let step = match change.state {
                ChangeState::Planned => self.patch(spec, engine, change).map(|wt| worktree = wt),
                ChangeState::Patched | ChangeState::Verifying => {
                    self.verify(spec, change, worktree.take())
                }
                ChangeState::Open if spec.approval == Approval::Auto => {
                    if unverified(change) && !spec.verify.none {
                        // Nothing ran its code: a person decides, unless
                        // the spec accepts that (`verify: {command: none}`).
                        if change.waiting.is_some() {
                            return Ok(());
                        }
                        change.waiting = Some(UNVERIFIED.into());
                        self.save(change, "unverified; waits for a person")
                    } else {
                        change.waiting = None;
                        change.state = ChangeState::Approved;
                        change.approved_by = Some("auto".into());
                        self.save(change, "approved automatically (approval: auto)")
                    }
                }
                ChangeState::Approved => self.merge(spec, change),
                _ => return Ok(()),
            };
            match step {
                // A step that leaves the state as it was waits on something
                // outside (the forge's checks): the next pass comes back.
                Ok(()) if change.state == before => return Ok(()),
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
        change.base_commit = Some(info.head.clone());
        if let Some(tip) = self.forge.published(&change.repo, &branch)? {
            // A run that stopped after branching: reuse tern's commit.
            if self
                .forge
                .find_commit(&change.repo, &branch, &trailer(&spec.id))?
                .as_deref()
                != Some(tip.as_str())
            {
                return Err(Step::Forge(ForgeError::BranchTaken {
                    repo: change.repo.clone(),
                    branch,
                    tip,
                }));
            }
            change.branch = Some(branch.clone());
            change.commit = Some(tip);
            change.state = ChangeState::Patched;
            self.save(change, &format!("found tern's commit on {branch}"))?;
            return Ok(None);
        }
        // The blobs first: a consumer with nothing to change needs no checkout.
        let report = crate::plan::scan_commit(self.forge, engine, &change.repo, &info.head)?;
        change.edits = report.edits() as u64;
        change.files = report.files.iter().map(|f| f.path.clone()).collect();
        change.unresolved = report
            .findings
            .clone()
            .into_iter()
            .map(to_unresolved)
            .collect();
        change.schema_check = Some(crate::plan::schema_check(&report.schema));
        if !report.schema.ok() {
            // Rule 11: tern's own analysis sees the rewrite would break a
            // query, so nothing is proposed; the failures say where.
            change.state = ChangeState::NeedsAttention;
            self.save(
                change,
                "the schema check failed on the rewritten SQL; nothing proposed",
            )?;
            return Ok(None);
        }
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
        let wt = self.forge.worktree(&change.repo, &info.head)?;
        tern_scan::write_changes(wt.path(), &report).map_err(|e| {
            Step::Forge(tern_forge::ForgeError::Io(
                e.to_string(),
                std::io::Error::other("write"),
            ))
        })?;
        let paths: Vec<String> = report.files.iter().map(|f| f.path.clone()).collect();
        let Some(commit) = self.forge.commit(&wt, &commit_message(spec), &paths)? else {
            // tern rewrote files, and git committed nothing: its filters
            // (a `.gitattributes` clean filter) undid the edits, and the old
            // locator would stay on the default branch.
            change.error = Some(format!(
                "scope check: git committed nothing although tern rewrote {}; a git filter (.gitattributes) undoes the edits, so the old locator would stay",
                paths.join(", ")
            ));
            change.state = ChangeState::Failed;
            self.save(change, "scope check failed; nothing proposed")?;
            return Ok(None);
        };
        if let Err(why) = self.judge(engine, &change.repo, &info.head, &commit, &report) {
            change.error = Some(format!("scope check: {why}"));
            change.state = ChangeState::Failed;
            self.save(change, "scope check failed; nothing proposed")?;
            return Ok(None);
        }
        self.forge.publish(&change.repo, &branch, &commit)?;
        change.branch = Some(branch.clone());
        change.commit = Some(commit);
        change.state = ChangeState::Patched;
        self.save(change, &format!("committed on {branch}"))?;
        Ok(Some(wt))
    }

    /// The scope judge, tern's deterministic counterpart of an LLM judge:
    /// before anything is proposed, the commit must touch exactly the files
    /// the engine rewrote, hold exactly the engine's bytes (a git filter or
    /// `.gitattributes` may have changed them), and leave no old locator
    /// outside the reported findings.
    fn judge(
        &self,
        engine: &Engine,
        repo: &str,
        base: &str,
        commit: &str,
        report: &tern_scan::TreeReport,
    ) -> Result<(), String> {
        let mut changed = self
            .forge
            .changed_paths(repo, base, commit)
            .map_err(|e| e.to_string())?;
        changed.sort();
        let expected: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
        if let Some(extra) = changed.iter().find(|p| !expected.contains(&p.as_str())) {
            return Err(format!(
                "the commit touches {extra}, which the rewrite did not"
            ));
        }
        if let Some(missing) = expected.iter().find(|p| !changed.iter().any(|c| c == *p)) {
            return Err(format!("the commit lacks the rewrite of {missing}"));
        }
        let paths: Vec<String> = report.files.iter().map(|f| f.path.clone()).collect();
        let blobs = self
            .forge
            .read_all(repo, commit, &paths)
            .map_err(|e| e.to_string())?;
        for (f, blob) in report.files.iter().zip(&blobs) {
            if *blob != f.after {
                return Err(format!(
                    "{}: the committed content differs from the rewrite (a git filter or .gitattributes changed it)",
                    f.path
                ));
            }
        }
        let again = crate::plan::scan_commit(self.forge, engine, repo, commit)
            .map_err(|e| e.to_string())?;
        if let Some(f) = again.files.first() {
            return Err(format!(
                "{} still names the old dataset after the rewrite",
                f.path
            ));
        }
        Ok(())
    }

    /// Patched → open / needs_attention / failed: the repo's own verification.
    fn verify(&self, spec: &Spec, change: &mut Change, wt: Option<Worktree>) -> Result<(), Step> {
        let commit = change.commit.clone().unwrap_or_default();
        let wt = match wt {
            Some(wt) => wt,
            None => self.forge.worktree(&change.repo, &commit)?,
        };
        // The repo's own word first, then the spec's default, then what
        // the repository's build files imply.
        let command = match crate::verifier::from_repo(wt.path()) {
            Ok(Some(c)) => Some(c),
            Ok(None) => spec
                .verify
                .command
                .clone()
                .or_else(|| crate::verifier::detect(wt.path())),
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
                let jail = Jail::of(&spec.verify);
                let out =
                    run_verify_in(wt.path(), cmd, spec.verify.timeout, &jail).map_err(|e| {
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
        if ok {
            let proposal = Proposal {
                branch: published_branch(spec, change),
                base: change.base_branch.clone().unwrap_or_default(),
                title: spec.title.clone(),
                body: commit_message(spec),
            };
            change.url = self.forge.propose(&change.repo, &proposal)?;
        }
        let (state, note) = match (ok, change.unresolved.is_empty()) {
            (false, _) => (ChangeState::Failed, "verification failed"),
            // Verified again on a default branch that moved: the approval
            // it had stands for the same change on the new base.
            (true, true) if change.approved_by.is_some() => (
                ChangeState::Approved,
                "verified again on the new base; still approved",
            ),
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
        let branch = published_branch(spec, change);
        match self.forge.checks(&change.repo, &branch, &commit)? {
            Checks::None | Checks::Passed => {}
            // Still approved: the next pass of the rollout merges it.
            Checks::Pending => return Ok(()),
            Checks::Failed(why) => {
                change.error = Some(format!("the forge's checks failed: {why}"));
                change.state = ChangeState::Failed;
                return self.save(change, "the forge's checks failed; not merged");
            }
        }
        let info = self.forge.open(&change.repo)?;
        let base = change
            .base_branch
            .clone()
            .unwrap_or_else(|| info.default_branch.clone());
        // A merge of ours already on the default branch (a run killed after
        // the merge, before recording it) is what moved it: nothing to verify.
        let landed = || -> Result<bool, Step> {
            Ok(self
                .forge
                .find_commit(&change.repo, &base, &trailer(&spec.id))?
                .is_some())
        };
        if change.base_commit.as_ref().is_some_and(|b| *b != info.head) && !landed()? {
            // The default branch moved since the change was verified: as a
            // protected branch's "up to date before merging" rule asks, it
            // is rewritten on the new base and verified again first.
            if change.branch.is_some() {
                self.forge.close(&change.repo, &branch)?;
            }
            change.state = ChangeState::Planned;
            change.branch = None;
            change.commit = None;
            change.url = None;
            change.verify = None;
            change.files.clear();
            change.edits = 0;
            change.unresolved.clear();
            change.schema_check = None;
            return self.save(
                change,
                "the default branch moved since verification; rewriting and verifying on the new base",
            );
        }
        let message = format!(
            "Merge {}: {}\n\n{}",
            branch_name(&spec.id),
            spec.title,
            trailer(&spec.id)
        );
        let tip = match self.forge.merge(
            &change.repo,
            &commit,
            &base,
            change.base_commit.as_deref(),
            &message,
        ) {
            Ok(tip) => tip,
            // The owners' checkout is in the way: still approved, and it
            // says why; the next pass tries again.
            Err(e @ ForgeError::CheckoutDirty { .. }) => {
                let why = e.to_string();
                if change.waiting.as_deref() == Some(why.as_str()) {
                    return Ok(());
                }
                change.waiting = Some(why);
                return self.save(change, "the merge waits for a clean checkout");
            }
            Err(e) => return Err(e.into()),
        };
        change.waiting = None;
        change.merge_commit = Some(tip);
        let edges = self.move_reads(spec, change).map_err(Step::Store)?;
        change.state = ChangeState::Merged;
        change.updated_at = now();
        // The merge and what the catalog says the consumer reads: one write.
        self.store
            .put_change_moving(change, &format!("merged into {base}"), &edges)
            .map_err(Step::Store)
    }

    /// The catalog follows the merge: the consumer now reads `dataset.to`,
    /// not `dataset.from`. What moves is kept on the change for a rollback,
    /// and returned to be written with the change.
    fn move_reads(&self, spec: &Spec, change: &mut Change) -> tern_catalog::Result<Vec<EdgeMove>> {
        let (Some(from), Some(to)) = (&spec.dataset.from, &spec.dataset.to) else {
            return Ok(vec![]);
        };
        if change.moved_reads.is_some() || self.store.dataset(to)?.is_none() {
            return Ok(vec![]);
        }
        let reads = self.store.reads_of(&change.consumer)?;
        let vias: Vec<Via> = reads
            .iter()
            .filter(|(d, _)| d == from)
            .map(|(_, v)| *v)
            .collect();
        let mut added = vec![];
        let mut edges = vec![];
        for via in &vias {
            if !reads.iter().any(|(d, v)| d == to && v == via) {
                edges.push(EdgeMove {
                    dataset: to.clone(),
                    via: *via,
                    add: true,
                });
                added.push(*via);
            }
            edges.push(EdgeMove {
                dataset: from.clone(),
                via: *via,
                add: false,
            });
        }
        change.moved_reads = Some(tern_catalog::MovedReads {
            from: from.clone(),
            to: to.clone(),
            vias,
            added,
        });
        Ok(edges)
    }
}

/// Why an unverified change does not merge by itself.
const UNVERIFIED: &str = "unverified: no verify command (none in .tern.yaml, the spec or the build files), so nothing ran its code; `tern approve` merges it, or the spec says `verify: {command: none}`";

/// A change whose verification ran no command: nothing checked it.
pub(crate) fn unverified(change: &Change) -> bool {
    change.verify.as_ref().is_some_and(|v| v.command.is_none())
}

/// The branch a patched change was published on (recorded; else the
/// migration's, which is what `patch` publishes).
fn published_branch(spec: &Spec, change: &Change) -> String {
    change
        .branch
        .clone()
        .unwrap_or_else(|| branch_name(&spec.id))
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
