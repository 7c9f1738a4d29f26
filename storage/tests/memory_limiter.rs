//! MemoryLimiter and LocalFallback behaviour, with a manual clock (no sleeps).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use futures_util::FutureExt;
use portcullis_storage::limiter::{LimitKind, Limiter, LocalFallback, Settlement};
use portcullis_storage::{MemoryLimiter, StorageError};

fn limiter() -> (Arc<MemoryLimiter>, ManualClock) {
    let clock = ManualClock::default();
    (Arc::new(MemoryLimiter::new(clock.clock())), clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpm_10_admits_exactly_10_of_100_concurrent_requests() {
    let (lim, _clock) = limiter();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let lim = lim.clone();
            tokio::spawn(async move {
                let mut a = admission("t:a", i);
                a.buckets.push(rpm("k:a:rpm", 10));
                lim.admit(&a).await.unwrap().is_ok()
            })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        admitted += usize::from(t.await.unwrap());
    }
    assert_eq!(admitted, 10);
}

#[test]
fn refill_behaves_as_a_token_bucket() {
    let (lim, clock) = limiter();
    let take = |i: u64| {
        let mut a = admission("t:a", i);
        a.buckets.push(rpm("k:a:rpm", 10));
        lim.admit_now(&a)
    };
    for i in 0..10 {
        assert!(take(i).is_ok());
    }
    let refused = take(10).unwrap_err();
    assert_eq!(refused.kind, LimitKind::Rpm);
    assert_eq!(refused.name, "k:a:rpm");
    assert_eq!(refused.retry_after_ms, Some(6_000));
    clock.advance(5_999);
    assert_eq!(take(11).unwrap_err().retry_after_ms, Some(1));
    clock.advance(1);
    let ok = take(12).unwrap();
    assert_eq!(ok.buckets[0].remaining, 0);
    assert_eq!(ok.buckets[0].reset_ms, 60_000);
    // A long idle refills to capacity, never beyond.
    clock.advance(10 * 60_000);
    let admitted = (20..40).filter(|i| take(*i).is_ok()).count();
    assert_eq!(admitted, 10);
}

#[test]
fn refusal_takes_nothing_from_the_other_buckets() {
    let (lim, _clock) = limiter();
    let mut a = admission("t:a", 1);
    a.buckets.push(rpm("k:a:rpm", 5));
    a.budgets.push(budget("t:a", "k:a:budget", 100, 200));
    assert_eq!(lim.admit_now(&a).unwrap_err().kind, LimitKind::Budget);
    let mut b = admission("t:a", 2);
    b.buckets.push(rpm("k:a:rpm", 5));
    assert_eq!(lim.admit_now(&b).unwrap().buckets[0].remaining, 4);
}

#[test]
fn global_bucket_refusal_takes_nothing_locally() {
    let (lim, _clock) = limiter();
    let mk = |i: u64, team: &str| {
        let mut a = admission(team, i);
        a.buckets.push(rpm(&format!("{team}:rpm"), 5));
        a.global_tag = "m:gpt".into();
        a.global_buckets.push(rpm("m:gpt:rpm", 1));
        a
    };
    assert!(lim.admit_now(&mk(1, "t:a")).is_ok());
    let refused = lim.admit_now(&mk(2, "t:b")).unwrap_err();
    assert_eq!(
        (refused.kind, refused.name.as_str()),
        (LimitKind::Rpm, "m:gpt:rpm")
    );
    let mut only_local = admission("t:b", 3);
    only_local.buckets.push(rpm("t:b:rpm", 5));
    assert_eq!(lim.admit_now(&only_local).unwrap().buckets[0].remaining, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_of_10_cents_admits_at_most_two_5_cent_reservations_of_200() {
    let (lim, _clock) = limiter();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let lim = lim.clone();
            tokio::spawn(async move {
                let mut a = admission("t:a", i);
                a.budgets.push(budget("t:a", "t:a:budget", 100_000, 50_000));
                lim.admit(&a).await.unwrap().is_ok()
            })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        admitted += usize::from(t.await.unwrap());
    }
    assert_eq!(admitted, 2);
}

#[tokio::test]
async fn settle_records_actual_cost_lower_or_higher_than_reserved() {
    let (lim, _clock) = limiter();
    let mk = |i: u64, amount: u64| {
        let mut a = admission("t:a", i);
        a.budgets.push(budget("t:a", "t:a:budget", 100_000, amount));
        a
    };
    let r1 = lim.admit_now(&mk(1, 50_000)).unwrap().reservation;
    lim.settle(&r1, &Settlement::uniform(&r1, 0, 10_000))
        .await
        .unwrap();
    assert_eq!(
        lim.spent(&period("t:a", "t:a:budget")).await.unwrap(),
        10_000
    );
    // 10k spent: a 90k worst case fits, 90_001 does not.
    assert!(lim.admit_now(&mk(2, 90_001)).is_err());
    let r2 = lim.admit_now(&mk(3, 90_000)).unwrap().reservation;
    lim.settle(&r2, &Settlement::uniform(&r2, 0, 95_000))
        .await
        .unwrap();
    assert_eq!(
        lim.spent(&period("t:a", "t:a:budget")).await.unwrap(),
        105_000
    );
    assert_eq!(
        lim.admit_now(&mk(4, 1)).unwrap_err().kind,
        LimitKind::Budget
    );
}

#[tokio::test]
async fn release_returns_reservation_and_parallel_slot_without_phantom_limit() {
    let (lim, _clock) = limiter();
    let mk = |i: u64| {
        let mut a = admission("t:a", i);
        a.buckets.push(rpm("k:a:rpm", 100));
        a.buckets.push(tpm("k:a:tpm", 1_000, 600));
        a.parallel.push(cap("k:a:parallel", 1));
        a.budgets.push(budget("t:a", "k:a:budget", 50_000, 50_000));
        a
    };
    let r = lim.admit_now(&mk(1)).unwrap().reservation;
    let refused = lim.admit_now(&mk(2)).unwrap_err();
    assert_eq!(refused.kind, LimitKind::Tpm);
    lim.release(&r).await.unwrap();
    let again = lim.admit_now(&mk(3)).unwrap();
    // The RPM token of the released request stays spent; the TPM estimate came back.
    assert_eq!(again.buckets[0].remaining, 98);
    assert_eq!(again.buckets[1].remaining, 400);
    assert_eq!(lim.spent(&period("t:a", "k:a:budget")).await.unwrap(), 0);
}

#[tokio::test]
async fn settle_moves_tpm_by_actual_minus_estimate_into_debt() {
    let (lim, clock) = limiter();
    let mk = |i: u64, take: u64| {
        let mut a = admission("t:a", i);
        a.buckets.push(tpm("k:a:tpm", 1_000, take));
        a
    };
    let r = lim.admit_now(&mk(1, 100)).unwrap().reservation;
    lim.settle(&r, &Settlement::uniform(&r, 1_500, 0))
        .await
        .unwrap();
    let refused = lim.admit_now(&mk(2, 1)).unwrap_err();
    assert_eq!(refused.retry_after_ms, Some(501 * 60));
    clock.advance(501 * 60);
    assert!(lim.admit_now(&mk(3, 1)).is_ok());
}

#[test]
fn expired_lease_is_reclaimed() {
    let (lim, clock) = limiter();
    let mk = |i: u64| {
        let mut a = admission("t:a", i);
        a.lease_ms = 1_000;
        a.parallel.push(cap("k:a:parallel", 1));
        a.budgets.push(budget("t:a", "k:a:budget", 10, 10));
        a
    };
    let _crashed = lim.admit_now(&mk(1)).unwrap();
    clock.advance(999);
    assert_eq!(lim.admit_now(&mk(2)).unwrap_err().kind, LimitKind::Parallel);
    clock.advance(1);
    assert!(lim.admit_now(&mk(3)).is_ok());
}

#[tokio::test]
async fn set_spent_reseeds_and_a_new_period_starts_from_zero() {
    let (lim, _clock) = limiter();
    let p = period("t:a", "t:a:budget");
    lim.set_spent(&p, 90_000).await.unwrap();
    let mut a = admission("t:a", 1);
    a.budgets.push(budget("t:a", "t:a:budget", 100_000, 20_000));
    assert_eq!(lim.admit_now(&a).unwrap_err().kind, LimitKind::Budget);
    a.budgets[0].period.period = 2;
    assert!(lim.admit_now(&a).is_ok());
}

#[tokio::test]
async fn local_fallback_divides_limits_by_replica_count_and_fails_budgets_closed() {
    let clock = ManualClock::default();
    let fallback = LocalFallback::new(3, clock.clock());
    let mk = |i: u64| {
        let mut a = admission("t:a", i);
        a.buckets.push(rpm("k:a:rpm", 30));
        a
    };
    let mut admitted = 0;
    for i in 0..30 {
        admitted += usize::from(fallback.admit(&mk(i)).await.unwrap().is_ok());
    }
    assert_eq!(admitted, 10);
    // 30/min ÷ 3 = 10/min: one token every 6 s.
    clock.advance(6_000);
    assert!(fallback.admit(&mk(100)).await.unwrap().is_ok());
    assert!(fallback.admit(&mk(101)).await.unwrap().is_err());
    let mut with_budget = mk(102);
    with_budget
        .budgets
        .push(budget("t:a", "t:a:budget", 100, 1));
    assert!(matches!(
        fallback.admit(&with_budget).await,
        Err(StorageError::Unavailable(_))
    ));
}

#[test]
fn a_model_budget_is_shared_by_every_team_and_settles_what_was_spent() {
    let (lim, clock) = limiter();
    let model = "m:gpt";
    let mk = |i: u64, team: &str, lease_ms: u64| {
        let mut a = admission(team, i);
        a.lease_ms = lease_ms;
        a.budgets
            .push(budget(team, &format!("{team}:budget"), 1_000_000, 50_000));
        a.global_tag = model.into();
        a.global_budgets
            .push(budget(model, "m:gpt:budget", 100_000, 50_000));
        a
    };
    let a = lim.admit_now(&mk(1, "t:a", 60_000)).unwrap();
    let b = lim.admit_now(&mk(2, "t:b", 60_000)).unwrap();
    let refused = lim.admit_now(&mk(3, "t:c", 60_000)).unwrap_err();
    assert_eq!(
        (refused.kind, refused.name.as_str()),
        (LimitKind::Budget, "m:gpt:budget")
    );
    // The refusal took nothing from team c's own budget.
    let mut own = admission("t:c", 4);
    own.budgets
        .push(budget("t:c", "t:c:budget", 50_000, 50_000));
    let own = lim.admit_now(&own).unwrap();
    lim.finish_now(&own.reservation, None);
    // Settling charges the model's period what was spent and frees the rest of the hold.
    let r = &a.reservation;
    lim.finish_now(r, Some(&Settlement::uniform(r, 0, 10_000)));
    lim.finish_now(&b.reservation, None);
    let p = period(model, "m:gpt:budget");
    assert_eq!(lim.spent(&p).now_or_never().unwrap().unwrap(), 10_000);
    assert!(lim.admit_now(&mk(5, "t:c", 60_000)).is_ok());
    // 10 000 spent + 50 000 held: one more 50 000 does not fit until that lease expires.
    assert!(lim.admit_now(&mk(6, "t:d", 60_000)).is_err());
    clock.advance(60_001);
    assert!(lim.admit_now(&mk(7, "t:d", 60_000)).is_ok());
}
