//! RedisLimiter against a redis-server this test spawns; three `RedisLimiter`s stand for three
//! replicas. Skips (loudly) without redis-server unless PORTCULLIS_REQUIRE_SERVICES=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use portcullis_storage::limiter::{Admission, LimitKind, Limiter, Settlement};
use portcullis_storage::redis::RedisOptions;
use portcullis_storage::testing::{RedisServer, TestCerts};
use portcullis_storage::{RedisLimiter, StorageError};

const TIMEOUT: Duration = Duration::from_secs(2);

async fn replicas(url: &str, n: usize) -> Vec<Arc<RedisLimiter>> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Arc::new(
            RedisLimiter::connect(url, &RedisOptions::with_timeout(TIMEOUT))
                .await
                .unwrap(),
        ));
    }
    out
}

/// Runs `n` admissions concurrently, round-robin over `limiters`; how many were admitted.
async fn admit_concurrently(
    limiters: &[Arc<RedisLimiter>],
    n: u64,
    make: impl Fn(u64) -> Admission,
) -> usize {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let lim = limiters[usize::try_from(i).unwrap() % limiters.len()].clone();
            let a = make(i);
            tokio::spawn(async move { lim.admit(&a).await.unwrap().is_ok() })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        admitted += usize::from(t.await.unwrap());
    }
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpm_10_admits_exactly_10_of_100_concurrent_across_three_replicas() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lims = replicas(&server.url(), 3).await;
    let tag = unique("t:");
    let admitted = admit_concurrently(&lims, 100, |i| {
        let mut a = admission(&tag, i);
        a.buckets.push(rpm("k:a:rpm", 10));
        a
    })
    .await;
    assert_eq!(admitted, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_of_10_cents_admits_at_most_two_of_200_across_three_replicas() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lims = replicas(&server.url(), 3).await;
    let tag = unique("t:");
    let admitted = admit_concurrently(&lims, 200, |i| {
        let mut a = admission(&tag, i);
        a.budgets.push(budget(&tag, "t:budget", 100_000, 50_000));
        a
    })
    .await;
    assert_eq!(admitted, 2);
}

#[tokio::test]
async fn refill_behaves_as_a_token_bucket() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lim = &replicas(&server.url(), 1).await[0];
    let tag = unique("t:");
    // 2 burst, one token back every 10 ms.
    let mk = |i: u64| {
        let mut a = admission(&tag, i);
        a.buckets.push(BucketTakeExt::rpm_rate("k:a:rpm", 2, 6_000));
        a
    };
    assert!(lim.admit(&mk(1)).await.unwrap().is_ok());
    let second = lim.admit(&mk(2)).await.unwrap().unwrap();
    assert_eq!(second.buckets[0].remaining, 0);
    let refused = lim.admit(&mk(3)).await.unwrap().unwrap_err();
    let retry = refused.retry_after_ms.unwrap();
    assert!((1..=10).contains(&retry), "retry after {retry} ms");
    // Time is Redis server time: wait it out (bounded, 20 tries).
    let mut admitted = false;
    for i in 0..20 {
        tokio::time::sleep(Duration::from_millis(retry)).await;
        if lim.admit(&mk(10 + i)).await.unwrap().is_ok() {
            admitted = true;
            break;
        }
    }
    assert!(admitted);
}

struct BucketTakeExt;
impl BucketTakeExt {
    fn rpm_rate(
        name: &str,
        capacity: u64,
        per_minute: u64,
    ) -> portcullis_storage::limiter::BucketTake {
        let mut b = rpm(name, capacity);
        b.refill_per_minute = per_minute;
        b
    }
}

