//! The provider actor's own state: per deployment, a peak-EWMA latency and the circuit
//! breaker. Pure: no actix, no clock reads — the actor passes `now` in — so it is tested
//! synchronously with a manual clock.

use std::time::Duration;

use super::table::DeploymentTable;
use crate::health::{Breaker, BreakerSpec, BreakerState, Transition};
use crate::ids::DeploymentId;

/// Weight of the newest sample when latency falls (a rise is taken at once: peak-EWMA).
const EWMA_ALPHA: f64 = 0.2;

/// Health history of one deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub ewma_latency: Option<Duration>,
    pub successes: u64,
    pub failures: u64,
    pub breaker: BreakerState,
}

/// Health of the deployments one provider serves.
#[derive(Debug, Clone)]
pub(super) struct ProviderState {
    /// Ascending, as the table assigned them.
    ids: Vec<DeploymentId>,
    health: Vec<Health>,
    breakers: Vec<Breaker>,
    probes: u32,
}

impl ProviderState {
    pub(super) fn new(mut ids: Vec<DeploymentId>, breaker: BreakerSpec) -> Self {
        ids.sort_unstable();
        let health = vec![
            Health {
                ewma_latency: None,
                successes: 0,
                failures: 0,
                breaker: BreakerState::Closed,
            };
            ids.len()
        ];
        let breakers = vec![Breaker::new(breaker); ids.len()];
        Self {
            ids,
            health,
            breakers,
            probes: breaker.half_open_probes.max(1),
        }
    }

    pub(super) fn ids(&self) -> &[DeploymentId] {
        &self.ids
    }

    pub(super) fn health(&self, id: DeploymentId) -> Option<&Health> {
        self.ids
            .binary_search(&id)
            .ok()
            .and_then(|i| self.health.get(i))
    }

    /// Folds what workers counted in the table since the last fold: latency into the
    /// average (published back for the lowest-latency strategy), outcomes into the breaker
    /// (its decisions published into the gate). Returns the transitions made.
    pub(super) fn fold(
        &mut self,
        table: &DeploymentTable,
        now: u64,
    ) -> Vec<(DeploymentId, Transition)> {
        let mut transitions = Vec::new();
        for i in 0..self.ids.len() {
            let Some(d) = table.get(self.ids[i]) else {
                continue;
            };
            let (count, latency_us) = d.take_successes();
            let health = &mut self.health[i];
            if count > 0 {
                health.fold(count, Duration::from_micros(latency_us / count));
                if let Some(ewma) = health.ewma_latency {
                    d.publish_ewma(ewma);
                }
            }
            let sample = d.gate.take_sample();
            health.failures += sample.failures;
            if let Some(t) = self.breakers[i].fold(now, sample) {
                d.gate.publish(t, self.probes);
                transitions.push((d.id, t));
            }
            health.breaker = self.breakers[i].state();
        }
        transitions
    }
}

impl Health {
    fn fold(&mut self, count: u64, mean: Duration) {
        self.successes += count;
        self.ewma_latency = Some(match self.ewma_latency {
            Some(prev) if mean < prev => prev.mul_f64(1.0 - EWMA_ALPHA) + mean.mul_f64(EWMA_ALPHA),
            _ => mean,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::{Clock, ManualClock, ThreadPicker};
    use crate::health::Admission;
    use crate::ids::{GroupId, ProviderId};
    use crate::routing::Outcome;

    fn one(table: &mut DeploymentTable) -> DeploymentId {
        table.add((ProviderId(0), Arc::from("p")), GroupId(0), "m".into(), 1)
    }

    fn run(table: &DeploymentTable, outcome: Outcome, now: u64) {
        let lease = table.acquire(GroupId(0), now, &ThreadPicker).unwrap();
        table.release(lease.deployment, outcome, now);
    }

    fn ok(ms: u64) -> Outcome {
        Outcome::Success {
            latency: Duration::from_millis(ms),
        }
    }

    #[test]
    fn latency_rises_at_once_and_falls_gradually() {
        let mut table = DeploymentTable::new();
        let id = one(&mut table);
        let mut state = ProviderState::new(vec![id], BreakerSpec::default());
        run(&table, ok(100), 0);
        run(&table, ok(100), 0);
        state.fold(&table, 0);
        assert_eq!(
            state.health(id).unwrap().ewma_latency,
            Some(Duration::from_millis(100))
        );
        run(&table, ok(200), 0);
        state.fold(&table, 0);
        assert_eq!(
            state.health(id).unwrap().ewma_latency,
            Some(Duration::from_millis(200))
        );
        run(&table, ok(100), 0);
        state.fold(&table, 0);
        let health = state.health(id).unwrap();
        assert_eq!(health.ewma_latency, Some(Duration::from_millis(180)));
        assert_eq!(health.successes, 4);
        assert_eq!(
            table.get(id).unwrap().ewma(),
            Some(Duration::from_millis(180))
        );
    }

    #[test]
    fn the_breaker_decision_reaches_the_gate_workers_read() {
        let clock = ManualClock::new();
        let mut table = DeploymentTable::new();
        let id = one(&mut table);
        let spec = BreakerSpec {
            consecutive_failures: 2,
            cooldown: Duration::from_millis(200),
            ..BreakerSpec::default()
        };
        let mut state = ProviderState::new(vec![id], spec);
        run(&table, Outcome::Failure, clock.now());
        // A 429 is not a breaker failure.
        run(
            &table,
            Outcome::RateLimited {
                retry_after: Some(Duration::from_nanos(1)),
            },
            clock.now(),
        );
        clock.advance(Duration::from_millis(1));
        run(&table, Outcome::Failure, clock.now());
        let t = state.fold(&table, clock.now());
        assert!(matches!(t[..], [(_, Transition::Opened { .. })]), "{t:?}");
        assert!(
            table
                .acquire(GroupId(0), clock.now(), &ThreadPicker)
                .is_err()
        );
        clock.advance(Duration::from_millis(200));
        // Half-open: one probe, then nothing until it reports.
        let probe = table
            .acquire(GroupId(0), clock.now(), &ThreadPicker)
            .unwrap();
        assert!(
            table
                .acquire(GroupId(0), clock.now(), &ThreadPicker)
                .is_err()
        );
        assert!(matches!(
            table.get(id).unwrap().gate.admit(clock.now()),
            Admission::Refused { .. }
        ));
        table.release(probe.deployment, ok(5), clock.now());
        let t = state.fold(&table, clock.now());
        assert_eq!(t, vec![(id, Transition::Closed)]);
        assert_eq!(state.health(id).unwrap().breaker, BreakerState::Closed);
        assert!(
            table
                .acquire(GroupId(0), clock.now(), &ThreadPicker)
                .is_ok()
        );
    }
}
