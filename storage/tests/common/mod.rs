//! Builders shared by the limiter tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use portcullis_storage::limiter::{
    Admission, BucketKind, BucketTake, BudgetPeriod, BudgetTake, MillisClock, ParallelCap,
};

/// A clock the test moves by hand.
#[derive(Clone, Default)]
pub(crate) struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub(crate) fn clock(&self) -> MillisClock {
        let now = self.0.clone();
        Arc::new(move || now.load(Ordering::SeqCst))
    }
    pub(crate) fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

pub(crate) fn rpm(name: &str, per_minute: u64) -> BucketTake {
    BucketTake {
        name: name.into(),
        kind: BucketKind::Rpm,
        capacity: per_minute,
        refill_per_minute: per_minute,
        take: 1,
    }
}

pub(crate) fn tpm(name: &str, per_minute: u64, take: u64) -> BucketTake {
    BucketTake {
        name: name.into(),
        kind: BucketKind::Tpm,
        capacity: per_minute,
        refill_per_minute: per_minute,
        take,
    }
}

pub(crate) fn period(tag: &str, name: &str) -> BudgetPeriod {
    BudgetPeriod {
        tag: tag.into(),
        name: name.into(),
        period: 1,
        period_end_ms: 4_102_444_800_000,
    }
}

pub(crate) fn budget(tag: &str, name: &str, limit: u64, amount: u64) -> BudgetTake {
    BudgetTake {
        period: period(tag, name),
        limit_micro_usd: limit,
        amount_micro_usd: amount,
    }
}

pub(crate) fn cap(name: &str, max: u64) -> ParallelCap {
    ParallelCap {
        name: name.into(),
        max,
    }
}

/// An admission under `tag` with a fresh request id, 60 s lease.
pub(crate) fn admission(tag: &str, id: impl std::fmt::Display) -> Admission {
    Admission {
        request_id: format!("req-{id}"),
        tag: tag.into(),
        lease_ms: 60_000,
        ..Admission::default()
    }
}

/// A tag no other test uses (tests share a Redis only within one test, but be safe).
pub(crate) fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}
