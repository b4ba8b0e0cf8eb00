//! Where a campaign stands (docs/json.md `tern status --json`).

use std::collections::BTreeMap;

use serde::Serialize;
use tern_catalog::{now, Change, ChangeState, MigrationState, SchemaCheck, Unresolved, Via};

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tern_rewrite::Engine;

use crate::{Fleet, Result};

/// A campaign's state, counts, consumers and metrics.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Migration id.
    pub id: String,
    /// The spec's title.
    pub title: String,
    /// Owner team.
    pub owner: Option<String>,
    /// running, paused, done, rolled_back.
    pub state: MigrationState,
    /// Why it is paused.
    pub paused_reason: Option<String>,
    /// Changes per state; every state is present.
    pub counts: BTreeMap<String, usize>,
    /// Changes whose verification ran no command (none in `.tern.yaml`, the
    /// spec or the build files): counted apart, whatever their state.
    pub unverified: usize,
    /// One entry per consumer.
    pub consumers: Vec<ConsumerStatus>,
    /// When the campaign started (Unix seconds).
    pub started_at: i64,
    /// When every change settled.
    pub finished_at: Option<i64>,
    /// Seconds since the start (to the finish when done).
    pub elapsed_s: i64,
    /// Start to finish in seconds, once done.
    pub time_to_completion_s: Option<i64>,
    /// Broken changes (failed verification, or merged and later rolled back)
    /// over changes attempted (committed).
    pub breakage_rate: f64,
    /// Times a person had to step in.
    pub manual_interventions: u64,
    /// Times the error budget paused the campaign.
    pub pauses: u64,
    /// Why a running campaign is not moving.
    pub waiting: Option<String>,
    /// `needs people: 1 failed, 1 needs attention` when only people can
    /// move a campaign that is not done; `null` otherwise.
    pub needs_people: Option<String>,
    /// References to the old dataset left on default branches at the last run.
    pub remaining_references: Option<u64>,
    /// The rollout's waves and how far each has come.
    pub waves: Vec<WaveStatus>,
    /// Remaining references and open changes over time.
    pub burndown: Vec<tern_catalog::BurndownPoint>,
    /// Digests sent to owner teams, and whether they arrived.
    pub digests: Vec<tern_catalog::DigestRecord>,
}

/// One wave in a status report.
#[derive(Debug, Clone, Serialize)]
pub struct WaveStatus {
    /// 1-based wave number; wave 1 is the canary.
    pub wave: u32,
    /// Consumers in the wave.
    pub consumers: usize,
    /// Of those, merged or with nothing to change.
    pub done: usize,
    /// Of those, failed.
    pub failed: usize,
}

/// One consumer in a status report.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerStatus {
    /// Consumer id.
    pub id: String,
    /// Its change's state.
    pub state: ChangeState,
    /// `tern/<id>` once made.
    pub branch: Option<String>,
    /// Where its proposal is reviewed on the forge, when the forge has a page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Verification outcome.
    pub verify: Option<VerifySummary>,
    /// References left for a person.
    pub unresolved: Vec<Unresolved>,
    /// The schema check of the rewritten SQL (docs/rules.md rule 11); `null`
    /// until the change has been patched.
    pub schema_check: Option<SchemaCheck>,
    /// Owner team.
    pub owner: Option<String>,
    /// Repository.
    pub repo: String,
    /// How it was found.
    pub via: Via,
    /// Files changed.
    pub files: Vec<String>,
    /// Edits made.
    pub edits: u64,
    /// Why it failed, when not its verification.
    pub error: Option<String>,
    /// Why it is not complete yet, in words (docs/json.md); `null` once
    /// merged or skipped.
    pub waiting: Option<String>,
    /// Who moves it on: its owner team, the campaign's owner, or `tern`.
    pub waiting_on: Option<String>,
    /// The command that moves it on, as typed.
    pub next: Option<String>,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// 1-based rollout wave.
    pub wave: u32,
    /// The worker that last worked on it (`host:pid:thread`).
    pub worker: Option<String>,
}

/// Verification in brief.
#[derive(Debug, Clone, Serialize)]
pub struct VerifySummary {
    /// Passed.
    pub ok: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// What ran.
    pub command: Option<String>,
    /// Last lines of output.
    pub log_tail: String,
}

