//! The shared catalog: PostgreSQL, for several workers on several machines.
//!
//! The statements are [`crate::store`]'s; what is here is where a server
//! does better: leases add `FOR UPDATE SKIP LOCKED`, so workers never wait
//! on each other's rows; the revision is a sequence that every write
//! advances, so readers see writes from anywhere without a shared row to
//! contend on; schema steps run under an advisory lock, so workers starting
//! together upgrade once. A process holds a few connections (its threads
//! wait on the server, not on each other), and each prepares a statement
//! once: a statement sent as text costs two round trips every time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, GenericClient, NoTls, Statement};

use crate::store::{first_int, Arg, Cell, Dialect, Row, Session, SqlStore};
use crate::*;

/// A catalog on a PostgreSQL server.
pub type PgStore = SqlStore<Postgres>;

/// PostgreSQL's dialect: a few connections, each behind a mutex, opened
/// when first needed.
pub struct Postgres {
    config: ::postgres::Config,
    conns: Vec<Mutex<Option<Conn>>>,
    next: AtomicUsize,
    /// The URL without its password, for messages.
    url: String,
}

/// Connections a process holds at most: its worker threads and their
/// heartbeats, or the portal's busiest moments.
const CONNECTIONS: usize = 4;
/// Prepared statements kept per connection; past it the cache starts over.
const STATEMENTS: usize = 256;

