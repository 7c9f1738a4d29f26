//! `MemoryLimiter`: the one-replica limiter. No actor hop: the caller's thread locks one shard
//! (two when the admission has global buckets under another tag, taken in shard order) for the
//! microseconds the arithmetic takes.
//!
//! Everything of one `tag` lives in one shard, so an admission is atomic, all-or-nothing,
//! exactly as documented in [`crate::limiter`]; with global buckets both shards are held, so
//! here the global buckets (and per-model-group budgets) are atomic with the rest too. A global
//! budget's reservation is a second lease in the global tag's shard. Budgets keep only their newest period
//! per name: a settle for an older period records nothing here (the durable spend log has it).
//! Memory is bounded by the number of distinct names plus the leases alive.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::StorageError;
use crate::limiter::{
    Admission, AdmitResult, Admitted, BucketStatus, BucketTake, BudgetPeriod, BudgetTake,
    LimitKind, Limited, Limiter, LimiterFuture, MillisClock, Reservation, Settlement, TokenBucket,
};

const SHARDS: usize = 32;

/// In-process limiter; see the module docs.
pub struct MemoryLimiter {
    shards: Box<[Mutex<Shard>]>,
    hasher: std::collections::hash_map::RandomState,
    clock: MillisClock,
}

impl std::fmt::Debug for MemoryLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryLimiter")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Shard {
    buckets: HashMap<String, TokenBucket>,
    parallel: HashMap<String, u64>,
    budgets: HashMap<String, Budget>,
    leases: HashMap<String, Lease>,
    expiry: BinaryHeap<Reverse<(u64, String)>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Budget {
    period: u64,
    spent: u64,
    reserved: u64,
}

#[derive(Debug)]
struct Lease {
    expires_at: u64,
    parallel: Vec<String>,
    budgets: Vec<(String, u64, u64)>,
}

impl Shard {
    fn bucket(&mut self, take: &BucketTake, now: u64) -> &mut TokenBucket {
        let b = self
            .buckets
            .entry(take.name.clone())
            .or_insert_with(|| TokenBucket::full(take.capacity, now));
        b.refill(take.capacity, take.refill_per_minute, now);
        b
    }

    /// Spent and reserved of `name` as seen by `period` (a newer period starts empty).
    fn budget_view(&self, name: &str, period: u64) -> (u64, u64) {
        match self.budgets.get(name) {
            Some(b) if b.period >= period => (b.spent, b.reserved),
            _ => (0, 0),
        }
    }

    fn budget_mut(&mut self, name: &str, period: u64) -> &mut Budget {
        let b = self.budgets.entry(name.to_owned()).or_default();
        if period > b.period {
            *b = Budget {
                period,
                ..Budget::default()
            };
        }
        b
    }

    fn give_back(&mut self, lease: &Lease) {
        for name in &lease.parallel {
            if let Some(n) = self.parallel.get_mut(name) {
                *n = n.saturating_sub(1);
            }
        }
        for (name, period, amount) in &lease.budgets {
            if let Some(b) = self.budgets.get_mut(name)
                && b.period == *period
            {
                b.reserved = b.reserved.saturating_sub(*amount);
            }
        }
    }

    /// Return what expired leases hold.
    fn reclaim(&mut self, now: u64) {
        while let Some(Reverse((at, _))) = self.expiry.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, id))) = self.expiry.pop() else {
                break;
            };
            if self.leases.get(&id).is_some_and(|l| l.expires_at == at)
                && let Some(lease) = self.leases.remove(&id)
            {
                self.give_back(&lease);
            }
        }
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The id of the lease holding an admission's global budgets, in the global tag's shard
/// (which may be the main shard: the suffix keeps the two leases apart).
fn global_lease_id(request_id: &str) -> String {
    format!("{request_id}\u{0}global")
}

/// The first of `budgets` that cannot take its amount in `shard`.
fn check_budgets(shard: &Shard, budgets: &[BudgetTake]) -> Option<Limited> {
    budgets.iter().find_map(|b| {
        let (spent, reserved) = shard.budget_view(&b.period.name, b.period.period);
        let total = spent
            .saturating_add(reserved)
            .saturating_add(b.amount_micro_usd);
        (total > b.limit_micro_usd).then(|| limited(LimitKind::Budget, &b.period.name))
    })
}

