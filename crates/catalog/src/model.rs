//! The catalog's records, in the words of docs/cli.md.

use serde::{Deserialize, Serialize};

/// A dataset: where it lives and what it looks like.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Catalog id (the Backstage entity name).
    pub id: String,
    /// `Resource` or `API`, as imported.
    pub kind: String,
    /// Storage locations.
    pub paths: Vec<String>,
    /// Table names.
    pub tables: Vec<String>,
    /// hdfs, gcs, s3, bigquery, hive...
    pub platform: Option<String>,
    /// avro, parquet...
    pub format: Option<String>,
    /// Schema fields.
    pub schema: Vec<Field>,
    /// Owner team ref.
    pub owner: Option<String>,
    /// production, deprecated...
    pub lifecycle: Option<String>,
}

/// One schema field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// Type as written, if known.
    #[serde(rename = "type")]
    pub ty: Option<String>,
}

/// A job, service or dashboard whose repository reads datasets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    /// Catalog id (the Backstage component name).
    pub id: String,
    /// Absolute path of a local git repository, or a remote URL.
    pub repo: String,
    /// Owner team ref.
    pub owner: Option<String>,
}

/// How tern learned that a consumer reads a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// Declared in the catalog (`dependsOn`, `consumesApis`).
    Catalog,
    /// Seen in an OpenLineage run event.
    Lineage,
    /// Found by scanning the consumer's code.
    Scan,
}

impl Via {
    /// The word stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Catalog => "catalog",
            Via::Lineage => "lineage",
            Via::Scan => "scan",
        }
    }

    /// Parses a stored word.
    pub fn parse(s: &str) -> Option<Via> {
        Some(match s {
            "catalog" => Via::Catalog,
            "lineage" => Via::Lineage,
            "scan" => Via::Scan,
            _ => return None,
        })
    }
}

/// A reader of a dataset as `tern catalog consumers` reports it (docs/json.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerRef {
    /// Consumer id.
    pub id: String,
    /// Its repository.
    pub repo: String,
    /// Its owner team.
    pub owner: Option<String>,
    /// How the edge was learned.
    pub via: Via,
    /// 1 for direct readers, more for readers of derived datasets.
    pub depth: u32,
}

/// A team and who belongs to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// `group:default/<name>`.
    pub id: String,
    /// `user:default/<name>` refs.
    pub members: Vec<String>,
    /// Where the team's digests go.
    pub webhook: Option<String>,
}

/// Everything one import writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportBatch {
    /// Datasets.
    pub datasets: Vec<Dataset>,
    /// Consumers.
    pub consumers: Vec<Consumer>,
    /// (dataset, consumer, via) read edges.
    pub reads: Vec<(String, String, Via)>,
    /// (consumer, dataset) write edges, for transitive consumers.
    pub produces: Vec<(String, String)>,
    /// Consumers whose declared reads and writes this batch states in full
    /// (Backstage components): their earlier declared edges are replaced.
    /// Lineage adds edges and never removes what the catalog declared.
    pub declared: Vec<String>,
    /// Teams.
    pub teams: Vec<Team>,
    /// (team, user) memberships declared on users.
    pub memberships: Vec<(String, String)>,
    /// Consumers lineage discovered: written only where the catalog holds
    /// no consumer of that id (lineage never re-owns or repoints one).
    pub discovered: Vec<Consumer>,
    /// What lineage said that the catalog holds otherwise.
    pub disagreements: Vec<Disagreement>,
    /// Things worth telling the user that do not stop the import.
    pub warnings: Vec<String>,
}

impl ImportBatch {
    /// Adds another batch's contents.
    pub fn extend(&mut self, other: ImportBatch) {
        self.datasets.extend(other.datasets);
        self.consumers.extend(other.consumers);
        self.reads.extend(other.reads);
        self.produces.extend(other.produces);
        self.declared.extend(other.declared);
        self.teams.extend(other.teams);
        self.memberships.extend(other.memberships);
        self.discovered.extend(other.discovered);
        self.disagreements.extend(other.disagreements);
        self.warnings.extend(other.warnings);
    }
}

