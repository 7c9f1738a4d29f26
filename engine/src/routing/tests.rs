use std::time::Duration;

use super::*;
use crate::clock::{ManualClock, SeededPicker};
use crate::provider::Vendor;
use crate::spec::{DeploymentSpec, ProviderSpec};

fn spec() -> GatewaySpec {
    let mut spec = GatewaySpec::default();
    let url = || "http://127.0.0.1:1/v1".parse().unwrap();
    let a = spec.provider(ProviderSpec::new("a", Vendor::OpenaiCompatible, url()));
    let b = spec.provider(ProviderSpec::new("b", Vendor::OpenaiCompatible, url()));
    spec.group(
        "m",
        vec![
            DeploymentSpec::new(a, "a-model"),
            DeploymentSpec::new(b, "b-model"),
        ],
    );
    spec
}

fn seeded(clock: Arc<ManualClock>) -> RoutingClock {
    RoutingClock {
        clock,
        picker: Arc::new(SeededPicker::new(1)),
    }
}

#[actix::test]
async fn fails_over_to_the_other_provider_while_one_cools_down() {
    let router = Router::start_with(&spec(), seeded(Arc::new(ManualClock::new())));
    assert!(matches!(
        router.acquire("nope").unwrap_err(),
        EngineError::UnknownModel(_)
    ));
    let mut seen_b = false;
    for _ in 0..50 {
        let lease = router.acquire("m").unwrap();
        if lease.provider == ProviderId(0) {
            let retry_after = Some(Duration::from_secs(60));
            router.report(&lease, Outcome::RateLimited { retry_after });
        } else {
            seen_b = true;
            router.report(&lease, Outcome::Neutral);
        }
    }
    assert!(seen_b);
    // Once provider a is cooling, every lease comes from b.
    for _ in 0..20 {
        let lease = router.acquire("m").unwrap();
        assert_eq!(&*lease.upstream_model, "b-model");
        assert_eq!(&*lease.provider_name, "b");
        router.report(&lease, Outcome::Neutral);
    }
}

#[actix::test]
async fn the_actor_learns_of_failures_and_successes() {
    let router = Router::start_with(&spec(), seeded(Arc::new(ManualClock::new())));
    let lease = router.acquire("m").unwrap();
    router.report(&lease, Outcome::Failure);
    let lease2 = router.acquire("m").unwrap();
    router.report(
        &lease2,
        Outcome::Success {
            latency: Duration::from_millis(40),
        },
    );
    let health = router.health(&lease).await.unwrap();
    let other = router.health(&lease2).await.unwrap();
    if lease.deployment == lease2.deployment {
        assert_eq!((health.failures, health.successes), (1, 1));
    } else {
        assert_eq!((health.failures, other.successes), (1, 1));
    }
    assert_eq!(other.ewma_latency, Some(Duration::from_millis(40)));
}

#[actix::test]
async fn says_when_every_deployment_is_cooling_down_and_recovers_with_time() {
    let clock = Arc::new(ManualClock::new());
    let router = Router::start_with(&spec(), seeded(clock.clone()));
    let cool = Outcome::RateLimited {
        retry_after: Some(Duration::from_secs(30)),
    };
    // Cooling one deployment leaves only the other, so two leases cool both.
    for _ in 0..2 {
        let lease = router.acquire("m").unwrap();
        router.report(&lease, cool);
    }
    match router.acquire("m") {
        Err(EngineError::AllCoolingDown { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(30));
        }
        other => panic!("unexpected {other:?}"),
    }
    clock.advance(Duration::from_secs(10));
    match router.acquire("m") {
        Err(EngineError::AllCoolingDown { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(20));
        }
        other => panic!("unexpected {other:?}"),
    }
    clock.advance(Duration::from_secs(20));
    let lease = router.acquire("m").unwrap();
    assert_eq!(router.in_flight(&lease), 1);
    router.report(&lease, Outcome::Neutral);
    assert_eq!(router.in_flight(&lease), 0);
}