/// Reserves `budgets` in `shard` under a lease `id` holding `parallel` slots too.
fn reserve(
    shard: &mut Shard,
    id: String,
    expires_at: u64,
    parallel: Vec<String>,
    budgets: &[BudgetTake],
) {
    let lease = Lease {
        expires_at,
        parallel,
        budgets: budgets
            .iter()
            .map(|b| (b.period.name.clone(), b.period.period, b.amount_micro_usd))
            .collect(),
    };
    for name in &lease.parallel {
        *shard.parallel.entry(name.clone()).or_default() += 1;
    }
    for b in budgets {
        let state = shard.budget_mut(&b.period.name, b.period.period);
        state.reserved = state.reserved.saturating_add(b.amount_micro_usd);
    }
    shard.expiry.push(Reverse((expires_at, id.clone())));
    if let Some(old) = shard.leases.insert(id, lease) {
        shard.give_back(&old);
    }
}

/// Ends lease `id` in `shard` and charges `cost` to `budgets` (their current period).
fn finish_lease(shard: &mut Shard, id: &str, budgets: &[BudgetTake], cost: u64) {
    if let Some(lease) = shard.leases.remove(id) {
        shard.give_back(&lease);
    }
    for b in budgets {
        let (name, period) = (&b.period.name, b.period.period);
        if shard.budgets.get(name).is_none_or(|s| s.period <= period) {
            let state = shard.budget_mut(name, period);
            state.spent = state.spent.saturating_add(cost);
        }
    }
}

/// Checks `buckets` against `shard`; the first refusal.
fn check_buckets(shard: &mut Shard, buckets: &[BucketTake], now: u64) -> Option<Limited> {
    buckets.iter().find_map(|t| {
        let b = shard.bucket(t, now);
        (!b.can_take(t.take)).then(|| Limited {
            kind: t.kind.into(),
            name: t.name.clone(),
            retry_after_ms: b.retry_after_ms(t.take, t.capacity, t.refill_per_minute),
        })
    })
}

fn take_buckets(shard: &mut Shard, buckets: &[BucketTake], now: u64, out: &mut Vec<BucketStatus>) {
    for t in buckets {
        let b = shard.bucket(t, now);
        b.take(t.take);
        out.push(BucketStatus {
            name: t.name.clone(),
            kind: t.kind,
            limit: t.capacity,
            remaining: b.remaining(),
            reset_ms: b.reset_ms(t.capacity, t.refill_per_minute),
        });
    }
}

