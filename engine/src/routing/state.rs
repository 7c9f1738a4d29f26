//! The pure state machine behind a provider actor: which deployment serves the next
//! request, and what each outcome teaches us. No actix, no clock, no randomness of its own —
//! time and random numbers are passed in, so tests drive it synchronously.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest cool-down a provider's `Retry-After` may impose on a deployment.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(300);
/// Cool-down after a 429 that named no `Retry-After`.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(5);
/// Weight of the newest sample in the latency moving average.
const EWMA_ALPHA: f64 = 0.2;

/// Identifies a deployment inside one provider actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeploymentId(pub u32);

/// Identifies a model group across the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupId(pub u32);

/// One deployment as the provider actor sees it.
#[derive(Debug, Clone)]
pub struct DeploymentState {
    pub group: GroupId,
    pub upstream_model: Arc<str>,
    pub weight: u32,
    pub in_flight: u32,
    pub cooldown_until: Option<Instant>,
    pub ewma_latency: Option<Duration>,
    pub successes: u64,
    pub failures: u64,
}

/// The right to send one request to one deployment. Hand it back with a report.
#[derive(Debug, Clone)]
pub struct Lease {
    pub deployment: DeploymentId,
    pub upstream_model: Arc<str>,
}

/// How one upstream attempt ended, as far as deployment health is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success {
        latency: Duration,
    },
    /// 429: cool down until `retry_after` (capped), or the default.
    RateLimited {
        retry_after: Option<Duration>,
    },
    /// Connect error, timeout, 5xx, malformed response.
    Failure,
    /// The client's fault (4xx) or the client went away: says nothing about health.
    Neutral,
}

/// Why no deployment could be leased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireError {
    /// This provider serves no deployment of the group (or only weight-0 ones).
    NoDeployment,
    /// All candidates are cooling down; the soonest is free again after this long.
    CoolingDown(Duration),
}

/// All deployments one provider serves.
#[derive(Debug, Clone, Default)]
pub struct ProviderState {
    deployments: Vec<DeploymentState>,
}