/// Counts of what an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Datasets written.
    pub datasets: usize,
    /// Consumers written.
    pub consumers: usize,
    /// Read edges written.
    pub edges: usize,
    /// Teams written.
    pub teams: usize,
}

/// A campaign's state (docs/json.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    /// Changes are being made or wait for owners.
    Running,
    /// Stopped by a person or by the error budget.
    Paused,
    /// Every change is settled.
    Done,
    /// Rolled back as a whole.
    RolledBack,
}

/// A migration campaign's header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    /// The spec's id.
    pub id: String,
    /// The spec's YAML as last run.
    pub spec: String,
    /// Where the spec was read from.
    pub spec_file: String,
    /// The spec's title.
    pub title: String,
    /// Owner team ref.
    pub owner: Option<String>,
    /// Current state.
    pub state: MigrationState,
    /// When `tern run` first started it.
    pub started_at: i64,
    /// When every change settled.
    pub finished_at: Option<i64>,
    /// Why it is paused.
    pub paused_reason: Option<String>,
    /// Times a person had to step in (approving a needs-attention change, resuming, retrying).
    pub manual_interventions: u64,
    /// Times the error budget paused the campaign.
    #[serde(default)]
    pub pauses: u64,
    /// The last wave `tern run` opened (0-based): workers anywhere may take
    /// changes of this wave and earlier. `None` until the first run.
    #[serde(default)]
    pub open_wave: Option<u32>,
    /// Why the campaign is not moving although it is running (a wave gate,
    /// the rollout window, the hourly limit), for status.
    #[serde(default)]
    pub waiting: Option<String>,
    /// References to the old dataset still on the consumers' default
    /// branches at the last count: progress measured from the code.
    #[serde(default)]
    pub remaining_references: Option<u64>,
    /// Remaining references and open changes over time, one point per run step.
    #[serde(default)]
    pub burndown: Vec<BurndownPoint>,
    /// Digests sent (or tried) to owner teams, oldest first.
    #[serde(default)]
    pub digests: Vec<DigestRecord>,
    /// When each waiting consumer's owners were last reminded (Unix seconds).
    #[serde(default)]
    pub nudged: std::collections::BTreeMap<String, i64>,
    /// The rules the campaign rewrites with, fixed when it first ran (the
    /// fleet's encoding of the resolved spec against the catalog of that
    /// moment), so a worker started after a catalog import rewrites as the
    /// run it joins. Opaque here; `None` for a campaign stored before tern
    /// kept them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<serde_json::Value>,
}

/// One digest to one owner team: what it covered and whether it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestRecord {
    /// The team.
    pub team: String,
    /// The 1-based wave it reports; `None` for a reminder.
    pub wave: Option<u32>,
    /// When it was sent.
    pub at: i64,
    /// The consumers it named.
    pub consumers: Vec<String>,
    /// The webhook answered 2xx.
    pub delivered: bool,
    /// Attempts made.
    pub attempts: u32,
    /// Why it did not arrive.
    pub error: Option<String>,
}

/// One point of a campaign's burndown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurndownPoint {
    /// Unix seconds.
    pub at: i64,
    /// References to the old dataset on default branches.
    pub remaining: u64,
    /// Changes open or waiting for a person.
    pub open: u64,
}

/// The state of one consumer's change (docs/cli.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    /// Found, nothing done yet.
    Planned,
    /// Committed on its branch.
    Patched,
    /// Its verification is running.
    Verifying,
    /// Verification failed, or the repository could not be worked on.
    Failed,
    /// Verified, but some references need a person.
    NeedsAttention,
    /// Verified and proposed; waits for approval.
    Open,
    /// Approved; about to merge.
    Approved,
    /// On the default branch.
    Merged,
    /// Proposed, then withdrawn.
    Closed,
    /// Reverted after merging, or withdrawn by rollback.
    RolledBack,
    /// Nothing to change.
    Skipped,
}

