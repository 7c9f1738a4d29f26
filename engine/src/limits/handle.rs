//! [`LimiterHandle`]: what the request path sees of the limiter.
//!
//! - **Memory** (one replica, the embedded default): admissions are taken synchronously on the
//!   calling worker (`MemoryLimiter::admit_now`, a sharded mutex held for microseconds) — no
//!   actor hop, no await.
//! - **Redis** (across replicas): admissions go through the [`LimiterActor`], which coalesces
//!   what is pending into one pipeline; refusals are remembered locally (`denied`) so a key
//!   over its limit costs no round trip. When Redis fails or is slower than its timeout, the
//!   [`FailurePolicy`] applies for the next second before Redis is tried again: budgets fail
//!   closed by default (the request is refused: a budget that cannot be reserved is never
//!   admitted), rate limits fall back to a per-replica local bucket (limit ÷ replicas).
//!
//! Every [`Admit`] must be settled or released exactly once, on the limiter that admitted it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix::{Addr, ArbiterHandle};
use portcullis_storage::MemoryLimiter;
use portcullis_storage::limiter::{
    Admission, BucketStatus, BudgetPeriod, Limited, Limiter, LocalFallback, MillisClock,
    Reservation, Settlement,
};
use tokio::sync::oneshot;

use super::actor::{self, LimiterActor};
use super::denied::DeniedCache;

/// How long after a Redis failure admissions skip Redis and use the failure policy.
const DEGRADED_FOR_MS: u64 = 1_000;

/// What to do when the shared limiter cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePolicy {
    /// Admit requests under a budget without reserving it (off by default: fail closed).
    pub budgets_fail_open: bool,
    /// Enforce rate limits per replica (limit ÷ `replicas`) instead of refusing.
    pub rate_limits_local: bool,
    /// Replicas sharing the limits, for the local fallback's division.
    pub replicas: u64,
}

impl Default for FailurePolicy {
    fn default() -> Self {
        Self {
            budgets_fail_open: false,
            rate_limits_local: true,
            replicas: 1,
        }
    }
}

/// Where admissions are being decided right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimiterMode {
    Memory,
    Redis,
    /// Redis is failing: the failure policy is in force.
    Fallback,
}

impl LimiterMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LimiterMode::Memory => "memory",
            LimiterMode::Redis => "redis",
            LimiterMode::Fallback => "fallback",
        }
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitRefusal {
    /// A limit refused: 429 naming it.
    Limited(Limited),
    /// The shared limiter is unreachable and the policy refuses (budgets fail closed).
    Unavailable,
    /// The limiter's queue is full.
    Overloaded,
}

/// Which limiter holds a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Memory,
    Redis,
    Fallback,
}

/// An admitted request: settle or release it exactly once.
#[derive(Debug)]
pub struct Admit {
    reservation: Reservation,
    holder: Holder,
    /// Bucket states after admission, for `x-ratelimit-*` headers.
    pub buckets: Vec<BucketStatus>,
}

impl Admit {
    pub fn reservation(&self) -> &Reservation {
        &self.reservation
    }
}

/// How a request ended, for [`LimiterHandle::finish`].
#[derive(Debug, Clone)]
pub enum Settle {
    /// It used the provider: record what it really used.
    Used(Settlement),
    /// It failed before using anything: give everything back.
    Release,
}

#[derive(Debug)]
enum Backend {
    Memory(Arc<MemoryLimiter>),
    Shared {
        actor: Addr<LimiterActor>,
        limiter: Arc<dyn Limiter>,
        fallback: Arc<LocalFallback>,
        timeout: Duration,
    },
}

