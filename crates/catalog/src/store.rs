//! The one implementation of [`Store`] over SQL: every statement, the record
//! codec and the schema steps live here, written once.
//!
//! A backend is a [`Dialect`]: how to open a read or a write transaction,
//! how to spell a handful of column types, what to add to the lease query so
//! that concurrent workers skip each other's rows, and how the revision
//! moves. Statements use `?N` placeholders; a dialect that numbers them
//! differently translates them in its [`Session`].

use crate::*;

/// Schema steps; step N brings a store from version N to N+1. Never edit a
/// released step: add a new one. `{int}`, `{bool}`, `{serial}` and
/// `{record_wave}` are spelled by the dialect.
const SCHEMA: &[&str] = &[
    // 1: catalog and campaign state.
    r#"CREATE TABLE datasets (id TEXT PRIMARY KEY, record TEXT NOT NULL);
     CREATE TABLE consumers (id TEXT PRIMARY KEY, repo TEXT NOT NULL, owner TEXT);
     CREATE TABLE reads (dataset TEXT NOT NULL, consumer TEXT NOT NULL, via TEXT NOT NULL,
                         PRIMARY KEY (dataset, consumer, via));
     CREATE INDEX reads_by_consumer ON reads (consumer);
     CREATE TABLE produces (consumer TEXT NOT NULL, dataset TEXT NOT NULL, PRIMARY KEY (consumer, dataset));
     CREATE TABLE teams (id TEXT PRIMARY KEY, webhook TEXT);
     CREATE TABLE members (team TEXT NOT NULL, "user" TEXT NOT NULL, PRIMARY KEY (team, "user"));
     CREATE TABLE migrations (id TEXT PRIMARY KEY, record TEXT NOT NULL, started_at {int} NOT NULL);
     CREATE TABLE changes (migration TEXT NOT NULL, consumer TEXT NOT NULL, state TEXT NOT NULL,
                           record TEXT NOT NULL, PRIMARY KEY (migration, consumer));
     CREATE TABLE change_events (seq {serial}, migration TEXT NOT NULL,
                                 consumer TEXT NOT NULL, at {int} NOT NULL, from_state TEXT,
                                 to_state TEXT NOT NULL, note TEXT NOT NULL);
     CREATE INDEX events_by_change ON change_events (migration, consumer);"#,
    // 2: API tokens for the portal, stored as SHA-256 hashes only.
    r#"CREATE TABLE tokens (hash TEXT PRIMARY KEY, "user" TEXT NOT NULL, admin {bool} NOT NULL,
                          created_at {int} NOT NULL);"#,
    // 3: leases, so several workers can share a campaign; the wave as a column to lease by.
    "ALTER TABLE changes ADD COLUMN wave {int} NOT NULL DEFAULT 0;
     ALTER TABLE changes ADD COLUMN lease_owner TEXT;
     ALTER TABLE changes ADD COLUMN lease_until {int};
     UPDATE changes SET wave = {record_wave};
     CREATE INDEX changes_by_wave ON changes (migration, wave, state);",
    // 4: `user` is a reserved word in PostgreSQL; one name for both stores.
    r#"ALTER TABLE members RENAME COLUMN "user" TO member;
     ALTER TABLE tokens RENAME COLUMN "user" TO member;"#,
    // 5: leasing and counting by state stay cheap at ten thousand changes
    // (the lease looks for the first workable one, not past every merged one).
    "CREATE INDEX changes_by_state ON changes (migration, state, wave, consumer);
     CREATE INDEX events_by_state ON change_events (migration, to_state, at);",
    // 6: tokens have a role, expire (the 90 days new ones get, counted for
    // the old ones from when they were made) and can be revoked; what
    // lineage said that the catalog does not, kept to be shown.
    "ALTER TABLE tokens ADD COLUMN role TEXT;
     ALTER TABLE tokens ADD COLUMN expires_at {int};
     ALTER TABLE tokens ADD COLUMN revoked_at {int};
     UPDATE tokens SET role = CASE WHEN admin THEN 'admin' ELSE 'user' END,
                       expires_at = created_at + 7776000;
     CREATE TABLE disagreements (seq {serial}, consumer TEXT NOT NULL, source TEXT NOT NULL,
                                 detail TEXT NOT NULL, at {int} NOT NULL);
     CREATE INDEX disagreements_by_consumer ON disagreements (consumer);",
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = SCHEMA.len() as u32;

