//! [`DeploymentStatus`]: what an operator may see of a deployment — names, breaker state,
//! load and latency. Never a URL or a credential: those are not in the table at all.

use std::sync::Arc;
use std::time::Duration;

use super::deployment::Deployment;
use crate::health::BreakerState;
use crate::ids::{DeploymentId, ProviderId};

/// A deployment's live state, read from the table's atomics.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentStatus {
    pub id: DeploymentId,
    pub provider: ProviderId,
    pub provider_name: Arc<str>,
    /// The public model group it serves.
    pub group: Option<Arc<str>>,
    pub upstream_model: Arc<str>,
    pub breaker: BreakerState,
    /// Time left until the breaker lets probes through, while open.
    pub breaker_open_for: Option<Duration>,
    pub in_flight: u32,
    pub ewma_latency: Option<Duration>,
    /// Time left in a 429 cool-down.
    pub cooldown: Option<Duration>,
    pub cooldowns: u64,
}

impl DeploymentStatus {
    pub(super) fn read(d: &Deployment, group: Option<Arc<str>>, now: u64) -> Self {
        let breaker = d.gate.state();
        let breaker_open_for = match breaker {
            BreakerState::Open { until, .. } if until > now => {
                Some(Duration::from_nanos(until - now))
            }
            _ => None,
        };
        Self {
            id: d.id,
            provider: d.provider(),
            provider_name: d.facts.provider_name.clone(),
            group,
            upstream_model: d.facts.upstream_model.clone(),
            breaker,
            breaker_open_for,
            in_flight: d.in_flight(),
            ewma_latency: d.ewma(),
            cooldown: d.cooling(now).map(Duration::from_nanos),
            cooldowns: d.cooldowns(),
        }
    }
}