impl Fleet<'_> {
    /// The status of one migration.
    pub fn status(&self, id: &str) -> Result<Status> {
        let m = crate::campaign(self.store, id)?;
        let changes = self.store.changes(id)?;
        let approval = crate::stored_spec(&m)?.approval;
        let needs_people = match m.state {
            MigrationState::Running | MigrationState::Paused => {
                crate::waits::needs_people(&changes, &m, approval)
            }
            _ => None,
        };
        let mut counts: BTreeMap<String, usize> = ChangeState::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), 0))
            .collect();
        for c in &changes {
            *counts.entry(c.state.as_str().to_string()).or_default() += 1;
        }
        let wave_count = changes.iter().map(|c| c.wave + 1).max().unwrap_or(0);
        let waves = (0..wave_count)
            .map(|w| {
                let of: Vec<&Change> = changes.iter().filter(|c| c.wave == w).collect();
                WaveStatus {
                    wave: w + 1,
                    consumers: of.len(),
                    done: of
                        .iter()
                        .filter(|c| matches!(c.state, ChangeState::Merged | ChangeState::Skipped))
                        .count(),
                    failed: of.iter().filter(|c| c.state == ChangeState::Failed).count(),
                }
            })
            .collect();
        let end = if m.state == MigrationState::Done {
            m.finished_at.unwrap_or_else(now)
        } else {
            now()
        };
        Ok(Status {
            id: m.id.clone(),
            title: m.title.clone(),
            owner: m.owner.clone(),
            state: m.state,
            paused_reason: m.paused_reason.clone(),
            counts,
            unverified: changes.iter().filter(|c| crate::run::unverified(c)).count(),
            breakage_rate: breakage_rate(&changes),
            consumers: {
                let waits = crate::waits::waits_of(&changes, &m, approval);
                changes
                    .into_iter()
                    .zip(waits)
                    .map(|(c, w)| consumer_status(c, w))
                    .collect()
            },
            started_at: m.started_at,
            finished_at: m.finished_at,
            elapsed_s: (end - m.started_at).max(0),
            time_to_completion_s: m
                .finished_at
                .filter(|_| m.state == MigrationState::Done)
                .map(|f| (f - m.started_at).max(0)),
            manual_interventions: m.manual_interventions,
            pauses: m.pauses,
            waiting: m.waiting.clone(),
            needs_people,
            remaining_references: m.remaining_references,
            waves,
            burndown: m.burndown.clone(),
            digests: m.digests.clone(),
        })
    }
}

impl Fleet<'_> {
    /// References to the old dataset still on the consumers' default
    /// branches: `git grep` for the prefilter's literals (no checkout), then
    /// the engine counts edits and findings in the files that match. `None`
    /// when no repository could be read.
    pub(crate) fn remaining_references(&self, engine: &Engine, changes: &[Change]) -> Option<u64> {
        let next = AtomicUsize::new(0);
        let total = AtomicU64::new(0);
        let readable = AtomicUsize::new(0);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    while let Some(c) = changes.get(next.fetch_add(1, Ordering::Relaxed)) {
                        if let Some(n) = self.references_in(engine, &c.repo) {
                            readable.fetch_add(1, Ordering::Relaxed);
                            total.fetch_add(n, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        (readable.into_inner() > 0).then(|| total.into_inner())
    }
}

impl Fleet<'_> {
    /// References in one repository's default branch; `None` if unreadable.
    fn references_in(&self, engine: &Engine, repo: &str) -> Option<u64> {
        let head = self.forge.open(repo).ok()?.head;
        let report = crate::plan::scan_commit(self.forge, engine, repo, &head).ok()?;
        Some((report.edits() + report.findings.len()) as u64)
    }
}

/// Failed verifications plus merged changes rolled back because they broke
/// (not those a person merely asked to roll back), over committed changes.
fn breakage_rate(changes: &[Change]) -> f64 {
    let attempted = changes.iter().filter(|c| c.commit.is_some()).count();
    if attempted == 0 {
        return 0.0;
    }
    let broken = changes
        .iter()
        .filter(|c| {
            c.verify.as_ref().is_some_and(|v| !v.ok) || (c.revert_commit.is_some() && c.broke)
        })
        .count();
    ((broken as f64 / attempted as f64) * 10_000.0).round() / 10_000.0
}

fn consumer_status(c: Change, wait: Option<crate::Wait>) -> ConsumerStatus {
    let (waiting, waiting_on, next) = match wait {
        Some(w) => (Some(w.why), Some(w.on), w.command),
        None => (None, None, None),
    };
    ConsumerStatus {
        id: c.consumer,
        state: c.state,
        branch: c.branch,
        url: c.url,
        verify: c.verify.map(|v| VerifySummary {
            ok: v.ok,
            seconds: v.seconds,
            command: v.command,
            log_tail: v.log_tail,
        }),
        unresolved: c.unresolved,
        schema_check: c.schema_check,
        owner: c.owner,
        repo: c.repo,
        via: c.via,
        files: c.files,
        edits: c.edits,
        error: c.error,
        waiting,
        waiting_on,
        next,
        approved_by: c.approved_by,
        wave: c.wave + 1,
        worker: c.worker,
    }
}
