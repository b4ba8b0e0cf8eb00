//! The shared catalog: PostgreSQL, for several workers on several machines.
//!
//! Same tables and the same semantics as the SQLite store; the differences
//! are where a server does better: leases use `FOR UPDATE SKIP LOCKED`, so
//! workers never wait on each other's rows; the revision is a sequence that
//! every write advances, so readers see writes from anywhere; schema steps
//! run under an advisory lock, so workers starting together upgrade once.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ::postgres::{Client, NoTls, Row, Transaction};

use crate::*;

/// Schema steps; step N brings `tern_schema.version` from N to N+1. Never
/// edit a released step: add a new one.
const SCHEMA: &[&str] = &[
    // 1: catalog, campaign state, tokens, leases.
    "CREATE TABLE datasets (id TEXT PRIMARY KEY, record TEXT NOT NULL);
     CREATE TABLE consumers (id TEXT PRIMARY KEY, repo TEXT NOT NULL, owner TEXT);
     CREATE TABLE reads (dataset TEXT NOT NULL, consumer TEXT NOT NULL, via TEXT NOT NULL,
                         PRIMARY KEY (dataset, consumer, via));
     CREATE INDEX reads_by_consumer ON reads (consumer);
     CREATE TABLE produces (consumer TEXT NOT NULL, dataset TEXT NOT NULL, PRIMARY KEY (consumer, dataset));
     CREATE TABLE teams (id TEXT PRIMARY KEY, webhook TEXT);
     CREATE TABLE members (team TEXT NOT NULL, member TEXT NOT NULL, PRIMARY KEY (team, member));
     CREATE TABLE migrations (id TEXT PRIMARY KEY, record TEXT NOT NULL, started_at BIGINT NOT NULL);
     CREATE TABLE changes (migration TEXT NOT NULL, consumer TEXT NOT NULL, state TEXT NOT NULL,
                           record TEXT NOT NULL, wave INT NOT NULL DEFAULT 0,
                           lease_owner TEXT, lease_until BIGINT,
                           PRIMARY KEY (migration, consumer));
     CREATE INDEX changes_by_wave ON changes (migration, wave, state);
     CREATE TABLE change_events (seq BIGSERIAL PRIMARY KEY, migration TEXT NOT NULL,
                                 consumer TEXT NOT NULL, at BIGINT NOT NULL, from_state TEXT,
                                 to_state TEXT NOT NULL, note TEXT NOT NULL);
     CREATE INDEX events_by_change ON change_events (migration, consumer);
     CREATE TABLE tokens (hash TEXT PRIMARY KEY, member TEXT NOT NULL, admin BOOLEAN NOT NULL,
                          created_at BIGINT NOT NULL);
     CREATE SEQUENCE tern_revision;",
];

