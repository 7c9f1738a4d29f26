//! The `AuditLog` role: an append-only, hash-chained record of every admin change.
//!
//! Appends are serialised by the store (in the database for shared backends), so several
//! processes appending to one log still produce one chain. Reading never fixes anything:
//! [`verify_log`] reports the first broken link for a person to look at.

use std::fmt::Debug;

use crate::audit::{AuditEntry, AuditRecord, ChainHead};
use crate::audit_chain::{ChainBreak, ChainVerifier};
use crate::error::StorageError;
use crate::key_store::{StoreFuture, page_limit};

/// Where audit records go.
pub trait AuditLog: Send + Sync + Debug {
    /// Chains `entry` after the newest record and stores it; returns the stored record.
    fn append(&self, entry: AuditEntry) -> StoreFuture<'_, AuditRecord>;

    /// Up to `limit` records with `seq >= from_seq`, oldest first (limit clamped like pages).
    fn list(&self, from_seq: u64, limit: u32) -> StoreFuture<'_, Vec<AuditRecord>>;

    /// The newest record's number and hash as recorded at append, `None` for an empty log.
    fn head(&self) -> StoreFuture<'_, Option<ChainHead>>;
}

/// Reads the whole log page by page and verifies it against its head. The outer error is the
/// store failing; the inner one names the first altered or missing record. On success,
/// returns how many records were checked.
pub async fn verify_log(log: &dyn AuditLog) -> Result<Result<u64, ChainBreak>, StorageError> {
    // Head first: records appended while we read are past it and ignored.
    let head = log.head().await?;
    let end = head.map_or(u64::MAX, |h| h.seq);
    let mut verifier = ChainVerifier::new();
    let mut from = 1;
    let mut checked = 0;
    loop {
        let page = log.list(from, page_limit(0)).await?;
        let Some(last) = page.last().map(|r| r.seq) else {
            break;
        };
        for record in page.iter().filter(|r| r.seq <= end) {
            if let Err(brk) = verifier.push(record) {
                return Ok(Err(brk));
            }
            checked += 1;
        }
        if last >= end {
            break;
        }
        from = last + 1;
    }
    Ok(verifier.finish(head.as_ref()).map(|()| checked))
}
