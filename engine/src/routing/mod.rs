//! Routing: public model name → model group → deployment lease.
//!
//! A group may span providers; a public name may be an alias of a group. The router leases a
//! deployment of the group from the shared [`DeploymentTable`] on the calling worker, by the
//! group's [`Strategy`] among the deployments that are available (see `table`), and takes
//! outcomes back into the table's atomics at once. Each provider's actor
//! ([`ProviderHandle`]) folds those counters on a tick (or at once when a report nudges it)
//! into latency averages and breaker decisions, which it publishes back into the table.
//! [`Plan`] walks a request through its group's fallbacks. Time and chance are injected
//! ([`RoutingClock`]), so tests can drive both.

mod actor;
mod deployment;
mod handle;
mod pick;
mod plan;
mod probe;
mod state;
mod status;
mod table;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::Arbiter;

pub use deployment::{Deployment, DeploymentFacts, Lease};
pub use handle::ProviderHandle;
pub use pick::Strategy;
pub use plan::{FallbackKind, GroupRoute, Plan};
pub use state::Health;
pub use status::DeploymentStatus;
pub use table::{AcquireError, DEFAULT_COOLDOWN, DeploymentTable, MAX_COOLDOWN, Outcome};

use crate::clock::{SharedClock, SharedPicker, SystemClock, ThreadPicker};
use crate::cost::Catalogue;
use crate::error::EngineError;
use crate::ids::{DeploymentId, GroupId, ProviderId};
use crate::retry::{BackoffSpec, RetryBudget};
use crate::spec::{DeploymentSpec, GatewaySpec};
use crate::upstream::Providers;

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
    /// Group names and aliases → group.
    groups: HashMap<Arc<str>, GroupId>,
    /// By group id.
    routes: Vec<GroupRoute>,
    table: Arc<DeploymentTable>,
    /// By provider id.
    budgets: Vec<RetryBudget>,
    /// By provider id.
    backoff: Vec<BackoffSpec>,
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
        let catalogue = Catalogue::builtin().ok();
        let mut table = DeploymentTable::new();
        let mut groups = HashMap::new();
        for (index, group) in spec.groups.iter().enumerate() {
            let id = GroupId::from_index(index);
            table.set_strategy(id, group.strategy);
            for (order, d) in group.deployments.iter().enumerate() {
                if let Some(p) = spec.provider_spec(d.provider) {
                    let mut facts = facts(d, (d.provider, p.name.clone()), id, catalogue.as_ref());
                    if d.priority == 0 {
                        facts.priority = u32::try_from(order).unwrap_or(u32::MAX);
                    }
                    facts.trip_after = p.breaker.consecutive_failures;
                    table.add_facts(facts);
                }
            }
            groups.insert(group.name.clone(), id);
            for alias in &group.aliases {
                groups.entry(alias.clone()).or_insert(id);
            }
        }
        let resolve = |names: &[Arc<str>]| -> Vec<GroupId> {
            names
                .iter()
                .filter_map(|n| spec.groups.iter().position(|g| g.name == *n))
                .map(GroupId::from_index)
                .collect()
        };
        let routes = spec
            .groups
            .iter()
            .map(|g| GroupRoute {
                name: g.name.clone(),
                fallbacks: resolve(&g.fallbacks),
                context_window_fallbacks: resolve(&g.context_window_fallbacks),
                content_policy_fallbacks: resolve(&g.content_policy_fallbacks),
                max_attempts: g.max_attempts.max(1),
                queue_timeout: g.queue_timeout,
            })
            .collect();
        let table = Arc::new(table);
        let mut arbiters = Vec::with_capacity(spec.providers.len());
        let mut handles = Vec::with_capacity(spec.providers.len());
        for (index, provider) in spec.providers.iter().enumerate() {
            let arbiter = Arbiter::new();
            let id = ProviderId::from_index(index);
            handles.push(ProviderHandle::start(
                id,
                provider.breaker,
                Arc::clone(&table),
                time.clock.clone(),
                &arbiter.handle(),
            ));
            arbiters.push(arbiter);
        }
        Router {
            inner: Arc::new(RouterInner {
                groups,
                routes,
                table,
                budgets: spec
                    .providers
                    .iter()
                    .map(|p| RetryBudget::new(p.retry_budget))
                    .collect(),
                backoff: spec.providers.iter().map(|p| p.backoff).collect(),
                handles,
                arbiters,
                time,
            }),
        }
    }

    /// Starts the active health checks of every deployment that has one, each provider's on
    /// its actor's arbiter (see `probe`), sending through `providers` (those of the spec this
    /// router was started with). They stop with this router's arbiters, when its last clone
    /// is dropped. Call once, inside the actix `System`.
    pub fn start_health_checks(&self, providers: &Providers) {
        let inner = &*self.inner;
        for (handle, arbiter) in inner.handles.iter().zip(&inner.arbiters) {
            let targets: Vec<probe::Target> = inner
                .table
                .iter()
                .filter(|d| d.provider() == handle.id())
                .filter_map(|d| {
                    Some(probe::Target {
                        deployment: d.id,
                        upstream_model: d.facts.upstream_model.clone(),
                        timeouts: d.facts.timeouts,
                        check: d.facts.health_check?,
                    })
                })
                .collect();
            if targets.is_empty() {
                continue;
            }
            let recorder = probe::Recorder {
                table: Arc::clone(&inner.table),
                handle: handle.clone(),
                clock: inner.time.clock.clone(),
            };
            probe::start(&arbiter.handle(), providers.clone(), targets, recorder);
        }
    }

    /// The group a public name (or alias) reaches.
    pub fn group(&self, model: &str) -> Result<GroupId, EngineError> {
        self.inner
            .groups
            .get(model)
            .copied()
            .ok_or_else(|| EngineError::UnknownModel(model.to_owned()))
    }

    /// Every group's routing facts, by group id.
    pub fn routes(&self) -> &[GroupRoute] {
        &self.inner.routes
    }

    /// Leases a deployment for `model`. Runs on the calling thread; never waits.
    pub fn acquire(&self, model: &str) -> Result<Lease, EngineError> {
        let group = self.group(model)?;
        self.acquire_in(group, &[]).map_err(engine_error)
    }

    /// Leases a deployment of `group` other than those `tried`. Never waits.
    pub fn acquire_in(
        &self,
        group: GroupId,
        tried: &[DeploymentId],
    ) -> Result<Lease, AcquireError> {
        let inner = &*self.inner;
        let now = inner.time.clock.now();
        inner
            .table
            .acquire_excluding(group, now, &*inner.time.picker, tried)
    }

    /// Waits (bounded) for a deployment of `group` to be released.
    pub async fn wait_for_release(&self, group: GroupId, timeout: Duration) {
        self.inner.table.wait_for_release(group, timeout).await;
    }

    /// The provider a deployment belongs to.
    pub fn deployment_provider(&self, id: DeploymentId) -> Option<ProviderId> {
        self.inner.table.get(id).map(Deployment::provider)
    }

    /// The retry budget of a provider.
    pub fn budget(&self, provider: ProviderId) -> Option<&RetryBudget> {
        self.inner.budgets.get(provider.index())
    }

    /// The backoff settings of a provider.
    pub fn backoff(&self, provider: ProviderId) -> BackoffSpec {
        self.inner
            .backoff
            .get(provider.index())
            .copied()
            .unwrap_or_default()
    }

    /// The injected clock and picker.
    pub fn time(&self) -> &RoutingClock {
        &self.inner.time
    }

    /// Counts tokens a finished request used against its deployment's declared TPM.
    pub fn record_tokens(&self, lease: &Lease, tokens: u64) {
        if let Some(d) = self.inner.table.get(lease.deployment) {
            d.record_tokens(self.inner.time.clock.now(), tokens);
        }
    }

    /// Ends a lease, saying how the attempt went. Never blocks.
    pub fn report(&self, lease: &Lease, outcome: Outcome) {
        let inner = &*self.inner;
        let nudge = inner
            .table
            .release(lease.deployment, outcome, inner.time.clock.now());
        if nudge && let Some(handle) = inner.handles.get(lease.provider.index()) {
            handle.nudge();
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

    /// Every deployment's live state, for admin views: no URL, no credential.
    pub fn statuses(&self) -> Vec<DeploymentStatus> {
        let now = self.inner.time.clock.now();
        self.inner
            .table
            .iter()
            .map(|d| {
                let group = self
                    .inner
                    .routes
                    .get(d.facts.group.index())
                    .map(|r| r.name.clone());
                DeploymentStatus::read(d, group, now)
            })
            .collect()
    }
}

/// A deployment's facts from its spec; cost from the spec, else the price catalogue.
fn facts(
    d: &DeploymentSpec,
    provider: (ProviderId, Arc<str>),
    group: GroupId,
    catalogue: Option<&Catalogue>,
) -> DeploymentFacts {
    let mut facts = DeploymentFacts::new(provider, group, d.upstream_model.clone());
    facts.weight = d.weight;
    facts.priority = d.priority;
    facts.rpm = d.rpm;
    facts.tpm = d.tpm;
    facts.max_in_flight = d.max_in_flight;
    facts.timeouts = d.timeouts;
    facts.health_check = d.health_check;
    facts.cost = d
        .cost
        .or_else(|| {
            let price = catalogue?.price(&d.upstream_model)?;
            Some(
                price
                    .base
                    .input
                    .as_micros()
                    .saturating_add(price.base.output.as_micros()),
            )
        })
        .unwrap_or(u64::MAX);
    facts
}

/// The engine's error for a group with nothing to lease.
pub fn engine_error(e: AcquireError) -> EngineError {
    match e {
        AcquireError::CoolingDown(retry_after) => EngineError::AllCoolingDown { retry_after },
        AcquireError::Unavailable(retry_after) => EngineError::Unavailable { retry_after },
        AcquireError::AllTried => EngineError::Unavailable { retry_after: None },
        AcquireError::Saturated => EngineError::Saturated,
        AcquireError::NoDeployment => EngineError::Internal("model group has no deployment"),
    }
}

#[cfg(test)]
mod tests;
