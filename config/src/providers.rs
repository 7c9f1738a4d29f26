//! `providers:` — where upstreams live, their credentials (references only), limits and
//! timeouts. Each provider becomes an engine [`ProviderSpec`]. A provider with a problem
//! elsewhere than in its name still gets its name recorded, so a deployment that names it is
//! not reported again.

mod azure;
mod bedrock;
mod vertex;

use std::collections::HashMap;
use std::sync::Arc;

use portcullis_engine::provider::Vendor;
use portcullis_engine::spec::{AnthropicSpec, HealthCheckSpec, ProviderSpec, UpstreamTimeouts};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use crate::Mode;
use crate::check::Checker;
use crate::egress::{EgressPolicy, check_base_url};
use crate::resilience::{RawBreaker, RawHealthCheck, RawRetry};

pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: usize = ProviderSpec::DEFAULT_MAX_RESPONSE_BYTES;
pub(crate) const DEFAULT_MAX_EVENT_BYTES: usize = ProviderSpec::DEFAULT_MAX_EVENT_BYTES;
/// Upper bound for both response and event caps.
pub(crate) const MAX_UPSTREAM_BYTES: usize = 1024 * 1024 * 1024;
/// Upper bound for `anthropic.default_max_tokens`.
const MAX_DEFAULT_MAX_TOKENS: usize = 1_000_000;
/// Longest `anthropic.version` or `anthropic.beta` entry, in characters.
const MAX_HEADER_TOKEN_CHARS: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvider {
    pub(crate) name: Spanned<String>,
    pub(crate) vendor: Vendor,
    #[serde(default)]
    pub(crate) base_url: Option<Spanned<String>>,
    /// Secret reference.
    #[serde(default)]
    pub(crate) api_key: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) allow_private_network: bool,
    #[serde(default)]
    pub(crate) max_response_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    pub(crate) max_event_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    pub(crate) timeouts: Option<RawTimeouts>,
    #[serde(default)]
    pub(crate) breaker: Option<RawBreaker>,
    #[serde(default)]
    pub(crate) retry: Option<RawRetry>,
    /// Active health checks of its deployments; off when absent.
    #[serde(default)]
    pub(crate) health_check: Option<RawHealthCheck>,
    /// Settings of the Anthropic dialect; refused for other vendors.
    #[serde(default)]
    pub(crate) anthropic: Option<Spanned<RawAnthropic>>,
    /// Settings of Azure OpenAI; refused for other vendors.
    #[serde(default)]
    pub(crate) azure: Option<Spanned<azure::RawAzure>>,
    /// Vertex AI's project, region and service account; only for vendor `vertex_ai`.
    #[serde(default)]
    pub(crate) vertex: Option<Spanned<vertex::RawVertex>>,
    /// Region and credentials of AWS Bedrock; required for it, refused for other vendors.
    #[serde(default)]
    pub(crate) bedrock: Option<Spanned<bedrock::RawBedrock>>,
}

/// `anthropic:` under a provider of vendor `anthropic`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAnthropic {
    /// The `anthropic-version` header; default `2023-06-01`.
    #[serde(default)]
    pub(crate) version: Option<Spanned<String>>,
    /// `anthropic-beta` values; none are sent unless listed here.
    #[serde(default)]
    pub(crate) beta: Vec<Spanned<String>>,
    /// `max_tokens` for OpenAI requests that set none; default 4096.
    #[serde(default)]
    pub(crate) default_max_tokens: Option<Spanned<usize>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeouts {
    #[serde(default)]
    pub(crate) connect: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) first_byte: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) read: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) total: Option<Spanned<String>>,
    /// Renamed to `connect` etc.; kept only to say so.
    #[serde(default)]
    pub(crate) connect_ms: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) first_byte_ms: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) read_ms: Option<IgnoredAny>,
    #[serde(default)]
    pub(crate) total_ms: Option<IgnoredAny>,
}

/// Providers as built so far: `None` where a provider had a problem.
pub(crate) struct Providers {
    pub(crate) specs: Vec<Option<ProviderSpec>>,
    /// Provider name → index into `specs` (first definition wins).
    pub(crate) index: HashMap<String, usize>,
    /// Each provider's health checks, which its deployments inherit; in the order of `specs`.
    pub(crate) health_checks: Vec<Option<HealthCheckSpec>>,
}

