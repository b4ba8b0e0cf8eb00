//! tern's catalog: what datasets exist, who reads them, who owns what, and the
//! durable state of every migration campaign.
//!
//! The model is plain data ([`Dataset`], [`Consumer`], [`Team`], [`Migration`],
//! [`Change`]); persistence sits behind the [`Store`] trait so that the embedded
//! SQLite file and a shared PostgreSQL server look the same to the fleet.
//! [`backstage::parse`] turns `catalog-info.yaml` text into an [`ImportBatch`]
//! that a store writes in one transaction: an import either lands whole or not
//! at all.
//!
//! ```
//! use tern_catalog::{open, Store};
//! let store = open("sqlite::memory:").unwrap();
//! let batch = tern_catalog::backstage::parse(
//!     "kind: Resource\napiVersion: backstage.io/v1alpha1\nmetadata: {name: plays, annotations: {tern.dev/paths: /w/plays}}\nspec: {type: dataset, owner: data}\n",
//!     std::path::Path::new("/tmp/catalog-info.yaml"),
//! ).unwrap();
//! store.import(&batch).unwrap();
//! assert_eq!(store.dataset("plays").unwrap().unwrap().paths, vec!["/w/plays"]);
//! ```

pub mod backstage;
mod import;
mod model;
pub mod openlineage;
mod postgres;
mod sqlite;
pub mod store;
pub mod suggest;

use std::path::PathBuf;

pub use import::{import, Imported, Incoming};
pub use model::*;
pub use postgres::{redact, PgStore, Postgres};
pub use sqlite::{Sqlite, SqliteStore};
pub use store::{SqlStore, SCHEMA_VERSION};

/// Anything the catalog could not do.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The database refused or failed.
    #[error("catalog database {path}: {source}")]
    Db {
        /// Where the database is.
        path: String,
        /// The database's own error.
        source: rusqlite::Error,
    },
    /// A catalog file is not what docs/catalog.md describes.
    #[error("{}:{line}: {message}", file.display())]
    Parse {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A catalog file named for import cannot be read.
    #[error("{}: cannot read: {source}", file.display())]
    Unreadable {
        /// The file.
        file: PathBuf,
        /// The system's words.
        source: std::io::Error,
    },
    /// The catalog URL names a store this build cannot open.
    #[error("catalog {0:?}: {1}")]
    Url(String, String),
    /// The PostgreSQL server refused or failed.
    #[error("catalog {url}: {message}")]
    Pg {
        /// The catalog URL, without its password.
        url: String,
        /// The server's or client's words.
        message: String,
    },
    /// A strict import met warnings: nothing was written.
    #[error("import refused under --strict, nothing was written:\n  {}", .0.join("\n  "))]
    Strict(Vec<String>),
    /// A stored record could not be read back (written by a newer tern?).
    #[error("catalog record {0}: {1}")]
    Corrupt(String, String),
}

impl CatalogError {
    /// True when the user's input was at fault (exit status 2): a catalog
    /// file or URL that is wrong, not a database that failed.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            CatalogError::Parse { .. }
                | CatalogError::Unreadable { .. }
                | CatalogError::Url(..)
                | CatalogError::Strict(..)
        )
    }
}

