//! Starting shared actors: on their own arbiter, with their mailbox capacity set before the
//! first message can arrive (`set_mailbox_capacity` in `started` is too late: senders that
//! `try_send` before the actor runs would meet actix's default capacity of 16).

use actix::{Actor, Addr, ArbiterHandle, AsyncContext, Context};

/// Starts `make()` on `arbiter` with a mailbox of `capacity`; returns once its address exists.
/// Call at start-up only: it waits for the arbiter to create the mailbox.
pub(crate) fn start_with_capacity<A, F>(
    arbiter: &ArbiterHandle,
    capacity: usize,
    make: F,
) -> Addr<A>
where
    A: Actor<Context = Context<A>>,
    F: FnOnce() -> A + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let spawned = arbiter.spawn_fn(move || {
        let mut ctx = Context::new();
        ctx.set_mailbox_capacity(capacity);
        let _ = tx.send(ctx.address());
        ctx.run(make());
    });
    match rx.recv() {
        Ok(addr) if spawned => addr,
        // The arbiter is gone: hand out an address whose mailbox is already closed, so
        // callers see a stopped actor (`connected()` false, sends fail) as they would later.
        _ => Context::<A>::new().address(),
    }
}