/// A catalog on a PostgreSQL server.
pub struct PgStore {
    client: Mutex<Client>,
    /// The URL without its password, for messages.
    url: String,
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl PgStore {
    /// Connects (10 s timeout unless the URL says otherwise) and brings the
    /// schema up to date.
    pub fn open(url: &str) -> Result<PgStore> {
        let shown = redact(url);
        let mut config: ::postgres::Config = url.parse().map_err(|e: ::postgres::Error| {
            CatalogError::Url(shown.clone(), format!("not a PostgreSQL URL: {e}"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("tern");
        let client = config.connect(NoTls).map_err(|e| CatalogError::Pg {
            url: shown.clone(),
            message: words(&e),
        })?;
        let store = PgStore {
            client: Mutex::new(client),
            url: shown,
        };
        store.upgrade()?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn db(&self) -> impl Fn(::postgres::Error) -> CatalogError + '_ {
        move |e| CatalogError::Pg {
            url: self.url.clone(),
            message: words(&e),
        }
    }

    fn upgrade(&self) -> Result<()> {
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(self.db())?;
        // Workers that start together upgrade once: the rest wait here.
        tx.execute("SELECT pg_advisory_xact_lock(7375726)", &[])
            .map_err(self.db())?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS tern_schema (version INT NOT NULL)")
            .map_err(self.db())?;
        let version: i32 = match tx
            .query_opt("SELECT version FROM tern_schema", &[])
            .map_err(self.db())?
        {
            Some(r) => r.get(0),
            None => {
                tx.execute("INSERT INTO tern_schema VALUES (0)", &[])
                    .map_err(self.db())?;
                0
            }
        };
        if version as usize > SCHEMA.len() {
            return Err(CatalogError::Url(
                self.url.clone(),
                format!(
                    "schema version {version} is newer than this tern understands ({})",
                    SCHEMA.len()
                ),
            ));
        }
        for (step, sql) in SCHEMA.iter().enumerate().skip(version as usize) {
            tx.batch_execute(sql).map_err(self.db())?;
            tx.execute("UPDATE tern_schema SET version = $1", &[&(step as i32 + 1)])
                .map_err(self.db())?;
            tracing::debug!(step = step + 1, "catalog schema upgraded");
        }
        tx.commit().map_err(self.db())
    }

    /// Runs `f` in a transaction that also advances the revision.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Transaction) -> Result<T, ::postgres::Error>,
    ) -> Result<T> {
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(self.db())?;
        let out = f(&mut tx).map_err(self.db())?;
        tx.execute("SELECT nextval('tern_revision')", &[])
            .map_err(self.db())?;
        tx.commit().map_err(self.db())?;
        Ok(out)
    }

    fn records<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        rows: Vec<Row>,
    ) -> Result<Vec<T>> {
        rows.iter()
            .map(|r| {
                from_json(
                    &format!("{what} {}", r.get::<_, String>(0)),
                    &r.get::<_, String>(1),
                )
            })
            .collect()
    }
}

/// The server's own words when it gave any.
fn words(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                src = inner.source();
            }
            s
        }
    }
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

impl Store for PgStore {
    fn import(&self, batch: &ImportBatch) -> Result<ImportSummary> {
        self.write(|tx| {
            for d in &batch.datasets {
                tx.execute(
                    "INSERT INTO datasets (id, record) VALUES ($1, $2)
                     ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                    &[&d.id, &to_json(d)],
                )?;
            }
            for c in &batch.consumers {
                tx.execute(
                    "INSERT INTO consumers (id, repo, owner) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO UPDATE SET repo = excluded.repo,
                                                    owner = COALESCE(excluded.owner, consumers.owner)",
                    &[&c.id, &c.repo, &c.owner],
                )?;
            }
            for id in &batch.declared {
                tx.execute("DELETE FROM reads WHERE consumer = $1 AND via = 'catalog'", &[id])?;
                tx.execute("DELETE FROM produces WHERE consumer = $1", &[id])?;
            }
            for (dataset, consumer, via) in &batch.reads {
                tx.execute(
                    "INSERT INTO reads (dataset, consumer, via) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[dataset, consumer, &via.as_str()],
                )?;
            }
            for (consumer, dataset) in &batch.produces {
                tx.execute(
                    "INSERT INTO produces (consumer, dataset) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[consumer, dataset],
                )?;
            }
            for t in &batch.teams {
                tx.execute(
                    "INSERT INTO teams (id, webhook) VALUES ($1, $2)
                     ON CONFLICT (id) DO UPDATE SET webhook = COALESCE(excluded.webhook, teams.webhook)",
                    &[&t.id, &t.webhook],
                )?;
                for m in &t.members {
                    tx.execute(
                        "INSERT INTO members (team, member) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[&t.id, m],
                    )?;
                }
            }
            for (team, user) in &batch.memberships {
                tx.execute("INSERT INTO teams (id) VALUES ($1) ON CONFLICT DO NOTHING", &[team])?;
                tx.execute(
                    "INSERT INTO members (team, member) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[team, user],
                )?;
            }
            Ok(ImportSummary {
                datasets: batch.datasets.len(),
                consumers: batch.consumers.len(),
                edges: batch.reads.len(),
                teams: batch.teams.len(),
            })
        })
    }

    fn dataset(&self, id: &str) -> Result<Option<Dataset>> {
        let row = self
            .lock()
            .query_opt("SELECT record FROM datasets WHERE id = $1", &[&id])
            .map_err(self.db())?;
        row.map(|r| from_json(&format!("dataset {id}"), &r.get::<_, String>(0)))
            .transpose()
    }