struct Inner {
    backend: Backend,
    denied: DeniedCache,
    policy: FailurePolicy,
    clock: MillisClock,
    /// Monotonic ms until which Redis is not asked (0 = healthy).
    degraded_until: AtomicU64,
    /// Times the shared limiter was found unreachable: after one, budget counters are
    /// reconciled again (Redis may have restarted empty).
    outages: AtomicU64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("backend", &self.backend)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The limiter, as workers see it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LimiterHandle {
    inner: Arc<Inner>,
}

impl LimiterHandle {
    /// One replica: everything in process memory.
    pub fn memory(clock: MillisClock) -> Self {
        let limiter = Arc::new(MemoryLimiter::new(clock.clone()));
        Self::with(Backend::Memory(limiter), FailurePolicy::default(), clock)
    }

    /// Shared limits on `limiter` (Redis), with the actor on `arbiter`. Must run inside an
    /// actix `System`, once.
    pub fn shared(
        limiter: Arc<dyn Limiter>,
        policy: FailurePolicy,
        timeout: Duration,
        clock: MillisClock,
        arbiter: &ArbiterHandle,
    ) -> Self {
        let for_actor = Arc::clone(&limiter);
        let actor =
            crate::actors::start_with_capacity(arbiter, actor::MAILBOX_CAPACITY, move || {
                LimiterActor::new(for_actor)
            });
        let fallback = Arc::new(LocalFallback::new(policy.replicas.max(1), clock.clone()));
        let backend = Backend::Shared {
            actor,
            limiter,
            fallback,
            timeout,
        };
        Self::with(backend, policy, clock)
    }