/// A value bound to a statement's placeholder.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// Text.
    Text(&'a str),
    /// Text or NULL.
    Opt(Option<&'a str>),
    /// A 64-bit integer.
    Int(i64),
    /// An integer or NULL.
    OptInt(Option<i64>),
    /// A flag.
    Bool(bool),
}

/// One value read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// An integer of any width.
    Int(i64),
    /// Text.
    Text(String),
    /// A flag (PostgreSQL's BOOLEAN; SQLite stores flags as integers).
    Bool(bool),
}

/// One row read back, its cells in select order.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Cell>);

impl Row {
    fn cell(&self, i: usize) -> Result<&Cell> {
        self.0
            .get(i)
            .ok_or_else(|| CatalogError::Corrupt("row".into(), format!("no column {i}")))
    }

    fn text(&self, i: usize) -> Result<String> {
        match self.cell(i)? {
            Cell::Text(s) => Ok(s.clone()),
            other => Err(unexpected(i, "text", other)),
        }
    }

    fn opt(&self, i: usize) -> Result<Option<String>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            Cell::Text(s) => Ok(Some(s.clone())),
            other => Err(unexpected(i, "text", other)),
        }
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            Cell::Int(n) => Ok(Some(*n)),
            other => Err(unexpected(i, "an integer", other)),
        }
    }

    pub(crate) fn int(&self, i: usize) -> Result<i64> {
        match self.cell(i)? {
            Cell::Int(n) => Ok(*n),
            other => Err(unexpected(i, "an integer", other)),
        }
    }

    fn flag(&self, i: usize) -> Result<bool> {
        match self.cell(i)? {
            Cell::Bool(b) => Ok(*b),
            Cell::Int(n) => Ok(*n != 0),
            other => Err(unexpected(i, "a flag", other)),
        }
    }
}

/// The first column of the first row as an integer, 0 when there is no row:
/// a `COUNT(*)`, a `PRAGMA` or a version read.
pub(crate) fn first_int(rows: &[Row]) -> Result<i64> {
    rows.first().map_or(Ok(0), |r| r.int(0))
}

fn unexpected(i: usize, want: &str, got: &Cell) -> CatalogError {
    CatalogError::Corrupt("row".into(), format!("column {i} is {got:?}, not {want}"))
}

/// A connection or a transaction a dialect lends to the shared statements.
pub trait Session {
    /// Runs one statement; how many rows it touched.
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64>;
    /// Runs one query.
    fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>>;
    /// Runs several statements without arguments (schema steps).
    fn batch(&mut self, sql: &str) -> Result<()>;
}