#[tokio::test]
async fn settle_records_actual_cost_lower_or_higher_than_reserved() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lims = replicas(&server.url(), 2).await;
    let tag = unique("t:");
    let mk = |i: u64, amount: u64| {
        let mut a = admission(&tag, i);
        a.budgets.push(budget(&tag, "t:budget", 100_000, amount));
        a
    };
    let p = period(&tag, "t:budget");
    let r1 = lims[0]
        .admit(&mk(1, 50_000))
        .await
        .unwrap()
        .unwrap()
        .reservation;
    lims[0]
        .settle(&r1, &Settlement::uniform(&r1, 0, 10_000))
        .await
        .unwrap();
    assert_eq!(lims[1].spent(&p).await.unwrap(), 10_000);
    assert!(lims[1].admit(&mk(2, 90_001)).await.unwrap().is_err());
    let r2 = lims[1]
        .admit(&mk(3, 90_000))
        .await
        .unwrap()
        .unwrap()
        .reservation;
    lims[0]
        .settle(&r2, &Settlement::uniform(&r2, 0, 95_000))
        .await
        .unwrap();
    assert_eq!(lims[0].spent(&p).await.unwrap(), 105_000);
    let refused = lims[1].admit(&mk(4, 1)).await.unwrap().unwrap_err();
    assert_eq!(refused.kind, LimitKind::Budget);
    assert_eq!(refused.name, "t:budget");
}

#[tokio::test]
async fn release_returns_reservation_and_parallel_slot_without_phantom_limit() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lim = &replicas(&server.url(), 1).await[0];
    let tag = unique("t:");
    let mk = |i: u64| {
        let mut a = admission(&tag, i);
        a.buckets.push(rpm("k:a:rpm", 100));
        a.buckets.push(tpm("k:a:tpm", 1_000, 600));
        a.parallel.push(cap("k:a:parallel", 1));
        a.budgets.push(budget(&tag, "k:a:budget", 50_000, 50_000));
        a
    };
    let r = lim.admit(&mk(1)).await.unwrap().unwrap().reservation;
    let mut no_tpm = mk(2);
    no_tpm.buckets.pop();
    assert_eq!(
        lim.admit(&no_tpm).await.unwrap().unwrap_err().kind,
        LimitKind::Parallel
    );
    lim.release(&r).await.unwrap();
    let again = lim.admit(&mk(3)).await.unwrap().unwrap();
    // RPM: 100 − 1 (released request) − 1 (this one); TPM estimate refunded.
    assert_eq!(again.buckets[0].remaining, 98);
    assert!(again.buckets[1].remaining >= 400);
    assert_eq!(lim.spent(&period(&tag, "k:a:budget")).await.unwrap(), 0);
}

#[tokio::test]
async fn expired_lease_is_reclaimed() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lims = replicas(&server.url(), 2).await;
    let tag = unique("t:");
    let mk = |i: u64, lease_ms: u64| {
        let mut a = admission(&tag, i);
        a.lease_ms = lease_ms;
        a.parallel.push(cap("k:a:parallel", 1));
        a.budgets.push(budget(&tag, "k:a:budget", 10, 10));
        a
    };
    // A replica that crashed holding a lease of 0 ms: expired as soon as Redis time moves on.
    let _crashed = lims[0].admit(&mk(1, 0)).await.unwrap().unwrap();
    let live = lims[1].admit(&mk(2, 60_000)).await.unwrap();
    assert!(live.is_ok(), "{live:?}");
    let blocked = lims[1].admit(&mk(3, 60_000)).await.unwrap().unwrap_err();
    assert_eq!(blocked.kind, LimitKind::Parallel);
}

#[tokio::test]
async fn global_bucket_refusal_gives_back_the_local_part() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lim = &replicas(&server.url(), 1).await[0];
    let model = unique("m:");
    let mk = |i: u64, team: &str| {
        let mut a = admission(team, i);
        a.buckets.push(rpm("k:rpm", 5));
        a.global_tag = model.clone();
        a.global_buckets.push(rpm("m:rpm", 1));
        a
    };
    let (ta, tb) = (unique("t:"), unique("t:"));
    let first = lim.admit(&mk(1, &ta)).await.unwrap().unwrap();
    assert_eq!(first.buckets.len(), 2);
    let refused = lim.admit(&mk(2, &tb)).await.unwrap().unwrap_err();
    assert_eq!(
        (refused.kind, refused.name.as_str()),
        (LimitKind::Rpm, "m:rpm")
    );
    let mut local = admission(&tb, 3);
    local.buckets.push(rpm("k:rpm", 5));
    assert_eq!(
        lim.admit(&local).await.unwrap().unwrap().buckets[0].remaining,
        4
    );
}

