//! One actix actor per provider. It owns that provider's deployment state and answers
//! `Acquire` from memory; it never awaits I/O. Upstream bytes never pass through it.
//!
//! Callers hold a [`ProviderHandle`], never the `Addr`. `Acquire` is sent with a timeout and
//! a full mailbox maps to "overloaded". `Report` uses `do_send`: every report answers one
//! granted lease, so queued reports never outnumber leases already admitted, and dropping one
//! would leave the in-flight count wrong.

use std::time::{Duration, Instant};

use actix::{Actor, Addr, ArbiterHandle, Context, Handler, Message};

use super::state::{AcquireError, DeploymentId, GroupId, Lease, Outcome, ProviderState};

/// Mailbox capacity of a provider actor; beyond it, `Acquire` waits up to the timeout.
pub const MAILBOX_CAPACITY: usize = 4096;
/// Longest wait for a provider actor to answer `Acquire`.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(500);

/// Asks for a deployment of `group`.
#[derive(Debug, Message)]
#[rtype(result = "Result<Lease, AcquireError>")]
pub struct Acquire {
    pub group: GroupId,
}

/// Says how an attempt on a leased deployment ended.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Report {
    pub deployment: DeploymentId,
    pub outcome: Outcome,
}

/// The actor: a thin adapter around [`ProviderState`].
#[derive(Debug)]
pub struct ProviderActor {
    state: ProviderState,
    rng: fastrand::Rng,
}

impl Actor for ProviderActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
    }
}

impl Handler<Acquire> for ProviderActor {
    type Result = Result<Lease, AcquireError>;

    fn handle(&mut self, msg: Acquire, _: &mut Context<Self>) -> Self::Result {
        let rng = &mut self.rng;
        self.state
            .acquire(msg.group, Instant::now(), &mut |bound| rng.u64(0..bound))
    }
}

impl Handler<Report> for ProviderActor {
    type Result = ();

    fn handle(&mut self, msg: Report, _: &mut Context<Self>) {
        self.state
            .report(msg.deployment, msg.outcome, Instant::now());
    }
}

/// Why a provider actor could not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    Acquire(AcquireError),
    /// Mailbox full for longer than the timeout, or the actor is gone.
    Unavailable,
}

/// The only way the rest of the gateway talks to a provider actor.
#[derive(Debug, Clone)]
pub struct ProviderHandle {
    addr: Addr<ProviderActor>,
}

impl ProviderHandle {
    /// Starts the actor on `arbiter`.
    pub fn start(state: ProviderState, arbiter: &ArbiterHandle) -> Self {
        let addr = ProviderActor::start_in_arbiter(arbiter, move |_| ProviderActor {
            state,
            rng: fastrand::Rng::new(),
        });
        Self { addr }
    }

    pub async fn acquire(&self, group: GroupId) -> Result<Lease, HandleError> {
        match tokio::time::timeout(ACQUIRE_TIMEOUT, self.addr.send(Acquire { group })).await {
            Ok(Ok(answer)) => answer.map_err(HandleError::Acquire),
            Ok(Err(_)) | Err(_) => Err(HandleError::Unavailable),
        }
    }

    pub fn report(&self, deployment: DeploymentId, outcome: Outcome) {
        self.addr.do_send(Report {
            deployment,
            outcome,
        });
    }
}
