//! Who a change waits on, and what moves it on: one answer for `tern
//! status`, the portal's "waiting on" column and its next-step banners.
//!
//! A campaign is done only when every consumer is merged or has nothing to
//! change; anything else waits on someone, and says who and how.

use serde::Serialize;
use tern_catalog::{Change, ChangeState, Migration};
use tern_spec::Approval;

/// What one consumer's change waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wait {
    /// Who must act: the owner team's ref, the campaign's owner, or `tern`
    /// when the work is tern's own and the next run does it.
    pub on: String,
    /// What is needed, in words.
    pub why: String,
    /// The command that moves it on, as it is typed (`tern ...`), when one does.
    pub command: Option<String>,
}

/// Merged, or nothing to change: the consumer no longer reads the old dataset.
pub fn is_complete(c: &Change) -> bool {
    matches!(c.state, ChangeState::Merged | ChangeState::Skipped)
}

/// Ready to merge on a person's word with nothing for them to look at:
/// open, verified by a command that passed, the schema check passed, no
/// findings left. What `approve --all-green` approves.
pub fn is_green(c: &Change) -> bool {
    c.state == ChangeState::Open
        && c.commit.is_some()
        && c.verify
            .as_ref()
            .is_some_and(|v| v.ok && v.command.is_some())
        && c.schema_check.as_ref().is_none_or(|s| s.ok)
        && c.unresolved.is_empty()
}

/// Who `c` waits on in campaign `m` (approval as the spec says), or `None`
/// when it is complete; blind to wave gates ([`waits_of`] sees them).
fn wait_of(c: &Change, m: &Migration, approval: Approval) -> Option<Wait> {
    let id = &m.id;
    let who = &c.consumer;
    let owner = c
        .owner
        .clone()
        .or_else(|| m.owner.clone())
        .unwrap_or_else(|| "an admin".into());
    let campaign_owner = m.owner.clone().unwrap_or_else(|| "an admin".into());
    let run = format!("tern run {}", quoted(&m.spec_file));
    let wait = |on: String, why: String, command: Option<String>| Wait { on, why, command };
    // `1 reference needs` / `2 references need`, and what "them" is.
    let refs = |n: usize| match n {
        1 => ("1 reference needs".to_string(), "it"),
        n => (format!("{n} references need"), "them"),
    };
    Some(match c.state {
        ChangeState::Merged | ChangeState::Skipped => return None,
        ChangeState::Planned | ChangeState::Patched | ChangeState::Verifying => wait(
            "tern".into(),
            format!("{}; the next run carries it on", c.state.as_str().replace('_', " ")),
            Some(run),
        ),
        ChangeState::Failed => {
            let what = match (&c.error, &c.verify) {
                (Some(e), _) => e.clone(),
                (None, Some(v)) if !v.ok => format!(
                    "its verification failed ({})",
                    v.command.as_deref().unwrap_or("no command")
                ),
                _ => "it failed".into(),
            };
            wait(
                owner,
                format!("{what}; once the cause is fixed, retry"),
                Some(format!("tern retry {} {}", quoted(id), quoted(who))),
            )
        }
        ChangeState::NeedsAttention if c.commit.is_some() => wait(
            owner,
            {
                let (refs, it) = refs(c.unresolved.len());
                format!(
                    "{refs} a person: finish {it} on branch {}, then approve",
                    c.branch.as_deref().unwrap_or("tern/ID")
                )
            },
            Some(format!("tern approve {} {}", quoted(id), quoted(who))),
        ),
        ChangeState::NeedsAttention => wait(
            owner,
            format!(
                "{} rewriting by hand in {}; tern committed nothing",
                refs(c.unresolved.len()).0,
                c.repo
            ),
            None,
        ),
        ChangeState::Open if approval == Approval::Owners || crate::run::unverified(c) => wait(
            owner,
            if let Some(w) = &c.waiting {
                w.clone()
            } else if approval == Approval::Owners {
                "a member of the owner team approves it".into()
            } else {
                "no verification command ran, so a person approves it".into()
            },
            Some(format!("tern approve {} {}", quoted(id), quoted(who))),
        ),
        ChangeState::Open => wait(
            "tern".into(),
            "green; the rollout merges it when its wave opens".into(),
            Some(run),
        ),
        ChangeState::Approved => match &c.waiting {
            Some(w) => wait(owner, w.clone(), Some(run)),
            None => wait("tern".into(), "approved; the next run merges it".into(), Some(run)),
        },
        ChangeState::Closed | ChangeState::RolledBack => wait(
            campaign_owner,
            format!(
                "{} and still reads the old dataset: the campaign's owner settles it with its owner",
                if c.state == ChangeState::Closed {
                    "closed"
                } else {
                    "rolled back"
                }
            ),
            None,
        ),
    })
}

