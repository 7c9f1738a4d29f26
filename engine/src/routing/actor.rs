//! One actix actor per provider: the owner of that provider's health history.
//!
//! Workers lease deployments from the shared [`DeploymentTable`] directly — a message round
//! trip to another thread per request would cost more than the gateway's whole latency
//! budget — and the table applies 429 cool-downs at once. The actor takes the slow path:
//! failure and 429 reports arrive by `try_send` (fire and forget; a full mailbox drops the
//! report, never the request), and once a tick it folds the success counters workers left
//! in the table into a latency moving average. It never awaits I/O. Callers see only
//! [`ProviderHandle`](super::handle::ProviderHandle).

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Context, Handler, Message, MessageResult};

use super::state::{Health, ProviderState};
use super::table::{DeploymentTable, Outcome};
use crate::ids::DeploymentId;

/// Mailbox capacity of a provider actor.
pub(crate) const MAILBOX_CAPACITY: usize = 4096;
/// How often the actor folds success counters into its latency average.
pub(crate) const TICK: Duration = Duration::from_secs(1);

/// A failure or 429 on a deployment.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Report {
    pub(crate) deployment: DeploymentId,
    pub(crate) outcome: Outcome,
}

/// Asks for the health of one deployment (admin and tests; not on the request path).
#[derive(Debug, Message)]
#[rtype(result = "Option<Health>")]
pub(crate) struct GetHealth {
    pub(crate) deployment: DeploymentId,
}

/// The actor: a thin adapter around [`ProviderState`].
#[derive(Debug)]
pub(crate) struct ProviderActor {
    pub(crate) state: ProviderState,
    pub(crate) table: Arc<DeploymentTable>,
}

impl Actor for ProviderActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        use actix::AsyncContext;
        ctx.run_interval(TICK, |actor, _| actor.state.fold_successes(&actor.table));
    }
}

impl Handler<Report> for ProviderActor {
    type Result = ();

    fn handle(&mut self, msg: Report, _: &mut Context<Self>) {
        self.state.report(msg.deployment, msg.outcome);
    }
}

impl Handler<GetHealth> for ProviderActor {
    type Result = MessageResult<GetHealth>;

    fn handle(&mut self, msg: GetHealth, _: &mut Context<Self>) -> Self::Result {
        self.state.fold_successes(&self.table);
        MessageResult(self.state.health(msg.deployment).cloned())
    }
}
