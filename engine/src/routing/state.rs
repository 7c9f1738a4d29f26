//! The provider actor's own state: slow-path health facts per deployment (latency moving
//! average, failure counts). Pure: no actix, no clock — the actor feeds it.
//! The circuit breaker will live here, publishing its decisions into the shared table.

use std::time::Duration;

use super::table::{DeploymentId, DeploymentTable, Outcome};

/// Weight of the newest sample in the latency moving average.
const EWMA_ALPHA: f64 = 0.2;

/// Health history of one deployment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    pub ewma_latency: Option<Duration>,
    pub successes: u64,
    pub failures: u64,
    pub rate_limited: u64,
}

/// Health of every deployment of one provider, indexed like its [`DeploymentTable`].
#[derive(Debug, Clone, Default)]
pub struct ProviderState {
    health: Vec<Health>,
}

impl ProviderState {
    pub fn new(deployments: usize) -> Self {
        Self {
            health: vec![Health::default(); deployments],
        }
    }

    pub fn health(&self, id: DeploymentId) -> Option<&Health> {
        self.health.get(id.0 as usize)
    }

    /// Records a reported failure or 429.
    pub fn report(&mut self, id: DeploymentId, outcome: Outcome) {
        let Some(h) = self.health.get_mut(id.0 as usize) else {
            return;
        };
        match outcome {
            Outcome::RateLimited { .. } => h.rate_limited += 1,
            Outcome::Failure => h.failures += 1,
            Outcome::Success { latency } => h.fold(1, latency),
            Outcome::Neutral => {}
        }
    }

    /// Folds the successes workers counted in the table since the last tick.
    pub fn fold_successes(&mut self, table: &DeploymentTable) {
        for (id, d) in table.iter() {
            let (count, latency_us) = d.take_successes();
            if count > 0
                && let Some(h) = self.health.get_mut(id.0 as usize)
            {
                h.fold(count, Duration::from_micros(latency_us / count));
            }
        }
    }
}

impl Health {
    fn fold(&mut self, count: u64, mean: Duration) {
        self.successes += count;
        self.ewma_latency = Some(match self.ewma_latency {
            None => mean,
            Some(prev) => prev.mul_f64(1.0 - EWMA_ALPHA) + mean.mul_f64(EWMA_ALPHA),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::table::GroupId;

    #[test]
    fn folds_counted_successes_into_a_moving_average() {
        let mut table = DeploymentTable::new();
        let id = table.add(GroupId(0), "m".into(), 1);
        let mut state = ProviderState::new(1);
        for ms in [100, 100] {
            let lease = table.acquire(GroupId(0), 0, &mut |_| 0).unwrap();
            table.release(
                lease.deployment,
                Outcome::Success {
                    latency: Duration::from_millis(ms),
                },
                0,
            );
        }
        state.fold_successes(&table);
        assert_eq!(
            state.health(id).unwrap().ewma_latency,
            Some(Duration::from_millis(100))
        );
        let lease = table.acquire(GroupId(0), 0, &mut |_| 0).unwrap();
        table.release(
            lease.deployment,
            Outcome::Success {
                latency: Duration::from_millis(200),
            },
            0,
        );
        state.fold_successes(&table);
        let health = state.health(id).unwrap();
        assert_eq!(health.ewma_latency, Some(Duration::from_millis(120)));
        assert_eq!(health.successes, 3);
    }

    #[test]
    fn counts_failures_and_rate_limits() {
        let mut state = ProviderState::new(1);
        state.report(DeploymentId(0), Outcome::Failure);
        state.report(DeploymentId(0), Outcome::RateLimited { retry_after: None });
        state.report(DeploymentId(0), Outcome::Neutral);
        state.report(DeploymentId(7), Outcome::Failure);
        let h = state.health(DeploymentId(0)).unwrap();
        assert_eq!((h.failures, h.rate_limited, h.successes), (1, 1, 0));
    }
}
