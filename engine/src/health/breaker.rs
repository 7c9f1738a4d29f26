//! The circuit breaker of one deployment: a pure state machine over outcome samples.
//!
//! Closed → Open when the consecutive-failure count reaches its threshold, or when the failure
//! rate over the sliding window reaches its threshold with at least `min_requests` in the
//! window. Open lasts a cool-down that doubles on each trip in a row (capped). Once it has
//! passed, the gate lets `half_open_probes` requests through (half-open); a success among them
//! closes the breaker, a failure opens it again for longer. Outcomes that arrive while open
//! and before the cool-down ended are stragglers from before the trip and are ignored.
//! 429s are not failures here: they cool the deployment down through the table instead.
//!
//! Time is clock nanoseconds passed in; nothing here reads a clock or sleeps.

use std::time::Duration;

use crate::clock::nanos;

/// Breaker settings for the deployments of one provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerSpec {
    /// Consecutive failures that open the breaker; 0 turns this rule off.
    pub consecutive_failures: u32,
    /// Failure ratio (0..=1) over `window` that opens the breaker; 0 turns this rule off.
    pub failure_rate: f64,
    /// Requests the window must hold before the failure rate counts.
    pub min_requests: u32,
    /// Length of the failure-rate window.
    pub window: Duration,
    /// First open period; doubled on each further trip in a row.
    pub cooldown: Duration,
    /// Longest open period.
    pub max_cooldown: Duration,
    /// Requests let through when the cool-down has passed.
    pub half_open_probes: u32,
}

impl Default for BreakerSpec {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            failure_rate: 0.5,
            min_requests: 20,
            window: Duration::from_secs(30),
            cooldown: Duration::from_secs(5),
            max_cooldown: Duration::from_secs(300),
            half_open_probes: 1,
        }
    }
}

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    /// Refusing traffic until `until` (clock nanos); `trips` in a row so far.
    Open {
        until: u64,
        trips: u32,
    },
    /// The cool-down has passed; probes decide.
    HalfOpen {
        trips: u32,
    },
}

impl BreakerState {
    /// Low-cardinality label.
    pub fn as_str(&self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen { .. } => "half_open",
        }
    }
}

/// What workers recorded since the last fold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    pub successes: u64,
    pub failures: u64,
    /// Failures in a row as of now (workers reset it on each success).
    pub consecutive_failures: u64,
}

/// A change of state the actor must publish (and count in metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Opened { until: u64 },
    HalfOpened,
    Closed,
}

/// Buckets the failure-rate window is divided into.
const BUCKETS: usize = 10;

/// One deployment's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    spec: BreakerSpec,
    state: BreakerState,
    /// (bucket epoch, successes, failures) per bucket.
    window: [(u64, u64, u64); BUCKETS],
}

impl Breaker {
    pub fn new(spec: BreakerSpec) -> Self {
        Self {
            spec,
            state: BreakerState::Closed,
            window: [(u64::MAX, 0, 0); BUCKETS],
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Folds what workers recorded since the last call; returns the transition to publish.
    pub fn fold(&mut self, now: u64, sample: Sample) -> Option<Transition> {
        match self.state {
            BreakerState::Closed => {
                self.record(now, sample);
                if self.should_trip(now, sample) {
                    return Some(self.open(now, 0));
                }
                None
            }
            BreakerState::Open { until, trips } => {
                if now < until {
                    return None;
                }
                if sample.successes > 0 {
                    return Some(self.close());
                }
                if sample.failures > 0 {
                    return Some(self.open(now, trips));
                }
                self.state = BreakerState::HalfOpen { trips };
                Some(Transition::HalfOpened)
            }
            BreakerState::HalfOpen { trips } => {
                if sample.successes > 0 {
                    Some(self.close())
                } else if sample.failures > 0 {
                    Some(self.open(now, trips))
                } else {
                    None
                }
            }
        }
    }

    /// The open period after `trips` earlier trips in a row.
    pub fn cooldown(&self, trips: u32) -> Duration {
        let factor = 1u32.checked_shl(trips.min(20)).unwrap_or(u32::MAX);
        self.spec
            .cooldown
            .saturating_mul(factor)
            .min(self.spec.max_cooldown.max(self.spec.cooldown))
    }

    fn open(&mut self, now: u64, trips: u32) -> Transition {
        let until = now.saturating_add(nanos(self.cooldown(trips)));
        self.state = BreakerState::Open {
            until,
            trips: trips.saturating_add(1),
        };
        self.window = [(u64::MAX, 0, 0); BUCKETS];
        Transition::Opened { until }
    }

    fn close(&mut self) -> Transition {
        self.state = BreakerState::Closed;
        self.window = [(u64::MAX, 0, 0); BUCKETS];
        Transition::Closed
    }

    fn bucket_len(&self) -> u64 {
        (nanos(self.spec.window) / BUCKETS as u64).max(1)
    }

    fn record(&mut self, now: u64, sample: Sample) {
        let epoch = now / self.bucket_len();
        let slot = &mut self.window[(epoch % BUCKETS as u64) as usize];
        if slot.0 != epoch {
            *slot = (epoch, 0, 0);
        }
        slot.1 += sample.successes;
        slot.2 += sample.failures;
    }

    fn should_trip(&self, now: u64, sample: Sample) -> bool {
        let spec = &self.spec;
        if spec.consecutive_failures > 0
            && sample.consecutive_failures >= u64::from(spec.consecutive_failures)
        {
            return true;
        }
        if spec.failure_rate <= 0.0 {
            return false;
        }
        let epoch = now / self.bucket_len();
        let live = |e: u64| e != u64::MAX && e + BUCKETS as u64 > epoch;
        let (ok, failed) = self
            .window
            .iter()
            .filter(|(e, _, _)| live(*e))
            .fold((0u64, 0u64), |(s, f), b| (s + b.1, f + b.2));
        let total = ok + failed;
        total >= u64::from(spec.min_requests.max(1))
            && failed as f64 >= spec.failure_rate * total as f64
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
