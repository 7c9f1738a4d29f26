//! `models:` — the public model names clients ask for, each a group of deployments that point
//! at providers by name, with its routing strategy, aliases, fallback groups and attempt
//! limit. Fallbacks and aliases are checked once every group is known.

use std::collections::HashMap;
use std::sync::Arc;

use portcullis_engine::ids::ProviderId;
use portcullis_engine::spec::{DeploymentSpec, ModelGroupSpec};
use portcullis_engine::{Strategy, model_name_problem};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;
use crate::providers::Providers;
use crate::resilience::{RawDeploymentTimeouts, RawHealthCheck};

/// Longest model name (public or upstream), in characters.
pub(crate) const MAX_MODEL_NAME_CHARS: usize = 256;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    pub(crate) name: Spanned<String>,
    #[serde(default)]
    pub(crate) deployments: Option<Vec<RawDeployment>>,
    #[serde(default)]
    pub(crate) strategy: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) aliases: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) fallbacks: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) context_window_fallbacks: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) content_policy_fallbacks: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) max_attempts: Option<Spanned<u32>>,
    #[serde(default)]
    pub(crate) queue_timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeployment {
    pub(crate) provider: Spanned<String>,
    pub(crate) model: Spanned<String>,
    #[serde(default)]
    pub(crate) weight: Option<u32>,
    #[serde(default)]
    pub(crate) priority: Option<u32>,
    #[serde(default)]
    pub(crate) rpm: Option<u32>,
    #[serde(default)]
    pub(crate) tpm: Option<u64>,
    /// Dollars per million tokens (input and output together), for cheapest-first routing.
    #[serde(default)]
    pub(crate) cost_per_million: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) max_in_flight: Option<u32>,
    #[serde(default)]
    pub(crate) timeouts: Option<RawDeploymentTimeouts>,
    /// Over the provider's `health_check`, field by field; `enabled: false` turns it off.
    #[serde(default)]
    pub(crate) health_check: Option<RawHealthCheck>,
}

impl Checker<'_> {
    pub(crate) fn models(
        &mut self,
        raw: Vec<RawModel>,
        providers: &Providers,
    ) -> Vec<ModelGroupSpec> {
        if raw.is_empty() {
            self.problem::<()>("models", None, "at least one model is required");
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, model) in raw.iter().enumerate() {
            if self.public_model_name(&format!("models[{i}].name"), &model.name) {
                self.unique(&mut seen, "models", i, &model.name);
            }
        }
        let mut groups = Vec::with_capacity(raw.len());
        let mut public: HashMap<String, usize> = seen.clone();
        for (i, model) in raw.into_iter().enumerate() {
            let path = format!("models[{i}]");
            let deployments = self.deployments(
                &path,
                &model.name,
                model.deployments.unwrap_or_default(),
                providers,
            );
            let mut group = ModelGroupSpec::new(&model.name.value, deployments);
            if let Some(strategy) = &model.strategy {
                match Strategy::parse(&strategy.value) {
                    Some(s) => group.strategy = s,
                    None => {
                        let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
                        self.problem(
                            format!("{path}.strategy"),
                            Some(strategy),
                            format!("must be one of {}", names.join(", ")),
                        );
                    }
                }
            }
            for (j, alias) in model.aliases.iter().enumerate() {
                let at = format!("{path}.aliases[{j}]");
                if !self.public_model_name(&at, alias) {
                    continue;
                }
                if public.contains_key(&alias.value) {
                    self.problem(
                        at,
                        Some(alias),
                        format!("{:?} already names a model or alias", alias.value),
                    );
                } else {
                    public.insert(alias.value.clone(), i);
                    group.aliases.push(Arc::from(alias.value.as_str()));
                }
            }
            let mut fallbacks = |field: &str, list: &[Spanned<String>]| -> Vec<Arc<str>> {
                let mut out = Vec::new();
                for (j, name) in list.iter().enumerate() {
                    if !seen.contains_key(&name.value) {
                        self.problem(
                            format!("{path}.{field}[{j}]"),
                            Some(name),
                            format!("no model named {:?}", name.value),
                        );
                    } else if name.value == model.name.value {
                        self.problem(
                            format!("{path}.{field}[{j}]"),
                            Some(name),
                            "a model cannot fall back to itself",
                        );
                    } else {
                        out.push(Arc::from(name.value.as_str()));
                    }
                }
                out
            };
            group.fallbacks = fallbacks("fallbacks", &model.fallbacks);
            group.context_window_fallbacks =
                fallbacks("context_window_fallbacks", &model.context_window_fallbacks);
            group.content_policy_fallbacks =
                fallbacks("content_policy_fallbacks", &model.content_policy_fallbacks);
            group.max_attempts =
                self.max_attempts(&format!("{path}.max_attempts"), model.max_attempts.as_ref());
            group.queue_timeout = self.duration(
                &format!("{path}.queue_timeout"),
                model.queue_timeout.as_ref(),
                ModelGroupSpec::DEFAULT_QUEUE_TIMEOUT,
            );
            groups.push(group);
        }
        groups
    }

    fn deployments(
        &mut self,
        path: &str,
        model: &Spanned<String>,
        raw: Vec<RawDeployment>,
        providers: &Providers,
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
            let Some(&provider) = providers.index.get(&deployment.provider.value) else {
                self.problem(
                    format!("{path}.provider"),
                    Some(&deployment.provider),
                    format!("no provider named {:?}", deployment.provider.value),
                );
                continue;
            };
            let timeouts = self.deployment_timeouts(&path, deployment.timeouts.unwrap_or_default());
            if deployment.max_in_flight == Some(0) {
                self.problem::<()>(format!("{path}.max_in_flight"), None, "must be at least 1");
            }
            let mut spec =
                DeploymentSpec::new(ProviderId::from_index(provider), &deployment.model.value);
            spec.weight = deployment.weight.unwrap_or(1);
            spec.priority = deployment.priority.unwrap_or(0);
            spec.rpm = deployment.rpm;
            spec.tpm = deployment.tpm;
            spec.cost = self.cost(
                &format!("{path}.cost_per_million"),
                deployment.cost_per_million.as_ref(),
            );
            spec.max_in_flight = deployment.max_in_flight;
            spec.timeouts = timeouts;
            let inherited = providers.health_checks.get(provider).copied().flatten();
            spec.health_check = self.health_check(&path, deployment.health_check, inherited);
            deployments.push(spec);
        }
        deployments
    }

    /// A name clients ask for (a group's or an alias): a model name, and one the request
    /// check accepts ([`model_name_problem`]), so every configured name is reachable.
    fn public_model_name(&mut self, path: &str, raw: &Spanned<String>) -> bool {
        if !self.model_name(path, raw) {
            return false;
        }
        match model_name_problem(&raw.value) {
            None => true,
            Some(reason) => {
                self.problem(
                    path,
                    Some(raw),
                    format!("is not a name clients can ask for: it {reason}"),
                );
                false
            }
        }
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