/// Result alias for catalog calls.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// Persistence of the catalog and of campaign state.
///
/// Every write is one transaction; readers never see half an import or half a
/// state change. Implementations are `Send + Sync` so the portal and workers can
/// share one.
pub trait Store: Send + Sync {
    /// Writes a parsed import in one transaction.
    fn import(&self, batch: &ImportBatch) -> Result<ImportSummary>;
    /// One dataset by id.
    fn dataset(&self, id: &str) -> Result<Option<Dataset>>;
    /// Every dataset.
    fn datasets(&self) -> Result<Vec<Dataset>>;
    /// One consumer by id.
    fn consumer(&self, id: &str) -> Result<Option<Consumer>>;
    /// Every consumer.
    fn consumers(&self) -> Result<Vec<Consumer>>;
    /// Who reads `dataset`: direct readers at depth 1, and with `transitive`
    /// the readers of what those produce, breadth first.
    fn consumers_of(&self, dataset: &str, transitive: bool) -> Result<Vec<ConsumerRef>>;
    /// Records that `consumer` reads `dataset`, learned through `via`.
    fn add_edge(&self, dataset: &str, consumer: &str, via: Via) -> Result<()>;
    /// Forgets that `consumer` reads `dataset` through `via`.
    fn remove_edge(&self, dataset: &str, consumer: &str, via: Via) -> Result<()>;
    /// What `consumer` reads, and how tern knows.
    fn reads_of(&self, consumer: &str) -> Result<Vec<(String, Via)>>;
    /// One team by ref (`group:default/x`).
    fn team(&self, id: &str) -> Result<Option<Team>>;
    /// True when `user` belongs to `team`.
    fn is_member(&self, team: &str, user: &str) -> Result<bool>;
    /// Every team, by id.
    fn teams(&self) -> Result<Vec<Team>>;
    /// True when `user` belongs to any team: the catalog knows them.
    fn is_user(&self, user: &str) -> Result<bool>;
    /// Stores an API token's hash (never the token itself).
    fn put_token(&self, t: &Token) -> Result<()>;
    /// The token whose hash is `hash`, revoked and expired ones included
    /// (the caller decides; [`Token::valid_at`]).
    fn token(&self, hash: &str) -> Result<Option<Token>>;
    /// Every token, oldest first.
    fn tokens(&self) -> Result<Vec<Token>>;
    /// Revokes the token whose [`Token::id`] is `id` (at Unix second `at`;
    /// an already revoked one keeps its first time); the token, or `None`
    /// when no token has that id.
    fn revoke_token(&self, id: &str, at: i64) -> Result<Option<Token>>;
    /// Records that a source (lineage) said something about a consumer the
    /// catalog holds otherwise.
    fn put_disagreement(&self, d: &Disagreement) -> Result<()>;
    /// Every disagreement recorded, by consumer.
    fn disagreements(&self) -> Result<Vec<Disagreement>>;
    /// A number that changes whenever anything in the store changes, from
    /// this process or another: lets the portal cache answers and push
    /// live updates without re-reading everything.
    fn revision(&self) -> Result<u64>;
    /// The schema step the store's tables are at: [`SCHEMA_VERSION`] once
    /// opened by this build, whichever backend holds them.
    fn schema_version(&self) -> Result<u32>;
    /// The folder a file catalog lives in (`None` for a server or memory):
    /// where a relative repository path that came with no file of its own,
    /// such as lineage posted to the portal, is resolved.
    fn home(&self) -> Option<PathBuf>;

    /// Creates or replaces a migration's header record.
    fn put_migration(&self, m: &Migration) -> Result<()>;
    /// Changes a stored migration in one write: read, `f`, write, with no
    /// other writer in between, so two processes' changes to one campaign
    /// never undo each other (a pause from the portal during a run's last
    /// scan stays). `f` must be quick: the record is locked while it runs.
    /// The record as written, or `None` when there is no such migration.
    fn update_migration(
        &self,
        id: &str,
        f: &mut dyn FnMut(&mut Migration),
    ) -> Result<Option<Migration>>;
    /// One migration.
    fn migration(&self, id: &str) -> Result<Option<Migration>>;
    /// Every migration, newest first.
    fn migrations(&self) -> Result<Vec<Migration>>;
    /// Stores a change; when its state differs from the stored one, a
    /// [`ChangeEvent`] with `note` is recorded in the same transaction.
    fn put_change(&self, c: &Change, note: &str) -> Result<()>;
    /// Stores a change and moves its consumer's read edges in one write, so
    /// that a merge (or a rollback) and what the catalog says the consumer
    /// reads never part, whatever kills the process.
    fn put_change_moving(&self, c: &Change, note: &str, edges: &[EdgeMove]) -> Result<()>;
    /// One change.
    fn change(&self, migration: &str, consumer: &str) -> Result<Option<Change>>;
    /// Every change of a migration, by consumer id.
    fn changes(&self, migration: &str) -> Result<Vec<Change>>;
    /// State history of a migration (or one consumer of it), oldest first.
    fn events(&self, migration: &str, consumer: Option<&str>) -> Result<Vec<ChangeEvent>>;

