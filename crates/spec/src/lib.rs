//! The migration spec: what a platform team writes to name a migration.
//!
//! [`Spec::parse`] reads the YAML of SPEC section 2 and either returns a fully
//! validated [`Spec`] or a [`SpecError`] naming the file, line and key. Nothing
//! downstream re-validates: a `Spec` value is always well-formed (ids of the
//! right shape, no `old` equal to its `new`, no alias given twice).
//!
//! ```
//! let text = "version: 1\nid: plays-move\ntitle: Move plays\nreplace:\n  - {kind: path, old: /a/plays, new: /b/plays}\n";
//! let spec = tern_spec::Spec::parse(text, "spec.yaml").unwrap();
//! assert_eq!(spec.id, "plays-move");
//! assert_eq!(spec.rollout.max_in_flight, 10);
//! ```

mod parse;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use parse::SpecError;

/// A validated migration spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    /// `[a-z0-9][a-z0-9-]{0,62}`; names the branch `tern/<id>`.
    pub id: String,
    /// Subject of every commit and pull request.
    pub title: String,
    /// Markdown body of every commit and pull request.
    pub description: String,
    /// Owner team ref; `None` means the owner of `dataset.from`.
    pub owner: Option<String>,
    /// Catalog ids of the old and new dataset.
    pub dataset: DatasetMove,
    /// Locator rewrites, applied together.
    pub replace: Vec<Replace>,
    /// File format change, if any.
    pub format: Option<FormatChange>,
    /// Column renames, old to new, in spec order.
    pub columns: Vec<(String, String)>,
    /// How changes are verified.
    pub verify: Verify,
    /// How the fleet rolls forward.
    pub rollout: Rollout,
    /// Who lets a green change merge.
    pub approval: Approval,
    /// What to run on consumers the rules leave unresolved.
    pub agent: Option<Agent>,
}

/// `dataset:` of the spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatasetMove {
    /// Catalog id of the dataset being retired.
    pub from: Option<String>,
    /// Catalog id of its replacement.
    pub to: Option<String>,
    /// ISO date the old dataset goes away.
    pub retire_on: Option<String>,
}

/// Which kind of name a locator is; it decides how boundaries are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocatorKind {
    /// A storage location (`hdfs://...`, `gs://...`, `/warehouse/...`).
    Path,
    /// A table name of one to three dotted parts.
    Table,
    /// A Backstage entity ref (`resource:default/x`), derived from `dataset`.
    Entity,
}

/// One `replace:` entry: several aliases of an old locator and its new form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replace {
    /// Path or table.
    pub kind: LocatorKind,
    /// Aliases of the old locator.
    pub old: Vec<String>,
    /// The new locator; `None` when the dataset stays where it is and only
    /// its columns or format change (its locators then only find consumers).
    pub new: Option<String>,
    /// Line of the entry in the spec file, for later errors.
    pub line: usize,
}

/// `format: {old, new}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatChange {
    /// Format read before, e.g. `avro`.
    pub old: String,
    /// Format read after, e.g. `parquet`.
    pub new: String,
}

/// `verify:`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verify {
    /// Shell command run in the consumer's worktree when the repo names none.
    pub command: Option<String>,
    /// `command: none`: a consumer with no verify command of its own may be
    /// merged unverified under `approval: auto` (otherwise a person approves it).
    pub none: bool,
    /// Wall-clock limit; the whole process group is killed past it.
    #[serde(with = "secs")]
    pub timeout: Duration,
    /// What the verification runs inside.
    pub sandbox: Sandbox,
    /// Under a sandbox, whether it may reach the network (default: no).
    pub network: bool,
}

/// `verify.sandbox`: where the repository's own code runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sandbox {
    /// With tern's own rights.
    #[default]
    None,
    /// Under bubblewrap: the file system read-only but for the worktree
    /// (and a private /tmp), no network unless `verify.network`, its own
    /// process, user and IPC namespaces.
    Bwrap,
}

/// One wave's cumulative size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Wave {
    /// Cumulative number of consumers.
    Count(u64),
    /// Cumulative share of consumers, 0 < p <= 100.
    Percent(f64),
}

impl Wave {
    /// How many consumers this wave covers cumulatively out of `total`.
    pub fn cumulative(self, total: usize) -> usize {
        match self {
            Wave::Count(n) => (n as usize).min(total),
            Wave::Percent(p) => ((p / 100.0 * total as f64).ceil() as usize).min(total),
        }
    }
}

/// `rollout.pause_when`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PauseWhen {
    /// Failed over finished at or above which the campaign pauses.
    pub failed_ratio: f64,
    /// Failures needed before the ratio counts.
    pub min_failed: u64,
}

/// A day of the week, for rollout windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// `rollout.window`: when changes may be proposed (UTC).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Allowed days; empty means every day.
    pub days: Vec<Weekday>,
    /// Allowed hours as [start, end), 0..=24.
    pub hours: (u8, u8),
}

/// `rollout:`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollout {
    /// Cumulative wave sizes; the first is the canary.
    pub waves: Vec<Wave>,
    /// Changes verifying or open at once.
    pub max_in_flight: u64,
    /// Changes proposed per rolling hour; `None` is unlimited.
    pub per_hour: Option<u64>,
    /// The error budget.
    pub pause_when: PauseWhen,
    /// Optional proposal window.
    pub window: Option<Window>,
    /// Remind owners who have not approved after this long.
    #[serde(with = "opt_secs")]
    pub nudge_after: Option<Duration>,
}

/// `approval:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// A member of the consumer's owner team approves.
    Owners,
    /// Merge when green.
    Auto,
}

/// `agent:`: an external coding agent for unresolved consumers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    /// argv of a command-line agent.
    pub command: Option<Vec<String>>,
    /// An OpenAI-compatible endpoint, instead of a command.
    pub endpoint: Option<String>,
    /// Model name at the endpoint.
    pub model: Option<String>,
    /// Environment variable holding the endpoint's key.
    pub api_key_env: Option<String>,
    /// Attempts per consumer.
    pub max_attempts: u64,
}

mod secs {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

mod opt_secs {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }
}

/// Parses `10m`, `30s`, `2h`, `3d` (also a bare number of seconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (num, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = num.parse().ok()?;
    if unit.trim() == "ms" {
        return Some(Duration::from_millis(n));
    }
    let mult = match unit.trim() {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult).map(Duration::from_secs)
}

/// True for ids of the shape `[a-z0-9][a-z0-9-]{0,62}`.
pub fn valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}
