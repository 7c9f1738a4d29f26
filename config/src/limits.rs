//! `limits:` — where rate limits and budgets are enforced and what happens when that place is
//! unreachable, plus the admission policy (token estimates, requests without `max_tokens`,
//! unpriced models) and per-model-group limits shared by every key.
//!
//! ```yaml
//! limits:
//!   backend: redis                  # memory (default: one replica) or redis (across replicas)
//!   redis:
//!     url: env:REDIS_URL            # secret reference; redis:// or rediss://
//!     cluster: false                # the URL is one node of a Redis Cluster
//!     timeout: 250ms               # longest wait before the failure policy applies
//!   on_redis_failure:
//!     budgets: closed               # closed (default) or open
//!     rate_limits: local            # local (default: limit ÷ replicas) or closed
//!     replicas: 3
//!   default_max_tokens: 4096
//!   exact_token_bytes: 4096         # counted by the embedded tokenizer; 0 = heuristic only
//!   missing_max_tokens: default     # default or clamp
//!   unpriced: deny                  # deny (default) or a price: { input: "1.00", output: "2.00" }
//!   token_weights: { input: 100, output: 100, cached: 100 }   # percent
//!   lease: 15m
//!   models:
//!     gpt-4o: { rpm: 1000, tpm: 2000000, budget_usd: "500.00", budget_reset: monthly }
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use portcullis_engine::cost::{MicroUsd, Price, Rates};
use portcullis_engine::limits::{
    FailurePolicy, LimitsPolicy, MissingMaxTokens, ModelLimits, TokenWeights, Unpriced,
};
use portcullis_storage::ResetPeriod;
use secrecy::SecretString;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;

/// Where limits are enforced.
#[derive(Debug, Clone)]
pub enum LimiterBackend {
    /// In this process: exact for one replica.
    Memory,
    /// On Redis, shared by every replica.
    Redis(RedisConfig),
}

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: SecretString,
    pub cluster: bool,
    /// Longest wait for an admission before the failure policy applies.
    pub timeout: Duration,
}