/// What a SQL engine spells its own way. Everything else is shared.
pub trait Dialect: Send + Sync + Sized {
    /// The spelling of `{int}`, `{bool}`, `{serial}` or `{record_wave}` in
    /// a schema step.
    fn spell(word: &str) -> &'static str;
    /// Appended to the lease query's `SELECT`, so concurrent workers skip
    /// rows another one is taking instead of waiting on them.
    const LEASE_LOCK: &'static str;
    /// Appended to a `SELECT` inside [`Dialect::write`] that is read to be
    /// written back: holds the rows until the transaction ends (where the
    /// write transaction does not already hold everything).
    const ROW_LOCK: &'static str;
    /// Runs `f` outside a transaction (or in one that only reads).
    fn read<T>(&self, f: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T>;
    /// Runs `f` in one transaction that holds off every other writer of
    /// the rows it touches, and commits it when `f` succeeds.
    fn write<T>(&self, f: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T>;
    /// One statement that is a whole write by itself, and the revision's
    /// move. A server runs it without a transaction around it (a statement
    /// is atomic on its own), which saves the round trips of one.
    fn write_one(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        self.write(|s| {
            let n = s.exec(sql, args)?;
            self.bump(s)?;
            Ok(n)
        })
    }
    /// A change saved with its event in one statement, where the engine
    /// can write two tables in one (PostgreSQL's data-modifying `WITH`);
    /// `None`: the two shared statements in a transaction.
    const SAVE_IN_ONE: Option<&'static str> = None;
    /// Inside [`Dialect::write`], before a transaction that changed
    /// something commits: advances whatever [`Dialect::revision`] reads, for
    /// engines whose revision does not move by itself.
    fn bump(&self, s: &mut dyn Session) -> Result<()>;
    /// The revision: changes whenever anything in the store changes.
    fn revision(&self) -> Result<u64>;
    /// Inside the upgrade's transaction: takes whatever lock keeps two
    /// processes from upgrading at once, and reads the schema version.
    fn version(&self, s: &mut dyn Session) -> Result<u32>;
    /// Inside the upgrade's transaction: records the schema version.
    fn set_version(&self, s: &mut dyn Session, v: u32) -> Result<()>;
    /// Where the store is, for messages (never with a password).
    fn place(&self) -> &str;
    /// The folder a file catalog lives in; `None` for a server or memory.
    fn home(&self) -> Option<std::path::PathBuf> {
        None
    }
}

/// A catalog in a SQL database: the [`Store`] contract, once, over any
/// [`Dialect`].
pub struct SqlStore<D> {
    pub(crate) d: D,
}

impl<D: Dialect> SqlStore<D> {
    /// Brings the schema up to date and wraps the backend.
    pub(crate) fn new(d: D) -> Result<Self> {
        let store = SqlStore { d };
        store.upgrade()?;
        Ok(store)
    }

    /// Wraps a backend this process may only read: its schema must already
    /// be this build's, since nothing can be upgraded.
    pub(crate) fn read_only(d: D) -> Result<Self> {
        let store = SqlStore { d };
        let version = store.d.read(|s| store.d.version(s))?;
        if version != SCHEMA_VERSION {
            return Err(CatalogError::Url(
                store.d.place().to_string(),
                format!(
                    "the catalog is read-only here and at schema version {version}; this tern needs {SCHEMA_VERSION} and cannot upgrade it"
                ),
            ));
        }
        Ok(store)
    }

    fn upgrade(&self) -> Result<()> {
        self.d.write(|s| {
            let version = self.d.version(s)?;
            if version > SCHEMA_VERSION {
                return Err(CatalogError::Url(
                    self.d.place().to_string(),
                    format!(
                        "schema version {version} is newer than this tern understands ({SCHEMA_VERSION})"
                    ),
                ));
            }
            for (step, sql) in SCHEMA.iter().enumerate().skip(version as usize) {
                s.batch(&spelled::<D>(sql))?;
                self.d.set_version(s, step as u32 + 1)?;
                tracing::debug!(step = step + 1, "catalog schema upgraded");
            }
            Ok(())
        })
    }

    /// A write transaction that moves the revision.
    fn write<T>(&self, f: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
        self.d.write(|s| {
            let out = f(s)?;
            self.d.bump(s)?;
            Ok(out)
        })
    }

    fn one<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        self.d
            .read(|s| s.query(sql, args))?
            .first()
            .map(f)
            .transpose()
    }

    fn all<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.d.read(|s| s.query(sql, args))?.iter().map(f).collect()
    }

    fn count(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        Ok(first_int(&self.d.read(|s| s.query(sql, args))?)?.max(0) as u64)
    }
}

/// Stores a change, with an event when its state moved, inside a write.
fn save_change(s: &mut dyn Session, c: &Change, note: &str) -> Result<()> {
    // The event first, while the row still holds the state it leaves; one
    // statement whether or not the state moved (none is recorded if not).
    s.exec(
        "INSERT INTO change_events (migration, consumer, at, from_state, to_state, note)
         SELECT CAST(?1 AS TEXT), CAST(?2 AS TEXT), CAST(?3 AS BIGINT), prior.state,
                CAST(?4 AS TEXT), CAST(?5 AS TEXT)
         FROM (SELECT (SELECT state FROM changes WHERE migration = ?1 AND consumer = ?2) AS state) AS prior
         WHERE prior.state IS NULL OR prior.state <> ?4",
        &[
            Text(&c.migration),
            Text(&c.consumer),
            Int(c.updated_at),
            Text(c.state.as_str()),
            Text(note),
        ],
    )?;
    s.exec(
        "INSERT INTO changes (migration, consumer, state, record, wave) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (migration, consumer) DO UPDATE SET state = excluded.state,
             record = excluded.record, wave = excluded.wave",
        &[
            Text(&c.migration),
            Text(&c.consumer),
            Text(c.state.as_str()),
            Text(&to_json(c)),
            Int(i64::from(c.wave)),
        ],
    )?;
    Ok(())
}

