//! Human-readable output: aligned tables, with colour on a terminal.

use std::io::IsTerminal;

use serde::Serialize;
use tern_catalog::ConsumerRef;
use tern_fleet::{ChangeState, Plan, Status};
use tern_scan::{PathFinding, TreeReport};

/// `tern rewrite --json` (docs/cli.md).
#[derive(Debug, Default, Serialize)]
pub struct RewriteOutput {
    pub files_changed: Vec<String>,
    pub edits: usize,
    pub unresolved: Vec<PathFinding>,
    /// Binary and oversized files that name the dataset (docs/json.md).
    pub notes: Vec<PathFinding>,
    /// Rule 11 over every tree: statements checked, and what failed (the
    /// failing statements were left whole, and are among `unresolved`).
    pub schema_check: SchemaOutput,
}

/// `schema_check` of `tern rewrite --json`.
#[derive(Debug, Serialize)]
pub struct SchemaOutput {
    pub ok: bool,
    pub checked: usize,
    pub failures: Vec<PathFinding>,
}

impl Default for SchemaOutput {
    fn default() -> SchemaOutput {
        SchemaOutput {
            ok: true,
            checked: 0,
            failures: vec![],
        }
    }
}

impl RewriteOutput {
    pub fn add(&mut self, report: TreeReport) {
        self.edits += report.edits();
        self.schema_check.ok &= report.schema.ok();
        self.schema_check.checked += report.schema.checked;
        self.schema_check
            .failures
            .extend(report.schema.failures.iter().cloned());
        self.files_changed
            .extend(report.files.into_iter().map(|f| f.path));
        self.unresolved.extend(report.findings);
        self.notes.extend(report.notes);
    }
}

fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Paints a state word: green for done, red for broken, yellow for a person's turn.
pub fn paint(state: ChangeState) -> String {
    let word = state.as_str();
    if !colour() {
        return word.to_string();
    }
    let code = match state {
        ChangeState::Merged => "32",
        ChangeState::Failed => "31",
        ChangeState::NeedsAttention | ChangeState::Open => "33",
        ChangeState::RolledBack | ChangeState::Closed => "35",
        ChangeState::Skipped => "2",
        _ => "36",
    };
    format!("\x1b[{code}m{word}\x1b[0m")
}

/// `1 consumer`, `2 consumers`.
pub fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Visible width, ignoring ANSI colour codes.
fn width(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// Prints rows under a header, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(width(c));
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            out.push_str(c);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(widths[i] - width(c) + 2));
            }
        }
        outln!("{}", out.trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

pub fn rewrite(out: &RewriteOutput, dry_run: bool) {
    let verb = if dry_run { "would change" } else { "changed" };
    for f in &out.files_changed {
        if !dry_run {
            outln!("rewrote {f}");
        }
    }
    for u in &out.unresolved {
        outln!("unresolved {}:{}: {}", u.path, u.line, u.reason);
    }
    for n in &out.notes {
        outln!("note {}:{}: {}", n.path, n.line, n.reason);
    }
    outln!(
        "{verb} {} files with {} edits; {} unresolved",
        out.files_changed.len(),
        out.edits,
        out.unresolved.len()
    );
    let s = &out.schema_check;
    if s.checked > 0 || !s.ok {
        outln!(
            "schema check: {} rewritten statements checked, {} references failed",
            s.checked,
            s.failures.len()
        );
    }
}

pub fn consumers(list: &[ConsumerRef]) {
    if list.is_empty() {
        outln!("no consumers");
        return;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                short_ref(c.owner.as_deref()),
                c.via.as_str().into(),
                c.depth.to_string(),
                c.repo.clone(),
            ]
        })
        .collect();
    table(&["CONSUMER", "OWNER", "VIA", "DEPTH", "REPO"], &rows);
}

pub fn plan(plan: &Plan) {
    outln!(
        "migration {}: {}",
        plan.id,
        count(plan.consumers.len(), "consumer")
    );
    let rows: Vec<Vec<String>> = plan
        .consumers
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.via.as_str().into(),
                c.files.len().to_string(),
                c.edits.to_string(),
                c.unresolved.len().to_string(),
                schema_word(&c.schema_check),
                c.error.clone().unwrap_or_else(|| c.files.join(", ")),
            ]
        })
        .collect();
    table(
        &[
            "CONSUMER",
            "VIA",
            "FILES",
            "EDITS",
            "UNRESOLVED",
            "SCHEMA",
            "DETAIL",
        ],
        &rows,
    );
    for c in &plan.consumers {
        for u in &c.unresolved {
            outln!("  {} {}:{}: {}", c.id, u.path, u.line, u.reason);
        }
        for n in &c.notes {
            outln!("  {} note {}:{}: {}", c.id, n.path, n.line, n.reason);
        }
    }
}

