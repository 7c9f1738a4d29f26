//! The deployment table one provider serves, shared by every worker without locks.
//!
//! Configuration (group, model, weight) is immutable; what changes per request lives in
//! atomics: in-flight count, the cool-down deadline a 429 set, and success counters the
//! provider actor folds into its latency average. A worker picks a deployment from this
//! table in a few dozen nanoseconds — no message, no thread hop — and a 429 seen by one
//! worker cools the deployment down for all of them at once.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Longest cool-down a provider's `Retry-After` may impose on a deployment.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(300);
/// Cool-down after a 429 that named no `Retry-After`.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(5);

/// Identifies a deployment inside one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeploymentId(pub u32);

/// Identifies a model group across the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupId(pub u32);

/// The right to send one request to one deployment. Hand it back with a report.
#[derive(Debug, Clone)]
pub struct Lease {
    pub deployment: DeploymentId,
    pub upstream_model: Arc<str>,
}

/// Why no deployment could be leased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireError {
    /// This provider serves no deployment of the group (or only weight-0 ones).
    NoDeployment,
    /// All candidates are cooling down; the soonest is free again after this long.
    CoolingDown(Duration),
}

/// A monotonic clock as nanoseconds since a process-wide origin, so deadlines fit atomics.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    /// The process-wide clock.
    pub fn global() -> Clock {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        Clock {
            origin: *ORIGIN.get_or_init(Instant::now),
        }
    }

    /// Nanoseconds from the origin to `at` (0 for instants before the origin).
    pub fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// One deployment: fixed facts plus live counters.
#[derive(Debug)]
pub struct Deployment {
    pub group: GroupId,
    pub upstream_model: Arc<str>,
    pub weight: u32,
    in_flight: AtomicU32,
    /// Clock nanos until which the deployment is cooling down; 0 = not cooling.
    cooldown_until: AtomicU64,
    successes: AtomicU64,
    success_latency_us: AtomicU64,
}

impl Deployment {
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Takes the successes recorded since the last call: (count, summed latency in µs).
    pub fn take_successes(&self) -> (u64, u64) {
        (
            self.successes.swap(0, Ordering::Relaxed),
            self.success_latency_us.swap(0, Ordering::Relaxed),
        )
    }
}

/// All deployments one provider serves.
#[derive(Debug, Default)]
pub struct DeploymentTable {
    deployments: Vec<Deployment>,
}

