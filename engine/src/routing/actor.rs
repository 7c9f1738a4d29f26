//! One actix actor per provider: the owner of that provider's health decisions.
//!
//! Workers lease deployments from the shared [`DeploymentTable`] directly — a message round
//! trip to another thread per request would cost more than the gateway's whole latency
//! budget — and record every outcome in the table's atomics. The actor folds those counters
//! each tick, or at once when a worker's report nudges it (a failure streak reached the trip
//! threshold, or a breaker is open and its probes reported): latency into a peak-EWMA, outcomes
//! into each deployment's breaker, whose decisions it publishes into the table's gates. A
//! nudge lost to a full mailbox loses nothing: the counts wait in the table for the next tick.
//! It never awaits I/O. Callers see only [`ProviderHandle`](super::handle::ProviderHandle).

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, AsyncContext, Context, Handler, Message, MessageResult};
use metrics::{Counter, Gauge};

use super::state::{Health, ProviderState};
use super::table::DeploymentTable;
use crate::clock::SharedClock;
use crate::health::Transition;
use crate::ids::DeploymentId;
use crate::metric_names as names;

/// Mailbox capacity of a provider actor.
pub(crate) const MAILBOX_CAPACITY: usize = 4096;
/// How often the actor folds the table's counters.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// Fold the table's counters now.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Fold;

/// Asks for the health of one deployment (admin and tests; not on the request path).
#[derive(Debug, Message)]
#[rtype(result = "Option<Health>")]
pub(crate) struct GetHealth {
    pub(crate) deployment: DeploymentId,
}

/// Metric handles of one deployment, registered once.
#[derive(Debug)]
pub(crate) struct DeploymentMetrics {
    labels: (String, String),
    state: Gauge,
    in_flight: Gauge,
    latency: Gauge,
    cooldowns: Counter,
}

impl DeploymentMetrics {
    pub(crate) fn new(provider: &str, deployment: DeploymentId) -> Self {
        let (p, d) = (provider.to_owned(), deployment.to_string());
        Self {
            state: metrics::gauge!(names::BREAKER_STATE, "provider" => p.clone(), "deployment" => d.clone()),
            in_flight: metrics::gauge!(names::DEPLOYMENT_IN_FLIGHT, "provider" => p.clone(), "deployment" => d.clone()),
            latency: metrics::gauge!(names::DEPLOYMENT_LATENCY, "provider" => p.clone(), "deployment" => d.clone()),
            cooldowns: metrics::counter!(names::COOLDOWNS_TOTAL, "provider" => p.clone(), "deployment" => d.clone()),
            labels: (p, d),
        }
    }
}

/// The actor: a thin adapter around [`ProviderState`].
#[derive(Debug)]
pub(crate) struct ProviderActor {
    pub(crate) state: ProviderState,
    pub(crate) table: Arc<DeploymentTable>,
    pub(crate) clock: SharedClock,
    /// In the order of `state.ids()`.
    pub(crate) metrics: Vec<DeploymentMetrics>,
}

impl ProviderActor {
    fn fold(&mut self) {
        let transitions = self.state.fold(&self.table, self.clock.now());
        self.record(&transitions);
    }

    fn record(&self, transitions: &[(DeploymentId, Transition)]) {
        for (id, m) in self.state.ids().iter().zip(&self.metrics) {
            let Some(d) = self.table.get(*id) else {
                continue;
            };
            m.in_flight.set(f64::from(d.in_flight()));
            m.cooldowns.absolute(d.cooldowns());
            if let Some(ewma) = d.ewma() {
                m.latency.set(ewma.as_secs_f64());
            }
            let Some((_, t)) = transitions.iter().find(|(t_id, _)| t_id == id) else {
                continue;
            };
            let (to, value) = match t {
                Transition::Opened { .. } => ("open", 1.0),
                Transition::HalfOpened => ("half_open", 2.0),
                Transition::Closed => ("closed", 0.0),
            };
            m.state.set(value);
            metrics::counter!(names::BREAKER_TRANSITIONS_TOTAL, "provider" => m.labels.0.clone(), "deployment" => m.labels.1.clone(), "to" => to).increment(1);
            tracing::info!(provider = %m.labels.0, deployment = %m.labels.1, model = %d.facts.upstream_model, to, "circuit breaker");
        }
    }
}

impl Actor for ProviderActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK, |actor, _| actor.fold());
    }
}

impl Handler<Fold> for ProviderActor {
    type Result = ();

    fn handle(&mut self, _: Fold, _: &mut Context<Self>) {
        self.fold();
    }
}

impl Handler<GetHealth> for ProviderActor {
    type Result = MessageResult<GetHealth>;

    fn handle(&mut self, msg: GetHealth, _: &mut Context<Self>) -> Self::Result {
        self.fold();
        MessageResult(self.state.health(msg.deployment).cloned())
    }
}
