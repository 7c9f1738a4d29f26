use super::*;
use crate::clock::SeededPicker;

const G: GroupId = GroupId(0);
const SEC: u64 = 1_000_000_000;

/// A picker that always answers `f(bound)`.
#[derive(Debug)]
struct Fixed(fn(u64) -> u64);

impl Picker for Fixed {
    fn below(&self, bound: u64) -> u64 {
        (self.0)(bound)
    }
}

const FIRST: Fixed = Fixed(|_| 0);
const LAST: Fixed = Fixed(|bound| bound - 1);

fn table(w1: u32, w2: u32) -> DeploymentTable {
    let mut t = DeploymentTable::new();
    let p = (ProviderId(0), Arc::from("p"));
    t.add(p.clone(), G, "a".into(), w1);
    t.add(p.clone(), G, "b".into(), w2);
    t.add(p, GroupId(1), "other".into(), 100);
    t
}

#[test]
fn picks_deployments_in_proportion_to_weight() {
    let t = table(1, 3);
    let mut counts = [0u32; 2];
    for roll in 0..4 {
        #[derive(Debug)]
        struct Roll(u64);
        impl Picker for Roll {
            fn below(&self, bound: u64) -> u64 {
                assert_eq!(bound, 4);
                self.0
            }
        }
        let lease = t.acquire(G, SEC, &Roll(roll));
        counts[lease.unwrap().deployment.index()] += 1;
    }
    assert_eq!(counts, [1, 3]);
}

#[test]
fn a_seeded_picker_spreads_leases_by_weight() {
    let t = table(1, 3);
    let picker = SeededPicker::new(42);
    let mut counts = [0u32; 2];
    for _ in 0..400 {
        let lease = t.acquire(G, SEC, &picker).unwrap();
        counts[lease.deployment.index()] += 1;
        t.release(lease.deployment, Outcome::Neutral, SEC);
    }
    // Deterministic for the seed; roughly 1:3.
    assert!(counts[1] > 2 * counts[0], "{counts:?}");
}

#[test]
fn tracks_in_flight_until_released() {
    let t = table(1, 0);
    let lease = t.acquire(G, SEC, &FIRST).unwrap();
    assert_eq!(t.get(lease.deployment).unwrap().in_flight(), 1);
    t.release(lease.deployment, Outcome::Neutral, SEC);
    assert_eq!(t.get(lease.deployment).unwrap().in_flight(), 0);
}

#[test]
fn cools_a_deployment_down_for_its_retry_after_on_429() {
    let t = table(1, 0);
    let lease = t.acquire(G, SEC, &FIRST).unwrap();
    let retry_after = Some(Duration::from_secs(7));
    t.release(lease.deployment, Outcome::RateLimited { retry_after }, SEC);
    assert_eq!(
        t.acquire(G, 4 * SEC, &FIRST).unwrap_err(),
        AcquireError::CoolingDown(Duration::from_secs(4))
    );
    assert!(t.acquire(G, 8 * SEC, &FIRST).is_ok());
}

#[test]
fn skips_cooling_deployments_while_others_are_healthy() {
    let t = table(1, 1);
    let first = t.acquire(G, SEC, &FIRST).unwrap();
    assert_eq!(first.deployment, DeploymentId(0));
    t.release(
        first.deployment,
        Outcome::RateLimited { retry_after: None },
        SEC,
    );
    for _ in 0..10 {
        let lease = t.acquire(G, SEC, &LAST).unwrap();
        assert_eq!(lease.deployment, DeploymentId(1));
    }
}

#[test]
fn caps_cooldown_and_ignores_unknown_groups() {
    let t = table(1, 0);
    let lease = t.acquire(G, SEC, &FIRST).unwrap();
    let huge = Some(Duration::from_secs(86_400));
    t.release(
        lease.deployment,
        Outcome::RateLimited { retry_after: huge },
        SEC,
    );
    assert!(t.acquire(G, SEC + nanos(MAX_COOLDOWN), &FIRST).is_ok());
    assert_eq!(
        t.acquire(GroupId(9), SEC, &FIRST).unwrap_err(),
        AcquireError::NoDeployment
    );
}

#[test]
fn a_shorter_retry_after_never_shortens_a_running_cooldown() {
    let t = table(1, 0);
    for secs in [30, 2] {
        let lease = t.acquire(G, SEC, &FIRST);
        let id = lease.map(|l| l.deployment).unwrap_or(DeploymentId(0));
        t.release(
            id,
            Outcome::RateLimited {
                retry_after: Some(Duration::from_secs(secs)),
            },
            SEC,
        );
    }
    assert!(t.acquire(G, 10 * SEC, &FIRST).is_err());
}

#[test]
fn successes_are_counted_for_the_actor_to_fold() {
    let t = table(1, 0);
    for ms in [100, 200] {
        let lease = t.acquire(G, SEC, &FIRST).unwrap();
        t.release(
            lease.deployment,
            Outcome::Success {
                latency: Duration::from_millis(ms),
            },
            SEC,
        );
    }
    assert_eq!(
        t.get(DeploymentId(0)).unwrap().take_successes(),
        (2, 300_000)
    );
    assert_eq!(t.get(DeploymentId(0)).unwrap().take_successes(), (0, 0));
}

#[test]
fn leases_carry_the_provider_and_its_name() {
    let t = table(1, 0);
    let lease = t.acquire(G, SEC, &FIRST).unwrap();
    assert_eq!(lease.provider, ProviderId(0));
    assert_eq!(&*lease.provider_name, "p");
    assert_eq!(&*lease.upstream_model, "a");
}

#[test]
fn a_health_check_counts_like_a_release_without_a_lease() {
    let mut t = DeploymentTable::new();
    let mut facts = DeploymentFacts::new((ProviderId(0), Arc::from("p")), G, "a".into());
    facts.trip_after = 2;
    let id = t.add_facts(facts);
    let d = t.get(id).unwrap();
    // The first failure is below the trip threshold, the second reaches it: fold now.
    assert!(!t.record_check(id, Outcome::Failure, SEC));
    assert!(t.record_check(id, Outcome::Failure, SEC));
    assert_eq!(d.in_flight(), 0, "a check takes no in-flight slot");
    let ok = Outcome::Success {
        latency: Duration::from_millis(7),
    };
    assert!(!t.record_check(id, ok, SEC));
    assert_eq!(d.take_successes(), (1, 7000));
    let sample = d.gate.take_sample();
    assert_eq!((sample.successes, sample.failures), (1, 2));
    // A 429 cools the deployment down, as a client request's would.
    let limited = Outcome::RateLimited {
        retry_after: Some(Duration::from_secs(3)),
    };
    assert!(!t.record_check(id, limited, SEC));
    assert_eq!(d.cooling(SEC), Some(3 * SEC));
    assert!(!t.record_check(DeploymentId(99), Outcome::Failure, SEC));
}