#[tokio::test]
async fn admit_batch_answers_each_admission_in_one_pipeline() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lim = &replicas(&server.url(), 1).await[0];
    let tag = unique("t:");
    let batch: Vec<Admission> = (0..25)
        .map(|i| {
            let mut a = admission(&tag, i);
            a.buckets.push(rpm("k:a:rpm", 10));
            a
        })
        .collect();
    let answers = lim.admit_batch(&batch).await.unwrap();
    assert_eq!(answers.len(), 25);
    assert!(answers[..10].iter().all(Result::is_ok));
    assert!(answers[10..].iter().all(Result::is_err));
}

#[tokio::test]
async fn noscript_after_script_flush_recovers() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lim = &replicas(&server.url(), 1).await[0];
    let tag = unique("t:");
    let mk = |i: u64| {
        let mut a = admission(&tag, i);
        a.buckets.push(rpm("k:a:rpm", 10));
        a
    };
    let r = lim.admit(&mk(1)).await.unwrap().unwrap().reservation;
    flush_scripts(&server.url()).await;
    assert!(lim.admit(&mk(2)).await.unwrap().is_ok());
    flush_scripts(&server.url()).await;
    lim.release(&r).await.unwrap();
    flush_scripts(&server.url()).await;
    let answers = lim.admit_batch(&[mk(3), mk(4)]).await.unwrap();
    assert!(answers.iter().all(Result::is_ok));
}

async fn flush_scripts(url: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut c)
        .await
        .unwrap();
}

#[tokio::test]
async fn redis_down_is_a_storage_error_and_admission_resumes_after_restart() {
    let Some(mut server) = RedisServer::start().unwrap() else {
        return;
    };
    let lim = RedisLimiter::connect(
        &server.url(),
        &RedisOptions::with_timeout(Duration::from_millis(500)),
    )
    .await
    .unwrap();
    let tag = unique("t:");
    let p = period(&tag, "t:budget");
    let mk = |i: u64| {
        let mut a = admission(&tag, i);
        a.budgets.push(budget(&tag, "t:budget", 100_000, 10_000));
        a
    };
    let r = lim.admit(&mk(1)).await.unwrap().unwrap().reservation;
    lim.settle(&r, &Settlement::uniform(&r, 0, 60_000))
        .await
        .unwrap();
    server.stop();
    assert!(matches!(
        lim.admit(&mk(2)).await,
        Err(StorageError::Unavailable(_))
    ));
    assert!(lim.set_spent(&p, 1).await.is_err());
    server.restart().unwrap();
    // The manager reconnects in the background: poll, bounded in count and time.
    let deadline = Instant::now() + Duration::from_secs(10);
    while lim.spent(&p).await.is_err() {
        assert!(Instant::now() < deadline, "no reconnect within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The restart lost the spend; the gateway re-seeds it from its durable log.
    assert_eq!(lim.spent(&p).await.unwrap(), 0);
    lim.set_spent(&p, 60_000).await.unwrap();
    assert!(lim.admit(&mk(3)).await.unwrap().is_ok());
    assert!(lim.admit(&mk(4)).await.unwrap().is_ok());
    let mut big = mk(5);
    big.budgets[0].amount_micro_usd = 20_001;
    assert_eq!(
        lim.admit(&big).await.unwrap().unwrap_err().kind,
        LimitKind::Budget
    );
}

#[tokio::test]
async fn a_resent_admission_with_the_same_request_id_reserves_once() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lim = &replicas(&server.url(), 1).await[0];
    let tag = unique("t:");
    let mk = |i: u64| {
        let mut a = admission(&tag, i);
        a.budgets.push(budget(&tag, "t:budget", 100_000, 50_000));
        a
    };
    assert!(lim.admit(&mk(1)).await.unwrap().is_ok());
    assert!(lim.admit(&mk(1)).await.unwrap().is_ok());
    assert!(lim.admit(&mk(2)).await.unwrap().is_ok());
    assert!(lim.admit(&mk(3)).await.unwrap().is_err());
}

#[tokio::test]
async fn settle_moves_local_and_global_tpm_by_actual_minus_estimate_into_debt() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lim = &replicas(&server.url(), 1).await[0];
    let (tag, model) = (unique("t:"), unique("m:"));
    let mk = |i: u64, take: u64| {
        let mut a = admission(&tag, i);
        a.buckets.push(tpm("k:tpm", 1_000, take));
        a.global_tag = model.clone();
        a.global_buckets.push(tpm("m:tpm", 1_000, take));
        a
    };
    let r = lim.admit(&mk(1, 100)).await.unwrap().unwrap().reservation;
    lim.settle(&r, &Settlement::uniform(&r, 1_500, 0))
        .await
        .unwrap();
    // 500 tokens in debt at 1000 a minute: one token is back after about 501 * 60 ms.
    let mut global_only = mk(2, 1);
    global_only.buckets.clear();
    let refused = lim.admit(&global_only).await.unwrap().unwrap_err();
    assert_eq!(refused.name, "m:tpm");
    let retry = refused.retry_after_ms.unwrap();
    assert!((501 * 60 - 1_000..=501 * 60).contains(&retry), "{retry}");
    let refused = lim.admit(&mk(3, 1)).await.unwrap().unwrap_err();
    assert_eq!(refused.name, "k:tpm");
}

