//! SQLite migrations, embedded in the binary and applied when a file is opened.

use rusqlite::{Connection, TransactionBehavior};

use super::db_err;
use crate::error::StorageError;
use crate::sql::migrate::{Migration, pending};

/// Every schema step, in order.
pub(crate) static MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("migrations/0002_spend_by_model_group.sql"),
    },
];

/// Brings the schema up to date in one transaction, or refuses a newer one.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("starting migrations"))?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT")
        .map_err(db_err("creating schema_version"))?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(db_err("reading the schema version"))?;
    for m in pending(current, MIGRATIONS)? {
        tx.execute_batch(m.sql)
            .map_err(db_err("applying a migration"))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [m.version],
        )
        .map_err(db_err("recording a migration"))?;
    }
    tx.commit().map_err(db_err("committing migrations"))
}
