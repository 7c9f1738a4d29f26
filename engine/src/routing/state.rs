//! The provider actor's own state: slow-path health facts per deployment (latency moving
//! average, failure counts). Pure: no actix, no clock — the actor feeds it.
//! The circuit breaker will live here, publishing its decisions into the shared table.

use std::time::Duration;

use super::table::{DeploymentTable, Outcome};
use crate::ids::DeploymentId;

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

/// Health of the deployments one provider serves.
#[derive(Debug, Clone, Default)]
pub(super) struct ProviderState {
    /// Ascending, as the table assigned them.
    ids: Vec<DeploymentId>,
    health: Vec<Health>,
}

impl ProviderState {
    pub(super) fn new(mut ids: Vec<DeploymentId>) -> Self {
        ids.sort_unstable();
        let health = vec![Health::default(); ids.len()];
        Self { ids, health }
    }

    pub(super) fn health(&self, id: DeploymentId) -> Option<&Health> {
        self.ids
            .binary_search(&id)
            .ok()
            .and_then(|i| self.health.get(i))
    }

    fn health_mut(&mut self, id: DeploymentId) -> Option<&mut Health> {
        let i = self.ids.binary_search(&id).ok()?;
        self.health.get_mut(i)
    }

    /// Records a reported outcome.
    pub(super) fn report(&mut self, id: DeploymentId, outcome: Outcome) {
        let Some(h) = self.health_mut(id) else {
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
    pub(super) fn fold_successes(&mut self, table: &DeploymentTable) {
        for i in 0..self.ids.len() {
            let Some(d) = table.get(self.ids[i]) else {
                continue;
            };
            let (count, latency_us) = d.take_successes();
            if count > 0 {
                self.health[i].fold(count, Duration::from_micros(latency_us / count));
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
    use std::sync::Arc;

    use super::*;
    use crate::clock::ThreadPicker;
    use crate::ids::{GroupId, ProviderId};

    fn success(table: &DeploymentTable, ms: u64) {
        let lease = table.acquire(GroupId(0), 0, &ThreadPicker).unwrap();
        let latency = Duration::from_millis(ms);
        table.release(lease.deployment, Outcome::Success { latency }, 0);
    }

    #[test]
    fn folds_counted_successes_into_a_moving_average() {
        let mut table = DeploymentTable::new();
        let id = table.add((ProviderId(0), Arc::from("p")), GroupId(0), "m".into(), 1);
        let mut state = ProviderState::new(vec![id]);
        success(&table, 100);
        success(&table, 100);
        state.fold_successes(&table);
        assert_eq!(
            state.health(id).unwrap().ewma_latency,
            Some(Duration::from_millis(100))
        );
        success(&table, 200);
        state.fold_successes(&table);
        let health = state.health(id).unwrap();
        assert_eq!(health.ewma_latency, Some(Duration::from_millis(120)));
        assert_eq!(health.successes, 3);
    }

    #[test]
    fn counts_failures_and_rate_limits() {
        let mut state = ProviderState::new(vec![DeploymentId(3)]);
        state.report(DeploymentId(3), Outcome::Failure);
        state.report(DeploymentId(3), Outcome::RateLimited { retry_after: None });
        state.report(DeploymentId(3), Outcome::Neutral);
        state.report(DeploymentId(7), Outcome::Failure);
        let h = state.health(DeploymentId(3)).unwrap();
        assert_eq!((h.failures, h.rate_limited, h.successes), (1, 1, 0));
        assert!(state.health(DeploymentId(7)).is_none());
    }
}