/// What every change of a campaign waits for, in `changes`' order. A change
/// not yet started in a wave whose gate is shut waits on whoever holds the
/// gate (docs/cli.md: waves), not on tern.
pub fn waits_of(changes: &[Change], m: &Migration, approval: Approval) -> Vec<Option<Wait>> {
    let mut waits: Vec<Option<Wait>> = changes.iter().map(|c| wait_of(c, m, approval)).collect();
    let waves = changes.iter().map(|c| c.wave + 1).max().unwrap_or(0);
    let gate = (1..waves).find_map(|w| {
        changes
            .iter()
            .position(|c| c.wave < w && !crate::rollout::clears_gate(c, approval))
            .map(|i| (w, i))
    });
    let Some((wave, holder)) = gate else {
        return waits;
    };
    let Some(held) = waits[holder].clone().filter(|w| w.on != "tern") else {
        return waits;
    };
    let h = &changes[holder];
    for (c, w) in changes.iter().zip(waits.iter_mut()) {
        if c.wave >= wave && c.state == ChangeState::Planned {
            *w = Some(Wait {
                on: held.on.clone(),
                why: format!(
                    "wave {} opens once {} ({}) is settled: {}",
                    wave + 1,
                    h.consumer,
                    h.state.as_str(),
                    held.why
                ),
                command: held.command.clone(),
            });
        }
    }
    waits
}

/// `needs people: 1 failed, 1 needs attention` when nothing is left that
/// tern does by itself and some consumers are not complete; `None` otherwise.
pub fn needs_people(changes: &[Change], m: &Migration, approval: Approval) -> Option<String> {
    let waits: Vec<Wait> = waits_of(changes, m, approval)
        .into_iter()
        .flatten()
        .collect();
    if waits.is_empty() || waits.iter().any(|w| w.on == "tern") {
        return None;
    }
    let order = [
        (ChangeState::Failed, "failed"),
        (ChangeState::NeedsAttention, "need attention"),
        (ChangeState::Open, "wait for approval"),
        (ChangeState::Approved, "approved and waiting"),
        (ChangeState::Closed, "closed"),
        (ChangeState::RolledBack, "rolled back"),
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|(state, word)| {
            let n = changes.iter().filter(|c| c.state == *state).count();
            let word = match (n, *state) {
                (1, ChangeState::NeedsAttention) => "needs attention",
                (1, ChangeState::Open) => "waits for approval",
                _ => word,
            };
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect();
    (!parts.is_empty()).then(|| format!("needs people: {}", parts.join(", ")))
}

/// A word as a shell reads it: quoted when it holds anything but the
/// characters of an id or a path.
fn quoted(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@=+,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_a_shell_reads_back() {
        assert_eq!(quoted("plays-to-lake"), "plays-to-lake");
        assert_eq!(quoted("my spec.yaml"), "'my spec.yaml'");
        assert_eq!(quoted("it's"), "'it'\\''s'");
        assert_eq!(quoted(""), "''");
    }
}
