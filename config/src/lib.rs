//! The operator's config file: parsed strictly, validated fully, secrets resolved once.
//!
//! This is the only place upstream URLs and provider credentials enter the gateway, so it is
//! strict on purpose: every section denies unknown fields (a typo is an error naming the field
//! and its line, not a silently ignored setting), credentials are references (`env:NAME`,
//! `file:PATH`, `os.environ/NAME`) and never inline values, and every cross-reference (a
//! deployment's provider, a key's models) must resolve. Production mode adds the rules that
//! make a public deployment safe: a strong master key, a loopback admin listener and https
//! upstreams.
//!
//! Loading is `text → YAML (budgeted, no snippets) → Raw* → validate → Config`. Errors name
//! the field path and line, and never echo a value that could be a secret. `Debug` of
//! [`Config`] prints no secret: every credential is a [`SecretString`].

mod audit;
mod auth;
mod check;
mod document;
mod duration;
mod egress;
mod entropy;
mod error;
mod import_litellm;
mod keys;
mod limits;
mod mode;
mod models;
mod pricing;
mod providers;
mod resilience;
mod secret;
mod server;
mod storage;
mod telemetry;
mod yaml;

#[cfg(test)]
mod tests;

use std::io::Read;
use std::path::Path;

use portcullis_engine::spec::GatewaySpec;
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub use audit::{Audit, Finding, MAX_PRICE_AGE_DAYS, Severity, audit};
pub use duration::{format_duration, parse_duration};
pub use entropy::{MIN_MASTER_KEY_ENTROPY_BITS, estimate_entropy_bits, is_low_entropy};
pub use error::{ConfigError, Problem, Problems};
pub use import_litellm::{ImportError, ImportNote, Imported, NoteKind, import_litellm};
pub use keys::{KeyConfig, KeyLimits};
pub use limits::{LimiterBackend, LimitsConfig, RedisConfig};
pub use mode::MODE_ENV;
/// Which model groups a virtual key may use; the storage type, so config and key store agree.
pub use portcullis_storage::ModelAccess;
pub use pricing::PriceOverride;
pub use secret::{MAX_SECRET_FILE_BYTES, SecretError, SecretRef, process_env};
pub use server::{CorsConfig, ServerConfig, TlsFiles};
pub use storage::StorageConfig;
pub use telemetry::{OtlpConfig, TelemetryConfig};

/// Largest config document accepted, in bytes.
pub const MAX_CONFIG_BYTES: usize = 16 * 1024 * 1024;

/// How strict the gateway is about its own deployment: `mode:` in the file, or
/// `PORTCULLIS_MODE=production` in the environment (the stricter wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Local use: the master key is optional and plain-http upstreams are allowed.
    #[default]
    Development,
    /// Public use: strong master key, loopback admin listener, https upstreams required.
    Production,
}

/// A validated config with every secret resolved. Immutable once built.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub server: ServerConfig,
    /// Admin credential; required (and at least 32 characters) in production.
    pub master_key: Option<SecretString>,
    /// HMAC pepper for stored virtual-key hashes.
    pub key_pepper: Option<SecretString>,
    /// Providers and model groups, in the engine's terms.
    pub gateway: GatewaySpec,
    pub keys: Vec<KeyConfig>,
    /// Where and how rate limits and budgets are enforced.
    pub limits: LimitsConfig,
    /// Where keys, teams, spend and audit live; SQLite at a default path when unset.
    pub storage: StorageConfig,
    /// Configured prices per upstream model (already folded into `catalogue`).
    pub pricing: Vec<PriceOverride>,
    /// The built-in price list with `pricing` searched first.
    pub catalogue: portcullis_engine::cost::Catalogue,
    /// OpenTelemetry export; off unless configured.
    pub telemetry: TelemetryConfig,
    /// Things worth an operator's attention that do not stop the gateway (unpriced
    /// deployments); `check-config` prints them.
    pub warnings: Vec<String>,
}

impl Config {
    /// Parses and validates `text`, resolving secret references through `env`.
    pub fn from_yaml_str(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw = yaml::parse(text)?;
        document::validate(raw, env)
    }

    /// Reads the file at `path` and builds the config with the real process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_versioned(path, &process_env).map(|(config, _)| config)
    }

    /// [`Config::load`] with secrets resolved through `env`, and the file's version:
    /// `sha256:` and the first 16 hex digits of the SHA-256 of its bytes (what the admin
    /// API reports after a reload). The version identifies the file as written, so a
    /// changed secret behind an `env:` or `file:` reference does not change it.
    pub fn load_versioned(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Config, String), ConfigError> {
        let read_error = |source| ConfigError::Read {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        // The file may hold (refused) inline secrets; wipe our copy when done.
        let mut text = Zeroizing::new(String::new());
        file.take(MAX_CONFIG_BYTES as u64 + 1)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                limit: MAX_CONFIG_BYTES,
            });
        }
        let digest = Sha256::digest(text.as_bytes());
        let version = digest
            .iter()
            .take(8)
            .fold(String::from("sha256:"), |mut out, b| {
                out.push_str(&format!("{b:02x}"));
                out
            });
        Ok((Config::from_yaml_str(&text, env)?, version))
    }
}