#[tokio::test]
async fn admits_over_rediss_with_a_private_ca() {
    let Some(certs) = TestCerts::generate().unwrap() else {
        return;
    };
    let Some((_server, url)) = RedisServer::start_tls(&certs).unwrap() else {
        return;
    };
    let options = RedisOptions {
        timeout: TIMEOUT,
        ca_pem: Some(certs.ca_pem().unwrap()),
    };
    let lim = RedisLimiter::connect(&url, &options).await.unwrap();
    let tag = unique("t:");
    let mut a = admission(&tag, 1);
    a.buckets.push(rpm("k:a:rpm", 1));
    a.budgets.push(budget(&tag, "t:budget", 10, 10));
    let r = lim.admit(&a).await.unwrap().unwrap().reservation;
    lim.settle(&r, &Settlement::uniform(&r, 0, 7))
        .await
        .unwrap();
    assert_eq!(lim.spent(&period(&tag, "t:budget")).await.unwrap(), 7);
    // Without the CA the server's certificate is not trusted.
    let untrusted = RedisLimiter::connect(&url, &RedisOptions::with_timeout(TIMEOUT)).await;
    assert!(untrusted.is_err());
}

#[tokio::test]
async fn a_model_budget_holds_across_replicas_and_teams() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lims = replicas(&server.url(), 3).await;
    let model = unique("m:");
    let mk = |i: u64, team: &str| {
        let mut a = admission(team, i);
        a.budgets.push(budget(team, "t:budget", 1_000_000, 50_000));
        a.global_tag = model.clone();
        a.global_budgets
            .push(budget(&model, "m:budget", 100_000, 50_000));
        a
    };
    let teams: Vec<String> = (0..3).map(|_| unique("t:")).collect();
    let mut admitted = Vec::new();
    for (i, lim) in lims.iter().enumerate() {
        for j in 0..4u64 {
            let a = mk(i as u64 * 10 + j, &teams[i]);
            if let Ok(ok) = lim.admit(&a).await.unwrap() {
                admitted.push((i, ok.reservation));
            }
        }
    }
    assert_eq!(admitted.len(), 2, "a 0.10 budget fits two 0.05 holds");
    // A refusal by the model budget gave back the team's hold: the team can still spend.
    let refused_team = &teams[2];
    let mut own = admission(refused_team, 99);
    own.budgets
        .push(budget(refused_team, "t:budget", 50_000, 50_000));
    let own = lims[2].admit(&own).await.unwrap();
    assert!(own.is_ok(), "{own:?}");
    let (i, r) = &admitted[0];
    lims[*i]
        .settle(r, &Settlement::uniform(r, 0, 20_000))
        .await
        .unwrap();
    let (i, r) = &admitted[1];
    lims[*i].release(r).await.unwrap();
    let p = period(&model, "m:budget");
    assert_eq!(lims[2].spent(&p).await.unwrap(), 20_000);
    assert!(lims[1].admit(&mk(200, &teams[1])).await.unwrap().is_ok());
    let refused = lims[0]
        .admit(&mk(201, &teams[0]))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        (refused.kind, refused.name.as_str()),
        (LimitKind::Budget, "m:budget")
    );
}

