//! One actix actor per provider: the owner of that provider's health history.
//!
//! Workers lease deployments from the shared [`DeploymentTable`] directly — a message round
//! trip to another thread per request would cost more than the gateway's whole latency
//! budget — and the table applies 429 cool-downs at once. The actor takes the slow path:
//! failure and 429 reports arrive by `try_send` (fire and forget; a full mailbox drops the
//! report, never the request), and once a tick it folds the success counters workers left
//! in the table into a latency moving average. It never awaits I/O.

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, ArbiterHandle, AsyncContext, Context, Handler, Message, MessageResult};

use super::state::{Health, ProviderState};
use super::table::{AcquireError, Clock, DeploymentId, DeploymentTable, GroupId, Lease, Outcome};

/// Mailbox capacity of a provider actor.
pub const MAILBOX_CAPACITY: usize = 4096;
/// How often the actor folds success counters into its latency average.
pub const TICK: Duration = Duration::from_secs(1);

/// A failure or 429 on a deployment.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Report {
    pub deployment: DeploymentId,
    pub outcome: Outcome,
}

/// Asks for the health of one deployment (admin and tests; not on the request path).
#[derive(Debug, Message)]
#[rtype(result = "Option<Health>")]
pub struct GetHealth {
    pub deployment: DeploymentId,
}

/// The actor: a thin adapter around [`ProviderState`].
#[derive(Debug)]
pub struct ProviderActor {
    state: ProviderState,
    table: Arc<DeploymentTable>,
}

impl Actor for ProviderActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
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

/// The only way the rest of the gateway talks to a provider.
#[derive(Debug, Clone)]
pub struct ProviderHandle {
    addr: Addr<ProviderActor>,
    table: Arc<DeploymentTable>,
    clock: Clock,
}

impl ProviderHandle {
    /// Starts the actor for `table` on `arbiter`.
    pub fn start(table: DeploymentTable, arbiter: &ArbiterHandle) -> Self {
        let table = Arc::new(table);
        let count = table.iter().count();
        let shared = Arc::clone(&table);
        let addr = ProviderActor::start_in_arbiter(arbiter, move |_| ProviderActor {
            state: ProviderState::new(count),
            table: shared,
        });
        Self {
            addr,
            table,
            clock: Clock::global(),
        }
    }

    /// Leases a deployment of `group`, from memory, on the calling thread.
    pub fn acquire(&self, group: GroupId) -> Result<Lease, AcquireError> {
        let now = self.clock.nanos(std::time::Instant::now());
        self.table
            .acquire(group, now, &mut |bound| fastrand::u64(0..bound))
    }

    /// Ends a lease; failures and 429s are also reported to the actor.
    pub fn release(&self, deployment: DeploymentId, outcome: Outcome) {
        let now = self.clock.nanos(std::time::Instant::now());
        self.table.release(deployment, outcome, now);
        if matches!(outcome, Outcome::Failure | Outcome::RateLimited { .. }) {
            // A full mailbox drops the report: the cool-down is already in the table.
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
