//! [`ProviderHandle`]: the only way the rest of the gateway talks to a provider actor.

use std::sync::Arc;

use actix::{Addr, ArbiterHandle};

use super::actor::{GetHealth, MAILBOX_CAPACITY, ProviderActor, Report};
use super::state::{Health, ProviderState};
use super::table::{DeploymentTable, Outcome};
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
        table: Arc<DeploymentTable>,
        arbiter: &ArbiterHandle,
    ) -> Self {
        let ids: Vec<DeploymentId> = table
            .iter()
            .filter(|d| d.provider == id)
            .map(|d| d.id)
            .collect();
        let addr =
            crate::actors::start_with_capacity(arbiter, MAILBOX_CAPACITY, move || ProviderActor {
                state: ProviderState::new(ids),
                table,
            });
        Self { id, addr }
    }

    pub fn id(&self) -> ProviderId {
        self.id
    }

    /// Tells the actor about a failure or a 429; other outcomes need no message.
    /// A full mailbox drops the report: the cool-down is already in the table.
    pub(crate) fn report(&self, deployment: DeploymentId, outcome: Outcome) {
        if matches!(outcome, Outcome::Failure | Outcome::RateLimited { .. }) {
            let _ = self.addr.try_send(Report {
                deployment,
                outcome,
            });
        }
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
