//! Governance on the request path: admission before a request reaches a provider, settlement
//! after, and the `x-ratelimit-*` headers.
//!
//! [`admit`] plans the request's admission (`engine::limits::LimitsPolicy`), asks the limiter,
//! and returns a [`Governed`] guard. The guard must be settled with what the request really
//! used; if it is dropped instead — an upstream error, a timeout, a client that went away, a
//! handler future cancelled — it releases the reservation, so no exit path leaves a phantom
//! reservation behind (the lease is the backstop if the process dies).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::Arbiter;
use actix_web::HttpResponseBuilder;
use actix_web::http::header::{HeaderName, HeaderValue};
use portcullis_config::{Config, LimiterBackend};
use portcullis_engine::Usage;
use portcullis_engine::cost::{self, MicroUsd, Price};
use portcullis_engine::limits::{
    Admit, LimitRefusal, LimiterHandle, LimiterMode, LimitsPolicy, PlanError, PlanInput, Settle,
};
use portcullis_storage::limiter::Admission;
use portcullis_storage::limiter::monotonic_clock;
use portcullis_storage::limiter::{BucketKind, BucketStatus, BucketUsage, Settlement};
use portcullis_storage::redis::{LazyRedisLimiter, RedisOptions, RedisTarget};
use portcullis_storage::{KeyId, SpendScope, SpendSink, TeamId, VirtualKey};
use secrecy::ExposeSecret;

pub(crate) use crate::admissible::Admissible;
use crate::error::ApiError;
use crate::metrics;

/// What admission needs, built once at start-up.
#[derive(Debug)]
pub(crate) struct Governance {
    pub(crate) limiter: LimiterHandle,
    pub(crate) policy: LimitsPolicy,
    /// By model group: the dearest price among its deployments (the reservation's worst case).
    pub(crate) prices: HashMap<Arc<str>, Price>,
    /// By model group (and alias): the prompt estimator for the families it routes to.
    estimators: HashMap<Arc<str>, cost::Estimator>,
    /// The shared limiter's actor thread, stopped when the last config generation using this
    /// limiter is gone.
    arbiter: Option<Arc<LimiterThread>>,
    /// The durable spend log, which budget counters are reconciled from.
    spend: Arc<dyn SpendSink>,
    /// Budget periods reconciled lately: when, and after how many limiter outages.
    reconciled: Mutex<HashMap<(String, u64), (Instant, u64)>>,
}

impl Governance {
    /// The configured limiter: in memory, or on Redis (connected on first use, so the gateway
    /// starts and serves under its failure policy while Redis is down). Must run inside an
    /// actix `System`.
    ///
    /// With `carried` (a previous config generation's [`Governance::limiter_carry`]), the
    /// same limiter — its buckets, in-flight reservations and parallel counts — goes on
    /// serving, so a reload neither resets a rate limit nor lets in-flight reservations be
    /// counted twice. Limits themselves come from `config`: every admission carries its
    /// bucket sizes.
    pub(crate) fn start(
        config: &Config,
        spend: Arc<dyn SpendSink>,
        carried: Option<LimiterCarry>,
    ) -> Self {
        let limits = &config.limits;
        let (limiter, arbiter) = match carried {
            Some(carry) => (carry.limiter, carry.arbiter),
            None => Self::new_limiter(config),
        };
        Self {
            limiter,
            policy: limits.policy.clone(),
            prices: group_prices(&config.gateway, &config.catalogue),
            estimators: group_estimators(&config.gateway, limits.policy.exact_token_bytes),
            arbiter,
            spend,
            reconciled: Mutex::new(HashMap::new()),
        }
    }

    /// What a reloaded config needs to go on with this limiter.
    pub(crate) fn limiter_carry(&self) -> LimiterCarry {
        LimiterCarry {
            limiter: self.limiter.clone(),
            arbiter: self.arbiter.clone(),
        }
    }

    fn new_limiter(config: &Config) -> (LimiterHandle, Option<Arc<LimiterThread>>) {
        let limits = &config.limits;
        match &limits.backend {
            LimiterBackend::Memory => (LimiterHandle::memory(monotonic_clock()), None),
            LimiterBackend::Redis(redis) => {
                let target = RedisTarget::from_url(redis.url.expose_secret(), redis.cluster);
                let shared = Arc::new(LazyRedisLimiter::new(
                    target,
                    RedisOptions::with_timeout(redis.timeout),
                ));
                let arbiter = Arbiter::new();
                let handle = LimiterHandle::shared(
                    shared,
                    limits.failure,
                    redis.timeout,
                    monotonic_clock(),
                    &arbiter.handle(),
                );
                (handle, Some(Arc::new(LimiterThread(arbiter))))
            }
        }
    }

