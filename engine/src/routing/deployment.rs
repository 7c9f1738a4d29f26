//! [`Deployment`]: one row of the shared table — fixed facts, and the atomics workers update
//! on every lease and release (in-flight, cool-down, usage this minute, outcome counters) and
//! the provider actor publishes into (breaker gate, peak-EWMA latency).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::health::{Admission, Gate};
use crate::ids::{DeploymentId, GroupId, ProviderId};
use crate::spec::{HealthCheckSpec, TimeoutOverrides};

const MINUTE_NANOS: u64 = 60_000_000_000;

/// The right to send one request to one deployment. Hand it back with a report.
/// Carries the names metrics and logs need, so nobody keeps a parallel array of them.
#[derive(Debug, Clone)]
pub struct Lease {
    pub deployment: DeploymentId,
    pub provider: ProviderId,
    pub provider_name: Arc<str>,
    pub group: GroupId,
    pub upstream_model: Arc<str>,
    /// This deployment's timeouts, where they override its provider's.
    pub timeouts: TimeoutOverrides,
}

/// Fixed facts of a deployment, as the table is built from them.
#[derive(Debug, Clone)]
pub struct DeploymentFacts {
    pub provider: ProviderId,
    pub provider_name: Arc<str>,
    pub group: GroupId,
    pub upstream_model: Arc<str>,
    pub weight: u32,
    pub priority: u32,
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    /// Micro-dollars per million tokens, `u64::MAX` when unknown.
    pub cost: u64,
    pub max_in_flight: Option<u32>,
    pub timeouts: TimeoutOverrides,
    /// Failures in a row at which the actor is nudged to fold at once (0 = never nudge).
    pub trip_after: u32,
    /// Active health checks, if configured.
    pub health_check: Option<HealthCheckSpec>,
}

impl DeploymentFacts {
    /// A deployment with defaults for everything but where it lives.
    pub fn new(provider: (ProviderId, Arc<str>), group: GroupId, model: Arc<str>) -> Self {
        Self {
            provider: provider.0,
            provider_name: provider.1,
            group,
            upstream_model: model,
            weight: 1,
            priority: 0,
            rpm: None,
            tpm: None,
            cost: u64::MAX,
            max_in_flight: None,
            timeouts: TimeoutOverrides::default(),
            trip_after: 0,
            health_check: None,
        }
    }
}

/// One deployment: fixed facts plus live counters.
#[derive(Debug)]
pub struct Deployment {
    pub id: DeploymentId,
    pub facts: DeploymentFacts,
    pub(super) in_flight: AtomicU32,
    /// Clock nanos until which the deployment is cooling down; 0 = not cooling.
    pub(super) cooldown_until: AtomicU64,
    pub(super) cooldowns: AtomicU64,
    successes: AtomicU64,
    success_latency_us: AtomicU64,
    /// Peak-EWMA latency in µs as the actor last published it; 0 = not measured yet.
    ewma_us: AtomicU64,
    minute: AtomicU64,
    minute_requests: AtomicU64,
    minute_tokens: AtomicU64,
    /// The breaker's published decision and the outcome counters it folds.
    pub gate: Gate,
}

impl Deployment {
    pub(super) fn new(id: DeploymentId, facts: DeploymentFacts) -> Self {
        Self {
            id,
            facts,
            in_flight: AtomicU32::new(0),
            cooldown_until: AtomicU64::new(0),
            cooldowns: AtomicU64::new(0),
            successes: AtomicU64::new(0),
            success_latency_us: AtomicU64::new(0),
            ewma_us: AtomicU64::new(0),
            minute: AtomicU64::new(0),
            minute_requests: AtomicU64::new(0),
            minute_tokens: AtomicU64::new(0),
            gate: Gate::default(),
        }
    }

