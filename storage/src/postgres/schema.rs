//! PostgreSQL migrations, embedded in the binary and applied at connect. Replicas starting
//! together take a transaction-scoped advisory lock, so exactly one applies each step.

use deadpool_postgres::Client;

use super::pg_err;
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

/// Advisory lock id for migrations ("portcull" in ASCII).
const MIGRATION_LOCK: i64 = 0x706f_7274_6375_6c6c;

/// Brings the schema up to date in one transaction, or refuses a newer one.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), StorageError> {
    let tx = client
        .transaction()
        .await
        .map_err(pg_err("starting migrations"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg_err("locking for migrations"))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await
        .map_err(pg_err("creating schema_version"))?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
            &[],
        )
        .await
        .and_then(|r| r.try_get(0))
        .map_err(pg_err("reading the schema version"))?;
    for m in pending(current, MIGRATIONS)? {
        tx.batch_execute(m.sql)
            .await
            .map_err(pg_err("applying a migration"))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&m.version],
        )
        .await
        .map_err(pg_err("recording a migration"))?;
    }
    tx.commit().await.map_err(pg_err("committing migrations"))
}