    /// Raises each budget's counter to what the durable spend log recorded for its period, at
    /// most once per [`RECONCILE_EVERY`] per budget and process, and again after every outage
    /// of the shared limiter (Redis may be back empty): a limiter that restarted (memory) or a
    /// Redis that was restarted or flushed resets nobody's spend. The first admission of a
    /// budget in a process (and after an outage) waits for this one spend-log query; later
    /// ones do not. Nothing is reconciled while the limiter is degraded (budgets are refused
    /// then anyway), and a reconciliation that failed is retried by the next admission.
    async fn reconcile(&self, admission: &Admission, model_group: &str) {
        if self.limiter.mode() == LimiterMode::Fallback {
            return;
        }
        let outages = self.limiter.outages();
        let budgets = admission.budgets.iter().map(|b| (b, None)).chain(
            admission
                .global_budgets
                .iter()
                .map(|b| (b, Some(model_group))),
        );
        for (budget, group) in budgets {
            let period = &budget.period;
            let slot = (period.name.clone(), period.period);
            let due = self.reconciled.lock().is_ok_and(|seen| {
                seen.get(&slot)
                    .is_none_or(|(at, epoch)| *epoch != outages || at.elapsed() >= RECONCILE_EVERY)
            });
            let scope = match group {
                Some(group) => Some(SpendScope::ModelGroup(group.to_owned())),
                None => spend_scope(&period.name),
            };
            let Some(scope) = scope.filter(|_| due) else {
                continue;
            };
            let since_ms = i64::try_from(period.period.saturating_mul(1000)).unwrap_or(i64::MAX);
            let done = match self.spend.total(scope, since_ms).await {
                Ok(total) => {
                    let durable = u64::try_from(total).unwrap_or(0);
                    self.limiter.reconcile(period, durable).await
                }
                Err(e) => {
                    tracing::warn!("could not read the spend log to reconcile: {e}");
                    false
                }
            };
            if done && let Ok(mut seen) = self.reconciled.lock() {
                if seen.len() >= MAX_RECONCILED {
                    seen.clear();
                }
                seen.insert(slot, (Instant::now(), outages));
            }
        }
    }
}

impl Governance {
    /// The prompt estimator for requests to `model` (a group or alias; an unknown name gets
    /// the estimate that covers every family). Embeddings admission uses it too
    /// (`Estimator::embedding_input_tokens`).
    pub(crate) fn estimator(&self, model: &str) -> cost::Estimator {
        self.estimators
            .get(model)
            .copied()
            .unwrap_or_else(cost::Estimator::unknown)
    }
}

/// How often a budget's counter is checked against the spend log, per process.
const RECONCILE_EVERY: Duration = Duration::from_secs(60);
/// Most budget periods remembered as reconciled.
const MAX_RECONCILED: usize = 100_000;

/// The spend-log scope of a budget named `k:<key>:budget` or `t:<team>:budget`.
fn spend_scope(name: &str) -> Option<SpendScope> {
    let id = name.strip_suffix(":budget")?;
    if let Some(key) = id.strip_prefix("k:") {
        return KeyId::parse(key).ok().map(SpendScope::Key);
    }
    TeamId::parse(id.strip_prefix("t:")?)
        .ok()
        .map(SpendScope::Team)
}

/// A limiter handed from one config generation to the next.
#[derive(Debug, Clone)]
pub(crate) struct LimiterCarry {
    limiter: LimiterHandle,
    arbiter: Option<Arc<LimiterThread>>,
}

/// The shared limiter's actor thread; stopped once nothing uses it.
#[derive(Debug)]
pub(crate) struct LimiterThread(Arbiter);

