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

mod egress;
mod error;
mod providers;
mod raw;
mod secret;
mod validate;
mod yaml;

#[cfg(test)]
mod tests;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;

use portcullis_engine::spec::GatewaySpec;
use secrecy::SecretString;
use serde::Deserialize;
use zeroize::Zeroizing;

pub use error::{ConfigError, Problem, Problems};
/// Which model groups a virtual key may use; the storage type, so config and key store agree.
pub use portcullis_storage::ModelAccess;
pub use secret::{MAX_SECRET_FILE_BYTES, SecretError, SecretRef, process_env};

/// Largest config document accepted, in bytes.
pub const MAX_CONFIG_BYTES: usize = 16 * 1024 * 1024;

/// How strict the gateway is about its own deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Local use: the master key is optional and plain-http upstreams are allowed.
    #[default]
    Development,
    /// Public use: strong master key, loopback admin listener, https upstreams required.
    Production,
}

/// The two HTTP listeners and the request limits enforced on the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Public data-plane listener.
    pub listen: SocketAddr,
    /// Admin listener (`/metrics`, `/health/ready`, admin API); loopback in production.
    pub admin_listen: SocketAddr,
    /// actix-web worker threads; always at least 1 (a configured 0 means "one per core").
    pub workers: usize,
    /// Request body cap in bytes.
    pub max_body_bytes: usize,
    /// JSON nesting cap for request bodies.
    pub max_json_depth: usize,
    /// How long graceful shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
}

impl ServerConfig {
    pub const DEFAULT_LISTEN: SocketAddr =
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4000));
    pub const DEFAULT_ADMIN_LISTEN: SocketAddr =
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4001));
    pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
    pub const MAX_MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
    pub const DEFAULT_MAX_JSON_DEPTH: usize = 64;
    pub const MAX_MAX_JSON_DEPTH: usize = 512;
    pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
    pub const MAX_WORKERS: usize = 1024;
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: Self::DEFAULT_LISTEN,
            admin_listen: Self::DEFAULT_ADMIN_LISTEN,
            workers: default_workers(),
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_json_depth: Self::DEFAULT_MAX_JSON_DEPTH,
            shutdown_timeout: Self::DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// One worker per available core, or 1 when that cannot be determined.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A virtual key defined in the config file.
#[derive(Debug, Clone)]
pub struct KeyConfig {
    /// Operator-chosen name, unique; used in logs and metric labels.
    pub name: String,
    /// The key clients present. At least 16 characters.
    pub key: SecretString,
    pub models: ModelAccess,
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
}

impl Config {
    /// Parses and validates `text`, resolving secret references through `env`.
    pub fn from_yaml_str(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw = yaml::parse(text)?;
        validate::validate(raw, env)
    }

    /// Reads the file at `path` and builds the config with the real process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
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
        Config::from_yaml_str(&text, &process_env)
    }
}
