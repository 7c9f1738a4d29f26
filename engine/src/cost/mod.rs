//! What a request costs: money, the price list, exact costs from usage, and estimates.
//!
//! Everything here is integer arithmetic on micro-dollars ([`MicroUsd`]) so that budgets,
//! spend records and the `x-portcullis-cost-usd` header agree to the micro-dollar, across
//! replicas and restarts, with no float drift.
//!
//! - [`money`]: [`MicroUsd`], parsed from and printed as decimal dollars.
//! - [`price`]: a model's [`Price`] (per-million-token rates, long-context tier) and
//!   [`cost`] of a request's [`Usage`](crate::usage::Usage), rounded up, never under-charged.
//! - [`catalogue`]: the built-in, dated price list (`prices.json`), config overrides and
//!   the lookup by upstream model name (`model_name.rs` lists the exact normalisations).
//! - [`estimate`]: the one-pass heuristic token estimate (the fallback, and the error table
//!   per provider family), [`worst_case_cost`] for budget reservations and
//!   [`max_tokens_that_fit`] for clamping `max_tokens` to a budget.
//! - [`Estimator`] (`estimator.rs`): the prompt estimate admission uses, per model group —
//!   exact BPE counts ([`tokenizer`], o200k/cl100k ranks embedded, loaded lazily) scaled by
//!   the [`family`] of the models the group routes to.
//!
//! Nothing here is wired into a request yet: admission, settlement, the response header and
//! the spend log call into this module.

pub mod catalogue;
pub mod estimate;
mod estimator;
pub mod family;
#[cfg(test)]
mod fixtures;
mod model_name;
pub mod money;
pub mod price;
pub mod tokenizer;

pub use catalogue::{Catalogue, CatalogueError};
pub use estimate::{
    estimate_chat_prompt_tokens, estimate_embedding_input_tokens, estimate_text_tokens,
    max_tokens_that_fit, worst_case_cost,
};
pub use estimator::Estimator;
pub use family::{Families, Family};
pub use money::{MicroUsd, MoneyParseError};
pub use price::{LongContext, Price, Rates, cost};
pub use tokenizer::EXACT_BYTES_PER_REQUEST;
