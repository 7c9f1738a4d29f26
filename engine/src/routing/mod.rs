//! Routing: public model name → model group → provider → deployment lease.
//!
//! A group may span providers. The router picks a provider by the summed weight of the
//! group's deployments there, then leases a deployment from that provider's shared table
//! (weighted, skipping deployments cooling down after a 429). If the chosen provider has
//! nothing available, the others are tried in turn. Each provider's actor owns the
//! slow-path health history; see [`actor`].

pub mod actor;
pub mod state;
pub mod table;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::Arbiter;

pub use actor::ProviderHandle;
pub use state::Health;
pub use table::{DeploymentId, GroupId, Lease, Outcome};

use crate::error::EngineError;
use crate::spec::GatewaySpec;
use table::{AcquireError, DeploymentTable};

/// A granted lease and the provider it belongs to.
#[derive(Debug, Clone)]
pub struct RoutedLease {
    pub provider: usize,
    pub lease: Lease,
}

#[derive(Debug)]
struct GroupRoute {
    id: GroupId,
    /// (provider index, summed weight of the group's deployments there), weight > 0.
    candidates: Vec<(usize, u64)>,
    total: u64,
}

/// Routes model names to provider actors. Cheap to clone; shared by every worker.
#[derive(Debug, Clone)]
pub struct Router {
    inner: Arc<RouterInner>,
}

#[derive(Debug)]
struct RouterInner {
    groups: HashMap<Arc<str>, GroupRoute>,
    handles: Vec<ProviderHandle>,
    arbiters: Vec<Arbiter>,
}

