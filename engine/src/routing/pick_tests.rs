//! Each strategy, driven by a seeded picker and a manual clock: no test loops on chance.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::clock::{Clock, ManualClock, SeededPicker};
use crate::ids::{GroupId, ProviderId};
use crate::routing::deployment::DeploymentFacts;
use crate::routing::table::{AcquireError, DeploymentTable, Outcome};

fn facts(model: &str) -> DeploymentFacts {
    DeploymentFacts::new((ProviderId(0), Arc::from("p")), GroupId(0), model.into())
}

fn table(strategy: Strategy, rows: Vec<DeploymentFacts>) -> DeploymentTable {
    let mut t = DeploymentTable::new();
    t.set_strategy(GroupId(0), strategy);
    for f in rows {
        t.add_facts(f);
    }
    t
}

/// Leases `n` times, releasing each at once; counts leases per model.
fn spread(
    t: &DeploymentTable,
    n: usize,
    now: u64,
    picker: &SeededPicker,
) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for _ in 0..n {
        let lease = t.acquire(GroupId(0), now, picker).unwrap();
        t.release(lease.deployment, Outcome::Neutral, now);
        *seen.entry(lease.upstream_model.to_string()).or_default() += 1;
    }
    seen
}

#[test]
fn weighted_random_follows_weights() {
    let mut heavy = facts("heavy");
    heavy.weight = 9;
    let t = table(Strategy::WeightedRandom, vec![heavy, facts("light")]);
    let seen = spread(&t, 1000, 0, &SeededPicker::new(5));
    assert!((850..=950).contains(&seen["heavy"]), "{seen:?}");
}

#[test]
fn round_robin_takes_turns() {
    let t = table(
        Strategy::RoundRobin,
        vec![facts("a"), facts("b"), facts("c")],
    );
    let picker = SeededPicker::new(1);
    let order: Vec<String> = (0..6)
        .map(|_| {
            let l = t.acquire(GroupId(0), 0, &picker).unwrap();
            t.release(l.deployment, Outcome::Neutral, 0);
            l.upstream_model.to_string()
        })
        .collect();
    assert_eq!(order, ["a", "b", "c", "a", "b", "c"]);
}

#[test]
fn least_in_flight_prefers_the_idle_deployment_of_two() {
    let t = table(Strategy::LeastInFlight, vec![facts("busy"), facts("idle")]);
    let picker = SeededPicker::new(2);
    // Three requests held on "busy" (leased with "idle" excluded).
    let idle = t.iter().nth(1).unwrap().id;
    let _held: Vec<_> = (0..3)
        .map(|_| {
            t.acquire_excluding(GroupId(0), 0, &picker, &[idle])
                .unwrap()
        })
        .collect();
    // With two deployments both are always compared: the idle one wins every time.
    let seen = spread(&t, 50, 0, &picker);
    assert_eq!(seen.get("idle"), Some(&50), "{seen:?}");
}

#[test]
fn lowest_latency_prefers_the_fastest_measured_and_explores_unmeasured() {
    let t = table(
        Strategy::LowestLatency,
        vec![facts("slow"), facts("fast"), facts("new")],
    );
    let picker = SeededPicker::new(3);
    let ids: Vec<_> = t.iter().map(|d| d.id).collect();
    t.get(ids[0])
        .unwrap()
        .publish_ewma(Duration::from_millis(300));
    t.get(ids[1])
        .unwrap()
        .publish_ewma(Duration::from_millis(20));
    assert_eq!(spread(&t, 5, 0, &picker).get("new"), Some(&5));
    t.get(ids[2])
        .unwrap()
        .publish_ewma(Duration::from_millis(100));
    assert_eq!(spread(&t, 5, 0, &picker).get("fast"), Some(&5));
    // Load counts: with 10 in flight the fast one costs 20ms × 11 > 100ms.
    let held: Vec<_> = (0..10)
        .map(|_| t.acquire(GroupId(0), 0, &picker).unwrap())
        .collect();
    assert!(
        held.iter()
            .all(|l| &*l.upstream_model == "fast" || &*l.upstream_model == "new")
    );
    let next = t.acquire(GroupId(0), 0, &picker).unwrap();
    assert_eq!(&*next.upstream_model, "new");
}

