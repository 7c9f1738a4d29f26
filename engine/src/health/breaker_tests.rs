use std::time::Duration;

use super::*;
use crate::clock::{Clock, ManualClock};

fn spec() -> BreakerSpec {
    BreakerSpec {
        consecutive_failures: 3,
        failure_rate: 0.5,
        min_requests: 10,
        window: Duration::from_secs(10),
        cooldown: Duration::from_secs(1),
        max_cooldown: Duration::from_secs(3),
        half_open_probes: 1,
    }
}

fn failures(n: u64, consecutive: u64) -> Sample {
    Sample {
        successes: 0,
        failures: n,
        consecutive_failures: consecutive,
    }
}

fn successes(n: u64) -> Sample {
    Sample {
        successes: n,
        failures: 0,
        consecutive_failures: 0,
    }
}

#[test]
fn opens_on_consecutive_failures() {
    let clock = ManualClock::new();
    let mut b = Breaker::new(spec());
    assert_eq!(b.fold(clock.now(), failures(2, 2)), None);
    let opened = b.fold(clock.now(), failures(1, 3));
    let until = clock.now() + 1_000_000_000;
    assert_eq!(opened, Some(Transition::Opened { until }));
    assert_eq!(b.state(), BreakerState::Open { until, trips: 1 });
}

#[test]
fn opens_on_failure_rate_only_with_enough_requests() {
    let clock = ManualClock::new();
    let mut b = Breaker::new(spec());
    let mixed = |s, f| Sample {
        successes: s,
        failures: f,
        consecutive_failures: 1,
    };
    // 4 of 8 failed: rate reached, but below the minimum request count.
    assert_eq!(b.fold(clock.now(), mixed(4, 4)), None);
    clock.advance(Duration::from_secs(1));
    // 5 of 10 failed across two buckets of the window: open.
    assert!(matches!(
        b.fold(clock.now(), mixed(1, 1)),
        Some(Transition::Opened { .. })
    ));
}

#[test]
fn failures_that_left_the_window_no_longer_count() {
    let clock = ManualClock::new();
    let mut b = Breaker::new(spec());
    let mixed = |s, f| Sample {
        successes: s,
        failures: f,
        consecutive_failures: 0,
    };
    assert_eq!(b.fold(clock.now(), mixed(0, 2)), None);
    clock.advance(Duration::from_secs(11));
    // 8 more requests, 3 failed: with the old ones gone, 3/8 is below the rate and the count.
    assert_eq!(b.fold(clock.now(), mixed(5, 3)), None);
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn half_opens_after_the_cooldown_and_closes_on_a_probe_success() {
    let clock = ManualClock::new();
    let mut b = Breaker::new(spec());
    b.fold(clock.now(), failures(3, 3));
    // A straggler success from before the trip does not close it.
    clock.advance(Duration::from_millis(500));
    assert_eq!(b.fold(clock.now(), successes(1)), None);
    clock.advance(Duration::from_millis(500));
    assert_eq!(
        b.fold(clock.now(), Sample::default()),
        Some(Transition::HalfOpened)
    );
    assert_eq!(b.state(), BreakerState::HalfOpen { trips: 1 });
    assert_eq!(b.fold(clock.now(), successes(1)), Some(Transition::Closed));
    assert_eq!(b.state(), BreakerState::Closed);
}

#[test]
fn a_failed_probe_reopens_for_longer_up_to_the_cap() {
    let clock = ManualClock::new();
    let mut b = Breaker::new(spec());
    b.fold(clock.now(), failures(3, 3));
    let mut lengths = Vec::new();
    for _ in 0..3 {
        let BreakerState::Open { until, .. } = b.state() else {
            panic!("not open")
        };
        clock.advance(Duration::from_nanos(until - clock.now()));
        let Some(Transition::Opened { until: next }) = b.fold(clock.now(), failures(1, 4)) else {
            panic!("did not reopen")
        };
        lengths.push(Duration::from_nanos(next - clock.now()));
    }
    assert_eq!(
        lengths,
        [
            Duration::from_secs(2),
            Duration::from_secs(3),
            Duration::from_secs(3)
        ]
    );
    // Closing resets the growth.
    let BreakerState::Open { until, .. } = b.state() else {
        panic!("not open")
    };
    clock.advance(Duration::from_nanos(until - clock.now()));
    assert_eq!(b.fold(clock.now(), successes(1)), Some(Transition::Closed));
    assert!(matches!(
        b.fold(clock.now(), failures(3, 3)),
        Some(Transition::Opened { until }) if until == clock.now() + 1_000_000_000
    ));
}

#[test]
fn rules_set_to_zero_never_open() {
    let clock = ManualClock::new();
    let mut b = Breaker::new(BreakerSpec {
        consecutive_failures: 0,
        failure_rate: 0.0,
        ..spec()
    });
    assert_eq!(b.fold(clock.now(), failures(100, 100)), None);
}