impl ProviderState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a deployment; returns its id.
    pub fn add(&mut self, group: GroupId, upstream_model: Arc<str>, weight: u32) -> DeploymentId {
        let id = DeploymentId(u32::try_from(self.deployments.len()).unwrap_or(u32::MAX));
        self.deployments.push(DeploymentState {
            group,
            upstream_model,
            weight,
            in_flight: 0,
            cooldown_until: None,
            ewma_latency: None,
            successes: 0,
            failures: 0,
        });
        id
    }

    pub fn deployment(&self, id: DeploymentId) -> Option<&DeploymentState> {
        self.deployments.get(id.0 as usize)
    }

    /// Picks a deployment of `group` by weight among those not cooling down.
    /// `roll` must return a uniformly random number in `0..bound`.
    pub fn acquire(
        &mut self,
        group: GroupId,
        now: Instant,
        roll: &mut dyn FnMut(u64) -> u64,
    ) -> Result<Lease, AcquireError> {
        let mut total: u64 = 0;
        let mut soonest: Option<Duration> = None;
        let mut any = false;
        for d in self
            .deployments
            .iter()
            .filter(|d| d.group == group && d.weight > 0)
        {
            any = true;
            match d.cooldown_until {
                Some(until) if until > now => {
                    let wait = until - now;
                    soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
                }
                _ => total += u64::from(d.weight),
            }
        }
        if !any {
            return Err(AcquireError::NoDeployment);
        }
        if total == 0 {
            return Err(AcquireError::CoolingDown(
                soonest.unwrap_or(DEFAULT_COOLDOWN),
            ));
        }
        let mut pick = roll(total);
        for (index, d) in self.deployments.iter_mut().enumerate() {
            if d.group != group || d.weight == 0 || d.cooldown_until.is_some_and(|u| u > now) {
                continue;
            }
            let weight = u64::from(d.weight);
            if pick < weight {
                d.in_flight += 1;
                d.cooldown_until = None;
                return Ok(Lease {
                    deployment: DeploymentId(u32::try_from(index).unwrap_or(u32::MAX)),
                    upstream_model: d.upstream_model.clone(),
                });
            }
            pick -= weight;
        }
        Err(AcquireError::NoDeployment)
    }

    /// Records how an attempt on a leased deployment ended.
    pub fn report(&mut self, deployment: DeploymentId, outcome: Outcome, now: Instant) {
        let Some(d) = self.deployments.get_mut(deployment.0 as usize) else {
            return;
        };
        d.in_flight = d.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Success { latency } => {
                d.successes += 1;
                d.ewma_latency = Some(match d.ewma_latency {
                    None => latency,
                    Some(prev) => prev.mul_f64(1.0 - EWMA_ALPHA) + latency.mul_f64(EWMA_ALPHA),
                });
            }
            Outcome::RateLimited { retry_after } => {
                d.failures += 1;
                let wait = retry_after.unwrap_or(DEFAULT_COOLDOWN).min(MAX_COOLDOWN);
                d.cooldown_until = Some(now + wait);
            }
            Outcome::Failure => d.failures += 1,
            Outcome::Neutral => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: GroupId = GroupId(0);

    fn two_deployments(w1: u32, w2: u32) -> ProviderState {
        let mut state = ProviderState::new();
        state.add(G, "a".into(), w1);
        state.add(G, "b".into(), w2);
        state.add(GroupId(1), "other".into(), 100);
        state
    }

    #[test]
    fn picks_deployments_in_proportion_to_weight() {
        let mut state = two_deployments(1, 3);
        let now = Instant::now();
        let mut counts = [0u32; 2];
        for roll in 0..4 {
            let lease = state.acquire(G, now, &mut |bound| {
                assert_eq!(bound, 4);
                roll
            });
            counts[lease.unwrap().deployment.0 as usize] += 1;
        }
        assert_eq!(counts, [1, 3]);
    }

    #[test]
    fn tracks_in_flight_until_reported() {
        let mut state = two_deployments(1, 0);
        let now = Instant::now();
        let lease = state.acquire(G, now, &mut |_| 0).unwrap();
        assert_eq!(state.deployment(lease.deployment).unwrap().in_flight, 1);
        state.report(lease.deployment, Outcome::Neutral, now);
        assert_eq!(state.deployment(lease.deployment).unwrap().in_flight, 0);
    }

    #[test]
    fn cools_a_deployment_down_for_its_retry_after_on_429() {
        let mut state = two_deployments(1, 0);
        let now = Instant::now();
        let lease = state.acquire(G, now, &mut |_| 0).unwrap();
        let retry_after = Some(Duration::from_secs(7));
        state.report(lease.deployment, Outcome::RateLimited { retry_after }, now);
        let later = now + Duration::from_secs(3);
        assert_eq!(
            state.acquire(G, later, &mut |_| 0).unwrap_err(),
            AcquireError::CoolingDown(Duration::from_secs(4))
        );
        assert!(
            state
                .acquire(G, now + Duration::from_secs(7), &mut |_| 0)
                .is_ok()
        );
    }

    #[test]
    fn skips_cooling_deployments_while_others_are_healthy() {
        let mut state = two_deployments(1, 1);
        let now = Instant::now();
        let first = state.acquire(G, now, &mut |_| 0).unwrap();
        assert_eq!(first.deployment, DeploymentId(0));
        state.report(
            first.deployment,
            Outcome::RateLimited { retry_after: None },
            now,
        );
        for _ in 0..10 {
            let lease = state.acquire(G, now, &mut |bound| bound - 1).unwrap();
            assert_eq!(lease.deployment, DeploymentId(1));
        }
    }

    #[test]
    fn caps_cooldown_and_ignores_unknown_groups() {
        let mut state = two_deployments(1, 0);
        let now = Instant::now();
        let lease = state.acquire(G, now, &mut |_| 0).unwrap();
        let huge = Some(Duration::from_secs(86_400));
        state.report(
            lease.deployment,
            Outcome::RateLimited { retry_after: huge },
            now,
        );
        assert!(state.acquire(G, now + MAX_COOLDOWN, &mut |_| 0).is_ok());
        assert_eq!(
            state.acquire(GroupId(9), now, &mut |_| 0).unwrap_err(),
            AcquireError::NoDeployment
        );
    }

    #[test]
    fn keeps_a_latency_moving_average_of_successes() {
        let mut state = two_deployments(1, 0);
        let now = Instant::now();
        for ms in [100, 200] {
            let lease = state.acquire(G, now, &mut |_| 0).unwrap();
            let latency = Duration::from_millis(ms);
            state.report(lease.deployment, Outcome::Success { latency }, now);
        }
        let ewma = state
            .deployment(DeploymentId(0))
            .unwrap()
            .ewma_latency
            .unwrap();
        assert_eq!(ewma.as_millis(), 120);
        assert_eq!(state.deployment(DeploymentId(0)).unwrap().successes, 2);
    }
}
