//! The deployment table, shared by every worker without locks.
//!
//! Configuration (provider, group, model, weight, quotas, cost) is immutable; what changes per
//! request lives in atomics ([`Deployment`]). A worker leases a deployment from this table in
//! a few dozen nanoseconds — no message, no thread hop — skipping deployments that are cooling
//! down after a 429, whose breaker gate is shut, that are at their `max_in_flight` or over
//! their declared quota, and those the request already tried; the group's [`Strategy`] picks
//! among the rest. Times are [`Clock`](crate::clock::Clock) nanoseconds; randomness comes from
//! a [`Picker`], so every decision here is testable.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use super::deployment::{Availability, Deployment, DeploymentFacts, Lease};
use super::pick::{Strategy, pick};
use crate::clock::{Picker, nanos};
use crate::error::UpstreamError;
use crate::ids::{DeploymentId, GroupId, ProviderId};

/// Longest cool-down a provider's `Retry-After` may impose on a deployment.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(300);
/// Cool-down after a 429 that named no `Retry-After`.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(5);

/// Why no deployment could be leased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireError {
    /// The group has no deployment (or only weight-0 ones).
    NoDeployment,
    /// All candidates are cooling down after 429s; the soonest is free after this long.
    CoolingDown(Duration),
    /// Every deployment is refused by its breaker (or cooling down); the soonest breaker
    /// cool-down ends after this long, if known.
    Unavailable(Option<Duration>),
    /// Every available deployment is at its `max_in_flight`.
    Saturated,
    /// Only deployments this request already tried could take it.
    AllTried,
}

/// A model group's members and the state its strategy keeps.
#[derive(Debug, Default)]
struct Group {
    members: Vec<DeploymentId>,
    strategy: Strategy,
    turn: AtomicU64,
    /// Requests waiting for a deployment below its `max_in_flight`.
    waiting: AtomicU32,
    released: Notify,
}

/// Every deployment of the gateway, indexed by [`DeploymentId`], and each group's members.
#[derive(Debug, Default)]
pub struct DeploymentTable {
    deployments: Vec<Deployment>,
    groups: Vec<Group>,
}

