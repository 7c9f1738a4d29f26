//! Routing: public model name → model group → deployment lease.
//!
//! A group may span providers. The router leases a deployment of the group from the shared
//! [`DeploymentTable`] (weighted, skipping deployments cooling down after a 429) on the
//! calling worker, and hands outcomes back: the table takes them at once, and failures and
//! 429s also go to the provider's actor ([`ProviderHandle`]), which owns the slow-path health
//! history. Time and chance are injected ([`RoutingClock`]), so tests can drive both.

mod actor;
mod handle;
mod state;
mod table;

use std::collections::HashMap;
use std::sync::Arc;

use actix::Arbiter;

pub use handle::ProviderHandle;
pub use state::Health;
pub use table::{
    AcquireError, DEFAULT_COOLDOWN, Deployment, DeploymentTable, Lease, MAX_COOLDOWN, Outcome,
};

use crate::clock::{SharedClock, SharedPicker, SystemClock, ThreadPicker};
use crate::error::EngineError;
use crate::ids::{GroupId, ProviderId};
use crate::spec::GatewaySpec;

/// The clock and the picker routing decisions read.
#[derive(Debug, Clone)]
pub struct RoutingClock {
    pub clock: SharedClock,
    pub picker: SharedPicker,
}

impl Default for RoutingClock {
    /// Real time and per-thread randomness.
    fn default() -> Self {
        Self {
            clock: SystemClock::shared(),
            picker: ThreadPicker::shared(),
        }
    }
}

/// Routes model names to deployments. Cheap to clone; shared by every worker.
#[derive(Debug, Clone)]
pub struct Router {
    inner: Arc<RouterInner>,
}

#[derive(Debug)]
struct RouterInner {
    groups: HashMap<Arc<str>, GroupId>,
    table: Arc<DeploymentTable>,
    /// By provider id.
    handles: Vec<ProviderHandle>,
    arbiters: Vec<Arbiter>,
    time: RoutingClock,
}

impl Drop for RouterInner {
    fn drop(&mut self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

impl Router {
    /// Starts one actor per provider, each on its own arbiter, reading real time. Must run
    /// inside an actix `System`, once, outside any per-worker factory.
    pub fn start(spec: &GatewaySpec) -> Router {
        Self::start_with(spec, RoutingClock::default())
    }

    /// [`Router::start`] with an injected clock and picker.
    pub fn start_with(spec: &GatewaySpec, time: RoutingClock) -> Router {
        let mut table = DeploymentTable::new();
        let mut groups = HashMap::new();
        for (index, group) in spec.groups.iter().enumerate() {
            let id = GroupId::from_index(index);
            for d in &group.deployments {
                if let Some(p) = spec.provider_spec(d.provider) {
                    let provider = (d.provider, p.name.clone());
                    table.add(provider, id, d.upstream_model.clone(), d.weight);
                }
            }
            groups.insert(group.name.clone(), id);
        }
        let table = Arc::new(table);
        let mut arbiters = Vec::with_capacity(spec.providers.len());
        let mut handles = Vec::with_capacity(spec.providers.len());
        for index in 0..spec.providers.len() {
            let arbiter = Arbiter::new();
            let id = ProviderId::from_index(index);
            handles.push(ProviderHandle::start(
                id,
                Arc::clone(&table),
                &arbiter.handle(),
            ));
            arbiters.push(arbiter);
        }
        Router {
            inner: Arc::new(RouterInner {
                groups,
                table,
                handles,
                arbiters,
                time,
            }),
        }
    }

    /// Leases a deployment for `model`. Runs on the calling thread; never waits.
    pub fn acquire(&self, model: &str) -> Result<Lease, EngineError> {
        let inner = &*self.inner;
        let group = inner
            .groups
            .get(model)
            .ok_or_else(|| EngineError::UnknownModel(model.to_owned()))?;
        let now = inner.time.clock.now();
        match inner.table.acquire(*group, now, &*inner.time.picker) {
            Ok(lease) => Ok(lease),
            Err(AcquireError::CoolingDown(retry_after)) => {
                Err(EngineError::AllCoolingDown { retry_after })
            }
            Err(AcquireError::NoDeployment) => {
                Err(EngineError::Internal("model group has no deployment"))
            }
        }
    }

    /// Ends a lease, saying how the attempt went. Never blocks.
    pub fn report(&self, lease: &Lease, outcome: Outcome) {
        let inner = &*self.inner;
        inner
            .table
            .release(lease.deployment, outcome, inner.time.clock.now());
        if let Some(handle) = inner.handles.get(lease.provider.index()) {
            handle.report(lease.deployment, outcome);
        }
    }

    /// Providers whose actor has stopped (its mailbox is closed).
    pub fn stopped_providers(&self) -> Vec<ProviderId> {
        self.inner
            .handles
            .iter()
            .filter(|h| !h.is_running())
            .map(ProviderHandle::id)
            .collect()
    }

    /// The provider actor's view of a leased deployment's health.
    pub async fn health(&self, lease: &Lease) -> Option<Health> {
        self.inner
            .handles
            .get(lease.provider.index())?
            .health(lease.deployment)
            .await
    }

    /// Every deployment, in id order (admin views).
    pub fn deployments(&self) -> impl Iterator<Item = &Deployment> {
        self.inner.table.iter()
    }

    /// In-flight requests on the deployment a lease names.
    pub fn in_flight(&self, lease: &Lease) -> u32 {
        self.inner
            .table
            .get(lease.deployment)
            .map_or(0, Deployment::in_flight)
    }
}

#[cfg(test)]
mod tests;