impl ChangeState {
    /// Every state, in lifecycle order.
    pub const ALL: [ChangeState; 11] = [
        ChangeState::Planned,
        ChangeState::Patched,
        ChangeState::Verifying,
        ChangeState::Failed,
        ChangeState::NeedsAttention,
        ChangeState::Open,
        ChangeState::Approved,
        ChangeState::Merged,
        ChangeState::Closed,
        ChangeState::RolledBack,
        ChangeState::Skipped,
    ];

    /// The word stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Planned => "planned",
            ChangeState::Patched => "patched",
            ChangeState::Verifying => "verifying",
            ChangeState::Failed => "failed",
            ChangeState::NeedsAttention => "needs_attention",
            ChangeState::Open => "open",
            ChangeState::Approved => "approved",
            ChangeState::Merged => "merged",
            ChangeState::Closed => "closed",
            ChangeState::RolledBack => "rolled_back",
            ChangeState::Skipped => "skipped",
        }
    }

    /// Settled: `tern run` has nothing more to do for it without a person.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            ChangeState::Failed
                | ChangeState::NeedsAttention
                | ChangeState::Merged
                | ChangeState::Closed
                | ChangeState::RolledBack
                | ChangeState::Skipped
        )
    }
}

/// A reference left for a person, as stored on a change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unresolved {
    /// Path in the consumer's repository.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// Why tern left it.
    pub reason: String,
}

/// The outcome of running a consumer's verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyResult {
    /// Exit status 0 within the timeout.
    pub ok: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The command run, or `None` when the repo and spec name none.
    pub command: Option<String>,
    /// The last lines of its output.
    pub log_tail: String,
}

/// One consumer's change within a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Migration id.
    pub migration: String,
    /// Consumer id.
    pub consumer: String,
    /// The consumer's repository when planned.
    pub repo: String,
    /// Owner team ref.
    pub owner: Option<String>,
    /// How tern found this consumer.
    pub via: Via,
    /// Current state.
    pub state: ChangeState,
    /// `tern/<id>` once a branch exists.
    pub branch: Option<String>,
    /// The default branch it was made from.
    pub base_branch: Option<String>,
    /// That branch's tip when the change was made.
    #[serde(default)]
    pub base_commit: Option<String>,
    /// The change commit.
    pub commit: Option<String>,
    /// Where a person reviews the proposed change on its forge (a pull or
    /// merge request); absent where the published branch is the proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The commit on the default branch that merged it.
    pub merge_commit: Option<String>,
    /// The revert commit, after a rollback of a merged change.
    pub revert_commit: Option<String>,
    /// Rolled back because it broke its consumer (a person said so): it
    /// counts as breakage, which a rollback merely asked for does not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub broke: bool,
    /// Files changed.
    pub files: Vec<String>,
    /// Edits made.
    pub edits: u64,
    /// References left for a person.
    pub unresolved: Vec<Unresolved>,
    /// Verification outcome.
    pub verify: Option<VerifyResult>,
    /// Why the change failed when it was not its verification.
    pub error: Option<String>,
    /// Why an approved change does not merge by itself now, when it waits on
    /// a person (the default branch's checkout has uncommitted changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// Last state change.
    pub updated_at: i64,
    /// The rollout wave it belongs to, 0 for the canary.
    #[serde(default)]
    pub wave: u32,
    /// The worker that last worked on it (`host:pid:thread`).
    #[serde(default)]
    pub worker: Option<String>,
    /// The catalog's read edges the merge moved to the new dataset, so a
    /// rollback can put back exactly those.
    #[serde(default)]
    pub moved_reads: Option<MovedReads>,
    /// The engine's own check of the rewritten SQL against the new schema
    /// (docs/rules.md rule 11), once the change was patched.
    #[serde(default)]
    pub schema_check: Option<SchemaCheck>,
}

