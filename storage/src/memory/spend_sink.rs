//! `MemorySpendSink`: spend records in process memory, for demos and tests. It keeps the most
//! recent [`MAX_RECORDS`] (about 200 bytes each, so some 20 MB at most) and drops the oldest
//! beyond that, so memory stays bounded under any load; reports and totals then cover the
//! records kept. A gateway that needs its spend history uses a durable backend.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::error::StorageError;
use crate::key_store::StoreFuture;
use crate::spend::{SpendQuery, SpendRecord, SpendRow, SpendScope, check_batch};
use crate::spend_sink::SpendSink;

/// Most records a [`MemorySpendSink`] keeps.
pub(crate) const MAX_RECORDS: usize = 100_000;

/// Spend records held in process memory (the newest [`MAX_RECORDS`]).
#[derive(Debug, Default, Clone)]
pub struct MemorySpendSink {
    records: Arc<Mutex<VecDeque<SpendRecord>>>,
}

impl MemorySpendSink {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut VecDeque<SpendRecord>) -> T) -> Result<T, StorageError> {
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
        let result = check_batch(&records).and_then(|()| {
            self.with(|all| {
                all.extend(records);
                let excess = all.len().saturating_sub(MAX_RECORDS);
                all.drain(..excess);
            })
        });
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
                    SpendScope::ModelGroup(m) => r.model_group == *m,
                })
                .fold(0i64, |sum, r| sum.saturating_add(r.cost_micro_usd))
        });
        Box::pin(std::future::ready(sum))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_only_the_newest_records_so_memory_stays_bounded() {
        let sink = MemorySpendSink::new();
        let template = SpendRecord {
            time_ms: 0,
            request_id: "r".into(),
            key: crate::id::KeyId::parse("k").unwrap(),
            team: None,
            model_group: "m".into(),
            deployment: "d".into(),
            tokens_in: 1,
            tokens_out: 1,
            tokens_cached: 0,
            tokens_cache_write: 0,
            cost_micro_usd: 5,
            unpriced: false,
            latency_ms: 1,
            status: 200,
        };
        for chunk in 0..3 {
            let batch = (0..MAX_RECORDS / 2)
                .map(|i| SpendRecord {
                    time_ms: i64::try_from(chunk * MAX_RECORDS + i).unwrap(),
                    ..template.clone()
                })
                .collect();
            sink.record_batch(batch).await.unwrap();
        }
        let kept = sink
            .with(|all| (all.len(), all.front().map(|r| r.time_ms)))
            .unwrap();
        assert_eq!(kept.0, MAX_RECORDS);
        assert!(kept.1.unwrap() > 0, "the oldest records were not dropped");
    }
}