/// `ok 3` (statements checked), `failed 2` (references), or `-` when
/// nothing was rewritten in SQL.
fn schema_word(s: &tern_catalog::SchemaCheck) -> String {
    match (s.ok, s.checked) {
        (false, _) => format!("failed {}", s.failures.len()),
        (true, 0) => "-".into(),
        (true, n) => format!("ok {n}"),
    }
}

fn duration(s: i64) -> String {
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// `tern` is how printed commands start (`commands::typed`).
pub fn status(s: &Status, tern: &str) {
    let state = serde_json::to_value(s.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    outln!("{} — {}  [{}]", s.id, s.title, state);
    if let Some(r) = &s.paused_reason {
        outln!("paused: {r}");
    }
    if let Some(w) = &s.waiting {
        outln!("waiting: {w}");
    }
    let rows: Vec<Vec<String>> = s
        .consumers
        .iter()
        .map(|c| {
            let verify = match &c.verify {
                Some(v) if v.command.is_none() => "unverified".to_string(),
                Some(v) => format!("{} {:.1}s", if v.ok { "pass" } else { "FAIL" }, v.seconds),
                None => "-".to_string(),
            };
            let failing_line = c.verify.as_ref().filter(|v| !v.ok).and_then(|v| {
                v.log_tail
                    .lines()
                    .find(|l| l.contains("FAIL"))
                    .or_else(|| v.log_tail.lines().last())
            });
            let schema_failure = c.schema_check.as_ref().and_then(|s| s.failures.first());
            let note = if let Some(e) = &c.error {
                e.clone()
            } else if let Some(u) = schema_failure {
                format!("{}:{}: {}", u.path, u.line, u.reason)
            } else if let Some(line) = failing_line {
                line.trim().to_string()
            } else if let Some(u) = c.unresolved.first() {
                format!("{}:{}: {}", u.path, u.line, u.reason)
            } else {
                String::new()
            };
            vec![
                c.id.clone(),
                short_ref(c.owner.as_deref()),
                paint(c.state),
                short_ref(c.waiting_on.as_deref().or(Some("-"))),
                c.files.len().to_string(),
                c.schema_check
                    .as_ref()
                    .map_or_else(|| "-".into(), schema_word),
                verify,
                note,
            ]
        })
        .collect();
    table(
        &[
            "CONSUMER",
            "OWNER",
            "STATE",
            "WAITING ON",
            "FILES",
            "SCHEMA",
            "VERIFY",
            "NOTE",
        ],
        &rows,
    );
    // What people can do now, each as a command that runs as printed.
    let steps: Vec<_> = s
        .consumers
        .iter()
        .filter(|c| c.waiting_on.as_deref().is_some_and(|w| w != "tern"))
        .collect();
    if !steps.is_empty() {
        outln!();
        outln!("next steps:");
        for c in steps.iter().take(STEPS_SHOWN) {
            outln!(
                "  {} (waits on {}): {}",
                c.id,
                short_ref(c.waiting_on.as_deref()),
                c.waiting.as_deref().unwrap_or_default()
            );
            if let Some(cmd) = &c.next {
                outln!("    {}", typed(cmd, tern));
            }
        }
        if steps.len() > STEPS_SHOWN {
            outln!(
                "  and {} more: {} status {} --json lists every one",
                steps.len() - STEPS_SHOWN,
                tern,
                s.id
            );
        }
    }
    let counts: Vec<String> = s
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    outln!();
    outln!(
        "{}: {}",
        count(s.consumers.len(), "consumer"),
        counts.join(", ")
    );
    match s.time_to_completion_s {
        Some(t) => outln!("time to completion: {}", duration(t)),
        None => outln!("elapsed: {} (not complete)", duration(s.elapsed_s)),
    }
    if s.waves.len() > 1 {
        let waves: Vec<String> = s
            .waves
            .iter()
            .map(|w| {
                let failed = if w.failed > 0 {
                    format!(", {} failed", w.failed)
                } else {
                    String::new()
                };
                format!("wave {}: {}/{} done{failed}", w.wave, w.done, w.consumers)
            })
            .collect();
        outln!("{}", waves.join("   "));
    }
    if let Some(r) = s.remaining_references {
        outln!("references to the old dataset left on default branches: {r}");
    }
    if s.pauses > 0 {
        outln!("paused by the error budget {} time(s)", s.pauses);
    }
    outln!(
        "breakage rate: {:.1}%   manual interventions: {}",
        s.breakage_rate * 100.0,
        s.manual_interventions
    );
}

/// Next steps listed before the rest is left to `--json`.
const STEPS_SHOWN: usize = 10;

/// A `tern ...` command as the user types it here.
fn typed(cmd: &str, tern: &str) -> String {
    match cmd.strip_prefix("tern ") {
        Some(rest) => format!("{tern} {rest}"),
        None => cmd.to_string(),
    }
}

/// `group:default/insights` reads as `insights` in a table.
fn short_ref(r: Option<&str>) -> String {
    let r = r.unwrap_or("");
    r.strip_prefix("group:default/").unwrap_or(r).to_string()
}