/// The validated `limits:` section.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    pub backend: LimiterBackend,
    pub failure: FailurePolicy,
    pub policy: LimitsPolicy,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            backend: LimiterBackend::Memory,
            failure: FailurePolicy::default(),
            policy: LimitsPolicy::default(),
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    #[serde(default)]
    backend: Option<Spanned<String>>,
    #[serde(default)]
    redis: Option<RawRedis>,
    #[serde(default)]
    on_redis_failure: Option<RawFailure>,
    #[serde(default)]
    default_max_tokens: Option<Spanned<u64>>,
    /// Bytes counted exactly by the embedded tokenizer; 0 = the heuristic only.
    #[serde(default)]
    exact_token_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    missing_max_tokens: Option<Spanned<String>>,
    #[serde(default)]
    unpriced: Option<Spanned<RawUnpriced>>,
    #[serde(default)]
    token_weights: Option<RawWeights>,
    #[serde(default)]
    lease: Option<Spanned<String>>,
    #[serde(default)]
    models: Option<HashMap<String, RawModelLimits>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    url: Spanned<String>,
    #[serde(default)]
    cluster: bool,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFailure {
    #[serde(default)]
    budgets: Option<Spanned<String>>,
    #[serde(default)]
    rate_limits: Option<Spanned<String>>,
    #[serde(default)]
    replicas: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawUnpriced {
    Word(String),
    Price(RawPrice),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    input: String,
    output: String,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeights {
    #[serde(default)]
    input: Option<u64>,
    #[serde(default)]
    output: Option<u64>,
    #[serde(default)]
    cached: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModelLimits {
    #[serde(default)]
    rpm: Option<u32>,
    #[serde(default)]
    tpm: Option<u64>,
    /// Decimal dollars all keys together may spend on the group per `budget_reset` period.
    #[serde(default)]
    budget_usd: Option<Spanned<String>>,
    #[serde(default)]
    budget_reset: Option<ResetPeriod>,
}

/// Most bytes of a request the tokenizer may count exactly (~130 µs a KiB measured).
const MAX_EXACT_TOKEN_BYTES: usize = 64 * 1024;

/// Longest lease a reservation may hold.
const MAX_LEASE: Duration = Duration::from_secs(24 * 3600);

impl Checker<'_> {
    pub(crate) fn limits(&mut self, raw: RawLimits, models: &HashSet<&str>) -> LimitsConfig {
        let mut out = LimitsConfig::default();
        let backend = raw.backend.as_ref().map_or("memory", |b| b.value.as_str());
        out.backend = match (backend, raw.redis) {
            ("memory", None) => LimiterBackend::Memory,
            ("memory", Some(r)) => {
                self.problem(
                    "limits.redis",
                    Some(&r.url),
                    "is set but limits.backend is not redis",
                );
                LimiterBackend::Memory
            }
            ("redis", Some(r)) => {
                let url = self.secret("limits.redis.url", &r.url);
                let timeout = self.duration(
                    "limits.redis.timeout",
                    r.timeout.as_ref(),
                    Duration::from_millis(250),
                );
                match url {
                    Some(url) => LimiterBackend::Redis(RedisConfig {
                        url,
                        cluster: r.cluster,
                        timeout,
                    }),
                    None => LimiterBackend::Memory,
                }
            }
            ("redis", None) => {
                self.problem(
                    "limits.redis",
                    raw.backend.as_ref(),
                    "is required when limits.backend is redis",
                );
                LimiterBackend::Memory
            }
            (_, _) => {
                self.problem(
                    "limits.backend",
                    raw.backend.as_ref(),
                    "must be memory or redis",
                );
                LimiterBackend::Memory
            }
        };
        let failure = raw.on_redis_failure.unwrap_or_default();
        out.failure.budgets_fail_open = self.choice(
            "limits.on_redis_failure.budgets",
            failure.budgets.as_ref(),
            &["closed", "open"],
        ) == 1;
        out.failure.rate_limits_local = self.choice(
            "limits.on_redis_failure.rate_limits",
            failure.rate_limits.as_ref(),
            &["local", "closed"],
        ) == 0;
        out.failure.replicas = match failure.replicas {
            Some(r) if r.value == 0 || r.value > 10_000 => {
                self.problem(
                    "limits.on_redis_failure.replicas",
                    Some(&r),
                    "must be between 1 and 10000",
                );
                1
            }
            Some(r) => r.value,
            None => 1,
        };
        let policy = &mut out.policy;
        if let Some(n) = &raw.exact_token_bytes {
            if n.value > MAX_EXACT_TOKEN_BYTES {
                self.problem(
                    "limits.exact_token_bytes",
                    Some(n),
                    format!("must be between 0 and {MAX_EXACT_TOKEN_BYTES}"),
                );
            } else {
                policy.exact_token_bytes = n.value;
            }
        }
        if let Some(n) = raw.default_max_tokens {
            if n.value == 0 {
                self.problem(
                    "limits.default_max_tokens",
                    Some(&n),
                    "must be greater than 0",
                );
            } else {
                policy.default_max_tokens = n.value;
            }
        }
        policy.missing_max_tokens = match self.choice(
            "limits.missing_max_tokens",
            raw.missing_max_tokens.as_ref(),
            &["default", "clamp"],
        ) {
            1 => MissingMaxTokens::Clamp,
            _ => MissingMaxTokens::Default,
        };
        if let Some(unpriced) = raw.unpriced {
            policy.unpriced = match &unpriced.value {
                RawUnpriced::Word(w) if w == "deny" => Unpriced::Deny,
                RawUnpriced::Word(_) => {
                    self.problem(
                        "limits.unpriced",
                        Some(&unpriced),
                        "must be deny or a price { input, output }",
                    );
                    Unpriced::Deny
                }
                RawUnpriced::Price(p) => match (
                    MicroUsd::parse_dollars(&p.input),
                    MicroUsd::parse_dollars(&p.output),
                ) {
                    (Ok(input), Ok(output)) => {
                        Unpriced::Price(Price::flat(Rates::new(input, output)))
                    }
                    _ => {
                        self.problem(
                            "limits.unpriced",
                            Some(&unpriced),
                            "prices are decimal dollars per million tokens, e.g. \"2.50\"",
                        );
                        Unpriced::Deny
                    }
                },
            };
        }
        if let Some(w) = raw.token_weights {
            let d = TokenWeights::default();
            policy.weights = TokenWeights {
                input: w.input.unwrap_or(d.input),
                output: w.output.unwrap_or(d.output),
                cached: w.cached.unwrap_or(d.cached),
            };
        }
        policy.lease = self.duration("limits.lease", raw.lease.as_ref(), policy.lease);
        if policy.lease > MAX_LEASE {
            self.problem("limits.lease", raw.lease.as_ref(), "must be at most 24h");
        }
        for (name, limits) in raw.models.unwrap_or_default() {
            if !models.contains(name.as_str()) {
                self.problem::<()>(
                    format!("limits.models.{name}"),
                    None,
                    "no model group of that name",
                );
                continue;
            }
            let budget = self.budget(
                &format!("limits.models.{name}"),
                limits.budget_usd.as_ref(),
                limits.budget_reset,
            );
            policy.models.insert(
                Arc::from(name.as_str()),
                ModelLimits {
                    rpm: limits.rpm,
                    tpm: limits.tpm,
                    budget,
                },
            );
        }
        out
    }

    /// The index of `raw` among `options` (0, the default, when absent or wrong).
    fn choice(&mut self, path: &str, raw: Option<&Spanned<String>>, options: &[&str]) -> usize {
        let Some(raw) = raw else { return 0 };
        match options.iter().position(|o| *o == raw.value) {
            Some(i) => i,
            None => {
                self.problem(
                    path,
                    Some(raw),
                    format!("must be one of: {}", options.join(", ")),
                );
                0
            }
        }
    }
}
