//! `MemoryAuditLog`: the audit chain in a vector, appends serialised by one lock.

use std::sync::{Arc, Mutex};

use crate::audit::{AuditEntry, AuditRecord, ChainHead};
use crate::audit_chain::seal;
use crate::audit_log::AuditLog;
use crate::error::StorageError;
use crate::key_store::{StoreFuture, page_limit};

/// Audit records held in process memory. Nothing survives a restart.
#[derive(Debug, Default, Clone)]
pub struct MemoryAuditLog {
    records: Arc<Mutex<Vec<AuditRecord>>>,
}

impl MemoryAuditLog {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vec<AuditRecord>) -> T) -> Result<T, StorageError> {
        let mut records = self
            .records
            .lock()
            .map_err(|_| StorageError::Unavailable("poisoned lock"))?;
        Ok(f(&mut records))
    }
}

fn head_of(records: &[AuditRecord]) -> Option<ChainHead> {
    records.last().map(|r| ChainHead {
        seq: r.seq,
        hash: r.hash,
    })
}

impl AuditLog for MemoryAuditLog {
    fn append(&self, entry: AuditEntry) -> StoreFuture<'_, AuditRecord> {
        let result = self.with(|records| {
            let record = seal(entry, head_of(records));
            records.push(record.clone());
            record
        });
        Box::pin(std::future::ready(result))
    }

    fn list(&self, from_seq: u64, limit: u32) -> StoreFuture<'_, Vec<AuditRecord>> {
        let result = self.with(|records| {
            records
                .iter()
                .filter(|r| r.seq >= from_seq)
                .take(page_limit(limit) as usize)
                .cloned()
                .collect()
        });
        Box::pin(std::future::ready(result))
    }

    fn head(&self) -> StoreFuture<'_, Option<ChainHead>> {
        Box::pin(std::future::ready(self.with(|records| head_of(records))))
    }
}
