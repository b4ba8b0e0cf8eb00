//! The embedded catalog: one SQLite file, schema upgraded by numbered steps.

use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};

use crate::*;

/// Schema steps; step N brings `user_version` from N to N+1. Never edit a
/// released step: add a new one.
const SCHEMA: &[&str] = &[
    // 1: catalog and campaign state.
    "CREATE TABLE datasets (id TEXT PRIMARY KEY, record TEXT NOT NULL);
     CREATE TABLE consumers (id TEXT PRIMARY KEY, repo TEXT NOT NULL, owner TEXT);
     CREATE TABLE reads (dataset TEXT NOT NULL, consumer TEXT NOT NULL, via TEXT NOT NULL,
                         PRIMARY KEY (dataset, consumer, via));
     CREATE INDEX reads_by_consumer ON reads (consumer);
     CREATE TABLE produces (consumer TEXT NOT NULL, dataset TEXT NOT NULL, PRIMARY KEY (consumer, dataset));
     CREATE TABLE teams (id TEXT PRIMARY KEY, webhook TEXT);
     CREATE TABLE members (team TEXT NOT NULL, user TEXT NOT NULL, PRIMARY KEY (team, user));
     CREATE TABLE migrations (id TEXT PRIMARY KEY, record TEXT NOT NULL, started_at INTEGER NOT NULL);
     CREATE TABLE changes (migration TEXT NOT NULL, consumer TEXT NOT NULL, state TEXT NOT NULL,
                           record TEXT NOT NULL, PRIMARY KEY (migration, consumer));
     CREATE TABLE change_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, migration TEXT NOT NULL,
                                 consumer TEXT NOT NULL, at INTEGER NOT NULL, from_state TEXT,
                                 to_state TEXT NOT NULL, note TEXT NOT NULL);
     CREATE INDEX events_by_change ON change_events (migration, consumer);",
    // 2: API tokens for the portal, stored as SHA-256 hashes only.
    "CREATE TABLE tokens (hash TEXT PRIMARY KEY, user TEXT NOT NULL, admin INTEGER NOT NULL,
                         created_at INTEGER NOT NULL);",
    // 3: leases, so several workers can share a campaign; the wave as a column to lease by.
    "ALTER TABLE changes ADD COLUMN wave INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE changes ADD COLUMN lease_owner TEXT;
     ALTER TABLE changes ADD COLUMN lease_until INTEGER;
     UPDATE changes SET wave = COALESCE(json_extract(record, '$.wave'), 0);
     CREATE INDEX changes_by_wave ON changes (migration, wave, state);",
];

/// A catalog in one SQLite file (or in memory for tests).
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: String,
}

impl SqliteStore {
    /// Opens or creates the file and brings its schema up to date.
    pub fn open(path: &str) -> Result<SqliteStore> {
        let db = |source| CatalogError::Db {
            path: path.to_string(),
            source,
        };
        let conn = if path == ":memory:" {
            Connection::open_in_memory()
        } else {
            Connection::open(path)
        }
        .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        if path != ":memory:" {
            // WAL lets the portal read while a campaign writes.
            let _: String = conn
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
                .map_err(db)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(db)?;
        }
        let store = SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_string(),
        };
        store.upgrade()?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn db(&self) -> impl Fn(rusqlite::Error) -> CatalogError + '_ {
        move |source| CatalogError::Db {
            path: self.path.clone(),
            source,
        }
    }

    fn upgrade(&self) -> Result<()> {
        let mut conn = self.lock();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.db())?;
        if version as usize > SCHEMA.len() {
            return Err(CatalogError::Url(
                self.path.clone(),
                format!(
                    "schema version {version} is newer than this tern understands ({})",
                    SCHEMA.len()
                ),
            ));
        }
        for (step, sql) in SCHEMA.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(self.db())?;
            tx.execute_batch(sql).map_err(self.db())?;
            tx.pragma_update(None, "user_version", step as i64 + 1)
                .map_err(self.db())?;
            tx.commit().map_err(self.db())?;
            tracing::debug!(step = step + 1, "catalog schema upgraded");
        }
        Ok(())
    }
}

