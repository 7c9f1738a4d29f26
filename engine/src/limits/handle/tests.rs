use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use actix::Arbiter;
use portcullis_storage::StorageError;
use portcullis_storage::limiter::{
    AdmitResult, BucketKind, BucketTake, BudgetTake, LimiterFuture, ParallelCap, monotonic_clock,
};

use super::*;

fn rpm(name: &str, n: u64) -> Admission {
    Admission {
        request_id: format!("r-{}", fastrand::u64(..)),
        tag: "k:a".into(),
        buckets: vec![BucketTake {
            name: name.into(),
            kind: BucketKind::Rpm,
            capacity: n,
            refill_per_minute: n,
            take: 1,
        }],
        lease_ms: 60_000,
        ..Admission::default()
    }
}

fn with_budget(mut a: Admission) -> Admission {
    a.budgets.push(BudgetTake {
        period: BudgetPeriod {
            tag: "k:a".into(),
            name: "k:a:budget".into(),
            period: 1,
            period_end_ms: u64::MAX,
        },
        limit_micro_usd: 1_000,
        amount_micro_usd: 10,
    });
    a
}

#[actix::test]
async fn memory_admits_up_to_the_limit_and_a_release_gives_the_slot_back() {
    let limiter = LimiterHandle::memory(monotonic_clock());
    assert_eq!(limiter.mode(), LimiterMode::Memory);
    let mut admitted = Vec::new();
    for _ in 0..3 {
        admitted.push(limiter.admit(rpm("k:a:rpm", 3)).await.unwrap());
    }
    match limiter.admit(rpm("k:a:rpm", 3)).await {
        Err(LimitRefusal::Limited(l)) => assert_eq!(l.name, "k:a:rpm"),
        other => panic!("{other:?}"),
    }
    for a in &admitted {
        limiter.finish(a, Settle::Release);
    }
}

/// A shared limiter that is down (or slow) on demand, and counts its batches.
#[derive(Debug, Default)]
struct Flaky {
    down: AtomicBool,
    batches: Mutex<Vec<usize>>,
    inner: Option<Arc<MemoryLimiter>>,
}

impl Limiter for Flaky {
    fn admit<'a>(&'a self, a: &'a Admission) -> LimiterFuture<'a, AdmitResult> {
        Box::pin(async move {
            let mut all = self.admit_batch(std::slice::from_ref(a)).await?;
            all.pop().ok_or(StorageError::Unavailable("empty"))
        })
    }

    fn admit_batch<'a>(&'a self, all: &'a [Admission]) -> LimiterFuture<'a, Vec<AdmitResult>> {
        Box::pin(async move {
            self.batches.lock().unwrap().push(all.len());
            // Every round trip takes a little while, so admissions pile up behind it.
            tokio::time::sleep(Duration::from_millis(20)).await;
            if self.down.load(Ordering::SeqCst) {
                return Err(StorageError::Unavailable("redis down"));
            }
            let memory = self.inner.as_ref().unwrap();
            Ok(all.iter().map(|a| memory.admit_now(a)).collect())
        })
    }

    fn settle<'a>(&'a self, r: &'a Reservation, s: &'a Settlement) -> LimiterFuture<'a, ()> {
        self.inner.as_ref().unwrap().finish_now(r, Some(s));
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(&'a self, r: &'a Reservation) -> LimiterFuture<'a, ()> {
        self.inner.as_ref().unwrap().finish_now(r, None);
        Box::pin(std::future::ready(Ok(())))
    }

    fn set_spent<'a>(&'a self, _: &'a BudgetPeriod, _: u64) -> LimiterFuture<'a, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn spent<'a>(&'a self, _: &'a BudgetPeriod) -> LimiterFuture<'a, u64> {
        Box::pin(std::future::ready(Ok(0)))
    }
}

fn shared(flaky: Arc<Flaky>, policy: FailurePolicy) -> (LimiterHandle, Arbiter) {
    let arbiter = Arbiter::new();
    let handle = LimiterHandle::shared(
        flaky,
        policy,
        Duration::from_secs(2),
        monotonic_clock(),
        &arbiter.handle(),
    );
    (handle, arbiter)
}