    fn datasets(&self) -> Result<Vec<Dataset>> {
        let rows = self
            .lock()
            .query("SELECT id, record FROM datasets ORDER BY id", &[])
            .map_err(self.db())?;
        self.records("dataset", rows)
    }

    fn consumer(&self, id: &str) -> Result<Option<Consumer>> {
        let row = self
            .lock()
            .query_opt(
                "SELECT id, repo, owner FROM consumers WHERE id = $1",
                &[&id],
            )
            .map_err(self.db())?;
        Ok(row.map(|r| Consumer {
            id: r.get(0),
            repo: r.get(1),
            owner: r.get(2),
        }))
    }

    fn consumers(&self) -> Result<Vec<Consumer>> {
        let rows = self
            .lock()
            .query("SELECT id, repo, owner FROM consumers ORDER BY id", &[])
            .map_err(self.db())?;
        Ok(rows
            .iter()
            .map(|r| Consumer {
                id: r.get(0),
                repo: r.get(1),
                owner: r.get(2),
            })
            .collect())
    }

    fn consumers_of(&self, dataset: &str, transitive: bool) -> Result<Vec<ConsumerRef>> {
        let mut client = self.lock();
        let readers = client
            .prepare(
                "SELECT c.id, c.repo, c.owner, r.via FROM reads r JOIN consumers c ON c.id = r.consumer
                 WHERE r.dataset = $1 ORDER BY c.id, r.via",
            )
            .map_err(self.db())?;
        let outputs = client
            .prepare("SELECT dataset FROM produces WHERE consumer = $1 ORDER BY dataset")
            .map_err(self.db())?;
        let client = std::cell::RefCell::new(&mut *client);
        crate::walk_readers(
            dataset,
            transitive,
            |ds| {
                let rows = client
                    .borrow_mut()
                    .query(&readers, &[&ds])
                    .map_err(self.db())?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        let via: String = r.get(3);
                        (
                            r.get(0),
                            r.get(1),
                            r.get(2),
                            Via::parse(&via).unwrap_or(Via::Catalog),
                        )
                    })
                    .collect())
            },
            |id| {
                let rows = client
                    .borrow_mut()
                    .query(&outputs, &[&id])
                    .map_err(self.db())?;
                Ok(rows.iter().map(|r| r.get(0)).collect())
            },
        )
    }

    fn add_edge(&self, dataset: &str, consumer: &str, via: Via) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO reads (dataset, consumer, via) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&dataset, &consumer, &via.as_str()],
            )
            .map(|_| ())
        })
    }

    fn remove_edge(&self, dataset: &str, consumer: &str, via: Via) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM reads WHERE dataset = $1 AND consumer = $2 AND via = $3",
                &[&dataset, &consumer, &via.as_str()],
            )
            .map(|_| ())
        })
    }

    fn reads_of(&self, consumer: &str) -> Result<Vec<(String, Via)>> {
        let rows = self
            .lock()
            .query(
                "SELECT dataset, via FROM reads WHERE consumer = $1 ORDER BY dataset, via",
                &[&consumer],
            )
            .map_err(self.db())?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.get::<_, String>(0), Via::parse(r.get(1))?)))
            .collect())
    }

    fn team(&self, id: &str) -> Result<Option<Team>> {
        let mut client = self.lock();
        let Some(row) = client
            .query_opt("SELECT webhook FROM teams WHERE id = $1", &[&id])
            .map_err(self.db())?
        else {
            return Ok(None);
        };
        let members = client
            .query(
                "SELECT member FROM members WHERE team = $1 ORDER BY member",
                &[&id],
            )
            .map_err(self.db())?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(Some(Team {
            id: id.to_string(),
            members,
            webhook: row.get(0),
        }))
    }

    fn is_member(&self, team: &str, user: &str) -> Result<bool> {
        let row = self
            .lock()
            .query_one(
                "SELECT COUNT(*) FROM members WHERE team = $1 AND member = $2",
                &[&team, &user],
            )
            .map_err(self.db())?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    fn teams(&self) -> Result<Vec<Team>> {
        let ids: Vec<String> = self
            .lock()
            .query("SELECT id FROM teams ORDER BY id", &[])
            .map_err(self.db())?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut teams = Vec::with_capacity(ids.len());
        for id in ids {
            teams.extend(self.team(&id)?);
        }
        Ok(teams)
    }

    fn is_user(&self, user: &str) -> Result<bool> {
        let row = self
            .lock()
            .query_one("SELECT COUNT(*) FROM members WHERE member = $1", &[&user])
            .map_err(self.db())?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    fn put_token(&self, t: &Token) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO tokens (hash, member, admin, created_at) VALUES ($1, $2, $3, $4)",
                &[&t.hash, &t.user, &t.admin, &t.created_at],
            )
            .map(|_| ())
        })
    }

    fn token(&self, hash: &str) -> Result<Option<Token>> {
        let row = self
            .lock()
            .query_opt(
                "SELECT hash, member, admin, created_at FROM tokens WHERE hash = $1",
                &[&hash],
            )
            .map_err(self.db())?;
        Ok(row.map(|r| Token {
            hash: r.get(0),
            user: r.get(1),
            admin: r.get(2),
            created_at: r.get(3),
        }))
    }

    fn revision(&self) -> Result<u64> {
        let row = self
            .lock()
            .query_one("SELECT last_value, is_called FROM tern_revision", &[])
            .map_err(self.db())?;
        let (v, called): (i64, bool) = (row.get(0), row.get(1));
        Ok(if called { v as u64 } else { 0 })
    }

    fn put_migration(&self, m: &Migration) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO migrations (id, record, started_at) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                &[&m.id, &to_json(m), &m.started_at],
            )
            .map(|_| ())
        })
    }

    fn migration(&self, id: &str) -> Result<Option<Migration>> {
        let row = self
            .lock()
            .query_opt("SELECT record FROM migrations WHERE id = $1", &[&id])
            .map_err(self.db())?;
        row.map(|r| from_json(&format!("migration {id}"), &r.get::<_, String>(0)))
            .transpose()
    }

    fn migrations(&self) -> Result<Vec<Migration>> {
        let rows = self
            .lock()
            .query(
                "SELECT id, record FROM migrations ORDER BY started_at DESC, id",
                &[],
            )
            .map_err(self.db())?;
        self.records("migration", rows)
    }

    fn put_change(&self, c: &Change, note: &str) -> Result<()> {
        self.write(|tx| {
            let before: Option<String> = tx
                .query_opt(
                    "SELECT state FROM changes WHERE migration = $1 AND consumer = $2 FOR UPDATE",
                    &[&c.migration, &c.consumer],
                )?
                .map(|r| r.get(0));
            tx.execute(
                "INSERT INTO changes (migration, consumer, state, record, wave) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (migration, consumer) DO UPDATE SET state = excluded.state,
                     record = excluded.record, wave = excluded.wave",
                &[&c.migration, &c.consumer, &c.state.as_str(), &to_json(c), &(c.wave as i32)],
            )?;
            if before.as_deref() != Some(c.state.as_str()) {
                tx.execute(
                    "INSERT INTO change_events (migration, consumer, at, from_state, to_state, note)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&c.migration, &c.consumer, &c.updated_at, &before, &c.state.as_str(), &note],
                )?;
            }
            Ok(())
        })
    }

    fn change(&self, migration: &str, consumer: &str) -> Result<Option<Change>> {
        let row = self
            .lock()
            .query_opt(
                "SELECT record FROM changes WHERE migration = $1 AND consumer = $2",
                &[&migration, &consumer],
            )
            .map_err(self.db())?;
        row.map(|r| {
            from_json(
                &format!("change {migration}/{consumer}"),
                &r.get::<_, String>(0),
            )
        })
        .transpose()
    }

    fn changes(&self, migration: &str) -> Result<Vec<Change>> {
        let rows = self
            .lock()
            .query(
                "SELECT consumer, record FROM changes WHERE migration = $1 ORDER BY consumer",
                &[&migration],
            )
            .map_err(self.db())?;
        self.records(&format!("change {migration}/"), rows)
    }

    fn events(&self, migration: &str, consumer: Option<&str>) -> Result<Vec<ChangeEvent>> {
        let rows = self
            .lock()
            .query(
                "SELECT consumer, at, from_state, to_state, note FROM change_events
                 WHERE migration = $1 AND ($2::TEXT IS NULL OR consumer = $2) ORDER BY seq",
                &[&migration, &consumer],
            )
            .map_err(self.db())?;
        rows.iter()
            .map(|r| {
                let from: Option<String> = r.get(2);
                Ok(ChangeEvent {
                    consumer: r.get(0),
                    at: r.get(1),
                    from: from.as_deref().map(state).transpose()?,
                    to: state(r.get(3))?,
                    note: r.get(4),
                })
            })
            .collect()
    }

    fn lease(
        &self,
        migration: &str,
        max_wave: u32,
        states: &[ChangeState],
        worker: &str,
        ttl_s: i64,
    ) -> Result<Option<Lease>> {
        let t = now();
        let states: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let row = self.write(|tx| {
            tx.query_opt(
                "UPDATE changes c SET lease_owner = $3, lease_until = $4
                 FROM (SELECT migration, consumer, lease_owner AS previous FROM changes
                       WHERE migration = $1 AND wave <= $2 AND state = ANY($5)
                         AND (lease_until IS NULL OR lease_until < $6)
                       ORDER BY wave, consumer LIMIT 1
                       FOR UPDATE SKIP LOCKED) p
                 WHERE c.migration = p.migration AND c.consumer = p.consumer
                 RETURNING c.consumer, c.record, p.previous",
                &[
                    &migration,
                    &(max_wave as i32),
                    &worker,
                    &(t + ttl_s),
                    &states,
                    &t,
                ],
            )
        })?;
        row.map(|r| {
            Ok(Lease {
                change: from_json(
                    &format!("change {migration}/{}", r.get::<_, String>(0)),
                    &r.get::<_, String>(1),
                )?,
                taken_over: r.get(2),
            })
        })
        .transpose()
    }

    fn renew(&self, migration: &str, consumer: &str, worker: &str, ttl_s: i64) -> Result<bool> {
        let n = self
            .lock()
            .execute(
                "UPDATE changes SET lease_until = $4
                 WHERE migration = $1 AND consumer = $2 AND lease_owner = $3",
                &[&migration, &consumer, &worker, &(now() + ttl_s)],
            )
            .map_err(self.db())?;
        Ok(n > 0)
    }

    fn release(&self, migration: &str, consumer: &str, worker: &str) -> Result<()> {
        self.lock()
            .execute(
                "UPDATE changes SET lease_owner = NULL, lease_until = NULL
                 WHERE migration = $1 AND consumer = $2 AND lease_owner = $3",
                &[&migration, &consumer, &worker],
            )
            .map_err(self.db())?;
        Ok(())
    }

    fn lease_owners(&self, migration: &str) -> Result<Vec<String>> {
        let rows = self
            .lock()
            .query(
                "SELECT DISTINCT lease_owner FROM changes
                 WHERE migration = $1 AND lease_owner IS NOT NULL ORDER BY 1",
                &[&migration],
            )
            .map_err(self.db())?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn release_all(&self, migration: &str, worker: &str) -> Result<()> {
        self.lock()
            .execute(
                "UPDATE changes SET lease_until = 0 WHERE migration = $1 AND lease_owner = $2",
                &[&migration, &worker],
            )
            .map_err(self.db())?;
        Ok(())
    }

    fn count_in(&self, migration: &str, states: &[ChangeState]) -> Result<u64> {
        let states: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let row = self
            .lock()
            .query_one(
                "SELECT COUNT(*) FROM changes WHERE migration = $1 AND state = ANY($2)",
                &[&migration, &states],
            )
            .map_err(self.db())?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn count_entered(&self, migration: &str, state: ChangeState, since: i64) -> Result<u64> {
        let row = self
            .lock()
            .query_one(
                "SELECT COUNT(*) FROM change_events WHERE migration = $1 AND to_state = $2 AND at >= $3",
                &[&migration, &state.as_str(), &since],
            )
            .map_err(self.db())?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact("postgres://tern:s3cret@db:5432/tern"),
            "postgres://tern:***@db:5432/tern"
        );
        assert_eq!(super::redact("postgres://db/tern"), "postgres://db/tern");
    }
}