/// `budget_reset: never` ends its period at `u64::MAX`; Redis takes expiry times up to
/// `i64::MAX` only, and refused every admission under such a budget (found by
/// scripts/topology.sh, whose budgets never reset).
#[tokio::test]
async fn a_budget_that_never_resets_admits_settles_and_refuses() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lims = replicas(&server.url(), 1).await;
    let tag = unique("t:");
    let mut p = period(&tag, "k:never:budget");
    p.period = 0;
    p.period_end_ms = u64::MAX;
    let mk = |i: u64, amount: u64| {
        let mut a = admission(&tag, i);
        a.budgets.push(portcullis_storage::limiter::BudgetTake {
            period: p.clone(),
            limit_micro_usd: 100_000,
            amount_micro_usd: amount,
        });
        a
    };
    let r = lims[0]
        .admit(&mk(1, 60_000))
        .await
        .unwrap()
        .unwrap()
        .reservation;
    lims[0]
        .settle(&r, &Settlement::uniform(&r, 0, 60_000))
        .await
        .unwrap();
    assert_eq!(lims[0].spent(&p).await.unwrap(), 60_000);
    let refused = lims[0].admit(&mk(2, 50_000)).await.unwrap().unwrap_err();
    assert_eq!(refused.kind, LimitKind::Budget);
}

/// A crashed replica's budget reservation is reclaimed even when nothing asked for the budget
/// for longer than the lease: the lease zset lives as long as the budget's hash. (It used to
/// expire one second after the lease; a budget left alone that long then kept the dead
/// replica's reservation until the period ended — found by scripts/topology.sh.)
#[tokio::test]
async fn a_dead_replicas_reservation_is_reclaimed_after_a_quiet_spell() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let lims = replicas(&server.url(), 2).await;
    let tag = unique("t:");
    let mk = |i: u64| {
        let mut a = admission(&tag, i);
        a.lease_ms = 100;
        a.budgets.push(budget(&tag, "k:a:budget", 10, 10));
        a
    };
    let _crashed = lims[0].admit(&mk(1)).await.unwrap().unwrap();
    // Quiet for longer than lease + 1 s: no admission touches the budget.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let after = lims[1].admit(&mk(2)).await.unwrap();
    assert!(
        after.is_ok(),
        "the dead replica's reservation was never reclaimed: {after:?}"
    );
}

/// The limiter's Redis round trips since the last call (a snapshot takes the counts), as the
/// metrics recorder of this thread saw them.
fn round_trips(snapshotter: &metrics_util::debugging::Snapshotter) -> u64 {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == portcullis_storage::redis::ROUND_TRIPS)
        .map(|(.., value)| match value {
            metrics_util::debugging::DebugValue::Counter(n) => n,
            other => panic!("{other:?}"),
        })
        .sum()
}

/// A governed request costs two round trips: its admission (rate limits, parallel cap and
/// budget in one pipeline) and its settlement. The counter is what the `governed` benchmark
/// divides by requests.
#[tokio::test]
async fn an_admission_and_its_settlement_are_one_round_trip_each() {
    let Some(server) = RedisServer::start().unwrap() else {
        return;
    };
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let lim = replicas(&server.url(), 1).await.remove(0);
    let tag = unique("t:");
    let mk = |i: u64| {
        let mut a = admission(&tag, i);
        a.buckets.push(rpm("k:rt:rpm", 1_000));
        a.buckets.push(tpm("k:rt:tpm", 1_000_000, 100));
        a.budgets
            .push(budget(&tag, "k:rt:budget", 1_000_000, 1_000));
        a
    };
    // The first call loads the scripts (NOSCRIPT, load, send again): not the steady state.
    let r = lim.admit(&mk(0)).await.unwrap().unwrap().reservation;
    lim.settle(&r, &Settlement::uniform(&r, 10, 500))
        .await
        .unwrap();
    let first = round_trips(&snapshotter);
    assert!(first >= 2, "{first}");
    let r = lim.admit(&mk(1)).await.unwrap().unwrap().reservation;
    assert_eq!(round_trips(&snapshotter), 1);
    lim.settle(&r, &Settlement::uniform(&r, 10, 500))
        .await
        .unwrap();
    assert_eq!(round_trips(&snapshotter), 1);
}