impl DeploymentTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a deployment with default facts; returns its gateway-wide id.
    pub fn add(
        &mut self,
        provider: (ProviderId, Arc<str>),
        group: GroupId,
        upstream_model: Arc<str>,
        weight: u32,
    ) -> DeploymentId {
        let mut facts = DeploymentFacts::new(provider, group, upstream_model);
        facts.weight = weight;
        self.add_facts(facts)
    }

    /// Adds a deployment; returns its gateway-wide id.
    pub fn add_facts(&mut self, facts: DeploymentFacts) -> DeploymentId {
        let id = DeploymentId::from_index(self.deployments.len());
        let group = facts.group.index();
        let chosen = facts.weight > 0;
        self.deployments.push(Deployment::new(id, facts));
        if self.groups.len() <= group {
            self.groups.resize_with(group + 1, Group::default);
        }
        if chosen {
            self.groups[group].members.push(id);
        }
        id
    }

    /// Sets how `group` chooses among its deployments.
    pub fn set_strategy(&mut self, group: GroupId, strategy: Strategy) {
        if self.groups.len() <= group.index() {
            self.groups.resize_with(group.index() + 1, Group::default);
        }
        self.groups[group.index()].strategy = strategy;
    }

    pub fn get(&self, id: DeploymentId) -> Option<&Deployment> {
        self.deployments.get(id.index())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments.iter()
    }

    /// Leases a deployment of `group` by its strategy.
    pub fn acquire(
        &self,
        group: GroupId,
        now: u64,
        picker: &dyn Picker,
    ) -> Result<Lease, AcquireError> {
        self.acquire_excluding(group, now, picker, &[])
    }

    /// Leases a deployment of `group` other than those in `tried`.
    pub fn acquire_excluding(
        &self,
        group: GroupId,
        now: u64,
        picker: &dyn Picker,
        tried: &[DeploymentId],
    ) -> Result<Lease, AcquireError> {
        let Some(g) = self
            .groups
            .get(group.index())
            .filter(|g| !g.members.is_empty())
        else {
            return Err(AcquireError::NoDeployment);
        };
        let mut candidates: Vec<&Deployment> = Vec::with_capacity(g.members.len());
        let (mut cooling, mut open, mut saturated, mut excluded) =
            (None::<u64>, None, false, false);
        for d in g.members.iter().filter_map(|id| self.get(*id)) {
            if tried.contains(&d.id) {
                excluded = true;
                continue;
            }
            match d.available(now) {
                Availability::Yes => candidates.push(d),
                Availability::Cooling(wait) => {
                    cooling = Some(cooling.map_or(wait, |c| c.min(wait)));
                }
                Availability::Open => {
                    let wait = d.gate.open_until().map_or(0, |u| u.saturating_sub(now));
                    open = Some(open.map_or(wait, |o: u64| o.min(wait)));
                }
                Availability::Saturated => saturated = true,
                Availability::OverQuota => open = open.or(Some(0)),
            }
        }
        while !candidates.is_empty() {
            let i = pick(g.strategy, &candidates, now, picker, &g.turn);
            if let Some(lease) = candidates[i].try_lease(now) {
                return Ok(lease);
            }
            candidates.swap_remove(i);
        }
        Err(if excluded {
            AcquireError::AllTried
        } else if saturated {
            AcquireError::Saturated
        } else if let Some(open) = open {
            let soonest = cooling.map_or(open, |c| c.min(open));
            AcquireError::Unavailable(Some(soonest).filter(|n| *n > 0).map(Duration::from_nanos))
        } else if let Some(cooling) = cooling {
            AcquireError::CoolingDown(Duration::from_nanos(cooling))
        } else {
            AcquireError::Unavailable(None)
        })
    }

    /// Waits until a deployment of `group` is released, or `timeout` passes.
    pub async fn wait_for_release(&self, group: GroupId, timeout: Duration) {
        let Some(g) = self.groups.get(group.index()) else {
            return;
        };
        g.waiting.fetch_add(1, Ordering::AcqRel);
        let _ = tokio::time::timeout(timeout, g.released.notified()).await;
        g.waiting.fetch_sub(1, Ordering::AcqRel);
    }

    /// Ends a lease. A 429 cools the deployment down at once, for every worker. Returns
    /// whether the provider actor should fold the deployment's breaker now rather than at
    /// its next tick (a failure streak reached the trip threshold, or the breaker is open).
    pub fn release(&self, id: DeploymentId, outcome: Outcome, now: u64) -> bool {
        let Some(d) = self.get(id) else {
            return false;
        };
        d.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(g) = self.groups.get(d.facts.group.index())
            && g.waiting.load(Ordering::Acquire) > 0
        {
            g.released.notify_waiters();
        }
        record(d, outcome, now)
    }

    /// Records the outcome of a health check of `id` exactly as [`release`](Self::release)
    /// records an attempt's, for a check that held no lease (it bypasses the gate and takes no
    /// in-flight slot). Returns whether the provider actor should fold now.
    pub fn record_check(&self, id: DeploymentId, outcome: Outcome, now: u64) -> bool {
        self.get(id).is_some_and(|d| record(d, outcome, now))
    }
}

/// Counts one outcome on `d`: a 429 cools it down at once, successes and failures go to its
/// gate. Returns whether the actor should fold now (a failure streak reached the trip
/// threshold, or the breaker is open).
fn record(d: &Deployment, outcome: Outcome, now: u64) -> bool {
    let streak = match outcome {
        Outcome::Success { latency } => {
            d.count_success(latency);
            d.gate.record(false)
        }
        Outcome::Failure => d.gate.record(true),
        Outcome::RateLimited { retry_after } => {
            let wait = retry_after.unwrap_or(DEFAULT_COOLDOWN).min(MAX_COOLDOWN);
            let until = now.saturating_add(nanos(wait));
            d.cooldown_until.fetch_max(until, Ordering::Relaxed);
            d.cooldowns.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        Outcome::Neutral => return false,
    };
    let trip = d.facts.trip_after;
    (trip > 0 && streak >= u64::from(trip)) || d.gate.open_until().is_some()
}

/// How one upstream attempt ended, as far as deployment health is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success {
        latency: Duration,
    },
    /// 429: cool down until `retry_after` (capped), or the default. Not a breaker failure.
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
            e if e.fault() == crate::error::Fault::Client => Outcome::Neutral,
            _ => Outcome::Failure,
        }
    }
}

#[cfg(test)]
mod tests;
