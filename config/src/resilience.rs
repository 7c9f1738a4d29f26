//! The resilience settings of providers (`breaker:`, `retry:`, `health_check:`) and model
//! groups (strategy, fallbacks, attempts, per-deployment quotas, costs, limits, timeouts and
//! health checks): raw shapes and their checks, kept apart from `providers.rs` and
//! `models.rs` so those stay about where requests go.

use std::time::Duration;

use portcullis_engine::{
    BackoffSpec, BreakerSpec, HealthCheckSpec, RetryBudgetSpec, TimeoutOverrides,
};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;
use crate::duration::format_duration;

/// Largest attempt limit per group.
pub(crate) const MAX_ATTEMPTS: u32 = 10;
/// Bounds of `health_check.interval`.
pub(crate) const MIN_CHECK_INTERVAL: Duration = Duration::from_secs(1);
pub(crate) const MAX_CHECK_INTERVAL: Duration = Duration::from_secs(3600);
/// Shortest `health_check.timeout` (the longest is below the interval).
pub(crate) const MIN_CHECK_TIMEOUT: Duration = Duration::from_millis(100);

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreaker {
    #[serde(default)]
    pub(crate) consecutive_failures: Option<u32>,
    #[serde(default)]
    pub(crate) failure_rate: Option<Spanned<f64>>,
    #[serde(default)]
    pub(crate) min_requests: Option<u32>,
    #[serde(default)]
    pub(crate) window: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) cooldown: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) max_cooldown: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) half_open_probes: Option<Spanned<u32>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetry {
    #[serde(default)]
    pub(crate) budget_ratio: Option<Spanned<f64>>,
    #[serde(default)]
    pub(crate) budget_min_per_sec: Option<u32>,
    #[serde(default)]
    pub(crate) budget_window: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) backoff_base: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) backoff_max: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) max_retry_after: Option<Spanned<String>>,
}

/// `health_check:` on a provider (for its deployments) or on a deployment (over its
/// provider's, field by field). Its presence turns checks on, unless `enabled: false`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealthCheck {
    #[serde(default)]
    pub(crate) enabled: Option<bool>,
    #[serde(default)]
    pub(crate) interval: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) timeout: Option<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeploymentTimeouts {
    #[serde(default)]
    pub(crate) connect: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) first_byte: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) read: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) total: Option<Spanned<String>>,
}

