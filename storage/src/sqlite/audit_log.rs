//! `SqliteAuditLog`: the audit chain in the `audit` table. Appends run on the one writer
//! connection in an immediate transaction that reads the head, seals, and moves the head.

use std::sync::Arc;

use rusqlite::{Connection, Row, TransactionBehavior, params};

use super::{Db, db_err};
use crate::audit::{AuditEntry, AuditRecord, ChainHead};
use crate::audit_chain::seal;
use crate::audit_log::AuditLog;
use crate::error::StorageError;
use crate::key_store::{StoreFuture, page_limit};
use crate::sql::rows::{AuditRow, chain_head, seq_i64};

/// The audit chain in a SQLite file; see [`super::SqliteStorage`].
#[derive(Debug, Clone)]
pub struct SqliteAuditLog {
    db: Arc<Db>,
}

impl SqliteAuditLog {
    pub(crate) fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

fn read_head(c: &Connection) -> Result<Option<ChainHead>, StorageError> {
    let (seq, hash): (i64, Vec<u8>) = c
        .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(db_err("reading the audit head"))?;
    chain_head(seq, &hash)
}

fn append(c: &mut Connection, entry: AuditEntry) -> Result<AuditRecord, StorageError> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("appending audit"))?;
    let record = seal(entry, read_head(&tx)?);
    let seq = seq_i64(record.seq)?;
    tx.execute(
        "INSERT INTO audit (seq, time_ms, actor, action, target, before, after, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            seq,
            record.time_ms,
            record.actor,
            record.action,
            record.target,
            record.before,
            record.after,
            &record.prev_hash[..],
            &record.hash[..],
        ],
    )
    .map_err(db_err("appending audit"))?;
    tx.execute(
        "UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1",
        params![seq, &record.hash[..]],
    )
    .map_err(db_err("appending audit"))?;
    tx.commit().map_err(db_err("appending audit"))?;
    Ok(record)
}

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        time_ms: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        before: r.get(5)?,
        after: r.get(6)?,
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
    })
}

impl AuditLog for SqliteAuditLog {
    fn append(&self, entry: AuditEntry) -> StoreFuture<'_, AuditRecord> {
        Box::pin(self.db.writer.call(move |c| append(c, entry)))
    }

    fn list(&self, from_seq: u64, limit: u32) -> StoreFuture<'_, Vec<AuditRecord>> {
        Box::pin(self.db.reader.call(move |c| {
            let from = i64::try_from(from_seq).unwrap_or(i64::MAX);
            let rows = c
                .prepare_cached(
                    "SELECT seq, time_ms, actor, action, target, before, after, prev_hash, hash \
                     FROM audit WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
                )
                .and_then(|mut s| {
                    s.query_map(params![from, i64::from(page_limit(limit))], audit_row)?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(db_err("listing audit"))?;
            rows.into_iter().map(AuditRow::into_record).collect()
        }))
    }

    fn head(&self) -> StoreFuture<'_, Option<ChainHead>> {
        Box::pin(self.db.reader.call(|c| read_head(c)))
    }
}
