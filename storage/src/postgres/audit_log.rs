//! `PostgresAuditLog`: the audit chain in PostgreSQL, shared by every replica.
//!
//! Each append locks the single `audit_head` row (`SELECT … FOR UPDATE`) in its transaction,
//! seals the entry after that head, inserts it and moves the head. A second process's append
//! waits on the row lock and then reads the new head, so appends from any number of
//! processes are serialised in the database and form one chain.

use super::{PostgresStorage, pg_err};
use crate::audit::{AuditEntry, AuditRecord, ChainHead};
use crate::audit_chain::seal;
use crate::audit_log::AuditLog;
use crate::error::StorageError;
use crate::key_store::{StoreFuture, page_limit};
use crate::sql::rows::{AuditRow, chain_head, seq_i64};

/// The audit chain in PostgreSQL; see [`super::PostgresStorage`].
#[derive(Debug, Clone)]
pub struct PostgresAuditLog {
    db: PostgresStorage,
}

impl PostgresAuditLog {
    pub(crate) fn new(db: PostgresStorage) -> Self {
        Self { db }
    }

    async fn append_now(&self, entry: AuditEntry) -> Result<AuditRecord, StorageError> {
        let mut client = self.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_err("appending audit"))?;
        let head = tx
            .query_one(
                "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await
            .and_then(|r| Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, Vec<u8>>(1)?)))
            .map_err(pg_err("reading the audit head"))?;
        let record = seal(entry, chain_head(head.0, &head.1)?);
        let seq = seq_i64(record.seq)?;
        tx.execute(
            "INSERT INTO audit (seq, time_ms, actor, action, target, before, after, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &seq,
                &record.time_ms,
                &record.actor,
                &record.action,
                &record.target,
                &record.before,
                &record.after,
                &&record.prev_hash[..],
                &&record.hash[..],
            ],
        )
        .await
        .map_err(pg_err("appending audit"))?;
        tx.execute(
            "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
            &[&seq, &&record.hash[..]],
        )
        .await
        .map_err(pg_err("appending audit"))?;
        tx.commit().await.map_err(pg_err("appending audit"))?;
        Ok(record)
    }

    async fn list_now(&self, from_seq: u64, limit: u32) -> Result<Vec<AuditRecord>, StorageError> {
        let client = self.db.client().await?;
        let from = i64::try_from(from_seq).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT seq, time_ms, actor, action, target, before, after, prev_hash, hash \
                 FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2",
                &[&from, &i64::from(page_limit(limit))],
            )
            .await
            .map_err(pg_err("listing audit"))?;
        let read = |r: &tokio_postgres::Row| -> Result<AuditRow, tokio_postgres::Error> {
            Ok(AuditRow {
                seq: r.try_get(0)?,
                time_ms: r.try_get(1)?,
                actor: r.try_get(2)?,
                action: r.try_get(3)?,
                target: r.try_get(4)?,
                before: r.try_get(5)?,
                after: r.try_get(6)?,
                prev_hash: r.try_get(7)?,
                hash: r.try_get(8)?,
            })
        };
        rows.iter()
            .map(|r| read(r).map_err(pg_err("listing audit"))?.into_record())
            .collect()
    }

    async fn head_now(&self) -> Result<Option<ChainHead>, StorageError> {
        let client = self.db.client().await?;
        let (seq, hash) = client
            .query_one("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .await
            .and_then(|r| Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, Vec<u8>>(1)?)))
            .map_err(pg_err("reading the audit head"))?;
        chain_head(seq, &hash)
    }
}

impl AuditLog for PostgresAuditLog {
    fn append(&self, entry: AuditEntry) -> StoreFuture<'_, AuditRecord> {
        Box::pin(self.append_now(entry))
    }

    fn list(&self, from_seq: u64, limit: u32) -> StoreFuture<'_, Vec<AuditRecord>> {
        Box::pin(self.list_now(from_seq, limit))
    }

    fn head(&self) -> StoreFuture<'_, Option<ChainHead>> {
        Box::pin(self.head_now())
    }
}