/// One connection and the statements prepared on it.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
    /// A write began and never ended (its thread panicked): the connection
    /// is in an unknown state and is opened afresh.
    tainted: bool,
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`: a
/// catalog URL as it may be printed or logged.
pub fn redact(url: &str) -> String {
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
        let conns: Vec<_> = (0..CONNECTIONS).map(|_| Mutex::new(None)).collect();
        *conns[0].lock().unwrap_or_else(|e| e.into_inner()) = Some(Conn {
            client,
            statements: HashMap::new(),
            tainted: false,
        });
        SqlStore::new(Postgres {
            config,
            conns,
            next: AtomicUsize::new(0),
            url: shown,
        })
    }
}

impl Postgres {
    /// A connection no one is using (opened now if need be), else the
    /// next one in turn, waited for. A connection the server closed is
    /// opened again.
    fn lock(&self) -> Result<MutexGuard<'_, Option<Conn>>> {
        let free = self.conns.iter().find_map(|m| match m.try_lock() {
            Ok(g) => Some(g),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        });
        let mut g = match free {
            Some(g) => g,
            None => {
                let i = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
                self.conns[i].lock().unwrap_or_else(|e| e.into_inner())
            }
        };
        if g.as_ref()
            .is_some_and(|c| c.tainted || c.client.is_closed())
        {
            *g = None;
        }
        if g.is_none() {
            let client = self.config.connect(NoTls).map_err(self.db())?;
            *g = Some(Conn {
                client,
                statements: HashMap::new(),
                tainted: false,
            });
        }
        Ok(g)
    }

    /// `f` on a connection of [`Postgres::lock`]'s.
    fn with_conn<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut g = self.lock()?;
        let conn = g.as_mut().ok_or_else(|| CatalogError::Pg {
            url: self.url.clone(),
            message: "no connection".into(),
        })?;
        f(conn)
    }

    fn db(&self) -> impl Fn(::postgres::Error) -> CatalogError + '_ {
        move |e| CatalogError::Pg {
            url: self.url.clone(),
            message: words(&e),
        }
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

/// `?1` → `$1`, outside quoted text: the shared statements' placeholders in
/// PostgreSQL's spelling.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => quoted = !quoted,
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A client or a transaction lent to the shared statements, with the
/// statements its connection has prepared.
struct Pg<'a, C> {
    client: &'a mut C,
    statements: &'a mut HashMap<String, Statement>,
    url: &'a str,
}

impl<C: GenericClient> Pg<'_, C> {
    fn db(&self, e: ::postgres::Error) -> CatalogError {
        CatalogError::Pg {
            url: self.url.to_string(),
            message: words(&e),
        }
    }

    /// The statement for `sql` (the shared statements' spelling), prepared
    /// on this connection once.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        let sql = numbered(sql);
        if let Some(st) = self.statements.get(&sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(&sql).map_err(|e| self.db(e))?;
        if self.statements.len() >= STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql, st.clone());
        Ok(st)
    }
}

fn bound<'a>(args: &'a [Arg<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter()
        .map(|a| -> &(dyn ToSql + Sync) {
            match a {
                Arg::Text(s) => s,
                Arg::Opt(s) => s,
                Arg::Int(n) => n,
                Arg::OptInt(n) => n,
                Arg::Bool(b) => b,
            }
        })
        .collect()
}

fn cell(row: &::postgres::Row, i: usize) -> Result<Cell, ::postgres::Error> {
    let ty = row.columns()[i].type_();
    Ok(if *ty == Type::VOID {
        Cell::Null
    } else if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?
            .map_or(Cell::Null, Cell::Int)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?
            .map_or(Cell::Null, |n| Cell::Int(n.into()))
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)?
            .map_or(Cell::Null, |n| Cell::Int(n.into()))
    } else if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)?
            .map_or(Cell::Null, Cell::Bool)
    } else {
        row.try_get::<_, Option<String>>(i)?
            .map_or(Cell::Null, Cell::Text)
    })
}

impl<C: GenericClient> Session for Pg<'_, C> {
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        let st = self.statement(sql)?;
        self.client
            .execute(&st, &bound(args))
            .map_err(|e| self.db(e))
    }

    fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>> {
        let st = self.statement(sql)?;
        let rows = self
            .client
            .query(&st, &bound(args))
            .map_err(|e| self.db(e))?;
        rows.iter()
            .map(|r| (0..r.len()).map(|i| cell(r, i)).collect::<Result<_, _>>())
            .map(|r| r.map(Row).map_err(|e| self.db(e)))
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        // Schema steps: what was prepared may no longer match the tables.
        self.statements.clear();
        self.client.batch_execute(sql).map_err(|e| self.db(e))
    }
}

impl Dialect for Postgres {
    fn spell(word: &str) -> &'static str {
        match word {
            "int" => "BIGINT",
            "bool" => "BOOLEAN",
            "serial" => "BIGSERIAL PRIMARY KEY",
            "record_wave" => "COALESCE((record::json->>'wave')::BIGINT, 0)",
            _ => "",
        }
    }

    const LEASE_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";
    const ROW_LOCK: &'static str = " FOR UPDATE";

    fn read<T>(&self, f: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| {
            f(&mut Pg {
                client: &mut conn.client,
                statements: &mut conn.statements,
                url: &self.url,
            })
        })
    }

    fn write<T>(&self, f: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
        self.with_conn(|conn| {
            // BEGIN, the statements, then COMMIT and the revision's move in
            // one round trip: moved after the commit, the revision never
            // announces a write a reader cannot see yet.
            conn.tainted = true;
            conn.client.batch_execute("BEGIN").map_err(self.db())?;
            let out = f(&mut Pg {
                client: &mut conn.client,
                statements: &mut conn.statements,
                url: &self.url,
            });
            let end = match &out {
                Ok(_) => "COMMIT; SELECT nextval('tern_revision')",
                Err(_) => "ROLLBACK",
            };
            let ended = conn.client.batch_execute(end).map_err(self.db());
            conn.tainted = false;
            let out = out?;
            ended?;
            Ok(out)
        })
    }

    // Every write's COMMIT moves the revision (see `write`).
    fn bump(&self, _: &mut dyn Session) -> Result<()> {
        Ok(())
    }

    // One statement, committed by itself; then the revision moves.
    fn write_one(&self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        self.with_conn(|conn| {
            let n = Pg {
                client: &mut conn.client,
                statements: &mut conn.statements,
                url: &self.url,
            }
            .exec(sql, args)?;
            conn.client
                .batch_execute("SELECT nextval('tern_revision')")
                .map_err(self.db())?;
            Ok(n)
        })
    }

    // The event reads the state the row leaves from the statement's own
    // snapshot, taken before the upsert changes it.
    const SAVE_IN_ONE: Option<&'static str> = Some(
        "WITH prior AS (SELECT state FROM changes WHERE migration = ?1 AND consumer = ?2),
         event AS (
           INSERT INTO change_events (migration, consumer, at, from_state, to_state, note)
           SELECT CAST(?1 AS TEXT), CAST(?2 AS TEXT), CAST(?6 AS BIGINT),
                  (SELECT state FROM prior), CAST(?3 AS TEXT), CAST(?7 AS TEXT)
           WHERE NOT EXISTS (SELECT 1 FROM prior WHERE state = CAST(?3 AS TEXT)))
         INSERT INTO changes (migration, consumer, state, record, wave)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (migration, consumer) DO UPDATE SET state = excluded.state,
             record = excluded.record, wave = excluded.wave",
    );

    fn revision(&self) -> Result<u64> {
        let rows =
            self.read(|s| s.query("SELECT last_value, is_called FROM tern_revision", &[]))?;
        let row = rows.first().ok_or_else(|| CatalogError::Pg {
            url: self.url.clone(),
            message: "the revision sequence answered nothing".into(),
        })?;
        let v = row.int(0)?;
        let called = matches!(row.0.get(1), Some(Cell::Bool(true)));
        Ok(if called { v as u64 } else { 0 })
    }

    fn version(&self, s: &mut dyn Session) -> Result<u32> {
        // Workers that start together upgrade once: the rest wait here.
        s.query("SELECT pg_advisory_xact_lock(7375726)", &[])?;
        s.batch(
            "CREATE TABLE IF NOT EXISTS tern_schema (version INT NOT NULL);
             CREATE SEQUENCE IF NOT EXISTS tern_revision;",
        )?;
        let rows = s.query("SELECT version FROM tern_schema", &[])?;
        if rows.is_empty() {
            s.exec("INSERT INTO tern_schema VALUES (0)", &[])?;
        }
        let version = u32::try_from(first_int(&rows)?).unwrap_or(u32::MAX);
        if version == 1 && legacy(s)? {
            // Before the stores shared their steps, PostgreSQL's one step
            // built what the shared steps 1 to 4 build, with a narrower wave.
            s.batch("ALTER TABLE changes ALTER COLUMN wave TYPE BIGINT")?;
            self.set_version(s, 4)?;
            return Ok(4);
        }
        Ok(version)
    }

    fn set_version(&self, s: &mut dyn Session, v: u32) -> Result<()> {
        s.batch(&format!("UPDATE tern_schema SET version = {v}"))
    }

    fn place(&self) -> &str {
        &self.url
    }
}

/// True for a schema written by the PostgreSQL store's own step 1, which
/// named the member column `member` from the start.
fn legacy(s: &mut dyn Session) -> Result<bool> {
    let rows = s.query(
        "SELECT COUNT(*) FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'members' AND column_name = 'member'",
        &[],
    )?;
    Ok(first_int(&rows)? > 0)
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

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            super::numbered("SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12"
        );
    }
}