/// A disagreement, kept once per consumer, source and words (the newest time).
fn save_disagreement(s: &mut dyn Session, d: &Disagreement) -> Result<()> {
    s.exec(
        "DELETE FROM disagreements WHERE consumer = ?1 AND source = ?2 AND detail = ?3",
        &[Text(&d.consumer), Text(&d.source), Text(&d.detail)],
    )?;
    s.exec(
        "INSERT INTO disagreements (consumer, source, detail, at) VALUES (?1, ?2, ?3, ?4)",
        &[
            Text(&d.consumer),
            Text(&d.source),
            Text(&d.detail),
            Int(d.at),
        ],
    )
    .map(drop)
}

/// A schema step with the dialect's words in place of `{int}` and the rest.
fn spelled<D: Dialect>(sql: &str) -> String {
    let mut out = sql.to_string();
    for word in ["int", "bool", "serial", "record_wave"] {
        out = out.replace(&format!("{{{word}}}"), D::spell(word));
    }
    out
}

/// `'planned', 'patched'`: states for an `IN (...)`. They are our own
/// fixed words, never user input, so quoting them inline is safe.
const TOKEN_COLUMNS: &str =
    "SELECT hash, member, admin, created_at, role, expires_at, revoked_at FROM tokens";

fn token_of(r: &Row) -> Result<Token> {
    let admin = r.flag(2)?;
    let role = r
        .opt(4)?
        .and_then(|s: String| Role::parse(&s))
        .unwrap_or(if admin { Role::Admin } else { Role::User });
    Ok(Token {
        hash: r.text(0)?,
        user: r.text(1)?,
        role,
        created_at: r.int(3)?,
        expires_at: r.opt_int(5)?,
        revoked_at: r.opt_int(6)?,
    })
}

/// How often a lease looks again when another worker took its pick.
const LEASE_TRIES: usize = 16;

fn sql_states(states: &[ChangeState]) -> String {
    states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| CatalogError::Corrupt(what.to_string(), e.to_string()))
}

fn state(s: &str) -> Result<ChangeState> {
    from_json("change state", &format!("\"{s}\""))
}

fn consumer(r: &Row) -> Result<Consumer> {
    Ok(Consumer {
        id: r.text(0)?,
        repo: r.text(1)?,
        owner: r.opt(2)?,
    })
}

use Arg::{Int, Opt, Text};

impl<D: Dialect> Store for SqlStore<D> {
    fn import(&self, batch: &ImportBatch) -> Result<ImportSummary> {
        self.write(|s| {
            for d in &batch.datasets {
                s.exec(
                    "INSERT INTO datasets (id, record) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                    &[Text(&d.id), Text(&to_json(d))],
                )?;
            }
            for c in &batch.consumers {
                s.exec(
                    "INSERT INTO consumers (id, repo, owner) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET repo = excluded.repo,
                                                    owner = COALESCE(excluded.owner, consumers.owner)",
                    &[Text(&c.id), Text(&c.repo), Opt(c.owner.as_deref())],
                )?;
            }
            for c in &batch.discovered {
                // Lineage's consumers never replace one the catalog holds.
                s.exec(
                    "INSERT INTO consumers (id, repo, owner) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO NOTHING",
                    &[Text(&c.id), Text(&c.repo), Opt(c.owner.as_deref())],
                )?;
            }
            for d in &batch.disagreements {
                save_disagreement(s, d)?;
            }
            for id in &batch.declared {
                // The catalog's word on what a consumer reads replaces the
                // last import's; lineage only ever adds.
                s.exec(
                    "DELETE FROM reads WHERE consumer = ?1 AND via = 'catalog'",
                    &[Text(id)],
                )?;
                s.exec("DELETE FROM produces WHERE consumer = ?1", &[Text(id)])?;
            }
            for (dataset, consumer, via) in &batch.reads {
                s.exec(
                    "INSERT INTO reads (dataset, consumer, via) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    &[Text(dataset), Text(consumer), Text(via.as_str())],
                )?;
            }
            for (consumer, dataset) in &batch.produces {
                s.exec(
                    "INSERT INTO produces (consumer, dataset) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    &[Text(consumer), Text(dataset)],
                )?;
            }
            let member = |s: &mut dyn Session, team: &str, user: &str| {
                s.exec(
                    "INSERT INTO members (team, member) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    &[Text(team), Text(user)],
                )
            };
            for t in &batch.teams {
                s.exec(
                    "INSERT INTO teams (id, webhook) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET webhook = COALESCE(excluded.webhook, teams.webhook)",
                    &[Text(&t.id), Opt(t.webhook.as_deref())],
                )?;
                for m in &t.members {
                    member(s, &t.id, m)?;
                }
            }
            for (team, user) in &batch.memberships {
                s.exec(
                    "INSERT INTO teams (id) VALUES (?1) ON CONFLICT DO NOTHING",
                    &[Text(team)],
                )?;
                member(s, team, user)?;
            }
            Ok(ImportSummary {
                datasets: batch.datasets.len(),
                consumers: batch.consumers.len() + batch.discovered.len(),
                edges: batch.reads.len(),
                teams: batch.teams.len(),
            })
        })
    }