impl MemoryLimiter {
    /// A limiter reading time (ms, monotonic) from `clock`.
    pub fn new(clock: MillisClock) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        Self {
            shards,
            hasher: std::collections::hash_map::RandomState::new(),
            clock,
        }
    }

    fn shard_of(&self, tag: &str) -> usize {
        usize::try_from(self.hasher.hash_one(tag)).unwrap_or(0) % self.shards.len()
    }

    /// Runs `f` with the shard of `tag` and, when `global` is given, the shard of that tag
    /// (`None` when it is the same shard). Locks are taken in shard order.
    fn with_shards<R>(
        &self,
        tag: &str,
        global: Option<&str>,
        f: impl FnOnce(&mut Shard, Option<&mut Shard>) -> R,
    ) -> R {
        let main = self.shard_of(tag);
        match global.map(|g| self.shard_of(g)).filter(|g| *g != main) {
            None => f(&mut lock(&self.shards[main]), None),
            Some(g) if g < main => {
                let mut gs = lock(&self.shards[g]);
                let mut ms = lock(&self.shards[main]);
                f(&mut ms, Some(&mut gs))
            }
            Some(g) => {
                let mut ms = lock(&self.shards[main]);
                let mut gs = lock(&self.shards[g]);
                f(&mut ms, Some(&mut gs))
            }
        }
    }

    /// The synchronous admission (no await: callers on the hot path may call it directly).
    pub fn admit_now(&self, a: &Admission) -> AdmitResult {
        let now = (self.clock)();
        let global = has_global(a).then_some(a.global_tag.as_str());
        self.with_shards(&a.tag, global, |main, mut gshard| {
            main.reclaim(now);
            if let Some(l) = check_buckets(main, &a.buckets, now) {
                return Err(l);
            }
            for cap in &a.parallel {
                if main.parallel.get(&cap.name).copied().unwrap_or(0) >= cap.max {
                    return Err(limited(LimitKind::Parallel, &cap.name));
                }
            }
            if let Some(l) = check_budgets(main, &a.budgets) {
                return Err(l);
            }
            let g = gshard.as_deref_mut().unwrap_or(&mut *main);
            g.reclaim(now);
            if let Some(l) = check_buckets(g, &a.global_buckets, now) {
                return Err(l);
            }
            if let Some(l) = check_budgets(g, &a.global_budgets) {
                return Err(l);
            }
            let mut statuses = Vec::with_capacity(a.buckets.len() + a.global_buckets.len());
            take_buckets(main, &a.buckets, now, &mut statuses);
            let expires_at = now.saturating_add(a.lease_ms);
            let parallel = a.parallel.iter().map(|c| c.name.clone()).collect();
            reserve(main, a.request_id.clone(), expires_at, parallel, &a.budgets);
            let g = gshard.unwrap_or(&mut *main);
            take_buckets(g, &a.global_buckets, now, &mut statuses);
            if !a.global_budgets.is_empty() {
                let id = global_lease_id(&a.request_id);
                reserve(g, id, expires_at, Vec::new(), &a.global_budgets);
            }
            Ok(Admitted {
                reservation: Reservation {
                    admission: a.clone(),
                },
                buckets: statuses,
            })
        })
    }

    /// Settle (`Some`) or release (`None`) synchronously.
    pub fn finish_now(&self, r: &Reservation, settlement: Option<&Settlement>) {
        let now = (self.clock)();
        let a = &r.admission;
        let global = has_global(a).then_some(a.global_tag.as_str());
        self.with_shards(&a.tag, global, |main, mut gshard| {
            for (is_global, t) in r.tpm_buckets() {
                let actual = settlement.map_or(0, |s| s.tokens_for(&t.name).unwrap_or(t.take));
                let shard = match gshard.as_deref_mut() {
                    Some(g) if is_global => g,
                    _ => &mut *main,
                };
                shard.bucket(t, now).settle(t.capacity, t.take, actual);
            }
            let cost = settlement.map_or(0, |s| s.cost_micro_usd);
            finish_lease(main, &a.request_id, &a.budgets, cost);
            if !a.global_budgets.is_empty() {
                let g = gshard.unwrap_or(&mut *main);
                finish_lease(g, &global_lease_id(&a.request_id), &a.global_budgets, cost);
            }
        });
    }

    fn set_spent_now(&self, p: &BudgetPeriod, micro_usd: u64) {
        self.with_shards(&p.tag, None, |main, _| {
            if main
                .budgets
                .get(&p.name)
                .is_none_or(|s| s.period <= p.period)
            {
                main.budget_mut(&p.name, p.period).spent = micro_usd;
            }
        });
    }

    fn spent_now(&self, p: &BudgetPeriod) -> u64 {
        self.with_shards(&p.tag, None, |main, _| match main.budgets.get(&p.name) {
            Some(b) if b.period == p.period => b.spent,
            _ => 0,
        })
    }
}

/// Whether `a` has anything under its global tag.
fn has_global(a: &Admission) -> bool {
    !(a.global_buckets.is_empty() && a.global_budgets.is_empty())
}

fn limited(kind: LimitKind, name: &str) -> Limited {
    Limited {
        kind,
        name: name.to_owned(),
        retry_after_ms: None,
    }
}

impl Limiter for MemoryLimiter {
    fn admit<'a>(&'a self, admission: &'a Admission) -> LimiterFuture<'a, AdmitResult> {
        let answer = self.admit_now(admission);
        Box::pin(async move { Ok(answer) })
    }

    fn admit_batch<'a>(
        &'a self,
        admissions: &'a [Admission],
    ) -> LimiterFuture<'a, Vec<AdmitResult>> {
        let answers = admissions.iter().map(|a| self.admit_now(a)).collect();
        Box::pin(async move { Ok(answers) })
    }

    fn settle<'a>(
        &'a self,
        reservation: &'a Reservation,
        settlement: &'a Settlement,
    ) -> LimiterFuture<'a, ()> {
        self.finish_now(reservation, Some(settlement));
        Box::pin(async { Ok(()) })
    }

    fn release<'a>(&'a self, reservation: &'a Reservation) -> LimiterFuture<'a, ()> {
        self.finish_now(reservation, None);
        Box::pin(async { Ok(()) })
    }

    fn set_spent<'a>(&'a self, budget: &'a BudgetPeriod, micro_usd: u64) -> LimiterFuture<'a, ()> {
        self.set_spent_now(budget, micro_usd);
        Box::pin(async { Ok(()) })
    }

    fn spent<'a>(&'a self, budget: &'a BudgetPeriod) -> LimiterFuture<'a, u64> {
        let spent = self.spent_now(budget);
        Box::pin(async move { Ok::<u64, StorageError>(spent) })
    }
}
