//! `telemetry:` — OpenTelemetry export (OTLP over HTTP), off unless configured. The gateway
//! exports it only when built with the `otel` cargo feature; `portcullis check-config` accepts
//! the section either way and the start-up of a build without the feature refuses it.
//!
//! ```yaml
//! telemetry:
//!   otlp:
//!     endpoint: http://127.0.0.1:4318   # OTLP/HTTP base: /v1/traces and /v1/metrics
//!     service_name: portcullis
//!     sample_ratio: 1.0                 # share of requests traced, 0 to 1
//!     metrics_interval: 10s
//! ```

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;
use url::Url;

use crate::check::Checker;

/// Where and how to export traces and the GenAI metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpConfig {
    /// The collector's OTLP/HTTP base URL (`/v1/traces` and `/v1/metrics` are appended).
    pub endpoint: Url,
    pub service_name: String,
    /// Share of requests traced (parent-based: a sampled parent keeps its children).
    pub sample_ratio: f64,
    /// How often metrics are exported.
    pub metrics_interval: Duration,
}

impl OtlpConfig {
    pub const DEFAULT_SERVICE_NAME: &'static str = "portcullis";
    pub const DEFAULT_METRICS_INTERVAL: Duration = Duration::from_secs(10);

    /// The URL of one signal's endpoint, e.g. `signal_url("traces")`.
    pub fn signal_url(&self, signal: &str) -> String {
        format!(
            "{}/v1/{signal}",
            self.endpoint.as_str().trim_end_matches('/')
        )
    }
}

/// The validated `telemetry:` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryConfig {
    pub otlp: Option<OtlpConfig>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTelemetry {
    #[serde(default)]
    otlp: Option<RawOtlp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOtlp {
    endpoint: Spanned<String>,
    #[serde(default)]
    service_name: Option<Spanned<String>>,
    #[serde(default)]
    sample_ratio: Option<Spanned<f64>>,
    #[serde(default)]
    metrics_interval: Option<Spanned<String>>,
}

impl Checker<'_> {
    pub(crate) fn telemetry(&mut self, raw: RawTelemetry) -> TelemetryConfig {
        let Some(raw) = raw.otlp else {
            return TelemetryConfig::default();
        };
        let at = |f: &str| format!("telemetry.otlp.{f}");
        let endpoint = match Url::parse(raw.endpoint.value.trim()) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.username().is_empty()
                    && url.password().is_none()
                    && url.query().is_none() =>
            {
                Some(url)
            }
            _ => {
                self.problem(
                    at("endpoint"),
                    Some(&raw.endpoint),
                    "must be an http or https URL without credentials or query, e.g. http://127.0.0.1:4318",
                );
                None
            }
        };
        let service_name = match raw.service_name {
            Some(name) => {
                self.label(&at("service_name"), &name);
                name.value
            }
            None => OtlpConfig::DEFAULT_SERVICE_NAME.to_owned(),
        };
        let sample_ratio = match raw.sample_ratio {
            Some(r) if !(0.0..=1.0).contains(&r.value) => {
                self.problem(at("sample_ratio"), Some(&r), "must be between 0 and 1");
                1.0
            }
            Some(r) => r.value,
            None => 1.0,
        };
        let metrics_interval = self.duration(
            &at("metrics_interval"),
            raw.metrics_interval.as_ref(),
            OtlpConfig::DEFAULT_METRICS_INTERVAL,
        );
        TelemetryConfig {
            otlp: endpoint.map(|endpoint| OtlpConfig {
                endpoint,
                service_name,
                sample_ratio,
                metrics_interval,
            }),
        }
    }
}
