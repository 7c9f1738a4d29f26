//! Health: whether a deployment may take traffic.
//!
//! Two halves, split by who runs them. [`Gate`] lives in the shared deployment table: workers
//! read its admission word on every lease (one atomic load when closed) and record each
//! outcome into its counters (a few relaxed atomic adds), so failure input is never lost to a
//! full mailbox. [`Breaker`] is the pure, clock-injected state machine the provider actor runs
//! over those counters on each tick (or at once when a worker nudges it); it decides, and the
//! actor publishes the decision into the gate — as linkerd's breaker shuts a gate rather than
//! answering each request.
//!
//! The provider actor itself stays in `routing` (one actor per provider owns both the latency
//! average that strategies read and the breakers): splitting it per concern would mean two
//! actors per provider reading the same counters.

mod breaker;
mod gate;

pub use breaker::{Breaker, BreakerSpec, BreakerState, Sample, Transition};
pub use gate::{Admission, Gate};
