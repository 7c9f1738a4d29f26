//! From a request and its key to an [`Admission`]: which buckets, caps and budgets apply, how
//! many tokens to take, how much money to reserve. Pure: no I/O, no clock (time is passed in).
//!
//! - **Buckets**: key and team RPM/TPM (from the stored or configured scopes), key and team
//!   parallel caps, and per-model-group RPM/TPM from config (global across keys).
//! - **TPM estimate**: `(prompt · w_in + max_tokens · w_out) / 100`, with the prompt estimated
//!   from the request (`cost::estimate`) and configurable weights; settled to the weighted
//!   actual usage (a bucket may go into debt).
//! - **Budgets**: the worst case `worst_case_cost(price, prompt, max_tokens)` is reserved against
//!   the key's and the team's budget for the current period, and against the model group's
//!   (config, shared by every key: a global budget under the group's tag). A request without `max_tokens`
//!   under a budget follows [`MissingMaxTokens`]: a declared default, or the largest value
//!   whose worst case fits what is left — in both cases the gateway *sends* that `max_tokens`
//!   upstream, so the reservation really is the worst case. A model without a price follows
//!   [`Unpriced`]: refused, or reserved at a configured price. Nothing is ever admitted
//!   unreserved under a budget.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use portcullis_storage::limiter::{
    Admission, BucketKind, BucketTake, BudgetPeriod, BudgetTake, ParallelCap,
};
use portcullis_storage::{Budget, Scope, VirtualKey};

use super::period::period_of;
use crate::cost::{MicroUsd, Price, max_tokens_that_fit, worst_case_cost};
use crate::usage::Usage;

/// What to do under a budget when the request does not bound its completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingMaxTokens {
    /// Reserve for, and send upstream, the policy's `default_max_tokens`.
    Default,
    /// Like `Default`, lowered so the worst case fits the budget that is left.
    Clamp,
}

/// What to do under a budget when the model has no known price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unpriced {
    /// Refuse the request (the default): an unpriced request cannot be reserved.
    Deny,
    /// Reserve and charge at this price.
    Price(Price),
}

/// Token weights in percent (100 = a token counts once) for TPM buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenWeights {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
}

impl TokenWeights {
    /// The weighted tokens `usage` counts for TPM buckets.
    pub fn weigh(&self, usage: &Usage) -> u64 {
        let cached = usage.cached_tokens.min(usage.prompt_tokens);
        (usage.prompt_tokens - cached)
            .saturating_mul(self.input)
            .saturating_add(cached.saturating_mul(self.cached))
            .saturating_add(usage.completion_tokens.saturating_mul(self.output))
            / 100
    }
}

impl Default for TokenWeights {
    fn default() -> Self {
        Self {
            input: 100,
            output: 100,
            cached: 100,
        }
    }
}

/// Per-model-group limits from config, shared by every key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelLimits {
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    /// What all traffic to the group may spend per period, across keys, teams and replicas.
    pub budget: Option<Budget>,
}

/// The operator's limits policy.
#[derive(Debug, Clone)]
pub struct LimitsPolicy {
    /// Completion bound assumed (and, under a budget, sent) when the request names none.
    pub default_max_tokens: u64,
    pub missing_max_tokens: MissingMaxTokens,
    pub unpriced: Unpriced,
    pub weights: TokenWeights,
    /// How long a reservation holds without a settle (longer than any request).
    pub lease: Duration,
    pub models: HashMap<Arc<str>, ModelLimits>,
    /// Bytes of a request's text the embedded tokenizer counts exactly before admission (the
    /// rest by the one-pass heuristic); 0 = the heuristic only.
    pub exact_token_bytes: usize,
}

impl Default for LimitsPolicy {
    fn default() -> Self {
        Self {
            default_max_tokens: 4096,
            missing_max_tokens: MissingMaxTokens::Default,
            unpriced: Unpriced::Deny,
            weights: TokenWeights::default(),
            lease: Duration::from_secs(15 * 60),
            models: HashMap::new(),
            exact_token_bytes: crate::cost::EXACT_BYTES_PER_REQUEST,
        }
    }
}

/// One request, as admission sees it.
#[derive(Debug)]
pub struct PlanInput<'a> {
    pub request_id: &'a str,
    pub key: &'a VirtualKey,
    /// The model group.
    pub model: &'a str,
    pub prompt_tokens: u64,
    pub max_tokens: Option<u64>,
    /// The price of the deployment most likely to serve it (the dearest of the group).
    pub price: Option<&'a Price>,
    pub now_unix_ms: u64,
    /// Budget left (the tighter of key and team), when the policy clamps and it is known.
    pub remaining_budget: Option<MicroUsd>,
}

/// What admission will ask the limiter for.
#[derive(Debug, Clone)]
pub struct Plan {
    pub admission: Admission,
    /// `max_tokens` the gateway must send upstream (the request had none and a budget applies).
    pub inject_max_tokens: Option<u64>,
    /// The completion bound the reservation assumed.
    pub max_tokens: u64,
    pub prompt_tokens: u64,
    /// The price used for the reservation and the settlement, if any.
    pub price: Option<Price>,
    pub worst_case: MicroUsd,
}

/// Why a request cannot be admitted before the limiter is even asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the model has no known price, so a budget cannot be reserved for it")]
    Unpriced,
    #[error("the budget left cannot pay for this prompt")]
    BudgetExhausted,
}