impl Drop for LimiterThread {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// An admitted request. Settle it; dropping it releases the reservation.
#[derive(Debug)]
pub(crate) struct Governed {
    limiter: LimiterHandle,
    admit: Option<Admit>,
    prompt_tokens: u64,
    price: Option<Price>,
    tpm_buckets: Vec<String>,
    weights: portcullis_engine::limits::TokenWeights,
}

/// Admits `request` for `key`: `Ok(None)` when no limit applies to it at all.
pub(crate) async fn admit(
    governance: &Governance,
    key: &VirtualKey,
    request: &mut dyn Admissible,
    request_id: &str,
    now_unix_ms: u64,
) -> Result<Option<Governed>, ApiError> {
    let policy = &governance.policy;
    if !policy.applies_to(key, request.model()) {
        return Ok(None);
    }
    let prompt_tokens = request.prompt_estimate(&governance.estimator(request.model()));
    let price = governance.prices.get(request.model());
    let plan = policy
        .plan(&PlanInput {
            request_id,
            key,
            model: request.model(),
            prompt_tokens,
            max_tokens: request.max_tokens(),
            price,
            now_unix_ms,
            remaining_budget: None,
        })
        .map_err(|e| match e {
            PlanError::Unpriced => ApiError::Unpriced,
            PlanError::BudgetExhausted => ApiError::Limited {
                kind: "budget",
                retry_after_ms: None,
            },
        })?;
    governance.reconcile(&plan.admission, request.model()).await;
    let tpm_buckets = plan
        .admission
        .buckets
        .iter()
        .chain(&plan.admission.global_buckets)
        .filter(|b| b.kind == BucketKind::Tpm)
        .map(|b| b.name.clone())
        .collect();
    let admitted =
        governance
            .limiter
            .admit(plan.admission)
            .await
            .map_err(|refusal| match refusal {
                LimitRefusal::Limited(l) => {
                    metrics::limit_rejected(l.kind.as_str());
                    ApiError::Limited {
                        kind: l.kind.as_str(),
                        retry_after_ms: l.retry_after_ms,
                    }
                }
                LimitRefusal::Unavailable => ApiError::LimiterUnavailable,
                LimitRefusal::Overloaded => ApiError::Overloaded,
            })?;
    if let Some(n) = plan.inject_max_tokens {
        request.bound_completion(n);
    }
    Ok(Some(Governed {
        limiter: governance.limiter.clone(),
        admit: Some(admitted),
        prompt_tokens,
        price: plan.price,
        tpm_buckets,
        weights: policy.weights,
    }))
}

impl Governed {
    /// Bucket states after admission.
    pub(crate) fn buckets(&self) -> &[BucketStatus] {
        self.admit.as_ref().map_or(&[], |a| &a.buckets)
    }

    /// The request used the provider: record what it really used — `cost` when the serving
    /// deployment's price gave one, else the reservation's price. Without a usage report (a
    /// stream cut before its usage chunk), the prompt estimate and `fallback_completion`
    /// tokens are charged — never nothing. Returns the cost charged, if any price applied:
    /// the spend log records the same amount, so budgets reconciled from it agree.
    pub(crate) fn settle(
        mut self,
        usage: Option<Usage>,
        fallback_completion: u64,
        cost: Option<MicroUsd>,
    ) -> Option<MicroUsd> {
        let admit = self.admit.take()?;
        let usage = usage.unwrap_or_else(|| Usage::new(self.prompt_tokens, fallback_completion));
        let charged = cost.or_else(|| self.price.as_ref().map(|p| cost::cost(p, &usage)));
        let cost_micro_usd = charged.unwrap_or(MicroUsd::ZERO).as_micros();
        let tokens = self.weights.weigh(&usage);
        let settlement = Settlement {
            tokens: self
                .tpm_buckets
                .iter()
                .map(|name| BucketUsage {
                    name: name.clone(),
                    tokens,
                })
                .collect(),
            cost_micro_usd,
        };
        self.limiter.finish(&admit, Settle::Used(settlement));
        charged
    }
}

impl Drop for Governed {
    fn drop(&mut self) {
        if let Some(admit) = self.admit.take() {
            self.limiter.finish(&admit, Settle::Release);
        }
    }
}

/// Adds OpenAI's `x-ratelimit-*` headers: the tightest request and token buckets.
pub(crate) fn rate_limit_headers(response: &mut HttpResponseBuilder, buckets: &[BucketStatus]) {
    for (kind, suffix) in [(BucketKind::Rpm, "requests"), (BucketKind::Tpm, "tokens")] {
        let Some(tightest) = buckets
            .iter()
            .filter(|b| b.kind == kind)
            .min_by_key(|b| b.remaining)
        else {
            continue;
        };
        let values = [
            ("limit", tightest.limit.to_string()),
            ("remaining", tightest.remaining.to_string()),
            ("reset", reset_text(tightest.reset_ms)),
        ];
        for (what, value) in values {
            let name = format!("x-ratelimit-{what}-{suffix}");
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                response.insert_header((name, value));
            }
        }
    }
}

