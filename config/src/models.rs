//! `models:` — the public model names clients ask for, each a group of weighted deployments
//! that point at providers by name.

use std::collections::HashMap;
use std::sync::Arc;

use portcullis_engine::ids::ProviderId;
use portcullis_engine::spec::{DeploymentSpec, ModelGroupSpec};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;

/// Longest model name (public or upstream), in characters.
pub(crate) const MAX_MODEL_NAME_CHARS: usize = 256;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    pub(crate) name: Spanned<String>,
    #[serde(default)]
    pub(crate) deployments: Option<Vec<RawDeployment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeployment {
    pub(crate) provider: Spanned<String>,
    pub(crate) model: Spanned<String>,
    #[serde(default)]
    pub(crate) weight: Option<u32>,
}

impl Checker<'_> {
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
                self.unique(&mut seen, "models", i, &model.name);
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
                provider: ProviderId::from_index(provider),
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