    pub fn provider(&self) -> ProviderId {
        self.facts.provider
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// 429 cool-downs started so far.
    pub fn cooldowns(&self) -> u64 {
        self.cooldowns.load(Ordering::Relaxed)
    }

    /// Time left in a 429 cool-down, if one is running.
    pub fn cooling(&self, now: u64) -> Option<u64> {
        let until = self.cooldown_until.load(Ordering::Relaxed);
        (until > now).then(|| until - now)
    }

    /// Peak-EWMA latency as last published, if measured.
    pub fn ewma(&self) -> Option<Duration> {
        Some(self.ewma_us.load(Ordering::Relaxed))
            .filter(|us| *us > 0)
            .map(Duration::from_micros)
    }

    pub(crate) fn publish_ewma(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.ewma_us.store(us, Ordering::Relaxed);
    }

    /// Takes the successes recorded since the last call: (count, summed latency in µs).
    pub fn take_successes(&self) -> (u64, u64) {
        (
            self.successes.swap(0, Ordering::Relaxed),
            self.success_latency_us.swap(0, Ordering::Relaxed),
        )
    }

    pub(super) fn count_success(&self, latency: Duration) {
        self.successes.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.success_latency_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Whether the deployment could take a lease now (without taking it).
    pub(super) fn available(&self, now: u64) -> Availability {
        if let Some(wait) = self.cooling(now) {
            return Availability::Cooling(wait);
        }
        if !self.gate.may_admit(now) {
            return Availability::Open;
        }
        if self.in_flight() >= self.facts.max_in_flight.unwrap_or(u32::MAX) {
            return Availability::Saturated;
        }
        if self.headroom(now) <= 0.0 {
            return Availability::OverQuota;
        }
        Availability::Yes
    }

    /// Takes a lease if the deployment still admits one (racing workers re-check here).
    pub(super) fn try_lease(&self, now: u64) -> Option<Lease> {
        let max = self.facts.max_in_flight.unwrap_or(u32::MAX);
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        if let Admission::Refused { .. } = self.gate.admit(now) {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        if self.facts.rpm.is_some() || self.facts.tpm.is_some() {
            self.roll_minute(now);
            self.minute_requests.fetch_add(1, Ordering::Relaxed);
        }
        Some(Lease {
            deployment: self.id,
            provider: self.facts.provider,
            provider_name: self.facts.provider_name.clone(),
            group: self.facts.group,
            upstream_model: self.facts.upstream_model.clone(),
            timeouts: self.facts.timeouts,
        })
    }

    /// Counts tokens a finished request used against the declared TPM.
    pub fn record_tokens(&self, now: u64, tokens: u64) {
        if self.facts.tpm.is_some() {
            self.roll_minute(now);
            self.minute_tokens.fetch_add(tokens, Ordering::Relaxed);
        }
    }

    /// Share of the declared RPM/TPM left this minute (the smaller); 1 without quotas.
    pub fn headroom(&self, now: u64) -> f64 {
        let (rpm, tpm) = (self.facts.rpm, self.facts.tpm);
        if rpm.is_none() && tpm.is_none() {
            return 1.0;
        }
        let current = self.minute.load(Ordering::Relaxed) == now / MINUTE_NANOS + 1;
        let used = |counter: &AtomicU64| {
            if current {
                counter.load(Ordering::Relaxed) as f64
            } else {
                0.0
            }
        };
        let left = |used: f64, limit: f64| 1.0 - used / limit.max(1.0);
        let by_rpm = rpm.map_or(1.0, |l| left(used(&self.minute_requests), f64::from(l)));
        let by_tpm = tpm.map_or(1.0, |l| left(used(&self.minute_tokens), l as f64));
        by_rpm.min(by_tpm)
    }

    fn roll_minute(&self, now: u64) {
        let minute = now / MINUTE_NANOS + 1;
        let old = self.minute.load(Ordering::Acquire);
        if old != minute
            && self
                .minute
                .compare_exchange(old, minute, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.minute_requests.store(0, Ordering::Relaxed);
            self.minute_tokens.store(0, Ordering::Relaxed);
        }
    }
}

/// Why a deployment can or cannot take a lease now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Availability {
    Yes,
    /// After a 429, for this many more nanos.
    Cooling(u64),
    /// The breaker is open (or half-open with every probe out).
    Open,
    /// At its `max_in_flight`.
    Saturated,
    /// At its declared RPM or TPM for this minute.
    OverQuota,
}