    fn dataset(&self, id: &str) -> Result<Option<Dataset>> {
        self.one(
            "SELECT record FROM datasets WHERE id = ?1",
            &[Text(id)],
            |r| from_json(&format!("dataset {id}"), &r.text(0)?),
        )
    }

    fn datasets(&self) -> Result<Vec<Dataset>> {
        self.all("SELECT id, record FROM datasets ORDER BY id", &[], |r| {
            from_json(&format!("dataset {}", r.text(0)?), &r.text(1)?)
        })
    }

    fn consumer(&self, id: &str) -> Result<Option<Consumer>> {
        self.one(
            "SELECT id, repo, owner FROM consumers WHERE id = ?1",
            &[Text(id)],
            consumer,
        )
    }

    fn consumers(&self) -> Result<Vec<Consumer>> {
        self.all(
            "SELECT id, repo, owner FROM consumers ORDER BY id",
            &[],
            consumer,
        )
    }

    fn consumers_of(&self, dataset: &str, transitive: bool) -> Result<Vec<ConsumerRef>> {
        self.d.read(|s| {
            let s = std::cell::RefCell::new(s);
            crate::walk_readers(
                dataset,
                transitive,
                |ds| {
                    s.borrow_mut()
                        .query(
                            "SELECT c.id, c.repo, c.owner, r.via FROM reads r
                             JOIN consumers c ON c.id = r.consumer
                             WHERE r.dataset = ?1 ORDER BY c.id, r.via",
                            &[Text(ds)],
                        )?
                        .iter()
                        .map(|r| {
                            let via = Via::parse(&r.text(3)?).unwrap_or(Via::Catalog);
                            Ok((r.text(0)?, r.text(1)?, r.opt(2)?, via))
                        })
                        .collect()
                },
                |id| {
                    s.borrow_mut()
                        .query(
                            "SELECT dataset FROM produces WHERE consumer = ?1 ORDER BY dataset",
                            &[Text(id)],
                        )?
                        .iter()
                        .map(|r| r.text(0))
                        .collect()
                },
            )
        })
    }

    fn add_edge(&self, dataset: &str, consumer: &str, via: Via) -> Result<()> {
        self.write(|s| {
            s.exec(
                "INSERT INTO reads (dataset, consumer, via) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                &[Text(dataset), Text(consumer), Text(via.as_str())],
            )
            .map(drop)
        })
    }

    fn remove_edge(&self, dataset: &str, consumer: &str, via: Via) -> Result<()> {
        self.write(|s| {
            s.exec(
                "DELETE FROM reads WHERE dataset = ?1 AND consumer = ?2 AND via = ?3",
                &[Text(dataset), Text(consumer), Text(via.as_str())],
            )
            .map(drop)
        })
    }

