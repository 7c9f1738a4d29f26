//! The `SpendSink` role: an append-only log of spend records, written in batches, and the
//! sums that reports and budget reconciliation read from it.
//!
//! The request path never calls a sink directly: it hands records to a
//! [`crate::SpendWriter`], whose one task calls [`SpendSink::record_batch`].

use std::fmt::Debug;

use crate::key_store::StoreFuture;
use crate::spend::{SpendQuery, SpendRecord, SpendRow, SpendScope};

/// Where spend records go.
pub trait SpendSink: Send + Sync + Debug {
    /// Appends `records` in one transaction: all or none. Refuses records with a negative
    /// time or cost (`Invalid`).
    fn record_batch(&self, records: Vec<SpendRecord>) -> StoreFuture<'_, ()>;

    /// Sums of the matching records per group, sorted by group.
    fn report(&self, query: SpendQuery) -> StoreFuture<'_, Vec<SpendRow>>;

    /// Total cost in micro-USD of `scope`'s records with `time_ms >= since_ms`.
    fn total(&self, scope: SpendScope, since_ms: i64) -> StoreFuture<'_, i64>;
}
