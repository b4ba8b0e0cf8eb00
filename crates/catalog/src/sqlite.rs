//! The embedded catalog: one SQLite file. Only what SQLite spells its own way
//! is here; the statements are in [`crate::store`].

use std::sync::{Mutex, MutexGuard};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, TransactionBehavior};

use crate::store::{Arg, Cell, Dialect, Row, Session, SqlStore};
use crate::*;

/// A catalog in one SQLite file (or in memory for tests).
pub type SqliteStore = SqlStore<Sqlite>;

/// SQLite's dialect: a connection behind a mutex, write transactions that
/// take the file's write lock at once, and a revision the engine keeps.
pub struct Sqlite {
    conn: Mutex<Connection>,
    path: String,
}

impl SqliteStore {
    /// Opens or creates the file and brings its schema up to date. A file
    /// this process may not write (a read-only file system, another user's
    /// file) opens read-only, for `status`, `plan` and the portal's reads;
    /// writing to it is then an error that names the file.
    pub fn open(path: &str) -> Result<SqliteStore> {
        match SqliteStore::open_rw(path) {
            Err(CatalogError::Db { source, .. })
                if path != ":memory:"
                    && std::path::Path::new(path).is_file()
                    && read_only(&source) =>
            {
                SqliteStore::open_ro(path)
            }
            other => other,
        }
    }

    fn open_ro(path: &str) -> Result<SqliteStore> {
        let db = |source| CatalogError::Db {
            path: path.to_string(),
            source,
        };
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let uri = |q: &str| format!("file:{}?{q}", path.replace('?', "%3f").replace('#', "%23"));
        // A WAL file needs its shared-memory file; where none can be made
        // (a read-only folder), the file is read as it lies.
        let conn = Connection::open_with_flags(uri("mode=ro"), flags)
            .and_then(|c| {
                c.query_row("PRAGMA user_version", [], |_| Ok(()))
                    .map(|_| c)
            })
            .or_else(|_| Connection::open_with_flags(uri("immutable=1"), flags))
            .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db)?;
        claim(&conn, path, false)?;
        SqlStore::read_only(Sqlite {
            conn: Mutex::new(conn),
            path: path.to_string(),
        })
    }

    fn open_rw(path: &str) -> Result<SqliteStore> {
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
        claim(&conn, path, true)?;
        if path != ":memory:" {
            // WAL lets the portal read while a campaign writes.
            let _: String = conn
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
                .map_err(db)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(db)?;
        }
        SqlStore::new(Sqlite {
            conn: Mutex::new(conn),
            path: path.to_string(),
        })
    }
}

/// `tern` in ASCII: SQLite's `application_id` of a tern catalog.
pub const APPLICATION_ID: i64 = 0x7465_726e;

/// Tables every tern catalog has had since its first schema step.
const OURS: [&str; 4] = ["datasets", "consumers", "migrations", "changes"];

/// Makes sure the file is a tern catalog before anything is written to it:
/// its `application_id` says so, or it is empty (a new catalog), or it holds
/// the tables of a catalog from before the mark (marked now, when
/// `write`). Any other SQLite database is refused, untouched, so pointing
/// `--catalog` at someone else's file never adds tern's tables to it.
fn claim(conn: &Connection, path: &str, write: bool) -> Result<()> {
    let db = |source| CatalogError::Db {
        path: path.to_string(),
        source,
    };
    let id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => CatalogError::Url(
                path.to_string(),
                "this file is not an SQLite database, let alone a tern catalog; name another with --catalog".into(),
            ),
            _ => db(e),
        })?;
    if id == APPLICATION_ID {
        return Ok(());
    }
    if id != 0 {
        return Err(CatalogError::Url(
            path.to_string(),
            format!("an SQLite database of another program (application_id {id:#x}), not a tern catalog; name another with --catalog"),
        ));
    }
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .map_err(db)?;
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(db)?
        .collect::<std::result::Result<_, _>>()
        .map_err(db)?;
    let old_catalog = OURS.iter().all(|t| tables.iter().any(|x| x == t));
    if !tables.is_empty() && !old_catalog {
        let some: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
        return Err(CatalogError::Url(
            path.to_string(),
            format!(
                "an SQLite database with tables of its own ({}), not a tern catalog; tern leaves it alone: name another with --catalog",
                some.join(", ")
            ),
        ));
    }
    if write {
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(db)?;
    }
    Ok(())
}