    fn reads_of(&self, consumer: &str) -> Result<Vec<(String, Via)>> {
        let rows = self.all(
            "SELECT dataset, via FROM reads WHERE consumer = ?1 ORDER BY dataset, via",
            &[Text(consumer)],
            |r| Ok((r.text(0)?, r.text(1)?)),
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(d, v)| Some((d, Via::parse(&v)?)))
            .collect())
    }

    fn team(&self, id: &str) -> Result<Option<Team>> {
        let Some(webhook) = self.one(
            "SELECT webhook FROM teams WHERE id = ?1",
            &[Text(id)],
            |r| r.opt(0),
        )?
        else {
            return Ok(None);
        };
        let members = self.all(
            "SELECT member FROM members WHERE team = ?1 ORDER BY member",
            &[Text(id)],
            |r| r.text(0),
        )?;
        Ok(Some(Team {
            id: id.to_string(),
            members,
            webhook,
        }))
    }

    fn is_member(&self, team: &str, user: &str) -> Result<bool> {
        Ok(self.count(
            "SELECT COUNT(*) FROM members WHERE team = ?1 AND member = ?2",
            &[Text(team), Text(user)],
        )? > 0)
    }

    fn teams(&self) -> Result<Vec<Team>> {
        let ids = self.all("SELECT id FROM teams ORDER BY id", &[], |r| r.text(0))?;
        let mut teams = Vec::with_capacity(ids.len());
        for id in ids {
            teams.extend(self.team(&id)?);
        }
        Ok(teams)
    }

    fn is_user(&self, user: &str) -> Result<bool> {
        Ok(self.count(
            "SELECT COUNT(*) FROM members WHERE member = ?1",
            &[Text(user)],
        )? > 0)
    }

    fn put_token(&self, t: &Token) -> Result<()> {
        self.write(|s| {
            s.exec(
                "INSERT INTO tokens (hash, member, admin, created_at, role, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &[
                    Text(&t.hash),
                    Text(&t.user),
                    Arg::Bool(t.admin()),
                    Int(t.created_at),
                    Text(t.role.as_str()),
                    Arg::OptInt(t.expires_at),
                    Arg::OptInt(t.revoked_at),
                ],
            )
            .map(drop)
        })
    }

    fn token(&self, hash: &str) -> Result<Option<Token>> {
        self.one(
            &format!("{TOKEN_COLUMNS} WHERE hash = ?1"),
            &[Text(hash)],
            token_of,
        )
    }

    fn tokens(&self) -> Result<Vec<Token>> {
        self.all(
            &format!("{TOKEN_COLUMNS} ORDER BY created_at, hash"),
            &[],
            token_of,
        )
    }

    fn revoke_token(&self, id: &str, at: i64) -> Result<Option<Token>> {
        // An id is the first twelve hex digits of a hash; anything else
        // (a pattern, a shorter prefix) names no token.
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let id = id.to_ascii_lowercase();
        self.write(|s| {
            s.exec(
                "UPDATE tokens SET revoked_at = ?2
                 WHERE substr(hash, 1, 12) = ?1 AND revoked_at IS NULL",
                &[Text(&id), Int(at)],
            )?;
            let rows = s.query(
                &format!("{TOKEN_COLUMNS} WHERE substr(hash, 1, 12) = ?1"),
                &[Text(&id)],
            )?;
            rows.first().map(token_of).transpose()
        })
    }

    fn put_disagreement(&self, d: &Disagreement) -> Result<()> {
        self.write(|s| save_disagreement(s, d))
    }

    fn disagreements(&self) -> Result<Vec<Disagreement>> {
        self.all(
            "SELECT consumer, source, detail, at FROM disagreements ORDER BY consumer, seq",
            &[],
            |r| {
                Ok(Disagreement {
                    consumer: r.text(0)?,
                    source: r.text(1)?,
                    detail: r.text(2)?,
                    at: r.int(3)?,
                })
            },
        )
    }

    fn revision(&self) -> Result<u64> {
        self.d.revision()
    }

    fn schema_version(&self) -> Result<u32> {
        self.d.write(|s| self.d.version(s))
    }

    fn home(&self) -> Option<std::path::PathBuf> {
        self.d.home()
    }

    fn put_migration(&self, m: &Migration) -> Result<()> {
        self.write(|s| {
            s.exec(
                "INSERT INTO migrations (id, record, started_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                &[Text(&m.id), Text(&to_json(m)), Int(m.started_at)],
            )
            .map(drop)
        })
    }

    fn update_migration(
        &self,
        id: &str,
        f: &mut dyn FnMut(&mut Migration),
    ) -> Result<Option<Migration>> {
        self.write(|s| {
            let sql = format!("SELECT record FROM migrations WHERE id = ?1{}", D::ROW_LOCK);
            let Some(row) = s.query(&sql, &[Text(id)])?.into_iter().next() else {
                return Ok(None);
            };
            let mut m: Migration = from_json(&format!("migration {id}"), &row.text(0)?)?;
            f(&mut m);
            s.exec(
                "UPDATE migrations SET record = ?2 WHERE id = ?1",
                &[Text(id), Text(&to_json(&m))],
            )?;
            Ok(Some(m))
        })
    }

    fn migration(&self, id: &str) -> Result<Option<Migration>> {
        self.one(
            "SELECT record FROM migrations WHERE id = ?1",
            &[Text(id)],
            |r| from_json(&format!("migration {id}"), &r.text(0)?),
        )
    }

    fn migrations(&self) -> Result<Vec<Migration>> {
        self.all(
            "SELECT id, record FROM migrations ORDER BY started_at DESC, id",
            &[],
            |r| from_json(&format!("migration {}", r.text(0)?), &r.text(1)?),
        )
    }

    fn put_change(&self, c: &Change, note: &str) -> Result<()> {
        match D::SAVE_IN_ONE {
            Some(sql) => self
                .d
                .write_one(
                    sql,
                    &[
                        Text(&c.migration),
                        Text(&c.consumer),
                        Text(c.state.as_str()),
                        Text(&to_json(c)),
                        Int(i64::from(c.wave)),
                        Int(c.updated_at),
                        Text(note),
                    ],
                )
                .map(drop),
            None => self.write(|s| save_change(s, c, note)),
        }
    }

    fn put_change_moving(&self, c: &Change, note: &str, edges: &[EdgeMove]) -> Result<()> {
        self.write(|s| {
            for e in edges {
                let sql = if e.add {
                    "INSERT INTO reads (dataset, consumer, via) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"
                } else {
                    "DELETE FROM reads WHERE dataset = ?1 AND consumer = ?2 AND via = ?3"
                };
                s.exec(sql, &[Text(&e.dataset), Text(&c.consumer), Text(e.via.as_str())])?;
            }
            save_change(s, c, note)
        })
    }

    fn change(&self, migration: &str, consumer: &str) -> Result<Option<Change>> {
        self.one(
            "SELECT record FROM changes WHERE migration = ?1 AND consumer = ?2",
            &[Text(migration), Text(consumer)],
            |r| from_json(&format!("change {migration}/{consumer}"), &r.text(0)?),
        )
    }

    fn changes(&self, migration: &str) -> Result<Vec<Change>> {
        self.all(
            "SELECT consumer, record FROM changes WHERE migration = ?1 ORDER BY consumer",
            &[Text(migration)],
            |r| from_json(&format!("change {migration}/{}", r.text(0)?), &r.text(1)?),
        )
    }

    fn events(&self, migration: &str, consumer: Option<&str>) -> Result<Vec<ChangeEvent>> {
        self.all(
            "SELECT consumer, at, from_state, to_state, note FROM change_events
             WHERE migration = ?1 AND (CAST(?2 AS TEXT) IS NULL OR consumer = ?2) ORDER BY seq",
            &[Text(migration), Opt(consumer)],
            |r| {
                Ok(ChangeEvent {
                    consumer: r.text(0)?,
                    at: r.int(1)?,
                    from: r.opt(2)?.as_deref().map(state).transpose()?,
                    to: state(&r.text(3)?)?,
                    note: r.text(4)?,
                })
            },
        )
    }

    fn lease(
        &self,
        migration: &str,
        max_wave: u32,
        states: &[ChangeState],
        worker: &str,
        ttl_s: i64,
    ) -> Result<Option<Lease>> {
        if states.is_empty() {
            return Ok(None);
        }
        let t = now();
        let taken = self.write(|s| {
            // The first free change of each state, each found in the index's
            // own order (no sort, no walk over the thousands already
            // settled), and the earliest of those; then that one row taken
            // under the dialect's lock. A worker that took it meanwhile makes
            // this look again.
            let mut row = None;
            let mut locked: Vec<String> = Vec::new();
            for _ in 0..LEASE_TRIES {
                // Rows another worker holds locked right now are passed over.
                let others: String = (0..locked.len())
                    .map(|i| format!(" AND consumer <> ?{}", i + 4))
                    .collect();
                let firsts = states
                    .iter()
                    .enumerate()
                    .map(|(i, state)| {
                        format!(
                            "SELECT wave, consumer FROM (SELECT wave, consumer FROM changes
                             WHERE migration = ?1 AND state = '{}' AND wave <= ?2
                               AND (lease_until IS NULL OR lease_until < ?3){others}
                             ORDER BY wave, consumer LIMIT 1) AS s{i}",
                            state.as_str()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" UNION ALL ");
                let mut args = vec![Text(migration), Int(i64::from(max_wave)), Int(t)];
                args.extend(locked.iter().map(|c| Text(c)));
                let found = s.query(&format!("{firsts} ORDER BY 1, 2 LIMIT 1"), &args)?;
                let Some(first) = found.into_iter().next() else {
                    return Ok(None);
                };
                let consumer = first.text(1)?;
                let taken = s.query(
                    &format!(
                        "SELECT consumer, record, lease_owner FROM changes
                         WHERE migration = ?1 AND consumer = ?2
                           AND (lease_until IS NULL OR lease_until < ?3){}",
                        D::LEASE_LOCK
                    ),
                    &[Text(migration), Text(&consumer), Int(t)],
                )?;
                if let Some(r) = taken.into_iter().next() {
                    row = Some(r);
                    break;
                }
                locked.push(consumer);
            }
            let Some(row) = row else {
                return Ok(None);
            };
            s.exec(
                "UPDATE changes SET lease_owner = ?3, lease_until = ?4
                 WHERE migration = ?1 AND consumer = ?2",
                &[
                    Text(migration),
                    Text(&row.text(0)?),
                    Text(worker),
                    Int(t + ttl_s),
                ],
            )?;
            Ok(Some(row))
        })?;
        taken
            .map(|r| {
                Ok(Lease {
                    change: from_json(&format!("change {migration}/{}", r.text(0)?), &r.text(1)?)?,
                    taken_over: r.opt(2)?,
                })
            })
            .transpose()
    }

    fn renew(&self, migration: &str, consumer: &str, worker: &str, ttl_s: i64) -> Result<bool> {
        let n = self.d.write_one(
            "UPDATE changes SET lease_until = ?4
             WHERE migration = ?1 AND consumer = ?2 AND lease_owner = ?3",
            &[
                Text(migration),
                Text(consumer),
                Text(worker),
                Int(now() + ttl_s),
            ],
        )?;
        Ok(n > 0)
    }

    fn release(&self, migration: &str, consumer: &str, worker: &str) -> Result<()> {
        self.d
            .write_one(
                "UPDATE changes SET lease_owner = NULL, lease_until = NULL
                 WHERE migration = ?1 AND consumer = ?2 AND lease_owner = ?3",
                &[Text(migration), Text(consumer), Text(worker)],
            )
            .map(drop)
    }

    fn lease_owners(&self, migration: &str) -> Result<Vec<String>> {
        self.all(
            "SELECT DISTINCT lease_owner FROM changes
             WHERE migration = ?1 AND lease_owner IS NOT NULL ORDER BY 1",
            &[Text(migration)],
            |r| r.text(0),
        )
    }

    fn release_all(&self, migration: &str, worker: &str) -> Result<()> {
        self.write(|s| {
            s.exec(
                "UPDATE changes SET lease_until = 0 WHERE migration = ?1 AND lease_owner = ?2",
                &[Text(migration), Text(worker)],
            )
            .map(drop)
        })
    }

    fn count_in(&self, migration: &str, states: &[ChangeState]) -> Result<u64> {
        if states.is_empty() {
            return Ok(0);
        }
        self.count(
            &format!(
                "SELECT COUNT(*) FROM changes WHERE migration = ?1 AND state IN ({})",
                sql_states(states)
            ),
            &[Text(migration)],
        )
    }

    fn count_entered(&self, migration: &str, state: ChangeState, since: i64) -> Result<u64> {
        self.count(
            "SELECT COUNT(*) FROM change_events WHERE migration = ?1 AND to_state = ?2 AND at >= ?3",
            &[Text(migration), Text(state.as_str()), Int(since)],
        )
    }
}