fn flaky() -> Arc<Flaky> {
    Arc::new(Flaky {
        inner: Some(Arc::new(MemoryLimiter::new(monotonic_clock()))),
        ..Flaky::default()
    })
}

#[actix::test]
async fn admissions_arriving_during_a_round_trip_share_the_next_pipeline() {
    let backend = flaky();
    let (limiter, _arbiter) = shared(Arc::clone(&backend), FailurePolicy::default());
    let admits = (0..20).map(|i| limiter.admit(rpm(&format!("k:a:{i}:rpm"), 5)));
    let results = futures_util::future::join_all(admits).await;
    let failed: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let batches = backend.batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 20);
    assert!(batches.len() < 20, "no coalescing: {batches:?}");
    assert_eq!(limiter.mode(), LimiterMode::Redis);
}

/// Regression: an admission whose caller stopped waiting (its own timeout, a client that
/// left, a cancelled handler) was admitted all the same and held its parallel slot and budget
/// until the lease ran out (15 minutes by default): a phantom 429.
#[actix::test]
async fn an_admission_whose_caller_gave_up_is_released_not_left_to_the_lease() {
    let backend = flaky();
    let (limiter, _arbiter) = shared(Arc::clone(&backend), FailurePolicy::default());
    let one_at_a_time = || Admission {
        request_id: format!("r-{}", fastrand::u64(..)),
        tag: "k:a".into(),
        parallel: vec![ParallelCap {
            name: "k:a:parallel".into(),
            max: 1,
        }],
        lease_ms: 60_000,
        ..Admission::default()
    };
    // The round trip takes 20 ms; the caller waits 2 ms.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(2),
        limiter.admit(with_budget(one_at_a_time())),
    )
    .await;
    assert!(gave_up.is_err());
    // Once that round trip has answered, the orphan is released: the slot is free.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = limiter
        .admit(with_budget(one_at_a_time()))
        .await
        .expect("the slot was given back");
    limiter.finish(&again, Settle::Release);
}

#[actix::test]
async fn a_refusal_is_remembered_so_the_next_one_costs_no_round_trip() {
    let backend = flaky();
    let (limiter, _arbiter) = shared(Arc::clone(&backend), FailurePolicy::default());
    limiter.admit(rpm("k:a:rpm", 1)).await.unwrap();
    assert!(limiter.admit(rpm("k:a:rpm", 1)).await.is_err());
    let calls = backend.batches.lock().unwrap().len();
    assert!(matches!(
        limiter.admit(rpm("k:a:rpm", 1)).await,
        Err(LimitRefusal::Limited(_))
    ));
    assert_eq!(backend.batches.lock().unwrap().len(), calls);
}

#[actix::test]
async fn redis_down_refuses_budgets_and_enforces_rate_limits_locally() {
    let backend = flaky();
    backend.down.store(true, Ordering::SeqCst);
    let policy = FailurePolicy {
        replicas: 2,
        ..FailurePolicy::default()
    };
    let (limiter, _arbiter) = shared(Arc::clone(&backend), policy);
    assert_eq!(
        limiter
            .admit(with_budget(rpm("k:b:rpm", 100)))
            .await
            .unwrap_err(),
        LimitRefusal::Unavailable
    );
    assert_eq!(limiter.mode(), LimiterMode::Fallback);
    // Rate limits fall back to limit ÷ replicas: 4 ÷ 2 = 2 per replica.
    assert!(limiter.admit(rpm("k:c:rpm", 4)).await.is_ok());
    assert!(limiter.admit(rpm("k:c:rpm", 4)).await.is_ok());
    assert!(matches!(
        limiter.admit(rpm("k:c:rpm", 4)).await,
        Err(LimitRefusal::Limited(_))
    ));
}

#[actix::test]
async fn budgets_fail_open_only_when_the_policy_says_so() {
    let backend = flaky();
    backend.down.store(true, Ordering::SeqCst);
    let policy = FailurePolicy {
        budgets_fail_open: true,
        ..FailurePolicy::default()
    };
    let (limiter, _arbiter) = shared(backend, policy);
    let admit = limiter
        .admit(with_budget(rpm("k:d:rpm", 10)))
        .await
        .unwrap();
    limiter.finish(&admit, Settle::Release);
}