impl Checker<'_> {
    pub(crate) fn providers(&mut self, raw: Vec<RawProvider>, mode: Mode) -> Providers {
        if raw.is_empty() {
            self.problem::<()>("providers", None, "at least one provider is required");
        }
        let mut built = Providers {
            specs: Vec::with_capacity(raw.len()),
            index: HashMap::new(),
            health_checks: Vec::with_capacity(raw.len()),
        };
        for (i, mut provider) in raw.into_iter().enumerate() {
            let path = format!("providers[{i}]");
            if self.label(&format!("{path}.name"), &provider.name) {
                self.unique(&mut built.index, "providers", i, &provider.name);
            }
            let check = self.health_check(&path, provider.health_check.take(), None);
            built.health_checks.push(check);
            let spec = self.provider(&path, provider, mode);
            built.specs.push(spec);
        }
        built
    }

    fn provider(&mut self, path: &str, raw: RawProvider, mode: Mode) -> Option<ProviderSpec> {
        let before = self.problems.len();
        let profile = raw.vendor.profile();
        let policy = EgressPolicy {
            allow_private_network: raw.allow_private_network,
            require_https: mode == Mode::Production,
        };
        let vertex_default = match (&raw.vertex, raw.vendor) {
            (Some(v), Vendor::VertexAi) => Some(vertex::default_base_url(&v.value.region.value)),
            _ => None,
        };
        let bedrock = self.bedrock(path, raw.vendor, &raw.name, raw.bedrock);
        // Bedrock's default endpoint is per region too.
        let bedrock_default = bedrock
            .as_ref()
            .map(|b| portcullis_engine::provider::bedrock::default_base_url(&b.region));
        let default_base_url = profile
            .default_base_url
            .or(vertex_default.as_deref())
            .or(bedrock_default.as_deref());
        let base_url = match (&raw.base_url, default_base_url) {
            (Some(given), _) => check_base_url(&given.value, policy)
                .map_err(|why| self.problem(format!("{path}.base_url"), Some(given), why))
                .ok(),
            (None, Some(default)) => check_base_url(default, policy)
                .map_err(|why| {
                    let why = format!(
                        "vendor {} defaults to {default}: {why}",
                        raw.vendor.as_str()
                    );
                    self.problem(format!("{path}.base_url"), Some(&raw.name), why);
                })
                .ok(),
            (None, None) if raw.vendor == Vendor::Bedrock => None,
            (None, None) => {
                self.problem(
                    format!("{path}.base_url"),
                    Some(&raw.name),
                    format!(
                        "is required: vendor {} has no default base URL",
                        raw.vendor.as_str()
                    ),
                );
                None
            }
        };
        let credential = match &raw.api_key {
            Some(reference) if raw.vendor == Vendor::VertexAi => {
                let why =
                    "is not used by vendor vertex_ai: it authenticates with vertex.service_account";
                self.problem(format!("{path}.api_key"), Some(reference), why);
                None
            }
            Some(reference) if raw.vendor == Vendor::Bedrock => {
                self.problem(
                    format!("{path}.api_key"),
                    Some(reference),
                    "is not used by vendor bedrock: give the AWS credentials under bedrock:",
                );
                None
            }
            Some(reference) => self.secret(&format!("{path}.api_key"), reference),
            None if profile.requires_credential => {
                self.problem(
                    format!("{path}.api_key"),
                    Some(&raw.name),
                    format!("is required for vendor {}", raw.vendor.as_str()),
                );
                None
            }
            None => None,
        };
        let max_response_bytes = self.bounded(
            &format!("{path}.max_response_bytes"),
            raw.max_response_bytes.as_ref(),
            DEFAULT_MAX_RESPONSE_BYTES,
            MAX_UPSTREAM_BYTES,
        );
        let max_event_bytes = self.bounded(
            &format!("{path}.max_event_bytes"),
            raw.max_event_bytes.as_ref(),
            DEFAULT_MAX_EVENT_BYTES,
            MAX_UPSTREAM_BYTES,
        );
        let timeouts = self.timeouts(path, raw.timeouts.unwrap_or_default());
        let anthropic = self.anthropic(path, raw.vendor, raw.anthropic);
        let azure = self.azure(
            path,
            raw.vendor,
            raw.azure,
            raw.api_key.is_some(),
            &raw.name,
        );
        let vertex = self.vertex(path, raw.vendor, &raw.name, raw.vertex, policy);
        let breaker = self.breaker(path, raw.breaker.unwrap_or_default());
        let (retry_budget, backoff) = self.retry(path, raw.retry.unwrap_or_default());
        if self.problems.len() > before {
            return None;
        }
        Some(ProviderSpec {
            name: Arc::from(raw.name.value),
            vendor: raw.vendor,
            base_url: base_url?,
            credential,
            timeouts,
            allow_private_network: raw.allow_private_network,
            max_response_bytes,
            max_event_bytes,
            anthropic,
            azure,
            vertex,
            bedrock,
            breaker,
            retry_budget,
            backoff,
        })
    }

    /// The Anthropic settings: header-safe tokens only, and only for vendor `anthropic`.
    fn anthropic(
        &mut self,
        path: &str,
        vendor: Vendor,
        raw: Option<Spanned<RawAnthropic>>,
    ) -> AnthropicSpec {
        let mut spec = AnthropicSpec::default();
        let Some(raw) = raw else { return spec };
        if vendor != Vendor::Anthropic {
            let why = format!("applies only to vendor anthropic, not {}", vendor.as_str());
            self.problem(format!("{path}.anthropic"), Some(&raw), why);
            return spec;
        }
        let raw_value = raw.value;
        if let Some(version) = &raw_value.version
            && self.header_token(&format!("{path}.anthropic.version"), version)
        {
            spec.version = version.value.clone();
        }
        for (i, beta) in raw_value.beta.iter().enumerate() {
            if self.header_token(&format!("{path}.anthropic.beta[{i}]"), beta) {
                spec.beta.push(beta.value.clone());
            }
        }
        let default_max_tokens = self.bounded(
            &format!("{path}.anthropic.default_max_tokens"),
            raw_value.default_max_tokens.as_ref(),
            usize::try_from(spec.default_max_tokens).unwrap_or(MAX_DEFAULT_MAX_TOKENS),
            MAX_DEFAULT_MAX_TOKENS,
        );
        spec.default_max_tokens = default_max_tokens as u64;
        spec
    }

    /// A header value made of letters, digits, `-`, `_` and `.`, like `2023-06-01`.
    pub(crate) fn header_token(&mut self, path: &str, raw: &Spanned<String>) -> bool {
        let ok = !raw.value.is_empty()
            && raw.value.chars().count() <= MAX_HEADER_TOKEN_CHARS
            && raw
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            self.problem(
                path,
                Some(raw),
                format!("must be 1 to {MAX_HEADER_TOKEN_CHARS} letters, digits, '-', '_' or '.'"),
            );
        }
        ok
    }

    fn timeouts(&mut self, path: &str, raw: RawTimeouts) -> UpstreamTimeouts {
        let renamed = [
            ("connect_ms", raw.connect_ms.is_some(), "connect"),
            ("first_byte_ms", raw.first_byte_ms.is_some(), "first_byte"),
            ("read_ms", raw.read_ms.is_some(), "read"),
            ("total_ms", raw.total_ms.is_some(), "total"),
        ];
        for (old, present, new) in renamed {
            self.renamed(
                &format!("{path}.timeouts.{old}"),
                present.then_some(&()),
                &format!("{path}.timeouts.{new}"),
                "a duration such as 5s or 250ms",
            );
        }
        let defaults = UpstreamTimeouts::default();
        let at = |field: &str| format!("{path}.timeouts.{field}");
        UpstreamTimeouts {
            connect: self.duration(&at("connect"), raw.connect.as_ref(), defaults.connect),
            first_byte: self.duration(
                &at("first_byte"),
                raw.first_byte.as_ref(),
                defaults.first_byte,
            ),
            read: self.duration(&at("read"), raw.read.as_ref(), defaults.read),
            total: self.duration(&at("total"), raw.total.as_ref(), defaults.total),
        }
    }
}
