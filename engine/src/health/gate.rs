//! [`Gate`]: the part of a deployment's health that workers touch, all atomics.
//!
//! The admission word holds the clock nanos until which the breaker is open (0 = closed).
//! Once that time has passed the gate is half-open: each lease must take one of the probe
//! permits the actor left when it opened the breaker; with none left, the deployment is
//! refused until the actor folds the probes' outcomes. Workers also count outcomes here, so
//! the breaker's input is in shared memory, never in a mailbox that could drop it.

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

use super::breaker::{BreakerState, Sample, Transition};

/// What the gate says to one lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: traffic flows.
    Open,
    /// Half-open: this lease is one of the bounded probes.
    Probe,
    /// Open: refused; the cool-down ends at `until` (clock nanos; may be past when the
    /// probes are all out).
    Refused { until: u64 },
}

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

/// One deployment's admission word and outcome counters.
#[derive(Debug, Default)]
pub struct Gate {
    open_until: AtomicU64,
    probes: AtomicU32,
    /// For views only: the actor's last published state.
    state: AtomicU8,
    trips: AtomicU32,
    successes: AtomicU64,
    failures: AtomicU64,
    consecutive: AtomicU64,
}

impl Gate {
    /// Whether a lease could be admitted now, without taking a probe permit.
    pub fn may_admit(&self, now: u64) -> bool {
        let until = self.open_until.load(Ordering::Acquire);
        until == 0 || (now >= until && self.probes.load(Ordering::Relaxed) > 0)
    }

    /// Admits one lease, taking a probe permit when half-open.
    pub fn admit(&self, now: u64) -> Admission {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return Admission::Open;
        }
        if now < until {
            return Admission::Refused { until };
        }
        match self
            .probes
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |p| p.checked_sub(1))
        {
            Ok(_) => Admission::Probe,
            Err(_) => Admission::Refused { until },
        }
    }

    /// The clock nanos the breaker is open until, if it is open.
    pub fn open_until(&self) -> Option<u64> {
        Some(self.open_until.load(Ordering::Acquire)).filter(|u| *u != 0)
    }

    /// Counts one outcome that bears on health; returns the failures in a row after it.
    pub fn record(&self, failed: bool) -> u64 {
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
            self.consecutive.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.successes.fetch_add(1, Ordering::Relaxed);
            self.consecutive.store(0, Ordering::Relaxed);
            0
        }
    }

    /// Takes what workers counted since the last call.
    pub fn take_sample(&self) -> Sample {
        Sample {
            successes: self.successes.swap(0, Ordering::Relaxed),
            failures: self.failures.swap(0, Ordering::Relaxed),
            consecutive_failures: self.consecutive.load(Ordering::Relaxed),
        }
    }

    /// Publishes the breaker's decision.
    pub fn publish(&self, transition: Transition, probes: u32) {
        match transition {
            Transition::Opened { until } => {
                self.probes.store(probes, Ordering::Relaxed);
                self.trips.fetch_add(1, Ordering::Relaxed);
                self.state.store(OPEN, Ordering::Relaxed);
                self.open_until.store(until.max(1), Ordering::Release);
            }
            Transition::HalfOpened => self.state.store(HALF_OPEN, Ordering::Relaxed),
            Transition::Closed => {
                self.consecutive.store(0, Ordering::Relaxed);
                self.state.store(CLOSED, Ordering::Relaxed);
                self.open_until.store(0, Ordering::Release);
            }
        }
    }

    /// The published state, for admin views and metrics (`until` and `trips` as published).
    pub fn state(&self) -> BreakerState {
        let trips = self.trips.load(Ordering::Relaxed);
        match self.state.load(Ordering::Relaxed) {
            OPEN => BreakerState::Open {
                until: self.open_until.load(Ordering::Relaxed),
                trips,
            },
            HALF_OPEN => BreakerState::HalfOpen { trips },
            _ => BreakerState::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_gate_admits_and_an_open_one_refuses_until_the_cooldown_then_probes() {
        let gate = Gate::default();
        assert_eq!(gate.admit(10), Admission::Open);
        gate.publish(Transition::Opened { until: 100 }, 2);
        assert_eq!(gate.admit(50), Admission::Refused { until: 100 });
        assert!(!gate.may_admit(50));
        assert!(gate.may_admit(100));
        assert_eq!(gate.admit(100), Admission::Probe);
        assert_eq!(gate.admit(101), Admission::Probe);
        assert_eq!(gate.admit(102), Admission::Refused { until: 100 });
        gate.publish(Transition::Closed, 0);
        assert_eq!(gate.admit(103), Admission::Open);
    }

    #[test]
    fn counts_failures_in_a_row_and_a_success_resets_them() {
        let gate = Gate::default();
        assert_eq!(gate.record(true), 1);
        assert_eq!(gate.record(true), 2);
        assert_eq!(gate.record(false), 0);
        assert_eq!(gate.record(true), 1);
        let sample = gate.take_sample();
        assert_eq!(
            sample,
            Sample {
                successes: 1,
                failures: 3,
                consecutive_failures: 1
            }
        );
        assert_eq!(gate.take_sample().failures, 0);
    }
}
