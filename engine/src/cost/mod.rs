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
//! - [`estimate`]: token estimates before admission, [`worst_case_cost`] for budget
//!   reservations and [`max_tokens_that_fit`] for clamping `max_tokens` to a budget.
//!
//! Nothing here is wired into a request yet: admission, settlement, the response header and
//! the spend log call into this module.

pub mod catalogue;
pub mod estimate;
mod model_name;
pub mod money;
pub mod price;

pub use catalogue::{Catalogue, CatalogueError};
pub use estimate::{
    estimate_chat_prompt_tokens, estimate_embedding_input_tokens, estimate_text_tokens,
    max_tokens_that_fit, worst_case_cost,
};
pub use money::{MicroUsd, MoneyParseError};
pub use price::{LongContext, Price, Rates, cost};
