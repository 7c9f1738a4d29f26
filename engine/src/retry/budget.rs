//! A retry budget, as tower's: retries may be at most `ratio` of the requests seen over the
//! last `window`, plus a floor of `min_per_sec` retries per second so a quiet gateway can
//! still retry. When an outage makes every request fail, retries stay a bounded fraction of
//! traffic instead of multiplying it by the attempt limit.
//!
//! Kept in shared atomics (a ring of time buckets), so every worker draws from one budget
//! without a lock or a message. A check and its withdrawal are two steps, so concurrent
//! retries can overshoot the budget by at most the number of workers racing at that instant.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::nanos;

/// Retry budget settings of one provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudgetSpec {
    /// Retries allowed per request seen (0.2 = one retry per five requests).
    pub ratio: f64,
    /// Retries per second allowed whatever the traffic.
    pub min_per_sec: u32,
    /// How far back requests and retries count.
    pub window: Duration,
}

impl Default for RetryBudgetSpec {
    fn default() -> Self {
        Self {
            ratio: 0.2,
            min_per_sec: 10,
            window: Duration::from_secs(10),
        }
    }
}

const BUCKETS: usize = 10;

#[derive(Debug, Default)]
struct Bucket {
    epoch: AtomicU64,
    deposits: AtomicU64,
    withdrawals: AtomicU64,
}

/// One provider's budget, shared by every worker.
#[derive(Debug)]
pub struct RetryBudget {
    spec: RetryBudgetSpec,
    bucket_nanos: u64,
    buckets: [Bucket; BUCKETS],
}

impl RetryBudget {
    pub fn new(spec: RetryBudgetSpec) -> Self {
        Self {
            spec,
            bucket_nanos: (nanos(spec.window) / BUCKETS as u64).max(1),
            buckets: Default::default(),
        }
    }

    /// Counts one request (a first attempt).
    pub fn deposit(&self, now: u64) {
        self.bucket(now).deposits.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes one retry from the budget; `false` when it is spent.
    pub fn withdraw(&self, now: u64) -> bool {
        let (deposits, withdrawals) = self.sums(now);
        let window_secs = self.spec.window.as_secs_f64();
        let allowed =
            f64::from(self.spec.min_per_sec) * window_secs + self.spec.ratio * deposits as f64;
        if withdrawals as f64 >= allowed.floor() {
            return false;
        }
        self.bucket(now).withdrawals.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The bucket for `now`, emptied first if it still holds an older period.
    fn bucket(&self, now: u64) -> &Bucket {
        let epoch = now / self.bucket_nanos + 1;
        let bucket = &self.buckets[(epoch % BUCKETS as u64) as usize];
        let old = bucket.epoch.load(Ordering::Acquire);
        if old != epoch
            && bucket
                .epoch
                .compare_exchange(old, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            bucket.deposits.store(0, Ordering::Relaxed);
            bucket.withdrawals.store(0, Ordering::Relaxed);
        }
        bucket
    }

    fn sums(&self, now: u64) -> (u64, u64) {
        let epoch = now / self.bucket_nanos + 1;
        self.buckets
            .iter()
            .filter(|b| {
                let e = b.epoch.load(Ordering::Acquire);
                e != 0 && e + BUCKETS as u64 > epoch
            })
            .fold((0, 0), |(d, w), b| {
                (
                    d + b.deposits.load(Ordering::Relaxed),
                    w + b.withdrawals.load(Ordering::Relaxed),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};

    fn budget(ratio: f64, min_per_sec: u32) -> RetryBudget {
        RetryBudget::new(RetryBudgetSpec {
            ratio,
            min_per_sec,
            window: Duration::from_secs(10),
        })
    }

    #[test]
    fn allows_a_fraction_of_requests_as_retries() {
        let clock = ManualClock::new();
        let b = budget(0.2, 0);
        for _ in 0..50 {
            b.deposit(clock.now());
        }
        let granted = (0..50).filter(|_| b.withdraw(clock.now())).count();
        assert_eq!(granted, 10);
    }

    #[test]
    fn the_floor_allows_retries_without_traffic() {
        let clock = ManualClock::new();
        let b = budget(0.0, 1);
        let granted = (0..50).filter(|_| b.withdraw(clock.now())).count();
        assert_eq!(granted, 10, "one per second over a ten-second window");
    }

    #[test]
    fn spent_budget_recovers_as_the_window_moves_on() {
        let clock = ManualClock::new();
        let b = budget(0.5, 0);
        for _ in 0..4 {
            b.deposit(clock.now());
        }
        assert!(b.withdraw(clock.now()));
        assert!(b.withdraw(clock.now()));
        assert!(!b.withdraw(clock.now()));
        clock.advance(Duration::from_secs(11));
        // The old requests and retries left the window together.
        assert!(!b.withdraw(clock.now()));
        b.deposit(clock.now());
        b.deposit(clock.now());
        assert!(b.withdraw(clock.now()));
        assert!(!b.withdraw(clock.now()));
    }
}