    fn with(backend: Backend, policy: FailurePolicy, clock: MillisClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                denied: DeniedCache::default(),
                policy,
                clock,
                degraded_until: AtomicU64::new(0),
                outages: AtomicU64::new(0),
            }),
        }
    }

    /// Where admissions are decided right now.
    pub fn mode(&self) -> LimiterMode {
        match &self.inner.backend {
            Backend::Memory(_) => LimiterMode::Memory,
            Backend::Shared { .. } if self.degraded() => LimiterMode::Fallback,
            Backend::Shared { .. } => LimiterMode::Redis,
        }
    }

    fn now(&self) -> u64 {
        (self.inner.clock)()
    }

    fn degraded(&self) -> bool {
        self.inner.degraded_until.load(Ordering::Relaxed) > self.now()
    }

    /// Checks and takes everything `admission` names.
    pub async fn admit(&self, admission: Admission) -> Result<Admit, LimitRefusal> {
        let inner = &*self.inner;
        let (actor, fallback, timeout) = match &inner.backend {
            Backend::Memory(memory) => {
                return match memory.admit_now(&admission) {
                    Ok(admitted) => Ok(Admit {
                        reservation: admitted.reservation,
                        holder: Holder::Memory,
                        buckets: admitted.buckets,
                    }),
                    Err(limited) => Err(LimitRefusal::Limited(limited)),
                };
            }
            Backend::Shared {
                actor,
                fallback,
                timeout,
                ..
            } => (actor, fallback, *timeout),
        };
        let now = self.now();
        if let Some(limited) = inner.denied.check(&admission, now) {
            return Err(LimitRefusal::Limited(limited));
        }
        if !self.degraded() {
            let (reply, answer) = oneshot::channel();
            let queued = actor.try_send(actor::Admit {
                admission: admission.clone(),
                reply,
            });
            if queued.is_err() {
                return Err(LimitRefusal::Overloaded);
            }
            match tokio::time::timeout(timeout, answer).await {
                Ok(Ok(Ok(Ok(admitted)))) => {
                    return Ok(Admit {
                        reservation: admitted.reservation,
                        holder: Holder::Redis,
                        buckets: admitted.buckets,
                    });
                }
                Ok(Ok(Ok(Err(limited)))) => {
                    inner.denied.record(&limited, self.now());
                    return Err(LimitRefusal::Limited(limited));
                }
                failed => {
                    let why = match failed {
                        Err(_) => "timed out".to_owned(),
                        Ok(Err(_)) => "actor stopped".to_owned(),
                        Ok(Ok(Err(e))) => e.to_string(),
                        Ok(Ok(Ok(_))) => String::new(),
                    };
                    tracing::warn!("shared limiter unavailable, failure policy applies: {why}");
                    inner.outages.fetch_add(1, Ordering::Relaxed);
                    inner
                        .degraded_until
                        .store(self.now() + DEGRADED_FOR_MS, Ordering::Relaxed);
                }
            }
        }
        self.admit_degraded(admission, fallback).await
    }

    /// The failure policy: budgets closed (or open), rate limits local (or refused).
    async fn admit_degraded(
        &self,
        mut admission: Admission,
        fallback: &LocalFallback,
    ) -> Result<Admit, LimitRefusal> {
        let policy = self.inner.policy;
        if admission.has_budgets() {
            if !policy.budgets_fail_open {
                return Err(LimitRefusal::Unavailable);
            }
            admission.budgets.clear();
            admission.global_budgets.clear();
        }
        if !policy.rate_limits_local {
            return Err(LimitRefusal::Unavailable);
        }
        match fallback.admit(&admission).await {
            Ok(Ok(admitted)) => Ok(Admit {
                reservation: admitted.reservation,
                holder: Holder::Fallback,
                buckets: admitted.buckets,
            }),
            Ok(Err(limited)) => Err(LimitRefusal::Limited(limited)),
            Err(_) => Err(LimitRefusal::Unavailable),
        }
    }

    /// Settles or releases `admit` on the limiter that admitted it. Never blocks.
    pub fn finish(&self, admit: &Admit, how: Settle) {
        let settlement = match how {
            Settle::Used(s) => Some(s),
            Settle::Release => None,
        };
        match (&self.inner.backend, admit.holder) {
            (Backend::Memory(memory), _) => {
                memory.finish_now(&admit.reservation, settlement.as_ref())
            }
            (Backend::Shared { actor, .. }, Holder::Redis) => {
                let finish = actor::Finish {
                    reservation: admit.reservation.clone(),
                    settlement,
                };
                if actor.try_send(finish).is_err() {
                    // The lease returns what was reserved; the spend log keeps the cost.
                    tracing::warn!("limiter mailbox full: settlement left to the lease");
                }
            }
            (Backend::Shared { fallback, .. }, _) => {
                let fallback = Arc::clone(fallback);
                let reservation = admit.reservation.clone();
                // The local fallback answers at once; its future never waits.
                let done = async move {
                    let _ = match settlement {
                        Some(s) => fallback.settle(&reservation, &s).await,
                        None => fallback.release(&reservation).await,
                    };
                };
                futures_util::FutureExt::now_or_never(done);
            }
        }
    }

    /// How many times the shared limiter was found unreachable so far (0 in memory).
    pub fn outages(&self) -> u64 {
        self.inner.outages.load(Ordering::Relaxed)
    }

    /// Raises a budget's recorded spend to `durable` (from the spend log) if the limiter
    /// knows less — after a restart (memory) or a Redis restart or flush. Never lowers it.
    /// Whether the limiter's counter now holds at least `durable`.
    pub async fn reconcile(&self, period: &BudgetPeriod, durable_micro_usd: u64) -> bool {
        let limiter: &dyn Limiter = match &self.inner.backend {
            Backend::Memory(memory) => &**memory,
            Backend::Shared { limiter, .. } => &**limiter,
        };
        match limiter.spent(period).await {
            Ok(known) if known < durable_micro_usd => {
                match limiter.set_spent(period, durable_micro_usd).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!("could not reconcile budget spend: {e}");
                        false
                    }
                }
            }
            Ok(_) => true,
            Err(e) => {
                tracing::warn!("could not read budget spend: {e}");
                false
            }
        }
    }

    /// Forgets local refusals of a key or team (it changed).
    pub fn forget(&self, prefix: &str) {
        self.inner.denied.forget_prefix(prefix);
    }
}

#[cfg(test)]
mod tests;