#[test]
fn usage_aware_stays_under_quota_and_prefers_headroom() {
    let clock = ManualClock::new();
    let mut small = facts("small");
    small.rpm = Some(2);
    let mut big = facts("big");
    big.rpm = Some(10);
    let t = table(Strategy::UsageAware, vec![small, big]);
    let picker = SeededPicker::new(4);
    let now = clock.now();
    // Headroom: big has the most left until both are at the same share used.
    let seen = spread(&t, 12, now, &picker);
    assert_eq!((seen["small"], seen["big"]), (2, 10), "{seen:?}");
    // Both at quota: nothing to lease this minute.
    assert!(matches!(
        t.acquire(GroupId(0), now, &picker),
        Err(AcquireError::Unavailable(_))
    ));
    clock.advance(Duration::from_secs(60));
    assert!(t.acquire(GroupId(0), clock.now(), &picker).is_ok());
}

#[test]
fn usage_aware_counts_tokens_against_tpm() {
    let mut a = facts("a");
    a.tpm = Some(1000);
    let t = table(Strategy::UsageAware, vec![a, facts("b")]);
    let picker = SeededPicker::new(4);
    let a_id = t.iter().next().unwrap().id;
    t.get(a_id).unwrap().record_tokens(0, 1000);
    assert_eq!(spread(&t, 10, 0, &picker).get("b"), Some(&10));
}

#[test]
fn cheapest_first_then_the_next_cheapest_when_it_is_unavailable() {
    let mut dear = facts("dear");
    dear.cost = 30;
    let mut cheap = facts("cheap");
    cheap.cost = 10;
    cheap.max_in_flight = Some(1);
    let mut unknown = facts("unknown");
    unknown.cost = u64::MAX;
    let t = table(Strategy::Cheapest, vec![dear, cheap, unknown]);
    let picker = SeededPicker::new(6);
    let first = t.acquire(GroupId(0), 0, &picker).unwrap();
    assert_eq!(&*first.upstream_model, "cheap");
    let second = t.acquire(GroupId(0), 0, &picker).unwrap();
    assert_eq!(&*second.upstream_model, "dear");
}

#[test]
fn priority_goes_in_order_and_skips_what_was_tried() {
    let mut rows = vec![facts("first"), facts("second"), facts("third")];
    for (i, f) in rows.iter_mut().enumerate() {
        f.priority = i as u32;
    }
    let t = table(Strategy::Priority, rows);
    let picker = SeededPicker::new(7);
    assert_eq!(spread(&t, 5, 0, &picker).get("first"), Some(&5));
    let first = t.iter().next().unwrap().id;
    let lease = t
        .acquire_excluding(GroupId(0), 0, &picker, &[first])
        .unwrap();
    assert_eq!(&*lease.upstream_model, "second");
    let all: Vec<_> = t.iter().map(|d| d.id).collect();
    assert_eq!(
        t.acquire_excluding(GroupId(0), 0, &picker, &all)
            .unwrap_err(),
        AcquireError::AllTried
    );
}

#[test]
fn a_full_deployment_is_skipped_and_a_full_group_says_saturated() {
    let mut only = facts("only");
    only.max_in_flight = Some(1);
    let t = table(Strategy::WeightedRandom, vec![only]);
    let picker = SeededPicker::new(8);
    let lease = t.acquire(GroupId(0), 0, &picker).unwrap();
    assert_eq!(
        t.acquire(GroupId(0), 0, &picker).unwrap_err(),
        AcquireError::Saturated
    );
    t.release(lease.deployment, Outcome::Neutral, 0);
    assert!(t.acquire(GroupId(0), 0, &picker).is_ok());
}

#[test]
fn strategies_parse_from_their_config_names() {
    for s in Strategy::ALL {
        assert_eq!(Strategy::parse(s.as_str()), Some(s));
    }
    assert_eq!(Strategy::parse("fastest"), None);
}
