//! The shared catalog: PostgreSQL, for several workers on several machines.
//!
//! The statements are [`crate::store`]'s; what is here is where a server
//! does better: leases add `FOR UPDATE SKIP LOCKED`, so workers never wait
//! on each other's rows; the revision is a sequence that every write
//! advances, so readers see writes from anywhere without a shared row to
//! contend on; schema steps run under an advisory lock, so workers starting
//! together upgrade once.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, GenericClient, NoTls};

use crate::store::{first_int, Arg, Cell, Dialect, Row, Session, SqlStore};
use crate::*;

/// A catalog on a PostgreSQL server.
pub type PgStore = SqlStore<Postgres>;

/// PostgreSQL's dialect: one client behind a mutex.
pub struct Postgres {
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
        SqlStore::new(Postgres {
            client: Mutex::new(client),
            url: shown,
        })
    }
}

impl Postgres {
    fn lock(&self) -> MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(|e| e.into_inner())
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

/// A client or a transaction lent to the shared statements.
struct Pg<'a, C> {
    client: &'a mut C,
    url: &'a str,
}

impl<C> Pg<'_, C> {
    fn db(&self, e: ::postgres::Error) -> CatalogError {
        CatalogError::Pg {
            url: self.url.to_string(),
            message: words(&e),
        }
    }
}

fn bound<'a>(args: &'a [Arg<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter()
        .map(|a| -> &(dyn ToSql + Sync) {
            match a {
                Arg::Text(s) => s,
                Arg::Opt(s) => s,
                Arg::Int(n) => n,
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
        let sql = numbered(sql);
        self.client
            .execute(sql.as_str(), &bound(args))
            .map_err(|e| self.db(e))
    }

    fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>> {
        let sql = numbered(sql);
        let rows = self
            .client
            .query(sql.as_str(), &bound(args))
            .map_err(|e| self.db(e))?;
        rows.iter()
            .map(|r| (0..r.len()).map(|i| cell(r, i)).collect::<Result<_, _>>())
            .map(|r| r.map(Row).map_err(|e| self.db(e)))
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
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
        let mut client = self.lock();
        f(&mut Pg {
            client: &mut *client,
            url: &self.url,
        })
    }

    fn write<T>(&self, f: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
        let mut client = self.lock();
        let mut tx = client.transaction().map_err(self.db())?;
        let out = f(&mut Pg {
            client: &mut tx,
            url: &self.url,
        })?;
        tx.commit().map_err(self.db())?;
        Ok(out)
    }

    fn bump(&self, s: &mut dyn Session) -> Result<()> {
        s.query("SELECT nextval('tern_revision')", &[]).map(drop)
    }

    fn revision(&self) -> Result<u64> {
        let row = self
            .lock()
            .query_one("SELECT last_value, is_called FROM tern_revision", &[])
            .map_err(self.db())?;
        let (v, called): (i64, bool) = (row.get(0), row.get(1));
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
