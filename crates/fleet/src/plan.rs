//! Finding consumers and what the rules would do to each, without changing anything.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use tern_catalog::{Consumer, SchemaCheck, Unresolved, Via};
use tern_forge::Forge;
use tern_rewrite::Engine;
use tern_spec::Spec;

use crate::resolve::{campaign_rules, stored_spec};
use crate::{resolve, Fleet, Progress, Result};

/// What a migration would do, consumer by consumer (docs/json.md `tern plan --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The migration id.
    pub id: String,
    /// Every consumer with something to change or to look at.
    pub consumers: Vec<ConsumerPlan>,
}

/// One consumer's planned change.
#[derive(Debug, Clone, Serialize)]
pub struct ConsumerPlan {
    /// Consumer id.
    pub id: String,
    /// Its repository.
    pub repo: String,
    /// Its owner team.
    pub owner: Option<String>,
    /// How it was found.
    pub via: Via,
    /// Files that would change.
    pub files: Vec<String>,
    /// Edits over those files.
    pub edits: usize,
    /// References left for a person.
    pub unresolved: Vec<Unresolved>,
    /// Files tern does not rewrite by design (binary, oversized) that name
    /// the dataset: told, but never a reason for attention.
    pub notes: Vec<Unresolved>,
    /// The schema check of the rewritten SQL (rule 11); a failure means
    /// nothing would be proposed.
    pub schema_check: SchemaCheck,
    /// Why the repository could not be planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ConsumerPlan {
    /// True when there is nothing to change and nothing to look at.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.unresolved.is_empty() && self.error.is_none()
    }
}

impl Fleet<'_> {
    /// Every consumer worth looking at: the catalog's and lineage's readers of
    /// `dataset.from` first, then every other catalog consumer, to be scanned.
    pub fn candidates(&self, spec: &Spec) -> Result<Vec<(Consumer, Via, bool)>> {
        let mut out = Vec::new();
        let mut declared = std::collections::HashSet::new();
        if let Some(from) = &spec.dataset.from {
            for r in self.store.consumers_of(from, false)? {
                declared.insert(r.id.clone());
                out.push((
                    Consumer {
                        id: r.id,
                        repo: r.repo,
                        owner: r.owner,
                    },
                    r.via,
                    true,
                ));
            }
        }
        for c in self.store.consumers()? {
            if !declared.contains(&c.id) {
                out.push((c, Via::Scan, false));
            }
        }
        Ok(out)
    }

    /// Plans every consumer in parallel; changes nothing. Declared readers
    /// always appear; scanned ones only when their code names the dataset.
    pub fn plan(
        &self,
        spec: &Spec,
        spec_file: &str,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Plan> {
        let engine = Engine::new(resolve(spec, self.store, spec_file)?.rules);
        self.plan_with(spec, &engine, progress)
    }

    /// Plans a stored campaign as it rewrites: its spec as stored, with the
    /// rules fixed when it first ran.
    pub fn plan_campaign(&self, id: &str, progress: &(dyn Fn(Progress) + Sync)) -> Result<Plan> {
        let m = crate::campaign(self.store, id)?;
        let spec = stored_spec(&m)?;
        let engine = Engine::new(campaign_rules(self.store, &m, &spec)?);
        self.plan_with(&spec, &engine, progress)
    }

    fn plan_with(
        &self,
        spec: &Spec,
        engine: &Engine,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Plan> {
        let candidates = self.candidates(spec)?;
        let planned = plan_all(self.forge, engine, &candidates, progress);
        let consumers = planned
            .into_iter()
            .zip(&candidates)
            .filter(|(p, (_, _, declared))| *declared || !(p.is_empty() || p.error.is_some()))
            .map(|(p, _)| p)
            .collect();
        Ok(Plan {
            id: spec.id.clone(),
            consumers,
        })
    }
}

/// Plans candidates on every core, results in candidate order.
pub(crate) fn plan_all(
    forge: &dyn Forge,
    engine: &Engine,
    candidates: &[(Consumer, Via, bool)],
    progress: &(dyn Fn(Progress) + Sync),
) -> Vec<ConsumerPlan> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ConsumerPlan>>> = Mutex::new(vec![None; candidates.len()]);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(candidates.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((consumer, via, _)) = candidates.get(i) else {
                    break;
                };
                let plan = plan_one(forge, engine, consumer, *via);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(plan);
                progress(Progress {
                    phase: "planning",
                    done: done.fetch_add(1, Ordering::Relaxed) + 1,
                    total: candidates.len(),
                    consumer: &consumer.id,
                });
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Scans one consumer's default branch without a checkout: the forge lists
/// the files that hold a needle and hands over their bytes.
pub(crate) fn plan_one(
    forge: &dyn Forge,
    engine: &Engine,
    consumer: &Consumer,
    via: Via,
) -> ConsumerPlan {
    let mut plan = ConsumerPlan {
        id: consumer.id.clone(),
        repo: consumer.repo.clone(),
        owner: consumer.owner.clone(),
        via,
        files: vec![],
        edits: 0,
        unresolved: vec![],
        notes: vec![],
        schema_check: SchemaCheck {
            ok: true,
            ..SchemaCheck::default()
        },
        error: None,
    };
    let scanned = forge
        .open(&consumer.repo)
        .and_then(|info| scan_commit(forge, engine, &consumer.repo, &info.head))
        .map_err(|e| e.to_string());
    match scanned {
        Ok(report) => {
            plan.edits = report.edits();
            plan.schema_check = schema_check(&report.schema);
            plan.files = report.files.into_iter().map(|f| f.path).collect();
            plan.unresolved = report.findings.into_iter().map(to_unresolved).collect();
            plan.notes = report.notes.into_iter().map(to_unresolved).collect();
        }
        Err(e) => plan.error = Some(e),
    }
    plan
}

/// What the rules would do to a commit: the files the engine's prefilter
/// keeps, read as blobs, through the engine (a repository's files are its
/// tracked ones).
pub(crate) fn scan_commit(
    forge: &dyn Forge,
    engine: &Engine,
    repo: &str,
    rev: &str,
) -> tern_forge::Result<tern_scan::TreeReport> {
    // Files are picked by what the engine may rewrite, never by the
    // locators alone: a path built from a tail or a read through another
    // file's constant holds no locator, and must not be left unread.
    let read = |e: &Engine| {
        forge.read_matching(repo, rev, &e.rules().search_terms(), &|b| e.may_rewrite(b))
    };
    let files = read(engine)?;
    let mut failed = None;
    let report = tern_scan::scan_selected(engine, files, |second| {
        read(second).unwrap_or_else(|e| {
            failed = Some(e);
            Vec::new()
        })
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// The catalog's record of a tree's schema check.
pub(crate) fn schema_check(r: &tern_scan::SchemaReport) -> SchemaCheck {
    SchemaCheck {
        ok: r.ok(),
        checked: r.checked,
        failures: r.failures.iter().cloned().map(to_unresolved).collect(),
    }
}

pub(crate) fn to_unresolved(f: tern_scan::PathFinding) -> Unresolved {
    Unresolved {
        path: f.path,
        line: f.line,
        reason: f.reason,
    }
}
