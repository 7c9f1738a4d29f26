//! The SQLite backend: the embedded durable default. One file in WAL mode; one writer
//! connection on its own thread and one reader connection on another, so lookups are not
//! queued behind spend batches. Migrations are applied when the file is opened.
//!
//! ```no_run
//! # async fn f() -> Result<(), portcullis_storage::StorageError> {
//! let db = portcullis_storage::sqlite::SqliteStorage::open("/var/lib/portcullis/portcullis.db")?;
//! let keys = db.key_store(); // SqliteKeyStore: impl KeyStore
//! let spend = db.spend_sink(); // SqliteSpendSink: impl SpendSink
//! let audit = db.audit_log(); // SqliteAuditLog: impl AuditLog
//! # Ok(()) }
//! ```

mod audit_log;
mod key_sql;
mod key_store;
mod schema;
mod spend_sink;
mod worker;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use audit_log::SqliteAuditLog;
pub use key_store::SqliteKeyStore;
pub use spend_sink::SqliteSpendSink;

use crate::error::StorageError;
use worker::Worker;

/// How long a connection waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Turns a rusqlite error into a `StorageError` that keeps only its code.
pub(crate) fn db_err(context: &'static str) -> impl Fn(rusqlite::Error) -> StorageError {
    move |e| StorageError::Backend {
        backend: "sqlite",
        context,
        code: match e.sqlite_error() {
            Some(f) => format!("{:?}/{}", f.code, f.extended_code),
            None => "client".to_owned(),
        },
    }
}

#[derive(Debug)]
pub(crate) struct Db {
    writer: Worker,
    reader: Worker,
}

/// An open SQLite database holding keys, teams, spend and audit.
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    db: Arc<Db>,
}

fn configure(conn: &Connection) -> Result<(), StorageError> {
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(db_err("setting the busy timeout"))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(db_err("enabling foreign keys"))?;
    Ok(())
}

impl SqliteStorage {
    /// Opens (creating it and its folder if needed) the database file at `path`, switches it
    /// to WAL and applies the migrations. Blocking: call it at start-up, before serving.
    /// Fails with `SchemaTooNew` when a newer Portcullis wrote the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|_| StorageError::Unavailable("sqlite folder could not be created"))?;
        }
        let mut writer = Connection::open(path).map_err(db_err("opening the database"))?;
        configure(&writer)?;
        writer
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err("switching to WAL"))?;
        // FULL: a committed key, spend batch or audit entry survives a power cut too. Commits
        // are admin changes and one spend batch per flush window, so the fsyncs are few.
        writer
            .pragma_update(None, "synchronous", "FULL")
            .map_err(db_err("setting synchronous"))?;
        schema::migrate(&mut writer)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let reader =
            Connection::open_with_flags(path, flags).map_err(db_err("opening the database"))?;
        configure(&reader)?;
        Ok(Self {
            db: Arc::new(Db {
                writer: Worker::start(writer, "sqlite-writer")?,
                reader: Worker::start(reader, "sqlite-reader")?,
            }),
        })
    }

    pub fn key_store(&self) -> SqliteKeyStore {
        SqliteKeyStore::new(Arc::clone(&self.db))
    }

    pub fn spend_sink(&self) -> SqliteSpendSink {
        SqliteSpendSink::new(Arc::clone(&self.db))
    }

    pub fn audit_log(&self) -> SqliteAuditLog {
        SqliteAuditLog::new(Arc::clone(&self.db))
    }
}
