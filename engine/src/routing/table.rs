//! The deployment table, shared by every worker without locks.
//!
//! Configuration (provider, group, model, weight) is immutable; what changes per request lives
//! in atomics: in-flight count, the cool-down deadline a 429 set, and success counters the
//! provider actor folds into its latency average. A worker picks a deployment from this table
//! in a few dozen nanoseconds — no message, no thread hop — and a 429 seen by one worker cools
//! the deployment down for all of them at once. Times are [`Clock`](crate::clock::Clock)
//! nanoseconds; randomness comes from a [`Picker`], so every decision here is testable.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::{Picker, nanos};
use crate::error::UpstreamError;
use crate::ids::{DeploymentId, GroupId, ProviderId};

/// Longest cool-down a provider's `Retry-After` may impose on a deployment.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(300);
/// Cool-down after a 429 that named no `Retry-After`.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(5);

/// The right to send one request to one deployment. Hand it back with a report.
/// Carries the names metrics and logs need, so nobody keeps a parallel array of them.
#[derive(Debug, Clone)]
pub struct Lease {
    pub deployment: DeploymentId,
    pub provider: ProviderId,
    pub provider_name: Arc<str>,
    pub upstream_model: Arc<str>,
}

/// Why no deployment could be leased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireError {
    /// The group has no deployment (or only weight-0 ones).
    NoDeployment,
    /// All candidates are cooling down; the soonest is free again after this long.
    CoolingDown(Duration),
}

/// One deployment: fixed facts plus live counters.
#[derive(Debug)]
pub struct Deployment {
    pub id: DeploymentId,
    pub provider: ProviderId,
    pub provider_name: Arc<str>,
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

    fn cooling(&self, now: u64) -> Option<u64> {
        let until = self.cooldown_until.load(Ordering::Relaxed);
        (until > now).then(|| until - now)
    }

    fn lease(&self) -> Lease {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Lease {
            deployment: self.id,
            provider: self.provider,
            provider_name: self.provider_name.clone(),
            upstream_model: self.upstream_model.clone(),
        }
    }
}

/// Every deployment of the gateway, indexed by [`DeploymentId`], and each group's members.
#[derive(Debug, Default)]
pub struct DeploymentTable {
    deployments: Vec<Deployment>,
    /// By group id: the deployments of that group with a weight above zero.
    groups: Vec<Vec<DeploymentId>>,
}

impl DeploymentTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a deployment; returns its gateway-wide id.
    pub fn add(
        &mut self,
        provider: (ProviderId, Arc<str>),
        group: GroupId,
        upstream_model: Arc<str>,
        weight: u32,
    ) -> DeploymentId {
        let id = DeploymentId::from_index(self.deployments.len());
        self.deployments.push(Deployment {
            id,
            provider: provider.0,
            provider_name: provider.1,
            group,
            upstream_model,
            weight,
            in_flight: AtomicU32::new(0),
            cooldown_until: AtomicU64::new(0),
            successes: AtomicU64::new(0),
            success_latency_us: AtomicU64::new(0),
        });
        if self.groups.len() <= group.index() {
            self.groups.resize_with(group.index() + 1, Vec::new);
        }
        if weight > 0 {
            self.groups[group.index()].push(id);
        }
        id
    }

    pub fn get(&self, id: DeploymentId) -> Option<&Deployment> {
        self.deployments.get(id.index())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments.iter()
    }

    /// Picks a deployment of `group` by weight among those not cooling down.
    pub fn acquire(
        &self,
        group: GroupId,
        now: u64,
        picker: &dyn Picker,
    ) -> Result<Lease, AcquireError> {
        let members = self.members(group);
        if members.clone().next().is_none() {
            return Err(AcquireError::NoDeployment);
        }
        let mut total: u64 = 0;
        let mut soonest: Option<u64> = None;
        for d in members.clone() {
            match d.cooling(now) {
                Some(wait) => soonest = Some(soonest.map_or(wait, |s| s.min(wait))),
                None => total += u64::from(d.weight),
            }
        }
        if total == 0 {
            return Err(AcquireError::CoolingDown(
                soonest.map_or(DEFAULT_COOLDOWN, Duration::from_nanos),
            ));
        }
        let mut pick = picker.below(total);
        for d in members.filter(|d| d.cooling(now).is_none()) {
            let weight = u64::from(d.weight);
            if pick < weight {
                return Ok(d.lease());
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
                let until = now.saturating_add(nanos(wait));
                d.cooldown_until.fetch_max(until, Ordering::Relaxed);
            }
            Outcome::Failure | Outcome::Neutral => {}
        }
    }

    fn members(&self, group: GroupId) -> impl Iterator<Item = &Deployment> + Clone {
        self.groups
            .get(group.index())
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|id| self.deployments.get(id.index()))
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

impl Outcome {
    /// How an upstream error bears on deployment health.
    pub fn after(error: &UpstreamError) -> Outcome {
        match error {
            UpstreamError::RateLimited { retry_after } => Outcome::RateLimited {
                retry_after: *retry_after,
            },
            UpstreamError::BadRequest { .. } => Outcome::Neutral,
            _ => Outcome::Failure,
        }
    }
}

#[cfg(test)]
mod tests;
