//! [`ProviderHandle`]: the only way the rest of the gateway talks to a provider actor.

use std::sync::Arc;

use actix::{Addr, ArbiterHandle};

use super::actor::{DeploymentMetrics, Fold, GetHealth, MAILBOX_CAPACITY, ProviderActor};
use super::state::{Health, ProviderState};
use super::table::DeploymentTable;
use crate::clock::SharedClock;
use crate::health::BreakerSpec;
use crate::ids::{DeploymentId, ProviderId};

/// A started provider actor, seen from outside.
#[derive(Debug, Clone)]
pub struct ProviderHandle {
    id: ProviderId,
    addr: Addr<ProviderActor>,
}

impl ProviderHandle {
    /// Starts the actor for provider `id` on `arbiter`.
    pub(crate) fn start(
        id: ProviderId,
        breaker: BreakerSpec,
        table: Arc<DeploymentTable>,
        clock: SharedClock,
        arbiter: &ArbiterHandle,
    ) -> Self {
        let ids: Vec<DeploymentId> = table
            .iter()
            .filter(|d| d.provider() == id)
            .map(|d| d.id)
            .collect();
        let metrics = ids
            .iter()
            .filter_map(|i| table.get(*i))
            .map(|d| DeploymentMetrics::new(&d.facts.provider_name, d.id))
            .collect();
        let addr =
            crate::actors::start_with_capacity(arbiter, MAILBOX_CAPACITY, move || ProviderActor {
                state: ProviderState::new(ids, breaker),
                table,
                clock,
                metrics,
            });
        Self { id, addr }
    }

    pub fn id(&self) -> ProviderId {
        self.id
    }

    /// Asks the actor to fold the table's counters now. A full mailbox drops the nudge, never
    /// the counts: they stay in the table until the next tick.
    pub(crate) fn nudge(&self) {
        let _ = self.addr.try_send(Fold);
    }

    /// Whether the actor is alive and taking messages.
    pub fn is_running(&self) -> bool {
        self.addr.connected()
    }

    /// The actor's view of a deployment's health.
    pub async fn health(&self, deployment: DeploymentId) -> Option<Health> {
        self.addr
            .send(GetHealth { deployment })
            .await
            .ok()
            .flatten()
    }
}
