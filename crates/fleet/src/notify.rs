//! What the campaign tells owner teams: one digest per team per wave, once
//! the wave's changes have left the working states, and a reminder for
//! changes that wait on a person longer than `rollout.nudge_after`.
//!
//! Deliveries are recorded on the migration (`Migration::digests`) before the
//! run moves on, so a digest is never sent twice for the same wave; a
//! webhook that fails is retried by `tern-notify` and then recorded as not
//! delivered. Nothing here can stop a campaign: a team without a webhook is
//! skipped, and a failed delivery is only a record.

use std::collections::BTreeMap;
use std::time::Duration;

use tern_catalog::{now, Change, ChangeState, DigestRecord};
use tern_notify::{deliver, slack_body, Digest, Retry};
use tern_spec::Spec;

use crate::{Fleet, Result};

/// The default of `rollout.nudge_after`.
const NUDGE_AFTER: Duration = Duration::from_secs(3 * 86_400);

fn short(team: &str) -> &str {
    team.rsplit('/').next().unwrap_or(team)
}

/// One consumer's line in a digest.
fn line(spec: &Spec, c: &Change) -> String {
    let detail = match c.state {
        ChangeState::Merged => String::new(),
        ChangeState::Skipped => ": nothing to change".into(),
        ChangeState::Open => format!(
            ": waiting for your approval (`tern approve {} {}`)",
            spec.id, c.consumer
        ),
        ChangeState::NeedsAttention => match c.unresolved.first() {
            Some(u) => format!(": needs a person: `{}:{}` {}", u.path, u.line, u.reason),
            None => ": needs a person".into(),
        },
        ChangeState::Failed => {
            let why = c
                .error
                .clone()
                .or_else(|| {
                    c.verify
                        .as_ref()
                        .and_then(|v| v.log_tail.lines().last().map(str::to_string))
                })
                .unwrap_or_default();
            format!(": failed: {why}")
        }
        _ => String::new(),
    };
    format!(
        "`{}` {}{detail}",
        c.consumer,
        c.state.as_str().replace('_', " ")
    )
}

/// A digest for `team` about `of`, with the wave it reports (`None` for a
/// reminder) and the consumers it names, as `send_digests` records them.
fn digest(
    spec: &Spec,
    team: &str,
    summary: String,
    wave: Option<u32>,
    of: &[&Change],
) -> (Digest, Option<u32>, Vec<String>) {
    let d = Digest {
        team: team.to_string(),
        summary,
        lines: of.iter().map(|c| line(spec, c)).collect(),
    };
    (d, wave, of.iter().map(|c| c.consumer.clone()).collect())
}

fn counts(changes: &[&Change]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for c in changes {
        let word = match c.state {
            ChangeState::Open => "waiting for your approval",
            ChangeState::NeedsAttention => "need a person",
            s => s.as_str(),
        };
        *by.entry(word).or_default() += 1;
    }
    by.iter()
        .map(|(w, n)| format!("{n} {w}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Fleet<'_> {
    /// Sends what is due: wave digests for finished waves, reminders for
    /// changes waiting too long. Called at the end of every run.
    pub(crate) fn send_digests(&self, spec: &Spec) -> Result<()> {
        let Some(m) = self.store.migration(&spec.id)? else {
            return Ok(());
        };
        let changes = self.store.changes(&spec.id)?;
        let waves = spec.rollout.waves.len().max(1) as u32;
        let working = crate::work::workable(spec.approval);
        let mut due: Vec<(Digest, Option<u32>, Vec<String>)> = Vec::new();
        for w in 0..waves {
            let members: Vec<&Change> = changes.iter().filter(|c| c.wave == w).collect();
            // A wave with changes tern still works on (under `approval: auto`
            // an open change too: its merge is pending) is not finished.
            if members.is_empty() || members.iter().any(|c| working.contains(&c.state)) {
                continue;
            }
            let mut by_team: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
            for c in &members {
                if let Some(t) = &c.owner {
                    by_team.entry(t).or_default().push(c);
                }
            }
            for (team, of) in by_team {
                if m.digests
                    .iter()
                    .any(|d| d.team == team && d.wave == Some(w + 1))
                {
                    continue;
                }
                let summary = format!(
                    "*{}* (`{}`): wave {} of {waves} for {}: {}",
                    spec.title,
                    spec.id,
                    w + 1,
                    short(team),
                    counts(&of)
                );
                due.push(digest(spec, team, summary, Some(w + 1), &of));
            }
        }
        let after = spec.rollout.nudge_after.unwrap_or(NUDGE_AFTER).as_secs() as i64;
        let t = now();
        let mut stale: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
        for c in &changes {
            let waiting = matches!(c.state, ChangeState::Open | ChangeState::NeedsAttention);
            let last = m
                .nudged
                .get(&c.consumer)
                .copied()
                .unwrap_or(c.updated_at)
                .max(c.updated_at);
            if let (true, Some(team)) = (waiting && t - last >= after, &c.owner) {
                stale.entry(team).or_default().push(c);
            }
        }
        for (team, of) in stale {
            let summary = format!(
                "Reminder: *{}* (`{}`): {} change{} for {} {} waited for a person for more than {}",
                spec.title,
                spec.id,
                of.len(),
                if of.len() == 1 { "" } else { "s" },
                short(team),
                if of.len() == 1 { "has" } else { "have" },
                human(after)
            );
            due.push(digest(spec, team, summary, None, &of));
        }
        if due.is_empty() {
            return Ok(());
        }
        for (message, wave, consumers) in due {
            let Some(hook) = self.store.team(&message.team)?.and_then(|t| t.webhook) else {
                continue;
            };
            let d = deliver(&hook, &slack_body(&message), Retry::default());
            let record = DigestRecord {
                team: message.team,
                wave,
                at: t,
                consumers,
                delivered: d.delivered,
                attempts: d.attempts,
                error: d.error,
            };
            // Written after each delivery: a crash never sends one twice.
            self.store.update_migration(&spec.id, &mut |m| {
                if wave.is_none() {
                    for c in &record.consumers {
                        m.nudged.insert(c.clone(), t);
                    }
                }
                m.digests.push(record.clone());
            })?;
        }
        Ok(())
    }
}

/// Seconds as the largest whole unit: `3 days`, `2 hours`, `90 seconds`.
fn human(s: i64) -> String {
    let (n, unit) = match s {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}