/// A reset time as OpenAI writes it: `250ms`, `6s`, `1m30s`.
fn reset_text(ms: u64) -> String {
    match ms {
        ms if ms < 1000 => format!("{ms}ms"),
        ms if ms < 60_000 => format!("{}s", ms.div_ceil(1000)),
        ms => {
            let secs = ms.div_ceil(1000);
            format!("{}m{}s", secs / 60, secs % 60)
        }
    }
}

/// The dearest known price of each group's deployments, from the config's catalogue (the
/// built-in list with the operator's `pricing` overrides, as the spend log prices them).
fn group_prices(
    spec: &portcullis_engine::GatewaySpec,
    catalogue: &cost::Catalogue,
) -> HashMap<Arc<str>, Price> {
    let mut prices = HashMap::new();
    for group in &spec.groups {
        let dearest = group
            .deployments
            .iter()
            .filter_map(|d| catalogue.price(&d.upstream_model))
            .max_by_key(|p| {
                let r = p.base;
                (r.output.as_micros(), r.input.as_micros())
            });
        if let Some(price) = dearest {
            prices.insert(group.name.clone(), *price);
        }
    }
    prices
}

/// Each group's estimator, for every upstream model its deployments and its fallback groups'
/// deployments name: a request is reserved for the family that estimates highest.
fn group_estimators(
    spec: &portcullis_engine::GatewaySpec,
    exact_bytes: usize,
) -> HashMap<Arc<str>, cost::Estimator> {
    let by_name: HashMap<&str, &portcullis_engine::ModelGroupSpec> =
        spec.groups.iter().map(|g| (&*g.name, g)).collect();
    let mut estimators = HashMap::new();
    for group in &spec.groups {
        let fallbacks = group
            .fallbacks
            .iter()
            .chain(&group.context_window_fallbacks)
            .chain(&group.content_policy_fallbacks)
            .filter_map(|name| by_name.get(&**name).copied());
        let models = std::iter::once(group)
            .chain(fallbacks)
            .flat_map(|g| g.deployments.iter().map(|d| &*d.upstream_model));
        let estimator = cost::Estimator::for_models(models).exact_bytes(exact_bytes);
        for name in std::iter::once(&group.name).chain(&group.aliases) {
            estimators.insert(name.clone(), estimator);
        }
    }
    estimators
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_estimated_for_every_family_its_deployments_and_fallbacks_reach() {
        use portcullis_engine::provider::Vendor;
        use portcullis_engine::{DeploymentSpec, GatewaySpec, ProviderSpec};
        let mut spec = GatewaySpec::default();
        let url = "https://api.openai.com/v1".parse().unwrap();
        let p = spec.provider(ProviderSpec::new("p", Vendor::Openai, url));
        spec.group("gpt", vec![DeploymentSpec::new(p, "gpt-4o")]);
        spec.group("claude", vec![DeploymentSpec::new(p, "claude-sonnet-4-5")]);
        spec.group("mixed", vec![DeploymentSpec::new(p, "gpt-4o")]);
        spec.groups[2].fallbacks = vec!["claude".into()];
        spec.groups[2].aliases = vec!["mixed-alias".into()];
        let estimators = group_estimators(&spec, cost::EXACT_BYTES_PER_REQUEST);
        assert_eq!(estimators["gpt"], cost::Estimator::for_models(["gpt-4o"]));
        assert_eq!(
            estimators["mixed"],
            cost::Estimator::for_models(["gpt-4o", "claude-sonnet-4-5"])
        );
        assert_eq!(estimators["mixed-alias"], estimators["mixed"]);
        assert_ne!(estimators["gpt"], estimators["mixed"]);
    }

    #[test]
    fn reset_times_read_like_openais() {
        assert_eq!(reset_text(250), "250ms");
        assert_eq!(reset_text(5_500), "6s");
        assert_eq!(reset_text(90_000), "1m30s");
    }
}
