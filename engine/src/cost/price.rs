//! A model's price and the exact cost of one request's usage.
//!
//! Prices are integer micro-dollars per million tokens (`$2.50/M` is 2,500,000), so a request's
//! cost is one exact integer division: every token class is multiplied by its rate in `u128`
//! (micro-USD × tokens, which cannot overflow for any `u64` inputs), the products are summed,
//! and the sum is divided by 1,000,000 once, **rounding up**. The gateway may charge up to one
//! micro-dollar more than the provider's exact figure, never less: a budget is never
//! under-charged by rounding, and the result is the catalogue's figure to the micro-dollar.

use crate::cost::money::MicroUsd;
use crate::usage::Usage;

/// Tokens per priced unit: catalogue rates are per million tokens.
const TOKENS_PER_UNIT: u128 = 1_000_000;

/// Rates in micro-dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// Prompt tokens neither read from nor written to a prompt cache.
    pub input: MicroUsd,
    pub output: MicroUsd,
    /// Prompt tokens read from the provider's cache (OpenAI "cached input", Anthropic "cache
    /// hits", Gemini "context caching"). Equal to `input` where a model has no discount.
    pub cached_input: MicroUsd,
    /// Prompt tokens written to the cache (Anthropic's 5-minute cache write). Equal to
    /// `input` where a provider does not charge writes separately.
    pub cache_write: MicroUsd,
}

impl Rates {
    /// Input and output only: cache reads and writes cost the input rate.
    pub const fn new(input: MicroUsd, output: MicroUsd) -> Self {
        Rates {
            input,
            output,
            cached_input: input,
            cache_write: input,
        }
    }

    /// The dearest rate any prompt token can be charged at (used for worst cases).
    pub fn max_prompt_rate(&self) -> MicroUsd {
        self.input.max(self.cached_input).max(self.cache_write)
    }
}

/// The dearer rates some providers charge for a whole request once its prompt is long
/// (Gemini 2.5 Pro above 200k prompt tokens, Claude Sonnet 4 in 1M-context mode, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongContext {
    /// These rates apply when `prompt_tokens` (cached and cache-write tokens included) is
    /// strictly greater than this.
    pub above_prompt_tokens: u64,
    pub rates: Rates,
}

/// What one model costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub base: Rates,
    pub long_context: Option<LongContext>,
}

impl Price {
    /// One set of rates whatever the prompt length.
    pub const fn flat(rates: Rates) -> Self {
        Price {
            base: rates,
            long_context: None,
        }
    }

    /// The rates that apply to a request with this many prompt tokens.
    pub fn rates_for(&self, prompt_tokens: u64) -> &Rates {
        match &self.long_context {
            Some(long) if prompt_tokens > long.above_prompt_tokens => &long.rates,
            _ => &self.base,
        }
    }
}

/// The cost of one request's usage, rounded up to the micro-dollar.
///
/// `usage.prompt_tokens` includes `cached_tokens` and `cache_write_tokens` (OpenAI's
/// convention): cached tokens are charged at the cached rate, cache writes at the write rate
/// and the remainder at the input rate. If a provider reports more cached and written tokens
/// than prompt tokens, the remainder is zero and the cached and written tokens are charged in
/// full (never less than what was reported). Saturates at [`MicroUsd::MAX`].
pub fn cost(price: &Price, usage: &Usage) -> MicroUsd {
    let rates = price.rates_for(usage.prompt_tokens);
    let uncached = usage
        .prompt_tokens
        .saturating_sub(usage.cached_tokens)
        .saturating_sub(usage.cache_write_tokens);
    let terms = [
        (uncached, rates.input),
        (usage.cached_tokens, rates.cached_input),
        (usage.cache_write_tokens, rates.cache_write),
        (usage.completion_tokens, rates.output),
    ];
    micros_rounded_up(&terms)
}