/// Whether SQLite refused because the file (or its folder) may not be written.
fn read_only(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(
            rusqlite::ErrorCode::ReadOnly
                | rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::PermissionDenied
        )
    )
}

impl Sqlite {
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A connection (or a transaction, which derefs to one) lent to the
/// shared statements.
struct Lite<'a> {
    conn: &'a Connection,
    path: &'a str,
}

impl Lite<'_> {
    fn db(&self, source: rusqlite::Error) -> CatalogError {
        CatalogError::Db {
            path: self.path.to_string(),
            source,
        }
    }
}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Text(s) => s.to_sql(),
            Arg::Opt(s) => s.to_sql(),
            Arg::Int(n) => n.to_sql(),
            Arg::OptInt(n) => n.to_sql(),
            Arg::Bool(b) => b.to_sql(),
        }
    }
}

impl Session for Lite<'_> {
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.db(e))?;
        let n = stmt
            .execute(rusqlite::params_from_iter(args))
            .map_err(|e| self.db(e))?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.db(e))?;
        let width = stmt.column_count();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                (0..width)
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            ValueRef::Null => Cell::Null,
                            ValueRef::Integer(n) => Cell::Int(n),
                            ValueRef::Real(f) => Cell::Int(f as i64),
                            ValueRef::Text(t) | ValueRef::Blob(t) => {
                                Cell::Text(String::from_utf8_lossy(t).into_owned())
                            }
                        })
                    })
                    .collect::<rusqlite::Result<Vec<Cell>>>()
                    .map(Row)
            })
            .map_err(|e| self.db(e))?
            .collect::<rusqlite::Result<Vec<Row>>>()
            .map_err(|e| self.db(e))?;
        Ok(rows)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(|e| self.db(e))
    }
}

impl Dialect for Sqlite {
    fn spell(word: &str) -> &'static str {
        match word {
            "int" => "INTEGER",
            "bool" => "INTEGER",
            "serial" => "INTEGER PRIMARY KEY AUTOINCREMENT",
            "record_wave" => "COALESCE(json_extract(record, '$.wave'), 0)",
            _ => "",
        }
    }

    // One writer at a time holds the whole file: nothing to skip.
    const LEASE_LOCK: &'static str = "";
    // An immediate transaction holds the whole file.
    const ROW_LOCK: &'static str = "";

    fn read<T>(&self, f: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
        let conn = self.lock();
        f(&mut Lite {
            conn: &conn,
            path: &self.path,
        })
    }

    fn write<T>(&self, f: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let db = |source| CatalogError::Db {
            path: self.path.clone(),
            source,
        };
        // An immediate transaction holds the file's write lock from the
        // start: atomic against every other connection and process.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let out = f(&mut Lite {
            conn: &tx,
            path: &self.path,
        })?;
        tx.commit().map_err(db)?;
        Ok(out)
    }

    // data_version and total_changes move by themselves.
    fn bump(&self, _: &mut dyn Session) -> Result<()> {
        Ok(())
    }

    fn revision(&self) -> Result<u64> {
        let conn = self.lock();
        // data_version moves when another connection commits; total_changes
        // when this one writes. Together they move on every write anywhere.
        let others: i64 = conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|source| CatalogError::Db {
                path: self.path.clone(),
                source,
            })?;
        Ok((others as u64) << 40 ^ conn.total_changes())
    }

    fn version(&self, s: &mut dyn Session) -> Result<u32> {
        let v = crate::store::first_int(&s.query("PRAGMA user_version", &[])?)?;
        Ok(u32::try_from(v).unwrap_or(u32::MAX))
    }

    fn set_version(&self, s: &mut dyn Session, v: u32) -> Result<()> {
        s.batch(&format!("PRAGMA user_version = {v}"))
    }

    fn place(&self) -> &str {
        &self.path
    }

    fn home(&self) -> Option<std::path::PathBuf> {
        if self.path == ":memory:" {
            return None;
        }
        let file = std::path::Path::new(&self.path).canonicalize().ok()?;
        file.parent().map(std::path::Path::to_path_buf)
    }
}