/// `'planned', 'patched'`: states for an `IN (...)`. They are our own
/// fixed words, never user input, so quoting them inline is safe.
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

impl Store for SqliteStore {
    fn import(&self, batch: &ImportBatch) -> Result<ImportSummary> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(self.db())?;
        for d in &batch.datasets {
            tx.execute(
                "INSERT INTO datasets (id, record) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                params![d.id, to_json(d)],
            )
            .map_err(self.db())?;
        }
        for c in &batch.consumers {
            tx.execute(
                "INSERT INTO consumers (id, repo, owner) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET repo = excluded.repo,
                                                owner = COALESCE(excluded.owner, consumers.owner)",
                params![c.id, c.repo, c.owner],
            )
            .map_err(self.db())?;
        }
        for id in &batch.declared {
            // The catalog's word on what a consumer reads replaces the last
            // import's; lineage only ever adds.
            tx.execute(
                "DELETE FROM reads WHERE consumer = ?1 AND via = 'catalog'",
                params![id],
            )
            .map_err(self.db())?;
            tx.execute("DELETE FROM produces WHERE consumer = ?1", params![id])
                .map_err(self.db())?;
        }
        for (dataset, consumer, via) in &batch.reads {
            tx.execute(
                "INSERT OR IGNORE INTO reads (dataset, consumer, via) VALUES (?1, ?2, ?3)",
                params![dataset, consumer, via.as_str()],
            )
            .map_err(self.db())?;
        }
        for (consumer, dataset) in &batch.produces {
            tx.execute(
                "INSERT OR IGNORE INTO produces (consumer, dataset) VALUES (?1, ?2)",
                params![consumer, dataset],
            )
            .map_err(self.db())?;
        }
        for t in &batch.teams {
            tx.execute(
                "INSERT INTO teams (id, webhook) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET webhook = COALESCE(excluded.webhook, teams.webhook)",
                params![t.id, t.webhook],
            )
            .map_err(self.db())?;
            for m in &t.members {
                tx.execute(
                    "INSERT OR IGNORE INTO members (team, user) VALUES (?1, ?2)",
                    params![t.id, m],
                )
                .map_err(self.db())?;
            }
        }
        for (team, user) in &batch.memberships {
            tx.execute(
                "INSERT OR IGNORE INTO teams (id) VALUES (?1)",
                params![team],
            )
            .map_err(self.db())?;
            tx.execute(
                "INSERT OR IGNORE INTO members (team, user) VALUES (?1, ?2)",
                params![team, user],
            )
            .map_err(self.db())?;
        }
        tx.commit().map_err(self.db())?;
        Ok(ImportSummary {
            datasets: batch.datasets.len(),
            consumers: batch.consumers.len(),
            edges: batch.reads.len(),
            teams: batch.teams.len(),
        })
    }

    fn dataset(&self, id: &str) -> Result<Option<Dataset>> {
        let conn = self.lock();
        let rec: Option<String> = conn
            .query_row(
                "SELECT record FROM datasets WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db())?;
        rec.map(|r| from_json(&format!("dataset {id}"), &r))
            .transpose()
    }

    fn datasets(&self) -> Result<Vec<Dataset>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT id, record FROM datasets ORDER BY id")
            .map_err(self.db())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.db())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.db())?;
        rows.iter()
            .map(|(id, r)| from_json(&format!("dataset {id}"), r))
            .collect()
    }

    fn consumer(&self, id: &str) -> Result<Option<Consumer>> {
        let conn = self.lock();
        conn.query_row(
            "SELECT id, repo, owner FROM consumers WHERE id = ?1",
            params![id],
            |r| {
                Ok(Consumer {
                    id: r.get(0)?,
                    repo: r.get(1)?,
                    owner: r.get(2)?,
                })
            },
        )
        .optional()
        .map_err(self.db())
    }

    fn consumers(&self) -> Result<Vec<Consumer>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT id, repo, owner FROM consumers ORDER BY id")
            .map_err(self.db())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Consumer {
                    id: r.get(0)?,
                    repo: r.get(1)?,
                    owner: r.get(2)?,
                })
            })
            .map_err(self.db())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.db())?;
        Ok(rows)
    }

    fn consumers_of(&self, dataset: &str, transitive: bool) -> Result<Vec<ConsumerRef>> {
        let conn = self.lock();
        let mut readers = conn
            .prepare(
                "SELECT c.id, c.repo, c.owner, r.via FROM reads r JOIN consumers c ON c.id = r.consumer
                 WHERE r.dataset = ?1 ORDER BY c.id, r.via",
            )
            .map_err(self.db())?;
        let mut outputs = conn
            .prepare("SELECT dataset FROM produces WHERE consumer = ?1 ORDER BY dataset")
            .map_err(self.db())?;
        crate::walk_readers(
            dataset,
            transitive,
            |ds| {
                readers
                    .query_map(params![ds], |r| {
                        let via: String = r.get(3)?;
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            Via::parse(&via).unwrap_or(Via::Catalog),
                        ))
                    })
                    .map_err(self.db())?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(self.db())
            },
            |id| {
                outputs
                    .query_map(params![id], |r| r.get::<_, String>(0))
                    .map_err(self.db())?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(self.db())
            },
        )
    }

    fn add_edge(&self, dataset: &str, consumer: &str, via: Via) -> Result<()> {
        self.lock()
            .execute(
                "INSERT OR IGNORE INTO reads (dataset, consumer, via) VALUES (?1, ?2, ?3)",
                params![dataset, consumer, via.as_str()],
            )
            .map_err(self.db())?;
        Ok(())
    }

    fn remove_edge(&self, dataset: &str, consumer: &str, via: Via) -> Result<()> {
        self.lock()
            .execute(
                "DELETE FROM reads WHERE dataset = ?1 AND consumer = ?2 AND via = ?3",
                params![dataset, consumer, via.as_str()],
            )
            .map_err(self.db())?;
        Ok(())
    }

    fn reads_of(&self, consumer: &str) -> Result<Vec<(String, Via)>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT dataset, via FROM reads WHERE consumer = ?1 ORDER BY dataset, via")
            .map_err(self.db())?;
        let rows = stmt
            .query_map(params![consumer], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(self.db())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.db())?;
        Ok(rows
            .into_iter()
            .filter_map(|(d, v)| Some((d, Via::parse(&v)?)))
            .collect())
    }

    fn team(&self, id: &str) -> Result<Option<Team>> {
        let conn = self.lock();
        let webhook: Option<Option<String>> = conn
            .query_row(
                "SELECT webhook FROM teams WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db())?;
        let Some(webhook) = webhook else {
            return Ok(None);
        };
        let mut stmt = conn
            .prepare("SELECT user FROM members WHERE team = ?1 ORDER BY user")
            .map_err(self.db())?;
        let members = stmt
            .query_map(params![id], |r| r.get(0))
            .map_err(self.db())?
            .collect::<Result<Vec<String>, _>>()
            .map_err(self.db())?;
        Ok(Some(Team {
            id: id.to_string(),
            members,
            webhook,
        }))
    }

    fn is_member(&self, team: &str, user: &str) -> Result<bool> {
        let n: i64 = self
            .lock()
            .query_row(
                "SELECT COUNT(*) FROM members WHERE team = ?1 AND user = ?2",
                params![team, user],
                |r| r.get(0),
            )
            .map_err(self.db())?;
        Ok(n > 0)
    }

    fn put_migration(&self, m: &Migration) -> Result<()> {
        self.lock()
            .execute(
                "INSERT INTO migrations (id, record, started_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                params![m.id, to_json(m), m.started_at],
            )
            .map_err(self.db())?;
        Ok(())
    }

    fn migration(&self, id: &str) -> Result<Option<Migration>> {
        let rec: Option<String> = self
            .lock()
            .query_row(
                "SELECT record FROM migrations WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db())?;
        rec.map(|r| from_json(&format!("migration {id}"), &r))
            .transpose()
    }

    fn migrations(&self) -> Result<Vec<Migration>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT id, record FROM migrations ORDER BY started_at DESC, id")
            .map_err(self.db())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.db())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.db())?;
        rows.iter()
            .map(|(id, r)| from_json(&format!("migration {id}"), r))
            .collect()
    }

    fn put_change(&self, c: &Change, note: &str) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(self.db())?;
        let before: Option<String> = tx
            .query_row(
                "SELECT state FROM changes WHERE migration = ?1 AND consumer = ?2",
                params![c.migration, c.consumer],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db())?;
        tx.execute(
            "INSERT INTO changes (migration, consumer, state, record, wave) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (migration, consumer) DO UPDATE SET state = excluded.state,
                 record = excluded.record, wave = excluded.wave",
            params![c.migration, c.consumer, c.state.as_str(), to_json(c), c.wave],
        )
        .map_err(self.db())?;
        if before.as_deref() != Some(c.state.as_str()) {
            tx.execute(
                "INSERT INTO change_events (migration, consumer, at, from_state, to_state, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    c.migration,
                    c.consumer,
                    c.updated_at,
                    before,
                    c.state.as_str(),
                    note
                ],
            )
            .map_err(self.db())?;
        }
        tx.commit().map_err(self.db())
    }

    fn change(&self, migration: &str, consumer: &str) -> Result<Option<Change>> {
        let rec: Option<String> = self
            .lock()
            .query_row(
                "SELECT record FROM changes WHERE migration = ?1 AND consumer = ?2",
                params![migration, consumer],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db())?;
        rec.map(|r| from_json(&format!("change {migration}/{consumer}"), &r))
            .transpose()
    }

    fn changes(&self, migration: &str) -> Result<Vec<Change>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT consumer, record FROM changes WHERE migration = ?1 ORDER BY consumer")
            .map_err(self.db())?;
        let rows = stmt
            .query_map(params![migration], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(self.db())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.db())?;
        rows.iter()
            .map(|(c, r)| from_json(&format!("change {migration}/{c}"), r))
            .collect()
    }

    fn events(&self, migration: &str, consumer: Option<&str>) -> Result<Vec<ChangeEvent>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT consumer, at, from_state, to_state, note FROM change_events
                 WHERE migration = ?1 AND (?2 IS NULL OR consumer = ?2) ORDER BY seq",
            )
            .map_err(self.db())?;
        let rows = stmt
            .query_map(params![migration, consumer], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(self.db())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.db())?;
        let state =
            |s: &str| -> Result<ChangeState> { from_json("change event", &format!("\"{s}\"")) };
        rows.into_iter()
            .map(|(consumer, at, from, to, note)| {
                Ok(ChangeEvent {
                    consumer,
                    at,
                    from: from.as_deref().map(state).transpose()?,
                    to: state(&to)?,
                    note,
                })
            })
            .collect()
    }

    fn teams(&self) -> Result<Vec<Team>> {
        let ids: Vec<String> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare("SELECT id FROM teams ORDER BY id")
                .map_err(self.db())?;
            let rows = stmt
                .query_map([], |r| r.get(0))
                .map_err(self.db())?
                .collect::<Result<Vec<String>, _>>()
                .map_err(self.db())?;
            rows
        };
        let mut teams = Vec::with_capacity(ids.len());
        for id in ids {
            teams.extend(self.team(&id)?);
        }
        Ok(teams)
    }

    fn is_user(&self, user: &str) -> Result<bool> {
        let n: i64 = self
            .lock()
            .query_row(
                "SELECT COUNT(*) FROM members WHERE user = ?1",
                params![user],
                |r| r.get(0),
            )
            .map_err(self.db())?;
        Ok(n > 0)
    }

    fn put_token(&self, t: &Token) -> Result<()> {
        self.lock()
            .execute(
                "INSERT INTO tokens (hash, user, admin, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![t.hash, t.user, t.admin, t.created_at],
            )
            .map_err(self.db())?;
        Ok(())
    }

    fn token(&self, hash: &str) -> Result<Option<Token>> {
        self.lock()
            .query_row(
                "SELECT hash, user, admin, created_at FROM tokens WHERE hash = ?1",
                params![hash],
                |r| {
                    Ok(Token {
                        hash: r.get(0)?,
                        user: r.get(1)?,
                        admin: r.get(2)?,
                        created_at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(self.db())
    }

    fn revision(&self) -> Result<u64> {
        let conn = self.lock();
        // data_version moves when another connection commits; total_changes
        // when this one writes. Together they move on every write anywhere.
        let others: i64 = conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(self.db())?;
        Ok((others as u64) << 40 ^ conn.total_changes())
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
        let list = sql_states(states);
        // An immediate transaction holds the file's write lock from the
        // start: atomic against every other connection and process.
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(self.db())?;
        let row: Option<(i64, String, String, Option<String>)> = tx
            .query_row(
                &format!(
                    "SELECT rowid, consumer, record, lease_owner FROM changes
                     WHERE migration = ?1 AND wave <= ?2 AND state IN ({list})
                       AND (lease_until IS NULL OR lease_until < ?3)
                     ORDER BY wave, consumer LIMIT 1"
                ),
                params![migration, max_wave, t],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(self.db())?;
        let Some((rowid, consumer, record, previous)) = row else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE changes SET lease_owner = ?2, lease_until = ?3 WHERE rowid = ?1",
            params![rowid, worker, t + ttl_s],
        )
        .map_err(self.db())?;
        tx.commit().map_err(self.db())?;
        Ok(Some(Lease {
            change: from_json(&format!("change {migration}/{consumer}"), &record)?,
            taken_over: previous,
        }))
    }

    fn renew(&self, migration: &str, consumer: &str, worker: &str, ttl_s: i64) -> Result<bool> {
        let n = self
            .lock()
            .execute(
                "UPDATE changes SET lease_until = ?4
                 WHERE migration = ?1 AND consumer = ?2 AND lease_owner = ?3",
                params![migration, consumer, worker, now() + ttl_s],
            )
            .map_err(self.db())?;
        Ok(n > 0)
    }

    fn release(&self, migration: &str, consumer: &str, worker: &str) -> Result<()> {
        self.lock()
            .execute(
                "UPDATE changes SET lease_owner = NULL, lease_until = NULL
                 WHERE migration = ?1 AND consumer = ?2 AND lease_owner = ?3",
                params![migration, consumer, worker],
            )
            .map_err(self.db())?;
        Ok(())
    }

    fn lease_owners(&self, migration: &str) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT DISTINCT lease_owner FROM changes
                 WHERE migration = ?1 AND lease_owner IS NOT NULL ORDER BY 1",
            )
            .map_err(self.db())?;
        let rows = stmt
            .query_map(params![migration], |r| r.get(0))
            .map_err(self.db())?
            .collect::<Result<Vec<String>, _>>()
            .map_err(self.db())?;
        Ok(rows)
    }

    fn release_all(&self, migration: &str, worker: &str) -> Result<()> {
        self.lock()
            .execute(
                "UPDATE changes SET lease_until = 0 WHERE migration = ?1 AND lease_owner = ?2",
                params![migration, worker],
            )
            .map_err(self.db())?;
        Ok(())
    }

    fn count_in(&self, migration: &str, states: &[ChangeState]) -> Result<u64> {
        let list = sql_states(states);
        if list.is_empty() {
            return Ok(0);
        }
        let n: i64 = self
            .lock()
            .query_row(
                &format!("SELECT COUNT(*) FROM changes WHERE migration = ?1 AND state IN ({list})"),
                params![migration],
                |r| r.get(0),
            )
            .map_err(self.db())?;
        Ok(n as u64)
    }

    fn count_entered(&self, migration: &str, state: ChangeState, since: i64) -> Result<u64> {
        let n: i64 = self
            .lock()
            .query_row(
                "SELECT COUNT(*) FROM change_events WHERE migration = ?1 AND to_state = ?2 AND at >= ?3",
                params![migration, state.as_str(), since],
                |r| r.get(0),
            )
            .map_err(self.db())?;
        Ok(n as u64)
    }
}
