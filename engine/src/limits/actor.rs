//! The `LimiterActor`: the one place admissions meet a shared (Redis) limiter.
//!
//! Callers enqueue; the actor sends whatever is pending as ONE `admit_batch` (one pipeline)
//! and, when that answers, sends whatever arrived meanwhile. At low load an admission goes out
//! at once (no fixed delay); under load, admissions that arrive during a round trip share the
//! next one. Settlements and releases are sent as they come (the multiplexed connection
//! pipelines them). Handlers never await: the round trip runs as a spawned actor future.

use std::sync::Arc;

use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, WrapFuture};
use portcullis_storage::StorageError;
use portcullis_storage::limiter::{Admission, AdmitResult, Limiter, Reservation, Settlement};
use tokio::sync::oneshot;

/// Mailbox capacity: past it, admissions are refused as overloaded (never queued unbounded).
pub(crate) const MAILBOX_CAPACITY: usize = 16_384;
/// Most admissions sent in one pipeline.
pub(crate) const MAX_BATCH: usize = 512;

pub(crate) type AdmitReply = oneshot::Sender<Result<AdmitResult, StorageError>>;

/// Queue one admission.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Admit {
    pub(crate) admission: Admission,
    pub(crate) reply: AdmitReply,
}

/// Settle (`Some`) or release (`None`) a reservation.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Finish {
    pub(crate) reservation: Reservation,
    pub(crate) settlement: Option<Settlement>,
}

#[derive(Debug)]
pub(crate) struct LimiterActor {
    pub(crate) limiter: Arc<dyn Limiter>,
    pending: Vec<Admission>,
    replies: Vec<AdmitReply>,
    in_flight: bool,
}

impl LimiterActor {
    pub(crate) fn new(limiter: Arc<dyn Limiter>) -> Self {
        Self {
            limiter,
            pending: Vec::new(),
            replies: Vec::new(),
            in_flight: false,
        }
    }

    /// Sends what is pending as one batch; called again when that batch answers.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.pending.is_empty() {
            self.in_flight = false;
            return;
        }
        self.in_flight = true;
        let take = self.pending.len().min(MAX_BATCH);
        let batch: Vec<Admission> = self.pending.drain(..take).collect();
        let replies: Vec<AdmitReply> = self.replies.drain(..take).collect();
        let limiter = Arc::clone(&self.limiter);
        let round_trip = async move {
            let answer = limiter.admit_batch(&batch).await;
            (answer, replies)
        };
        ctx.spawn(
            round_trip
                .into_actor(self)
                .map(|(answer, replies), actor, ctx| {
                    match answer {
                        Ok(results) => {
                            for (reply, result) in replies.into_iter().zip(results) {
                                // A caller that gave up (its timeout, a departed client, a
                                // cancelled handler) never holds this reservation: give it
                                // back now rather than when its lease runs out.
                                if let Err(Ok(Ok(orphan))) = reply.send(Ok(result)) {
                                    actor.release_orphan(orphan.reservation, ctx);
                                }
                            }
                        }
                        Err(e) => {
                            for reply in replies {
                                let _ = reply.send(Err(e.clone()));
                            }
                        }
                    }
                    actor.flush(ctx);
                }),
        );
    }
}

impl LimiterActor {
    /// Releases a reservation admitted for a caller that is gone.
    fn release_orphan(&mut self, reservation: Reservation, ctx: &mut Context<Self>) {
        self.handle(
            Finish {
                reservation,
                settlement: None,
            },
            ctx,
        );
    }
}

impl Actor for LimiterActor {
    type Context = Context<Self>;
}

impl Handler<Admit> for LimiterActor {
    type Result = ();

    fn handle(&mut self, msg: Admit, ctx: &mut Context<Self>) {
        self.pending.push(msg.admission);
        self.replies.push(msg.reply);
        if !self.in_flight {
            self.flush(ctx);
        }
    }
}

impl Handler<Finish> for LimiterActor {
    type Result = ();

    fn handle(&mut self, msg: Finish, ctx: &mut Context<Self>) {
        let limiter = Arc::clone(&self.limiter);
        ctx.spawn(
            async move {
                let done = match &msg.settlement {
                    Some(s) => limiter.settle(&msg.reservation, s).await,
                    None => limiter.release(&msg.reservation).await,
                };
                if let Err(e) = done {
                    // The lease returns the reservation; the durable spend log keeps the cost.
                    tracing::warn!(kind = e.kind(), "limiter settle failed: {e}");
                }
            }
            .into_actor(self),
        );
    }
}