/// Σ tokens × rate, divided by a million once and rounded up; saturates at `MicroUsd::MAX`.
pub(crate) fn micros_rounded_up(terms: &[(u64, MicroUsd)]) -> MicroUsd {
    let mut total: u128 = 0;
    for &(tokens, rate) in terms {
        // (2^64 - 1)^2 < 2^128: one product always fits; only the sum can overflow.
        let product = u128::from(tokens) * u128::from(rate.as_micros());
        total = match total.checked_add(product) {
            Some(sum) => sum,
            None => return MicroUsd::MAX,
        };
    }
    let micros = total.div_ceil(TOKENS_PER_UNIT);
    u64::try_from(micros).map_or(MicroUsd::MAX, MicroUsd::from_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(text: &str) -> MicroUsd {
        MicroUsd::parse_dollars(text).unwrap()
    }

    fn anthropic_like() -> Price {
        Price::flat(Rates {
            input: usd("3"),
            output: usd("15"),
            cached_input: usd("0.30"),
            cache_write: usd("3.75"),
        })
    }

    #[test]
    fn charges_each_token_class_at_its_own_rate() {
        let usage = Usage {
            prompt_tokens: 10_000,
            completion_tokens: 2_000,
            cached_tokens: 6_000,
            cache_write_tokens: 1_000,
        };
        // 3,000 × $3 + 6,000 × $0.30 + 1,000 × $3.75 + 2,000 × $15, per million:
        // 0.009 + 0.0018 + 0.00375 + 0.03 = 0.04455
        assert_eq!(cost(&anthropic_like(), &usage), usd("0.04455"));
    }

    #[test]
    fn rounds_a_fraction_of_a_micro_dollar_up() {
        let price = Price::flat(Rates::new(usd("0.15"), usd("0.60")));
        // One prompt token at $0.15/M is 0.15 micro-dollars: charged as 1.
        assert_eq!(cost(&price, &Usage::new(1, 0)).as_micros(), 1);
        // 7 tokens = 1.05 µ$ → 2; exactly 20 tokens = 3 µ$ → 3.
        assert_eq!(cost(&price, &Usage::new(7, 0)).as_micros(), 2);
        assert_eq!(cost(&price, &Usage::new(20, 0)).as_micros(), 3);
        assert_eq!(cost(&price, &Usage::new(0, 0)), MicroUsd::ZERO);
    }

    #[test]
    fn rounds_once_over_the_whole_request_not_per_token_class() {
        let price = Price::flat(Rates::new(usd("0.5"), usd("0.5")));
        // 1 + 1 tokens at 0.5 µ$ each: 1 µ$ in all, not 1 + 1.
        assert_eq!(cost(&price, &Usage::new(1, 1)).as_micros(), 1);
    }

    #[test]
    fn huge_token_counts_do_not_overflow() {
        let price = anthropic_like();
        let usage = Usage::new(u64::MAX, u64::MAX);
        // (2^64 - 1) × 18,000,000 / 10^6 = (2^64 - 1) × 18 > u64::MAX micro-dollars.
        assert_eq!(cost(&price, &usage), MicroUsd::MAX);
        let big = Usage::new(1_000_000_000_000, 1_000_000_000_000);
        // 10^12 tokens at $3/M and $15/M = $3,000,000 + $15,000,000.
        assert_eq!(
            cost(&price, &big),
            MicroUsd::from_dollars(18_000_000).unwrap()
        );
        let max_rates = Price::flat(Rates::new(MicroUsd::MAX, MicroUsd::MAX));
        let all = Usage {
            prompt_tokens: u64::MAX,
            completion_tokens: u64::MAX,
            cached_tokens: u64::MAX / 2,
            cache_write_tokens: u64::MAX / 2,
        };
        assert_eq!(cost(&max_rates, &all), MicroUsd::MAX);
    }

    #[test]
    fn over_reported_cache_tokens_are_charged_in_full() {
        let usage = Usage {
            prompt_tokens: 100,
            completion_tokens: 0,
            cached_tokens: 1_000_000,
            cache_write_tokens: 1_000_000,
        };
        assert_eq!(cost(&anthropic_like(), &usage), usd("4.05"));
    }

    #[test]
    fn long_prompts_pay_the_long_context_rates_for_the_whole_request() {
        let price = Price {
            base: Rates::new(usd("1.25"), usd("10")),
            long_context: Some(LongContext {
                above_prompt_tokens: 200_000,
                rates: Rates::new(usd("2.50"), usd("15")),
            }),
        };
        assert_eq!(cost(&price, &Usage::new(200_000, 1_000)), usd("0.26"));
        // 200,001 × $2.50/M + 1,000 × $15/M = 0.5000025 + 0.015, rounded up.
        assert_eq!(cost(&price, &Usage::new(200_001, 1_000)), usd("0.515003"));
    }

    #[test]
    fn max_prompt_rate_is_the_dearest_of_input_cache_read_and_write() {
        assert_eq!(anthropic_like().base.max_prompt_rate(), usd("3.75"));
        let rates = Rates::new(usd("2"), usd("8"));
        assert_eq!(rates.max_prompt_rate(), usd("2"));
    }
}