/// Rule 11's verdict on a change: every rewritten statement that names the
/// new dataset, parsed and scoped again, and the references that do not fit
/// its schema. A change with a failure is never proposed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaCheck {
    /// No reference failed.
    pub ok: bool,
    /// Statements checked.
    #[serde(default)]
    pub checked: usize,
    /// The references that failed, with file, line and why.
    pub failures: Vec<Unresolved>,
}

/// One read edge to add or remove with a change ([`crate::Store::put_change_moving`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeMove {
    /// The dataset read.
    pub dataset: String,
    /// How the read is known.
    pub via: Via,
    /// Added (`true`) or removed.
    pub add: bool,
}

/// Read edges moved from one dataset to another when a change merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedReads {
    /// The old dataset.
    pub from: String,
    /// The new dataset.
    pub to: String,
    /// The edges (by how they were learned) taken off the old dataset.
    pub vias: Vec<Via>,
    /// The edges added on the new one (those it did not have already).
    pub added: Vec<Via>,
}

impl Change {
    /// A fresh planned change.
    pub fn planned(migration: &str, consumer: &Consumer, via: Via) -> Change {
        Change {
            migration: migration.to_string(),
            consumer: consumer.id.clone(),
            repo: consumer.repo.clone(),
            owner: consumer.owner.clone(),
            via,
            state: ChangeState::Planned,
            branch: None,
            base_branch: None,
            base_commit: None,
            commit: None,
            url: None,
            merge_commit: None,
            revert_commit: None,
            broke: false,
            files: vec![],
            edits: 0,
            unresolved: vec![],
            verify: None,
            error: None,
            waiting: None,
            approved_by: None,
            updated_at: crate::now(),
            wave: 0,
            worker: None,
            moved_reads: None,
            schema_check: None,
        }
    }
}

/// One recorded state transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    /// Consumer id.
    pub consumer: String,
    /// Unix seconds.
    pub at: i64,
    /// State before, `None` for the first record.
    pub from: Option<ChangeState>,
    /// State after.
    pub to: ChangeState,
    /// What happened.
    pub note: String,
}

/// An API token for the portal. Only its SHA-256 hash is stored, so a stolen
/// catalog file gives no one a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Hex SHA-256 of the token.
    pub hash: String,
    /// `user:default/<name>`.
    pub user: String,
    /// What it may do.
    pub role: Role,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds from which it is refused; `None`: it never expires.
    pub expires_at: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

impl Token {
    /// The name it goes by in lists and for `tern token revoke`: the start of
    /// its hash (which says nothing of the token itself).
    pub fn id(&self) -> &str {
        self.hash.get(..12).unwrap_or(&self.hash)
    }

    /// May do everything, whatever the teams say.
    pub fn admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Neither revoked nor expired at `now` (Unix seconds).
    pub fn valid_at(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// Something a source said about a consumer that the catalog holds
/// otherwise (a lineage event naming another repository or owner for it):
/// the catalog keeps its own word, and this is what is shown beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disagreement {
    pub consumer: String,
    /// `lineage`.
    pub source: String,
    /// What it said, and what the catalog says.
    pub detail: String,
    /// Unix seconds, the last time it was said.
    pub at: i64,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// What its user's teams may do.
    User,
    /// Everything.
    Admin,
    /// Post OpenLineage events, and nothing else: for the jobs and
    /// schedulers that report lineage, which need no say over changes.
    Lineage,
}

impl Role {
    /// All of them, as `--role` spells them.
    pub const ALL: [Role; 3] = [Role::User, Role::Admin, Role::Lineage];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
            Role::Lineage => "lineage",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A change taken to work on.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    /// The change as stored.
    pub change: Change,
    /// The worker whose lease this one replaced without it being given back
    /// (it died, or its lease ran out): whatever it left behind is stale.
    pub taken_over: Option<String>,
}
