//! RedisLimiter against a 3-master Redis Cluster this test spawns. Skips (loudly) without
//! redis-server/redis-cli unless PORTCULLIS_REQUIRE_SERVICES=1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use portcullis_storage::RedisLimiter;
use portcullis_storage::limiter::{LimitKind, Limiter, Settlement};
use portcullis_storage::redis::RedisOptions;
use portcullis_storage::testing::RedisCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_budget_of_10_cents_admits_at_most_two_of_200_across_three_replicas() {
    let Some(cluster) = RedisCluster::start().unwrap() else {
        return;
    };
    let urls = cluster.urls();
    let mut lims = Vec::new();
    for _ in 0..3 {
        let lim = RedisLimiter::connect_cluster(
            &urls,
            &RedisOptions::with_timeout(Duration::from_secs(2)),
        )
        .await
        .unwrap();
        lims.push(Arc::new(lim));
    }
    let tag = unique("t:");
    let model = unique("m:");
    let tasks: Vec<_> = (0..200u64)
        .map(|i| {
            let lim = lims[usize::try_from(i % 3).unwrap()].clone();
            let mut a = admission(&tag, i);
            a.buckets.push(rpm("k:a:rpm", 1_000));
            a.budgets.push(budget(&tag, "t:budget", 100_000, 50_000));
            a.global_tag = model.clone();
            a.global_buckets.push(rpm("m:rpm", 1_000));
            tokio::spawn(async move { lim.admit(&a).await.unwrap().ok() })
        })
        .collect();
    let mut admitted = Vec::new();
    for t in tasks {
        admitted.extend(t.await.unwrap());
    }
    assert_eq!(admitted.len(), 2);
    for a in &admitted {
        let r = &a.reservation;
        lims[0]
            .settle(r, &Settlement::uniform(r, 0, 30_000))
            .await
            .unwrap();
    }
    assert_eq!(
        lims[1].spent(&period(&tag, "t:budget")).await.unwrap(),
        60_000
    );
    let mut over = admission(&tag, 1_000);
    over.budgets.push(budget(&tag, "t:budget", 100_000, 40_001));
    let refused = lims[2].admit(&over).await.unwrap().unwrap_err();
    assert_eq!(refused.kind, LimitKind::Budget);
}