impl Checker<'_> {
    pub(crate) fn breaker(&mut self, path: &str, raw: RawBreaker) -> BreakerSpec {
        let d = BreakerSpec::default();
        let at = |f: &str| format!("{path}.breaker.{f}");
        let failure_rate = self.ratio(
            &at("failure_rate"),
            raw.failure_rate.as_ref(),
            d.failure_rate,
        );
        let probes = match raw.half_open_probes {
            Some(p) if p.value == 0 => {
                self.problem(at("half_open_probes"), Some(&p), "must be at least 1");
                d.half_open_probes
            }
            Some(p) => p.value,
            None => d.half_open_probes,
        };
        let cooldown = self.duration(&at("cooldown"), raw.cooldown.as_ref(), d.cooldown);
        BreakerSpec {
            consecutive_failures: raw.consecutive_failures.unwrap_or(d.consecutive_failures),
            failure_rate,
            min_requests: raw.min_requests.unwrap_or(d.min_requests),
            window: self.duration(&at("window"), raw.window.as_ref(), d.window),
            cooldown,
            max_cooldown: self
                .duration(
                    &at("max_cooldown"),
                    raw.max_cooldown.as_ref(),
                    d.max_cooldown,
                )
                .max(cooldown),
            half_open_probes: probes,
        }
    }

    pub(crate) fn retry(&mut self, path: &str, raw: RawRetry) -> (RetryBudgetSpec, BackoffSpec) {
        let (b, o) = (RetryBudgetSpec::default(), BackoffSpec::default());
        let at = |f: &str| format!("{path}.retry.{f}");
        let budget = RetryBudgetSpec {
            ratio: self.ratio(&at("budget_ratio"), raw.budget_ratio.as_ref(), b.ratio),
            min_per_sec: raw.budget_min_per_sec.unwrap_or(b.min_per_sec),
            window: self.duration(&at("budget_window"), raw.budget_window.as_ref(), b.window),
        };
        let backoff = BackoffSpec {
            base: self.duration(&at("backoff_base"), raw.backoff_base.as_ref(), o.base),
            max: self.duration(&at("backoff_max"), raw.backoff_max.as_ref(), o.max),
            max_retry_after: self.duration(
                &at("max_retry_after"),
                raw.max_retry_after.as_ref(),
                o.max_retry_after,
            ),
        };
        (budget, backoff)
    }

    /// A ratio in `0..=1`.
    fn ratio(&mut self, path: &str, raw: Option<&Spanned<f64>>, default: f64) -> f64 {
        let Some(raw) = raw else { return default };
        if !(0.0..=1.0).contains(&raw.value) {
            self.problem(path, Some(raw), "must be between 0 and 1");
            return default;
        }
        raw.value
    }

    pub(crate) fn max_attempts(&mut self, path: &str, raw: Option<&Spanned<u32>>) -> u32 {
        let default = portcullis_engine::ModelGroupSpec::DEFAULT_MAX_ATTEMPTS;
        let Some(raw) = raw else { return default };
        if raw.value == 0 || raw.value > MAX_ATTEMPTS {
            self.problem(
                path,
                Some(raw),
                format!("must be between 1 and {MAX_ATTEMPTS}"),
            );
            return default;
        }
        raw.value
    }

    pub(crate) fn deployment_timeouts(
        &mut self,
        path: &str,
        raw: RawDeploymentTimeouts,
    ) -> TimeoutOverrides {
        let mut one = |field: &str, raw: Option<&Spanned<String>>| {
            raw.map(|r| self.duration(&format!("{path}.timeouts.{field}"), Some(r), Duration::ZERO))
        };
        TimeoutOverrides {
            connect: one("connect", raw.connect.as_ref()),
            first_byte: one("first_byte", raw.first_byte.as_ref()),
            read: one("read", raw.read.as_ref()),
            total: one("total", raw.total.as_ref()),
        }
    }

    /// The health checks at `path` (a provider or a deployment): none when `raw` is absent
    /// but those `inherited` from the provider; off with `enabled: false`; else `raw`'s
    /// fields over the inherited ones (or the defaults), each bounded, the timeout shorter
    /// than the interval.
    pub(crate) fn health_check(
        &mut self,
        path: &str,
        raw: Option<RawHealthCheck>,
        inherited: Option<HealthCheckSpec>,
    ) -> Option<HealthCheckSpec> {
        let Some(raw) = raw else { return inherited };
        if raw.enabled == Some(false) {
            return None;
        }
        let base = inherited.unwrap_or_default();
        let at = |f: &str| format!("{path}.health_check.{f}");
        let before = self.problems.len();
        let interval = self.duration_within(
            &at("interval"),
            raw.interval.as_ref(),
            base.interval,
            (MIN_CHECK_INTERVAL, MAX_CHECK_INTERVAL),
        );
        let timeout = self.duration_within(
            &at("timeout"),
            raw.timeout.as_ref(),
            base.timeout,
            (MIN_CHECK_TIMEOUT, MAX_CHECK_INTERVAL),
        );
        if self.problems.len() == before && timeout >= interval {
            let (field, spanned) = match (&raw.timeout, &raw.interval) {
                (Some(t), _) => ("timeout", Some(t)),
                (None, i) => ("interval", i.as_ref()),
            };
            let why = format!(
                "the timeout ({}) must be shorter than the interval ({})",
                format_duration(timeout),
                format_duration(interval)
            );
            self.problem(at(field), spanned, why);
        }
        Some(HealthCheckSpec { interval, timeout })
    }

    /// Dollars per million tokens → micro-dollars per million tokens.
    pub(crate) fn cost(&mut self, path: &str, raw: Option<&Spanned<String>>) -> Option<u64> {
        let raw = raw?;
        match portcullis_engine::cost::MicroUsd::parse_dollars(&raw.value) {
            Ok(m) => Some(m.as_micros()),
            Err(e) => {
                self.problem(
                    path,
                    Some(raw),
                    format!("must be dollars per million tokens, e.g. \"2.50\": {e}"),
                );
                None
            }
        }
    }
}
