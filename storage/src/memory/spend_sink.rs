//! `MemorySpendSink`: spend records in a vector. For demos and tests: it keeps every record
//! until the process ends (about 200 bytes each), so a long-running gateway should use a
//! durable backend.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::error::StorageError;
use crate::key_store::StoreFuture;
use crate::spend::{SpendQuery, SpendRecord, SpendRow, SpendScope, check_batch};
use crate::spend_sink::SpendSink;

/// Spend records held in process memory.
#[derive(Debug, Default, Clone)]
pub struct MemorySpendSink {
    records: Arc<Mutex<Vec<SpendRecord>>>,
}

impl MemorySpendSink {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Vec<SpendRecord>) -> T) -> Result<T, StorageError> {
        let mut records = self
            .records
            .lock()
            .map_err(|_| StorageError::Unavailable("poisoned lock"))?;
        Ok(f(&mut records))
    }
}

/// Groups and sums `records` for `query`; the one definition of a report.
fn report_of<'a>(
    records: impl IntoIterator<Item = &'a SpendRecord>,
    query: &SpendQuery,
) -> Vec<SpendRow> {
    let mut rows = BTreeMap::new();
    for r in records.into_iter().filter(|r| query.matches(r)) {
        let group = query.group_of(r);
        rows.entry(group.clone())
            .or_insert_with(|| SpendRow::empty(group))
            .add(r);
    }
    rows.into_values().collect()
}

impl SpendSink for MemorySpendSink {
    fn record_batch(&self, records: Vec<SpendRecord>) -> StoreFuture<'_, ()> {
        let result = check_batch(&records).and_then(|()| self.with(|all| all.extend(records)));
        Box::pin(std::future::ready(result))
    }

    fn report(&self, query: SpendQuery) -> StoreFuture<'_, Vec<SpendRow>> {
        Box::pin(std::future::ready(
            self.with(|all| report_of(all.iter(), &query)),
        ))
    }

    fn total(&self, scope: SpendScope, since_ms: i64) -> StoreFuture<'_, i64> {
        let sum = self.with(|all| {
            all.iter()
                .filter(|r| r.time_ms >= since_ms)
                .filter(|r| match &scope {
                    SpendScope::Key(k) => r.key == *k,
                    SpendScope::Team(t) => r.team.as_ref() == Some(t),
                })
                .fold(0i64, |sum, r| sum.saturating_add(r.cost_micro_usd))
        });
        Box::pin(std::future::ready(sum))
    }
}
