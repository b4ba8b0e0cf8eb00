//! What people do to a running campaign: approve, pause, resume, roll back.

use tern_catalog::{
    backstage::user_ref, now, Change, ChangeState, EdgeMove, Migration, MigrationState,
};
use tern_rewrite::Engine;
use tern_spec::Spec;

use crate::action::{Action, Actor};
use crate::resolve::campaign_rules;
use crate::run::Step;
use crate::{branch_name, stored_spec, trailer, Fleet, FleetError, Result, Status};

/// A retry the fleet agreed to ([`Fleet::plan_retry`]): the failed changes
/// it re-runs from the default branch.
#[derive(Debug, Clone)]
pub struct Retry {
    id: String,
    targets: Vec<Change>,
}

/// What `approve --all-green` did (docs/json.md).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Bulk {
    /// Consumers approved (and merged, unless the forge's checks still run).
    pub approved: Vec<String>,
    /// Green changes left alone: another team's, or one that could not merge.
    pub not_theirs: Vec<Refused>,
    /// The campaign afterwards.
    pub status: Option<Status>,
}

/// A change left alone, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refused {
    /// Consumer id.
    pub consumer: String,
    /// In words.
    pub reason: String,
}

impl Fleet<'_> {
    fn migration_and_spec(&self, id: &str) -> Result<(Migration, Spec)> {
        let m = crate::campaign(self.store, id)?;
        let spec = stored_spec(&m)?;
        Ok((m, spec))
    }

    fn change_of(&self, id: &str, consumer: &str) -> Result<Change> {
        crate::change_of(self.store, id, consumer)
    }

    fn step(&self, r: Result<(), Step>, change: &mut Change, what: &str) -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(Step::Store(e)) => Err(e.into()),
            Err(Step::Forge(e)) => {
                change.error = Some(format!("{what}: {e}"));
                change.updated_at = now();
                self.store.put_change(change, what)?;
                Err(FleetError::State(format!(
                    "{}: {what} failed: {e}",
                    change.consumer
                )))
            }
        }
    }

    /// Approves an open (or needs-attention) change and merges it. With `by`,
    /// the user must belong to the consumer's owner team (a consumer no team
    /// owns needs an admin); without, the caller acts as the catalog's
    /// administrator. [`Action`] decides both.
    pub fn approve(&self, id: &str, consumer: &str, by: Option<&str>) -> Result<Status> {
        let (m, spec) = self.migration_and_spec(id)?;
        self.approve_one(&m, &spec, consumer, by)?;
        self.settle(id)?;
        self.status(id)
    }

    /// Approves every green change `by` may approve (all of them without
    /// `by`): open, verified by a command that passed, schema check passed,
    /// no findings. Changes of teams `by` is not in are left, and counted.
    pub fn approve_all_green(&self, id: &str, by: Option<&str>) -> Result<Bulk> {
        let (m, spec) = self.migration_and_spec(id)?;
        let actor = by.map_or(Actor::Admin, Actor::User);
        let mut bulk = Bulk::default();
        for c in self.store.changes(id)? {
            if !crate::waits::is_green(&c) {
                continue;
            }
            match Action::Approve.by(self.store, actor, c.owner.as_deref(), &c.consumer) {
                Ok(()) => {}
                Err(FleetError::Forbidden(why)) => {
                    bulk.not_theirs.push(Refused {
                        consumer: c.consumer.clone(),
                        reason: why,
                    });
                    continue;
                }
                Err(e) => return Err(e),
            }
            // One change that cannot merge does not stop the others.
            match self.approve_one(&m, &spec, &c.consumer, by) {
                Ok(()) => bulk.approved.push(c.consumer.clone()),
                Err(e) => bulk.not_theirs.push(Refused {
                    consumer: c.consumer.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        self.settle(id)?;
        bulk.status = Some(self.status(id)?);
        Ok(bulk)
    }

    fn approve_one(
        &self,
        m: &Migration,
        spec: &Spec,
        consumer: &str,
        by: Option<&str>,
    ) -> Result<()> {
        let id = m.id.as_str();
        let mut change = self.change_of(id, consumer)?;
        Action::Approve.on_change(&change)?;
        let actor = by.map_or(Actor::Admin, Actor::User);
        Action::Approve.by(self.store, actor, change.owner.as_deref(), consumer)?;
        if change.state == ChangeState::NeedsAttention {
            self.store
                .update_migration(id, &mut |m| m.manual_interventions += 1)?;
        }
        change.approved_by = Some(by.map(user_ref).unwrap_or_else(|| "admin".into()));
        change.state = ChangeState::Approved;
        change.waiting = None;
        change.updated_at = now();
        self.store.put_change(
            &change,
            &format!(
                "approved by {}",
                change.approved_by.as_deref().unwrap_or("admin")
            ),
        )?;
        let merged = self.merge(spec, &mut change);
        self.step(merged, &mut change, "merge")?;
        if change.state == ChangeState::Planned {
            // The default branch moved since it was verified: rewritten and
            // verified again on the new base, the approval standing.
            let engine = Engine::new(campaign_rules(self.store, m, spec)?);
            self.advance(spec, &engine, &mut change)?;
        }
        // Still approved: the forge's checks run; a worker merges it later.
        if change.state == ChangeState::Merged {
            self.burndown_step(id, -(change.edits as i64))?;
        }
        Ok(())
    }

    /// Moves the burndown by `delta` references after a person merged (or
    /// a rollback reverted) one change: its edits are exactly what left (or
    /// came back to) the default branch, so no re-scan is needed.
    fn burndown_step(&self, id: &str, delta: i64) -> Result<()> {
        let open = crate::rollout::waiting_for_people(&self.store.changes(id)?);
        self.store.update_migration(id, &mut |m| {
            let Some(last) = m.burndown.last() else {
                return;
            };
            let remaining = (last.remaining as i64 + delta).max(0) as u64;
            m.burndown.push(tern_catalog::BurndownPoint {
                at: now(),
                remaining,
                open,
            });
            m.remaining_references = Some(remaining);
        })?;
        Ok(())
    }

    /// Marks the campaign done when every consumer is complete; else, when
    /// only people can move it on, says so.
    fn settle(&self, id: &str) -> Result<()> {
        let changes = self.store.changes(id)?;
        let (m, spec) = self.migration_and_spec(id)?;
        let complete = changes.iter().all(crate::waits::is_complete);
        let people = crate::waits::needs_people(&changes, &m, spec.approval);
        if complete || people.is_some() {
            self.store.update_migration(id, &mut |m| {
                if m.state == MigrationState::Running {
                    if complete {
                        m.state = MigrationState::Done;
                        m.finished_at = Some(now());
                        m.waiting = None;
                    } else {
                        m.waiting = people.clone();
                    }
                }
            })?;
        }
        Ok(())
    }

    /// Re-runs failed changes (all, or one consumer's) from the current
    /// default branch: their branches are deleted, their records reset to
    /// planned, and the campaign continues. A manual intervention.
    pub fn retry(
        &self,
        id: &str,
        consumer: Option<&str>,
        progress: &(dyn Fn(crate::Progress) + Sync),
    ) -> Result<Status> {
        let retry = self.plan_retry(id, consumer)?;
        self.carry_out(retry, progress)
    }

    /// Every refusal of a retry, before any work: what [`Fleet::carry_out`]
    /// will re-run. The portal asks this, answers at once, and carries the
    /// retry out in the background.
    pub fn plan_retry(&self, id: &str, consumer: Option<&str>) -> Result<Retry> {
        let m = self.migration_and_spec(id)?.0;
        Action::Retry.on_migration(&m)?;
        let targets: Vec<Change> = match consumer {
            Some(c) => {
                let change = self.change_of(id, c)?;
                Action::Retry.on_change(&change)?;
                vec![change]
            }
            None => self
                .store
                .changes(id)?
                .into_iter()
                .filter(|c| Action::Retry.on_change(c).is_ok())
                .collect(),
        };
        if targets.is_empty() {
            return Err(FleetError::State(format!(
                "migration {id} has no failed changes to retry"
            )));
        }
        Ok(Retry {
            id: id.to_string(),
            targets,
        })
    }

    /// Re-runs what [`Fleet::plan_retry`] agreed to.
    pub fn carry_out(
        &self,
        retry: Retry,
        progress: &(dyn Fn(crate::Progress) + Sync),
    ) -> Result<Status> {
        let Retry { id, targets } = retry;
        let id = id.as_str();
        let (m, spec) = self.migration_and_spec(id)?;
        for mut change in targets {
            if change.branch.is_some() {
                // A repository that has gone away has no branch left to delete.
                let _ = self.forge.close(&change.repo, &branch_name(id));
            }
            change.state = ChangeState::Planned;
            change.approved_by = None;
            change.branch = None;
            change.commit = None;
            change.url = None;
            change.verify = None;
            change.error = None;
            change.files.clear();
            change.edits = 0;
            change.unresolved.clear();
            change.schema_check = None;
            change.updated_at = now();
            self.store.put_change(&change, "retry requested")?;
        }
        let m = self
            .store
            .update_migration(id, &mut |m| {
                m.manual_interventions += 1;
                if m.state == MigrationState::Done {
                    m.state = MigrationState::Running;
                    m.finished_at = None;
                }
            })?
            .unwrap_or(m);
        if m.state == MigrationState::Paused {
            return self.status(id);
        }
        let (text, file) = (m.spec.clone(), m.spec_file.clone());
        self.run(&spec, &text, &file, progress)
    }

    /// Pauses a campaign: `tern run` proposes nothing until it is resumed.
    pub fn pause(&self, id: &str, reason: &str) -> Result<Status> {
        self.migration_and_spec(id)?;
        // Allowed or refused on the record as it is when written.
        let mut refused = None;
        self.store
            .update_migration(id, &mut |m| match Action::Pause.on_migration(m) {
                Ok(()) => {
                    m.state = MigrationState::Paused;
                    m.paused_reason = Some(reason.to_string());
                }
                Err(e) => refused = Some(e),
            })?;
        if let Some(e) = refused {
            return Err(e);
        }
        self.status(id)
    }

    /// Resumes a paused campaign (a manual intervention).
    pub fn resume(&self, id: &str) -> Result<Status> {
        self.migration_and_spec(id)?;
        let mut refused = None;
        self.store
            .update_migration(id, &mut |m| match Action::Resume.on_migration(m) {
                Ok(()) => {
                    m.state = MigrationState::Running;
                    m.paused_reason = None;
                    m.manual_interventions += 1;
                }
                Err(e) => refused = Some(e),
            })?;
        if let Some(e) = refused {
            return Err(e);
        }
        self.status(id)
    }

    /// Rolls back one consumer, or the whole campaign: open changes lose their
    /// branch, merged ones are reverted by a commit on the default branch.
    /// Repeating a rollback changes nothing.
    /// With `broke`, the merged changes rolled back broke their consumers
    /// and count as breakage; without, it is a person's request.
    pub fn rollback(&self, id: &str, consumer: Option<&str>, broke: bool) -> Result<Status> {
        let (m, spec) = self.migration_and_spec(id)?;
        let engine = Engine::new(campaign_rules(self.store, &m, &spec)?);
        let changes = match consumer {
            Some(c) => vec![self.change_of(id, c)?],
            None => self.store.changes(id)?,
        };
        let mut failures = vec![];
        let mut reverted = false;
        for mut change in changes {
            let was_merged = change.state == ChangeState::Merged;
            change.broke = was_merged && broke;
            let r = self.roll_back_one(&spec, &mut change);
            match self.step(r, &mut change, "rollback") {
                Err(e) => failures.push(e.to_string()),
                Ok(()) => reverted |= was_merged,
            }
        }
        // The references that came back, counted on the default branches.
        let counted = if reverted {
            let changes = self.store.changes(id)?;
            let remaining = self.remaining_references(&engine, &changes);
            Some((remaining, crate::rollout::waiting_for_people(&changes)))
        } else {
            None
        };
        if consumer.is_none() || reverted {
            self.store.update_migration(id, &mut |m| {
                if consumer.is_none() {
                    m.state = MigrationState::RolledBack;
                    m.finished_at = Some(now());
                }
                if let Some((remaining, open)) = counted {
                    m.remaining_references = remaining.or(m.remaining_references);
                    m.burndown.push(tern_catalog::BurndownPoint {
                        at: now(),
                        remaining: m.remaining_references.unwrap_or(0),
                        open,
                    });
                }
            })?;
        }
        if !failures.is_empty() {
            return Err(FleetError::State(failures.join("\n")));
        }
        self.status(id)
    }

    fn roll_back_one(&self, spec: &Spec, change: &mut Change) -> Result<(), Step> {
        let branch = branch_name(&spec.id);
        let note = match change.state {
            ChangeState::RolledBack | ChangeState::Skipped | ChangeState::Closed => return Ok(()),
            ChangeState::Planned => {
                change.state = ChangeState::Closed;
                "closed before any change was made"
            }
            ChangeState::Merged => {
                let merged = change
                    .merge_commit
                    .clone()
                    .or(change.commit.clone())
                    .unwrap_or_default();
                let base = change.base_branch.clone().unwrap_or_else(|| "main".into());
                let marker = format!("Tern-Reverts: {merged}");
                let revert = match self.forge.find_commit(&change.repo, &base, &marker)? {
                    Some(done) => done,
                    None => {
                        let message = format!(
                            "Revert \"{}\"\n\nRolled back by tern.\n\n{}\n{marker}",
                            spec.title,
                            trailer(&spec.id)
                        );
                        self.forge.revert(&change.repo, &merged, &base, &message)?
                    }
                };
                change.revert_commit = Some(revert);
                self.forge.close(&change.repo, &branch)?;
                // The catalog follows the revert, in the same write as the
                // change: the consumer reads the old dataset again.
                let mut edges = vec![];
                if let Some(moved) = change.moved_reads.take() {
                    edges.extend(moved.vias.iter().map(|via| EdgeMove {
                        dataset: moved.from.clone(),
                        via: *via,
                        add: true,
                    }));
                    edges.extend(moved.added.iter().map(|via| EdgeMove {
                        dataset: moved.to.clone(),
                        via: *via,
                        add: false,
                    }));
                }
                change.state = ChangeState::RolledBack;
                change.updated_at = now();
                return self
                    .store
                    .put_change_moving(change, "reverted on the default branch", &edges)
                    .map_err(Step::Store);
            }
            _ => {
                if change.branch.is_some() {
                    self.forge.close(&change.repo, &branch)?;
                }
                change.state = ChangeState::RolledBack;
                "withdrawn; branch deleted"
            }
        };
        change.updated_at = now();
        self.store.put_change(change, note).map_err(Step::Store)
    }
}
