//! Providers and model groups: names, base URLs, credentials, limits, and the references
//! between them.
//!
//! Each provider becomes an engine [`ProviderSpec`]; each model becomes a [`ModelGroupSpec`]
//! whose deployments point at providers by index. A provider with a problem elsewhere than in
//! its name still gets its name recorded, so a deployment that names it is not reported again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use portcullis_engine::spec::{DeploymentSpec, ModelGroupSpec, ProviderSpec, UpstreamTimeouts};
use serde_saphyr::Spanned;

use super::Mode;
use super::egress::{EgressPolicy, check_base_url};
use super::raw::{RawDeployment, RawModel, RawProvider, RawTimeouts};
use super::validate::Checker;

pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
pub(crate) const DEFAULT_MAX_EVENT_BYTES: usize = 1024 * 1024;
/// Upper bound for both response and event caps.
pub(crate) const MAX_UPSTREAM_BYTES: usize = 1024 * 1024 * 1024;
/// Longest model name (public or upstream), in characters.
pub(crate) const MAX_MODEL_NAME_CHARS: usize = 256;

/// Providers as built so far: `None` where a provider had a problem.
pub(crate) struct Providers {
    pub specs: Vec<Option<ProviderSpec>>,
    /// Provider name → index into `specs` (first definition wins).
    pub index: HashMap<String, usize>,
}

impl Checker<'_> {
    pub(crate) fn providers(&mut self, raw: Vec<RawProvider>, mode: Mode) -> Providers {
        if raw.is_empty() {
            self.problem::<()>("providers", None, "at least one provider is required");
        }
        let mut built = Providers {
            specs: Vec::with_capacity(raw.len()),
            index: HashMap::new(),
        };
        for (i, provider) in raw.into_iter().enumerate() {
            let path = format!("providers[{i}]");
            if self.label(&format!("{path}.name"), &provider.name) {
                if let Some(first) = built.index.get(&provider.name.value) {
                    self.problem(
                        format!("{path}.name"),
                        Some(&provider.name),
                        format!(
                            "duplicate provider name {:?} (first at providers[{first}])",
                            provider.name.value
                        ),
                    );
                } else {
                    built.index.insert(provider.name.value.clone(), i);
                }
            }
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
        let base_url = match (&raw.base_url, profile.default_base_url) {
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
        })
    }

    fn timeouts(&mut self, path: &str, raw: RawTimeouts) -> UpstreamTimeouts {
        let defaults = UpstreamTimeouts::default();
        let mut millis = |field: &str, value: Option<Spanned<u64>>, default: Duration| match value {
            None => default,
            Some(ms) if ms.value == 0 => {
                self.problem(
                    format!("{path}.timeouts.{field}"),
                    Some(&ms),
                    "must be greater than 0",
                );
                default
            }
            Some(ms) => Duration::from_millis(ms.value),
        };
        UpstreamTimeouts {
            connect: millis("connect_ms", raw.connect_ms, defaults.connect),
            first_byte: millis("first_byte_ms", raw.first_byte_ms, defaults.first_byte),
            read: millis("read_ms", raw.read_ms, defaults.read),
            total: millis("total_ms", raw.total_ms, defaults.total),
        }
    }

    pub(crate) fn models(
        &mut self,
        raw: Vec<RawModel>,
        providers: &HashMap<String, usize>,
    ) -> Vec<ModelGroupSpec> {
        if raw.is_empty() {
            self.problem::<()>("models", None, "at least one model is required");
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut groups = Vec::with_capacity(raw.len());
        for (i, model) in raw.into_iter().enumerate() {
            let path = format!("models[{i}]");
            if self.model_name(&format!("{path}.name"), &model.name) {
                if let Some(first) = seen.get(&model.name.value) {
                    self.problem(
                        format!("{path}.name"),
                        Some(&model.name),
                        format!(
                            "duplicate model name {:?} (first at models[{first}])",
                            model.name.value
                        ),
                    );
                } else {
                    seen.insert(model.name.value.clone(), i);
                }
            }
            let deployments = self.deployments(
                &path,
                &model.name,
                model.deployments.unwrap_or_default(),
                providers,
            );
            groups.push(ModelGroupSpec {
                name: Arc::from(model.name.value),
                deployments,
            });
        }
        groups
    }

    fn deployments(
        &mut self,
        path: &str,
        model: &Spanned<String>,
        raw: Vec<RawDeployment>,
        providers: &HashMap<String, usize>,
    ) -> Vec<DeploymentSpec> {
        if raw.is_empty() {
            self.problem(
                format!("{path}.deployments"),
                Some(model),
                "at least one deployment is required",
            );
            return Vec::new();
        }
        if raw.iter().all(|d| d.weight == Some(0)) {
            self.problem(
                format!("{path}.deployments"),
                Some(model),
                "every deployment has weight 0; at least one needs a weight above 0",
            );
        }
        let mut deployments = Vec::with_capacity(raw.len());
        for (j, deployment) in raw.into_iter().enumerate() {
            let path = format!("{path}.deployments[{j}]");
            self.model_name(&format!("{path}.model"), &deployment.model);
            let Some(&provider) = providers.get(&deployment.provider.value) else {
                self.problem(
                    format!("{path}.provider"),
                    Some(&deployment.provider),
                    format!("no provider named {:?}", deployment.provider.value),
                );
                continue;
            };
            deployments.push(DeploymentSpec {
                provider,
                upstream_model: Arc::from(deployment.model.value),
                weight: deployment.weight.unwrap_or(1),
            });
        }
        deployments
    }

    /// Model names: 1 to 256 characters, no control characters.
    fn model_name(&mut self, path: &str, raw: &Spanned<String>) -> bool {
        let name = raw.value.as_str();
        let ok = !name.trim().is_empty()
            && name.chars().count() <= MAX_MODEL_NAME_CHARS
            && !name.chars().any(char::is_control);
        if !ok {
            self.problem(
                path,
                Some(raw),
                format!(
                    "must be 1 to {MAX_MODEL_NAME_CHARS} characters with no control characters"
                ),
            );
        }
        ok
    }
}
