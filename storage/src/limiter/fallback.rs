//! `LocalFallback`: the rate limits one replica enforces alone while the shared backend (Redis)
//! is down, so that the cluster as a whole stays near its limits without any coordination.
//!
//! Every bucket's capacity and refill rate, and every parallel cap, is divided by the
//! configured replica count N (rounded down; a limit below N admits nothing during an outage).
//! With M replicas actually running, admitted requests over any window of `t` ms stay within
//! `(M / N) · (C + R·t / 60 000)` per bucket; with M ≤ N, within the limit itself. When the
//! backend returns, the shared buckets resume from their own state, so one switch-over can add
//! at most one more capacity C.
//!
//! Budgets fail closed here: an admission carrying a budget reservation is answered
//! `Err(StorageError::Unavailable)`, because no replica can know the shared spend alone. A
//! caller whose policy lets budgets fail open strips them from the admission first.

use crate::error::StorageError;
use crate::limiter::{
    Admission, AdmitResult, BudgetPeriod, Limiter, LimiterFuture, MillisClock, Reservation,
    Settlement,
};
use crate::memory::MemoryLimiter;

/// Per-replica rate limiting at `limit ÷ replicas`; see the module docs.
#[derive(Debug)]
pub struct LocalFallback {
    replicas: u64,
    inner: MemoryLimiter,
}

const BUDGETS_UNAVAILABLE: StorageError = StorageError::Unavailable("shared budget store");

impl LocalFallback {
    /// Fallback buckets for one of `replicas` replicas (0 is taken as 1).
    pub fn new(replicas: u64, clock: MillisClock) -> Self {
        Self {
            replicas: replicas.max(1),
            inner: MemoryLimiter::new(clock),
        }
    }

    /// The admission as this replica enforces it alone.
    pub fn scale(&self, admission: &Admission) -> Admission {
        let n = self.replicas;
        let mut a = admission.clone();
        for b in a.buckets.iter_mut().chain(a.global_buckets.iter_mut()) {
            b.capacity /= n;
            b.refill_per_minute /= n;
        }
        for c in &mut a.parallel {
            c.max /= n;
        }
        a
    }

    fn admit_scaled(&self, admission: &Admission) -> Result<AdmitResult, StorageError> {
        if admission.has_budgets() {
            return Err(BUDGETS_UNAVAILABLE);
        }
        Ok(self.inner.admit_now(&self.scale(admission)))
    }
}

impl Limiter for LocalFallback {
    fn admit<'a>(&'a self, admission: &'a Admission) -> LimiterFuture<'a, AdmitResult> {
        let answer = self.admit_scaled(admission);
        Box::pin(async move { answer })
    }

    fn admit_batch<'a>(
        &'a self,
        admissions: &'a [Admission],
    ) -> LimiterFuture<'a, Vec<AdmitResult>> {
        let answers = admissions.iter().map(|a| self.admit_scaled(a)).collect();
        Box::pin(async move { answers })
    }

    /// Settles a reservation this fallback made (it carries the scaled limits).
    fn settle<'a>(&'a self, r: &'a Reservation, s: &'a Settlement) -> LimiterFuture<'a, ()> {
        self.inner.finish_now(r, Some(s));
        Box::pin(async { Ok(()) })
    }

    fn release<'a>(&'a self, reservation: &'a Reservation) -> LimiterFuture<'a, ()> {
        self.inner.finish_now(reservation, None);
        Box::pin(async { Ok(()) })
    }

    fn set_spent<'a>(&'a self, _: &'a BudgetPeriod, _: u64) -> LimiterFuture<'a, ()> {
        Box::pin(async { Err(BUDGETS_UNAVAILABLE) })
    }

    fn spent<'a>(&'a self, _: &'a BudgetPeriod) -> LimiterFuture<'a, u64> {
        Box::pin(async { Err(BUDGETS_UNAVAILABLE) })
    }
}
