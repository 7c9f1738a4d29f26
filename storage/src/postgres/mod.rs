//! The PostgreSQL backend: one database shared by several gateway replicas. A connection
//! pool (deadpool) of plain connections (no TLS yet); migrations applied at connect.
//! Cross-process correctness lives in the database: unique constraints for ids and hashes,
//! row locks for read-modify-write changes, and a locked chain-head row for audit appends.
//!
//! ```no_run
//! # async fn f() -> Result<(), portcullis_storage::StorageError> {
//! use portcullis_storage::postgres::PostgresStorage;
//! let db = PostgresStorage::connect("host=db user=portcullis dbname=portcullis", 16).await?;
//! let (keys, spend, audit) = (db.key_store(), db.spend_sink(), db.audit_log());
//! # Ok(()) }
//! ```

mod audit_log;
mod key_sql;
mod key_store;
mod schema;
mod spend_sink;

use std::str::FromStr;

use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

pub use audit_log::PostgresAuditLog;
pub use key_store::PostgresKeyStore;
pub use spend_sink::PostgresSpendSink;

use crate::error::StorageError;

/// Turns a driver error into a `StorageError`: known constraint violations become
/// `Conflict`/`NotFound`; anything else keeps only its SQLSTATE (never the message, whose
/// detail can quote stored values).
pub(crate) fn pg_err(context: &'static str) -> impl Fn(tokio_postgres::Error) -> StorageError {
    move |e| {
        if let Some(db) = e.as_db_error() {
            let known = match (db.code(), db.constraint()) {
                (&SqlState::UNIQUE_VIOLATION, Some("keys_pkey")) => {
                    Some(StorageError::Conflict("key id"))
                }
                (&SqlState::UNIQUE_VIOLATION, Some("key_hashes_pkey")) => {
                    Some(StorageError::Conflict("key hash"))
                }
                (&SqlState::UNIQUE_VIOLATION, Some("teams_pkey")) => {
                    Some(StorageError::Conflict("team id"))
                }
                (&SqlState::FOREIGN_KEY_VIOLATION, Some("keys_team_id_fkey")) => {
                    Some(StorageError::NotFound("team"))
                }
                _ => None,
            };
            if let Some(err) = known {
                return err;
            }
        }
        if e.is_closed() {
            return StorageError::Unavailable("postgres connection closed");
        }
        StorageError::Backend {
            backend: "postgres",
            context,
            code: e.code().map_or("client", SqlState::code).to_owned(),
        }
    }
}

/// A connection pool to one PostgreSQL database holding keys, teams, spend and audit.
#[derive(Clone)]
pub struct PostgresStorage {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStorage {
    /// Prints no connection details (they can hold a password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresStorage(..)")
    }
}

impl PostgresStorage {
    /// Connects with a libpq-style connection string (`host=… user=… dbname=…` or a
    /// `postgres://` URL), checks one connection, and applies the migrations. Fails with
    /// `SchemaTooNew` when a newer Portcullis migrated the database.
    pub async fn connect(conninfo: &str, pool_size: usize) -> Result<Self, StorageError> {
        let config = tokio_postgres::Config::from_str(conninfo)
            .map_err(|_| StorageError::Invalid("postgres connection string"))?;
        Self::from_config(config, pool_size).await
    }

    /// As [`PostgresStorage::connect`], from a parsed config.
    pub async fn from_config(
        config: tokio_postgres::Config,
        pool_size: usize,
    ) -> Result<Self, StorageError> {
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .build()
            .map_err(|_| StorageError::Invalid("postgres pool settings"))?;
        let storage = Self { pool };
        let mut client = storage.client().await?;
        schema::migrate(&mut client).await?;
        Ok(storage)
    }

    pub(crate) async fn client(&self) -> Result<Client, StorageError> {
        self.pool.get().await.map_err(|e| match e {
            // The server answered and refused (bad password, missing database): say which
            // SQLSTATE, which names the reason without quoting anything.
            deadpool_postgres::PoolError::Backend(e) if e.code().is_some() => {
                pg_err("connecting")(e)
            }
            _ => StorageError::Unavailable("postgres unreachable"),
        })
    }

    pub fn key_store(&self) -> PostgresKeyStore {
        PostgresKeyStore::new(self.clone())
    }

    pub fn spend_sink(&self) -> PostgresSpendSink {
        PostgresSpendSink::new(self.clone())
    }

    pub fn audit_log(&self) -> PostgresAuditLog {
        PostgresAuditLog::new(self.clone())
    }
}
