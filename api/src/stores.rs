//! The storage a gateway runs on, opened once at start-up from `storage:` and held as
//! `Arc<dyn _>` by every worker: keys and teams, the spend log and the audit log.
//!
//! SQLite and memory open synchronously (SQLite blocks briefly on its migrations, before
//! anything serves); PostgreSQL needs the runtime, so [`Stores::open`] is async.

use std::sync::Arc;

use portcullis_config::StorageConfig;
use portcullis_storage::postgres::PostgresStorage;
use portcullis_storage::sqlite::SqliteStorage;
use portcullis_storage::{
    AuditLog, KeyStore, MemoryAuditLog, MemoryKeyStore, MemorySpendSink, SpendSink, StorageError,
};
use secrecy::ExposeSecret;

/// The three storage roles of one backend.
#[derive(Debug, Clone)]
pub struct Stores {
    pub keys: Arc<dyn KeyStore>,
    pub spend: Arc<dyn SpendSink>,
    pub audit: Arc<dyn AuditLog>,
    /// Which backend, for logs: `memory`, `sqlite` or `postgres`.
    pub backend: &'static str,
}

impl Stores {
    /// Nothing survives the process.
    pub fn memory() -> Self {
        Self {
            keys: Arc::new(MemoryKeyStore::new()),
            spend: Arc::new(MemorySpendSink::new()),
            audit: Arc::new(MemoryAuditLog::new()),
            backend: "memory",
        }
    }

    pub fn sqlite(db: &SqliteStorage) -> Self {
        Self {
            keys: Arc::new(db.key_store()),
            spend: Arc::new(db.spend_sink()),
            audit: Arc::new(db.audit_log()),
            backend: "sqlite",
        }
    }

    pub fn postgres(db: &PostgresStorage) -> Self {
        Self {
            keys: Arc::new(db.key_store()),
            spend: Arc::new(db.spend_sink()),
            audit: Arc::new(db.audit_log()),
            backend: "postgres",
        }
    }

    /// Opens any backend.
    pub async fn open(config: &StorageConfig) -> Result<Self, StorageError> {
        match config {
            StorageConfig::Postgres { url, pool_size } => {
                let db = PostgresStorage::connect(url.expose_secret(), *pool_size).await?;
                Ok(Self::postgres(&db))
            }
            other => Self::open_local(other),
        }
    }

    /// Opens memory or SQLite without a runtime; PostgreSQL is refused (use [`Stores::open`]).
    pub fn open_local(config: &StorageConfig) -> Result<Self, StorageError> {
        match config {
            StorageConfig::Memory => Ok(Self::memory()),
            StorageConfig::Sqlite { path } => Ok(Self::sqlite(&SqliteStorage::open(path)?)),
            StorageConfig::Postgres { .. } => Err(StorageError::Unavailable(
                "postgres storage is opened asynchronously (Stores::open)",
            )),
        }
    }
}