    /// Takes one change of `migration` to work on, atomically, so no two
    /// workers (threads, processes or machines) hold the same one: a change
    /// in wave `max_wave` or earlier, in one of `states`, whose lease is free
    /// or expired. The lease is `worker`'s for `ttl_s` seconds unless renewed.
    fn lease(
        &self,
        migration: &str,
        max_wave: u32,
        states: &[ChangeState],
        worker: &str,
        ttl_s: i64,
    ) -> Result<Option<Lease>>;
    /// Extends `worker`'s lease; false when it is no longer theirs.
    fn renew(&self, migration: &str, consumer: &str, worker: &str, ttl_s: i64) -> Result<bool>;
    /// Gives a lease back.
    fn release(&self, migration: &str, consumer: &str, worker: &str) -> Result<()>;
    /// How many changes of `migration` are in one of `states`: limits such
    /// as `max_in_flight` hold across every worker, so they count here.
    fn count_in(&self, migration: &str, states: &[ChangeState]) -> Result<u64>;
    /// How many times a change of `migration` entered `state` at or after `since`.
    fn count_entered(&self, migration: &str, state: ChangeState, since: i64) -> Result<u64>;
    /// Who holds leases on `migration` now (expired or not).
    fn lease_owners(&self, migration: &str) -> Result<Vec<String>>;
    /// Expires every lease `worker` holds on `migration` now: for a worker
    /// known to be dead, so its changes need not wait. The owner stays on
    /// record, so whoever leases them next learns it took them over.
    fn release_all(&self, migration: &str, worker: &str) -> Result<()>;
}

/// One reader of a dataset as a store's tables hold it: consumer id, repo,
/// owner, and how the edge was learned.
pub(crate) type Reader = (String, String, Option<String>, Via);

/// Who reads `dataset`, breadth first: direct readers at depth 1, and with
/// `transitive` the readers of what they produce. Shared by the stores so
/// both walk lineage the same way; `readers` and `outputs` are their queries.
pub(crate) fn walk_readers(
    dataset: &str,
    transitive: bool,
    mut readers: impl FnMut(&str) -> Result<Vec<Reader>>,
    mut outputs: impl FnMut(&str) -> Result<Vec<String>>,
) -> Result<Vec<ConsumerRef>> {
    use std::collections::{BTreeMap, HashSet, VecDeque};
    let mut found: BTreeMap<String, ConsumerRef> = BTreeMap::new();
    let mut seen: HashSet<String> = HashSet::from([dataset.to_string()]);
    let mut queue = VecDeque::from([(dataset.to_string(), 1u32)]);
    while let Some((ds, depth)) = queue.pop_front() {
        for (id, repo, owner, via) in readers(&ds)? {
            if let Some(existing) = found.get_mut(&id) {
                if existing.depth == depth && via < existing.via {
                    existing.via = via;
                }
                continue;
            }
            found.insert(
                id.clone(),
                ConsumerRef {
                    id: id.clone(),
                    repo,
                    owner,
                    via,
                    depth,
                },
            );
            if transitive {
                for p in outputs(&id)? {
                    if seen.insert(p.clone()) {
                        queue.push_back((p, depth + 1));
                    }
                }
            }
        }
    }
    let mut out: Vec<ConsumerRef> = found.into_values().collect();
    out.sort_by(|a, b| (a.depth, &a.id).cmp(&(b.depth, &b.id)));
    Ok(out)
}

/// Where a catalog URL points: parsed once, here, for every caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `sqlite:PATH` or a bare path.
    File(PathBuf),
    /// `sqlite::memory:`: gone when the process ends.
    Memory,
    /// `postgres://user:password@host:port/database`.
    Postgres(String),
}

impl Location {
    /// Reads a catalog URL: `sqlite:PATH`, `sqlite::memory:`, a bare path,
    /// or `postgres://` (also `postgresql://`).
    pub fn parse(url: &str) -> Result<Location> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_string()));
        }
        match url.strip_prefix("sqlite:").unwrap_or(url) {
            "" => Err(CatalogError::Url(url.to_string(), "no path given".into())),
            ":memory:" => Ok(Location::Memory),
            path => Ok(Location::File(PathBuf::from(path))),
        }
    }

    /// False only for a catalog file that is not there yet: commands that
    /// only read refuse to create one by accident.
    pub fn exists(&self) -> bool {
        match self {
            Location::File(p) => p.exists(),
            Location::Memory | Location::Postgres(_) => true,
        }
    }

    /// Opens (creating a file or the schema when needed) the catalog here.
    pub fn open(&self) -> Result<Box<dyn Store>> {
        Ok(match self {
            Location::Postgres(url) => Box::new(PgStore::open(url)?),
            Location::Memory => Box::new(SqliteStore::open(":memory:")?),
            Location::File(p) => Box::new(SqliteStore::open(&p.to_string_lossy())?),
        })
    }
}

/// Opens the catalog a URL names ([`Location::parse`]).
pub fn open(url: &str) -> Result<Box<dyn Store>> {
    Location::parse(url)?.open()
}

/// Seconds since the Unix epoch, the catalog's one clock.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