impl LimitsPolicy {
    /// Builds the admission for `input`.
    pub fn plan(&self, input: &PlanInput<'_>) -> Result<Plan, PlanError> {
        let key = input.key;
        let key_name = format!("k:{}", key.id.as_str());
        let team_name = key.team.as_ref().map(|t| format!("t:{}", t.as_str()));
        let tag = team_name.clone().unwrap_or_else(|| key_name.clone());
        let model_limits = self.models.get(input.model);
        let model_name = format!("m:{}", hash_tag_safe(input.model));
        let model_budget = model_limits.and_then(|m| m.budget.as_ref());
        let budgets: Vec<(&str, &Budget)> = [
            key.key_scope
                .budget
                .as_ref()
                .map(|b| (key_name.as_str(), b)),
            team_name
                .as_deref()
                .zip(key.team_scope.as_ref().and_then(|s| s.budget.as_ref())),
            model_budget.map(|b| (model_name.as_str(), b)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let price = match (input.price, budgets.is_empty(), &self.unpriced) {
            (Some(p), _, _) => Some(*p),
            (None, true, _) => None,
            (None, false, Unpriced::Price(p)) => Some(*p),
            (None, false, Unpriced::Deny) => return Err(PlanError::Unpriced),
        };
        let (max_tokens, inject) = match input.max_tokens {
            Some(n) => (n, None),
            None if budgets.is_empty() => (self.default_max_tokens, None),
            None => {
                let mut n = self.default_max_tokens;
                if let (MissingMaxTokens::Clamp, Some(left), Some(p)) =
                    (self.missing_max_tokens, input.remaining_budget, &price)
                {
                    n = n.min(max_tokens_that_fit(p, input.prompt_tokens, left));
                    if n == 0 {
                        return Err(PlanError::BudgetExhausted);
                    }
                }
                (n, Some(n))
            }
        };
        let worst_case = price.as_ref().map_or(MicroUsd::ZERO, |p| {
            worst_case_cost(p, input.prompt_tokens, max_tokens)
        });
        let tpm_take = self.tpm_estimate(input.prompt_tokens, max_tokens);
        let mut admission = Admission {
            request_id: input.request_id.to_owned(),
            tag: tag.clone(),
            lease_ms: u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX),
            ..Admission::default()
        };
        let mut levels = vec![(key_name.as_str(), &key.key_scope)];
        if let (Some(team), Some(scope)) = (team_name.as_deref(), key.team_scope.as_ref()) {
            levels.push((team, scope));
        }
        for (name, scope) in levels {
            push_rate_buckets(
                &mut admission.buckets,
                name,
                scope.rpm.map(u64::from),
                scope.tpm,
                tpm_take,
            );
            if let Some(max) = scope.max_parallel {
                admission.parallel.push(ParallelCap {
                    name: format!("{name}:parallel"),
                    max: u64::from(max),
                });
            }
        }
        for (name, budget) in budgets {
            let (period, period_end_ms) = period_of(budget.reset, input.now_unix_ms);
            let global = name == model_name;
            let take = BudgetTake {
                period: BudgetPeriod {
                    tag: if global { name.to_owned() } else { tag.clone() },
                    name: format!("{name}:budget"),
                    period,
                    period_end_ms,
                },
                limit_micro_usd: budget.max_micro_usd,
                amount_micro_usd: worst_case.as_micros(),
            };
            if global {
                admission.global_budgets.push(take);
            } else {
                admission.budgets.push(take);
            }
        }
        if let Some(limits) = model_limits {
            push_rate_buckets(
                &mut admission.global_buckets,
                &model_name,
                limits.rpm.map(u64::from),
                limits.tpm,
                tpm_take,
            );
        }
        if !(admission.global_buckets.is_empty() && admission.global_budgets.is_empty()) {
            admission.global_tag = model_name;
        }
        Ok(Plan {
            admission,
            inject_max_tokens: inject,
            max_tokens,
            prompt_tokens: input.prompt_tokens,
            price,
            worst_case,
        })
    }

    /// TPM tokens taken at admission.
    pub fn tpm_estimate(&self, prompt_tokens: u64, max_tokens: u64) -> u64 {
        let w = self.weights;
        prompt_tokens
            .saturating_mul(w.input)
            .saturating_add(max_tokens.saturating_mul(w.output))
            / 100
    }

    /// TPM tokens a finished request really used.
    pub fn tpm_actual(&self, usage: &Usage) -> u64 {
        self.weights.weigh(usage)
    }

    /// Whether `key` (and the model) is subject to any limit at all: if not, admission can be
    /// skipped entirely.
    pub fn applies_to(&self, key: &VirtualKey, model: &str) -> bool {
        let scope_limits = |s: &Scope| {
            s.rpm.is_some() || s.tpm.is_some() || s.max_parallel.is_some() || s.budget.is_some()
        };
        scope_limits(&key.key_scope)
            || key.team_scope.as_ref().is_some_and(scope_limits)
            || self.models.contains_key(model)
    }
}

fn push_rate_buckets(
    out: &mut Vec<BucketTake>,
    name: &str,
    rpm: Option<u64>,
    tpm: Option<u64>,
    tpm_take: u64,
) {
    if let Some(rpm) = rpm {
        out.push(BucketTake {
            name: format!("{name}:rpm"),
            kind: BucketKind::Rpm,
            capacity: rpm,
            refill_per_minute: rpm,
            take: 1,
        });
    }
    if let Some(tpm) = tpm {
        out.push(BucketTake {
            name: format!("{name}:tpm"),
            kind: BucketKind::Tpm,
            capacity: tpm,
            refill_per_minute: tpm,
            take: tpm_take,
        });
    }
}

/// Model names may hold any printable character; Redis Cluster hash tags must not hold braces.
fn hash_tag_safe(name: &str) -> String {
    name.replace('%', "%25")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

#[cfg(test)]
mod tests;
