//! The `Limiter` role: token-bucket rate limits, parallel-request caps and budgets, checked and
//! taken all-or-nothing in one step per request, then settled or released.
//!
//! Storage knows nothing of keys, teams or models: the caller (the engine's limits layer) turns
//! a request into an [`Admission`] of named buckets (`"k:<key>:rpm"`, `"t:<team>:tpm"`, …),
//! caps and budget reservations, and gets back a [`Reservation`] or a [`Limited`] naming the
//! first limit that refused.
//!
//! # Guarantees (every backend)
//! - **All-or-nothing.** Either every bucket, cap and budget of an admission is taken, or none.
//!   Buckets of one admission's `tag` are atomic together; `global_buckets` are taken in a
//!   separate step and given back if the rest is refused (see `redis` for the cluster reason).
//! - **Token buckets.** A bucket of `capacity` C refilling R tokens a minute, continuous,
//!   integer-exact (a token is 60 000 units, so R units refill per millisecond). In any window
//!   of `t` ms a bucket admits at most `C + ⌊R·t / 60 000⌋` tokens.
//! - **Budgets, reserve then settle.** Admission succeeds only if
//!   `spent + reserved + amount ≤ limit`. So recorded spend, over any concurrency and any number
//!   of replicas sharing one backend, is bounded by
//!   `spent ≤ limit + Σ_i max(0, actual_i − reserved_i) + Σ_j actual_j`, where i runs over
//!   settled requests and j over requests still running when their lease expired: zero
//!   overshoot whenever each reservation is the request's true worst case (known `max_tokens`
//!   and price) and the lease outlives the request.
//! - **Leases.** A reservation not settled or released within `lease_ms` expires: its parallel
//!   slots and reserved budget return (checked lazily at the next admission touching them). Its
//!   RPM/TPM tokens stay taken. `lease_ms` must exceed the longest request (total timeout), or a
//!   live request's reservation may be reclaimed early (its settle still records the cost).
//! - **Settle/release exactly once.** `settle` adds the actual cost even if the lease had
//!   expired (spend is never lost), so a second settle of the same reservation would count twice.
//! - An admission that fails with a timeout may still have been taken by the backend; its
//!   lease returns its slots and budget after `lease_ms` (its tokens stay taken). Resending the
//!   same `request_id` replaces, never doubles, its budget reservation.
//! - A backend failure is `Err(StorageError)`, never a panic and never a silent admit: the
//!   caller applies its failure policy (budgets fail closed; rate limits may switch to
//!   [`LocalFallback`]).

mod admission;
mod bucket;
mod clock;
mod fallback;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use crate::error::StorageError;

pub use admission::{
    Admission, Admitted, BucketKind, BucketStatus, BucketTake, BucketUsage, BudgetPeriod,
    BudgetTake, LimitKind, Limited, ParallelCap, Reservation, Settlement,
};
pub use bucket::{TOKEN_UNITS, TokenBucket};
pub use clock::{MillisClock, monotonic_clock};
pub use fallback::LocalFallback;

/// A boxed future, so limiters can be held as `Arc<dyn Limiter>`.
pub type LimiterFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'a>>;

/// The answer to one admission: admitted with a reservation, or refused naming the limit.
pub type AdmitResult = Result<Admitted, Limited>;

/// Where rate limits and budgets are enforced.
pub trait Limiter: Send + Sync + Debug {
    /// Check and take, all-or-nothing, everything `admission` names.
    fn admit<'a>(&'a self, admission: &'a Admission) -> LimiterFuture<'a, AdmitResult>;

    /// Many admissions in one backend round trip where the backend allows (one Redis pipeline).
    /// Each answer is independent; the order of the answers is the order of `admissions`.
    /// A backend error fails the whole batch (any admission it had taken returns with its
    /// lease, as for a single timed-out admission).
    fn admit_batch<'a>(
        &'a self,
        admissions: &'a [Admission],
    ) -> LimiterFuture<'a, Vec<AdmitResult>>;

    /// The request finished: TPM buckets move by (actual − estimate) and may go into debt;
    /// reserved budget is released and the actual cost added to spend; parallel slots return.
    fn settle<'a>(
        &'a self,
        reservation: &'a Reservation,
        settlement: &'a Settlement,
    ) -> LimiterFuture<'a, ()>;

    /// The request failed before using anything upstream: reserved budget, parallel slots and
    /// the TPM estimate return. The RPM token stays spent (the attempt counts as a request).
    fn release<'a>(&'a self, reservation: &'a Reservation) -> LimiterFuture<'a, ()>;

    /// Set the recorded spend of one budget period to `micro_usd` (reservations are kept).
    /// The gateway calls it from the durable spend log after a restart or a Redis flush.
    fn set_spent<'a>(&'a self, budget: &'a BudgetPeriod, micro_usd: u64) -> LimiterFuture<'a, ()>;

    /// The recorded spend (without reservations) of one budget period.
    fn spent<'a>(&'a self, budget: &'a BudgetPeriod) -> LimiterFuture<'a, u64>;
}