impl Drop for RouterInner {
    fn drop(&mut self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

impl Router {
    /// Starts one actor per provider, each on its own arbiter. Must run inside an actix
    /// `System`, once, outside any per-worker factory.
    pub fn start(spec: &GatewaySpec) -> Router {
        let mut states: Vec<DeploymentTable> = spec
            .providers
            .iter()
            .map(|_| DeploymentTable::new())
            .collect();
        let mut groups = HashMap::new();
        for (index, group) in spec.groups.iter().enumerate() {
            let id = GroupId(u32::try_from(index).unwrap_or(u32::MAX));
            let mut weights: Vec<u64> = vec![0; spec.providers.len()];
            for d in &group.deployments {
                if let Some(state) = states.get_mut(d.provider) {
                    state.add(id, d.upstream_model.clone(), d.weight);
                    weights[d.provider] += u64::from(d.weight);
                }
            }
            let candidates: Vec<(usize, u64)> = weights
                .into_iter()
                .enumerate()
                .filter(|(_, w)| *w > 0)
                .collect();
            let total = candidates.iter().map(|(_, w)| w).sum();
            groups.insert(
                group.name.clone(),
                GroupRoute {
                    id,
                    candidates,
                    total,
                },
            );
        }
        let mut arbiters = Vec::with_capacity(states.len());
        let mut handles = Vec::with_capacity(states.len());
        for state in states {
            let arbiter = Arbiter::new();
            handles.push(ProviderHandle::start(state, &arbiter.handle()));
            arbiters.push(arbiter);
        }
        Router {
            inner: Arc::new(RouterInner {
                groups,
                handles,
                arbiters,
            }),
        }
    }

    /// Leases a deployment for `model`. Runs on the calling thread; never waits.
    pub fn acquire(&self, model: &str) -> Result<RoutedLease, EngineError> {
        let group = self
            .inner
            .groups
            .get(model)
            .ok_or_else(|| EngineError::UnknownModel(model.to_owned()))?;
        let start = pick(&group.candidates, fastrand::u64(0..group.total.max(1)));
        let mut soonest: Option<Duration> = None;
        let count = group.candidates.len();
        for step in 0..count {
            let (provider, _) = group.candidates[(start + step) % count];
            let Some(handle) = self.inner.handles.get(provider) else {
                continue;
            };
            match handle.acquire(group.id) {
                Ok(lease) => return Ok(RoutedLease { provider, lease }),
                Err(AcquireError::CoolingDown(wait)) => {
                    soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
                }
                Err(AcquireError::NoDeployment) => {}
            }
        }
        match soonest {
            Some(retry_after) => Err(EngineError::AllCoolingDown { retry_after }),
            None => Err(EngineError::Internal("model group has no deployment")),
        }
    }

    /// Ends a lease, saying how the attempt went. Never blocks.
    pub fn report(&self, lease: &RoutedLease, outcome: Outcome) {
        if let Some(handle) = self.inner.handles.get(lease.provider) {
            handle.release(lease.lease.deployment, outcome);
        }
    }

    /// Providers whose actor has stopped (its mailbox is closed), by index.
    pub fn stopped_providers(&self) -> Vec<usize> {
        self.inner
            .handles
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.is_running())
            .map(|(i, _)| i)
            .collect()
    }

    /// The provider actor's view of a leased deployment's health.
    pub async fn health(&self, lease: &RoutedLease) -> Option<Health> {
        self.inner
            .handles
            .get(lease.provider)?
            .health(lease.lease.deployment)
            .await
    }
}

/// Index of the candidate whose cumulative weight range holds `roll`.
fn pick(candidates: &[(usize, u64)], mut roll: u64) -> usize {
    for (index, (_, weight)) in candidates.iter().enumerate() {
        if roll < *weight {
            return index;
        }
        roll -= weight;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Vendor;
    use crate::spec::{DeploymentSpec, ModelGroupSpec, ProviderSpec, UpstreamTimeouts};

    fn provider(name: &str) -> ProviderSpec {
        ProviderSpec {
            name: name.into(),
            vendor: Vendor::OpenaiCompatible,
            base_url: "http://127.0.0.1:1/v1".parse().unwrap(),
            credential: None,
            timeouts: UpstreamTimeouts::default(),
            allow_private_network: true,
            max_response_bytes: 1 << 20,
            max_event_bytes: 1 << 16,
        }
    }

    fn spec() -> GatewaySpec {
        GatewaySpec {
            providers: vec![provider("a"), provider("b")],
            groups: vec![ModelGroupSpec {
                name: "m".into(),
                deployments: vec![
                    DeploymentSpec {
                        provider: 0,
                        upstream_model: "a-model".into(),
                        weight: 1,
                    },
                    DeploymentSpec {
                        provider: 1,
                        upstream_model: "b-model".into(),
                        weight: 1,
                    },
                ],
            }],
        }
    }

    #[test]
    fn pick_walks_cumulative_weights() {
        let c = [(0, 1), (1, 3)];
        assert_eq!(pick(&c, 0), 0);
        assert_eq!(pick(&c, 1), 1);
        assert_eq!(pick(&c, 3), 1);
    }

    #[actix::test]
    async fn fails_over_to_the_other_provider_while_one_cools_down() {
        let router = Router::start(&spec());
        assert!(matches!(
            router.acquire("nope").unwrap_err(),
            EngineError::UnknownModel(_)
        ));
        let mut seen_b = false;
        for _ in 0..50 {
            let lease = router.acquire("m").unwrap();
            if lease.provider == 0 {
                let retry_after = Some(Duration::from_secs(60));
                router.report(&lease, Outcome::RateLimited { retry_after });
            } else {
                seen_b = true;
                router.report(&lease, Outcome::Neutral);
            }
        }
        assert!(seen_b);
        // Once provider a is cooling, every lease comes from b.
        for _ in 0..20 {
            let lease = router.acquire("m").unwrap();
            assert_eq!(&*lease.lease.upstream_model, "b-model");
            router.report(&lease, Outcome::Neutral);
        }
    }

    #[actix::test]
    async fn the_actor_learns_of_failures_and_successes() {
        let router = Router::start(&spec());
        let lease = router.acquire("m").unwrap();
        router.report(&lease, Outcome::Failure);
        let lease2 = router.acquire("m").unwrap();
        router.report(
            &lease2,
            Outcome::Success {
                latency: Duration::from_millis(40),
            },
        );
        let health = router.health(&lease).await.unwrap();
        let other = router.health(&lease2).await.unwrap();
        if lease.provider == lease2.provider {
            assert_eq!((health.failures, health.successes), (1, 1));
        } else {
            assert_eq!((health.failures, other.successes), (1, 1));
        }
        assert_eq!(other.ewma_latency, Some(Duration::from_millis(40)));
    }

    #[actix::test]
    async fn says_when_every_deployment_is_cooling_down() {
        let router = Router::start(&spec());
        for _ in 0..2 {
            let lease = router.acquire("m").unwrap();
            router.report(
                &lease,
                Outcome::RateLimited {
                    retry_after: Some(Duration::from_secs(30)),
                },
            );
        }
        // Both providers may not have been hit yet; drain until both cool.
        let mut cooled = false;
        for _ in 0..10 {
            match router.acquire("m") {
                Ok(lease) => router.report(
                    &lease,
                    Outcome::RateLimited {
                        retry_after: Some(Duration::from_secs(30)),
                    },
                ),
                Err(EngineError::AllCoolingDown { retry_after }) => {
                    assert!(retry_after <= Duration::from_secs(30));
                    cooled = true;
                    break;
                }
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert!(cooled);
    }
}
