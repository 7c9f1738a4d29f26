//! The config document as a whole: its top-level shape, and the walk that checks every
//! section and assembles a [`Config`].

use std::collections::HashSet;

use portcullis_engine::spec::GatewaySpec;
use serde::Deserialize;

use crate::auth::RawAuth;
use crate::check::Checker;
use crate::error::{ConfigError, Problem, Problems};
use crate::keys::RawKey;
use crate::models::RawModel;
use crate::providers::RawProvider;
use crate::server::RawServer;
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
    let mode = raw.mode.unwrap_or_default();
    let server = check.server(raw.server.unwrap_or_default(), mode);
    let (master_key, key_pepper) = check.auth(raw.auth.unwrap_or_default(), mode);
    let providers = check.providers(raw.providers.unwrap_or_default(), mode);
    let groups = check.models(raw.models.unwrap_or_default(), &providers.index);
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
    Ok(Config {
        mode,
        server,
        master_key,
        key_pepper,
        gateway: GatewaySpec { providers, groups },
        keys,
    })
}
