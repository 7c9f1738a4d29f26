//! The config document as a whole: its top-level shape, and the walk that checks every
//! section and assembles a [`Config`].

use std::collections::HashSet;

use portcullis_engine::spec::GatewaySpec;
use serde::Deserialize;

use crate::auth::RawAuth;
use crate::check::Checker;
use crate::error::{ConfigError, Problem, Problems};
use crate::keys::RawKey;
use crate::limits::RawLimits;
use crate::models::RawModel;
use crate::pricing::{RawPrice, catalogue, unpriced_warnings};
use crate::providers::RawProvider;
use crate::server::RawServer;
use crate::storage::RawStorage;
use crate::telemetry::RawTelemetry;
use crate::{Config, Mode};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub(crate) mode: Option<Mode>,
    #[serde(default)]
    pub(crate) server: Option<RawServer>,
    #[serde(default)]
    pub(crate) auth: Option<RawAuth>,
    #[serde(default)]
    pub(crate) providers: Option<Vec<RawProvider>>,
    #[serde(default)]
    pub(crate) models: Option<Vec<RawModel>>,
    #[serde(default)]
    pub(crate) keys: Option<Vec<RawKey>>,
    #[serde(default)]
    pub(crate) limits: Option<RawLimits>,
    #[serde(default)]
    pub(crate) storage: Option<RawStorage>,
    #[serde(default)]
    pub(crate) pricing: Option<Vec<RawPrice>>,
    #[serde(default)]
    pub(crate) telemetry: Option<RawTelemetry>,
}

/// Validates `raw` and resolves its secrets; every problem is reported at once.
pub(crate) fn validate(
    raw: RawConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut check = Checker {
        problems: Vec::new(),
        env,
    };
    let mode = check.mode(raw.mode);
    let server = check.server(raw.server.unwrap_or_default(), mode);
    let (master_key, key_pepper) = check.auth(raw.auth.unwrap_or_default(), mode);
    let providers = check.providers(raw.providers.unwrap_or_default(), mode);
    let groups = check.models(raw.models.unwrap_or_default(), &providers);
    let model_names: HashSet<&str> = groups
        .iter()
        .flat_map(|g| std::iter::once(&g.name).chain(&g.aliases))
        .map(|n| &**n)
        .collect();
    let keys = check.keys(
        raw.keys.unwrap_or_default(),
        &model_names,
        master_key.as_ref(),
    );
    let limits = check.limits(raw.limits.unwrap_or_default(), &model_names);
    let storage = check.storage(raw.storage.unwrap_or_default());
    let pepper_already_reported = check.problems.iter().any(|p| p.path == "auth.key_pepper");
    if storage.is_durable() && key_pepper.is_none() && !pepper_already_reported {
        check.problem::<()>(
            "auth.key_pepper",
            None,
            "is required when storage is durable (sqlite or postgres): keys are stored as HMAC(pepper, key); set it to a secret reference (env:NAME or file:PATH), or use `storage: { backend: memory }`",
        );
    }
    let pricing = check.pricing(raw.pricing.unwrap_or_default());
    let telemetry = check.telemetry(raw.telemetry.unwrap_or_default());
    let catalogue = match catalogue(&pricing) {
        Ok(c) => Some(c),
        Err(e) => {
            check.problem::<()>("pricing", None, format!("built-in price list: {e}"));
            None
        }
    };
    if !check.problems.is_empty() {
        return Err(ConfigError::Invalid(Problems(check.problems)));
    }
    // With no problems recorded every provider was built; this is only a safety net.
    let providers = providers.specs.into_iter().collect::<Option<Vec<_>>>();
    let Some(providers) = providers else {
        return Err(ConfigError::Invalid(Problems(vec![Problem {
            path: "providers".to_owned(),
            reason: "invalid provider".to_owned(),
            line: None,
            column: None,
        }])));
    };
    let Some(catalogue) = catalogue else {
        return Err(ConfigError::Invalid(Problems(Vec::new())));
    };
    let warnings = unpriced_warnings(&groups, &catalogue);
    Ok(Config {
        mode,
        server,
        master_key,
        key_pepper,
        gateway: GatewaySpec { providers, groups },
        keys,
        limits,
        storage,
        pricing,
        catalogue,
        telemetry,
        warnings,
    })
}
