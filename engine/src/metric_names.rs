//! Names of the metrics the engine records (the api's exporter serves them). Label sets are
//! bounded by config: provider names, deployment ids, model group names, fixed vocabularies.

/// Retries, by model group and the error kind that caused them.
pub const RETRIES_TOTAL: &str = "portcullis_retries_total";
/// Moves to a fallback group, by requested group, target group and reason.
pub const FALLBACKS_TOTAL: &str = "portcullis_fallbacks_total";
/// Breaker state per deployment: 0 closed, 1 open, 2 half-open.
pub const BREAKER_STATE: &str = "portcullis_breaker_state";
/// Breaker transitions per deployment, by the state entered.
pub const BREAKER_TRANSITIONS_TOTAL: &str = "portcullis_breaker_transitions_total";
/// Active health checks per deployment, by result (`ok`, `failed`, `rate_limited`, `refused`).
pub const HEALTH_CHECKS_TOTAL: &str = "portcullis_health_checks_total";
/// 429 cool-downs started per deployment.
pub const COOLDOWNS_TOTAL: &str = "portcullis_cooldowns_total";
/// Requests in flight per deployment (sampled each actor tick).
pub const DEPLOYMENT_IN_FLIGHT: &str = "portcullis_deployment_in_flight";
/// Peak-EWMA upstream latency per deployment, seconds (sampled each actor tick).
pub const DEPLOYMENT_LATENCY: &str = "portcullis_deployment_latency_ewma_seconds";
/// Retries refused because the provider's retry budget was spent.
pub const RETRY_BUDGET_EXHAUSTED_TOTAL: &str = "portcullis_retry_budget_exhausted_total";
/// Provider answers refused because they carried the provider's own credential, by provider.
pub const UPSTREAM_CREDENTIAL_ECHOES_TOTAL: &str = "portcullis_upstream_credential_echoes_total";
