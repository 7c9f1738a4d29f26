//! Retry: whether to try a failed request again, and when.
//!
//! - [`policy`]: which failures a retry may fix ([`RetryClass`]), and the per-group limit.
//! - [`budget`]: a cap on retries as a share of recent requests (plus a floor), kept in
//!   shared atomics, so retries cannot multiply an outage.
//! - [`backoff`]: exponential backoff with full jitter, honouring `Retry-After`.
//!
//! Nothing here loops or sleeps; `dispatch` runs the loop and awaits.

mod backoff;
mod budget;
mod policy;

pub use backoff::{BackoffSpec, Wait, backoff};
pub use budget::{RetryBudget, RetryBudgetSpec};
pub use policy::{RetryClass, classify};