impl DeploymentTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a deployment; returns its id.
    pub fn add(&mut self, group: GroupId, upstream_model: Arc<str>, weight: u32) -> DeploymentId {
        let id = DeploymentId(u32::try_from(self.deployments.len()).unwrap_or(u32::MAX));
        self.deployments.push(Deployment {
            group,
            upstream_model,
            weight,
            in_flight: AtomicU32::new(0),
            cooldown_until: AtomicU64::new(0),
            successes: AtomicU64::new(0),
            success_latency_us: AtomicU64::new(0),
        });
        id
    }

    pub fn get(&self, id: DeploymentId) -> Option<&Deployment> {
        self.deployments.get(id.0 as usize)
    }

    pub fn iter(&self) -> impl Iterator<Item = (DeploymentId, &Deployment)> {
        self.deployments
            .iter()
            .enumerate()
            .map(|(i, d)| (DeploymentId(u32::try_from(i).unwrap_or(u32::MAX)), d))
    }

    /// Picks a deployment of `group` by weight among those not cooling down.
    /// `now` is in [`Clock`] nanos; `roll` returns a uniform random number in `0..bound`.
    pub fn acquire(
        &self,
        group: GroupId,
        now: u64,
        roll: &mut dyn FnMut(u64) -> u64,
    ) -> Result<Lease, AcquireError> {
        let mut total: u64 = 0;
        let mut soonest: Option<u64> = None;
        let mut any = false;
        for d in self.candidates(group) {
            any = true;
            let until = d.cooldown_until.load(Ordering::Relaxed);
            if until > now {
                soonest = Some(soonest.map_or(until - now, |s| s.min(until - now)));
            } else {
                total += u64::from(d.weight);
            }
        }
        if !any {
            return Err(AcquireError::NoDeployment);
        }
        if total == 0 {
            return Err(AcquireError::CoolingDown(
                soonest.map_or(DEFAULT_COOLDOWN, Duration::from_nanos),
            ));
        }
        let mut pick = roll(total);
        for (id, d) in self
            .iter()
            .filter(|(_, d)| d.group == group && d.weight > 0)
        {
            if d.cooldown_until.load(Ordering::Relaxed) > now {
                continue;
            }
            let weight = u64::from(d.weight);
            if pick < weight {
                d.in_flight.fetch_add(1, Ordering::Relaxed);
                return Ok(Lease {
                    deployment: id,
                    upstream_model: d.upstream_model.clone(),
                });
            }
            pick -= weight;
        }
        Err(AcquireError::NoDeployment)
    }

    /// Ends a lease. A 429 cools the deployment down at once, for every worker.
    pub fn release(&self, id: DeploymentId, outcome: Outcome, now: u64) {
        let Some(d) = self.get(id) else {
            return;
        };
        d.in_flight.fetch_sub(1, Ordering::Relaxed);
        match outcome {
            Outcome::Success { latency } => {
                d.successes.fetch_add(1, Ordering::Relaxed);
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                d.success_latency_us.fetch_add(us, Ordering::Relaxed);
            }
            Outcome::RateLimited { retry_after } => {
                let wait = retry_after.unwrap_or(DEFAULT_COOLDOWN).min(MAX_COOLDOWN);
                let until = now.saturating_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX));
                d.cooldown_until.fetch_max(until, Ordering::Relaxed);
            }
            Outcome::Failure | Outcome::Neutral => {}
        }
    }

    fn candidates(&self, group: GroupId) -> impl Iterator<Item = &Deployment> {
        self.deployments
            .iter()
            .filter(move |d| d.group == group && d.weight > 0)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const G: GroupId = GroupId(0);
    const SEC: u64 = 1_000_000_000;

    fn table(w1: u32, w2: u32) -> DeploymentTable {
        let mut t = DeploymentTable::new();
        t.add(G, "a".into(), w1);
        t.add(G, "b".into(), w2);
        t.add(GroupId(1), "other".into(), 100);
        t
    }

    #[test]
    fn picks_deployments_in_proportion_to_weight() {
        let t = table(1, 3);
        let mut counts = [0u32; 2];
        for roll in 0..4 {
            let lease = t.acquire(G, SEC, &mut |bound| {
                assert_eq!(bound, 4);
                roll
            });
            counts[lease.unwrap().deployment.0 as usize] += 1;
        }
        assert_eq!(counts, [1, 3]);
    }

    #[test]
    fn tracks_in_flight_until_released() {
        let t = table(1, 0);
        let lease = t.acquire(G, SEC, &mut |_| 0).unwrap();
        assert_eq!(t.get(lease.deployment).unwrap().in_flight(), 1);
        t.release(lease.deployment, Outcome::Neutral, SEC);
        assert_eq!(t.get(lease.deployment).unwrap().in_flight(), 0);
    }

    #[test]
    fn cools_a_deployment_down_for_its_retry_after_on_429() {
        let t = table(1, 0);
        let lease = t.acquire(G, SEC, &mut |_| 0).unwrap();
        let retry_after = Some(Duration::from_secs(7));
        t.release(lease.deployment, Outcome::RateLimited { retry_after }, SEC);
        assert_eq!(
            t.acquire(G, 4 * SEC, &mut |_| 0).unwrap_err(),
            AcquireError::CoolingDown(Duration::from_secs(4))
        );
        assert!(t.acquire(G, 8 * SEC, &mut |_| 0).is_ok());
    }

    #[test]
    fn skips_cooling_deployments_while_others_are_healthy() {
        let t = table(1, 1);
        let first = t.acquire(G, SEC, &mut |_| 0).unwrap();
        assert_eq!(first.deployment, DeploymentId(0));
        t.release(
            first.deployment,
            Outcome::RateLimited { retry_after: None },
            SEC,
        );
        for _ in 0..10 {
            let lease = t.acquire(G, SEC, &mut |bound| bound - 1).unwrap();
            assert_eq!(lease.deployment, DeploymentId(1));
        }
    }

    #[test]
    fn caps_cooldown_and_ignores_unknown_groups() {
        let t = table(1, 0);
        let lease = t.acquire(G, SEC, &mut |_| 0).unwrap();
        let huge = Some(Duration::from_secs(86_400));
        t.release(
            lease.deployment,
            Outcome::RateLimited { retry_after: huge },
            SEC,
        );
        let cap = u64::try_from(MAX_COOLDOWN.as_nanos()).unwrap();
        assert!(t.acquire(G, SEC + cap, &mut |_| 0).is_ok());
        assert_eq!(
            t.acquire(GroupId(9), SEC, &mut |_| 0).unwrap_err(),
            AcquireError::NoDeployment
        );
    }

    #[test]
    fn a_shorter_retry_after_never_shortens_a_running_cooldown() {
        let t = table(1, 0);
        for secs in [30, 2] {
            let lease = t.acquire(G, SEC, &mut |_| 0);
            let id = lease.map(|l| l.deployment).unwrap_or(DeploymentId(0));
            t.release(
                id,
                Outcome::RateLimited {
                    retry_after: Some(Duration::from_secs(secs)),
                },
                SEC,
            );
        }
        assert!(t.acquire(G, 10 * SEC, &mut |_| 0).is_err());
    }

    #[test]
    fn successes_are_counted_for_the_actor_to_fold() {
        let t = table(1, 0);
        for ms in [100, 200] {
            let lease = t.acquire(G, SEC, &mut |_| 0).unwrap();
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
}
