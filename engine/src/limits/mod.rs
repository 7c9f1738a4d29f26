//! Limits: rate limits, parallel caps and budgets, decided before a request reaches a provider.
//!
//! [`LimitsPolicy::plan`] turns a request and its key into an `Admission` (pure);
//! [`LimiterHandle`] takes it to the configured limiter — in process (no actor hop, no await
//! on I/O) or across replicas on Redis through the [`LimiterActor`](actor), which coalesces
//! whatever admissions are pending into one pipeline — and applies the failure policy when
//! Redis is slow or down. Every admitted request is settled or released exactly once by the
//! caller (a guard in the api releases on drop).

mod actor;
mod denied;
mod handle;
mod period;
mod policy;

pub use handle::{Admit, FailurePolicy, LimitRefusal, LimiterHandle, LimiterMode, Settle};
pub use period::period_of;
pub use policy::{
    LimitsPolicy, MissingMaxTokens, ModelLimits, Plan, PlanError, PlanInput, TokenWeights, Unpriced,
};
