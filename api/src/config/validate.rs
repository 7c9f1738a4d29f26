//! Raw → Config: every rule that YAML types cannot express, all problems reported at once.
//!
//! Validation never stops at the first problem; it records each one with its field path and
//! location and keeps going, so one run shows everything to fix. Secrets are resolved here,
//! through the injected environment lookup, and an inline secret is refused by field path
//! without echoing it. Providers and models live in [`super::providers`]; this file holds the
//! walk, the server and auth sections and the virtual keys.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portcullis_engine::spec::GatewaySpec;
use secrecy::{ExposeSecret, SecretString};
use serde_saphyr::Spanned;

use super::error::{ConfigError, Problem, Problems};
use super::raw::{RawAuth, RawConfig, RawKey, RawServer};
use super::secret::SecretRef;
use super::{Config, KeyConfig, Mode, ModelAccess, ServerConfig, default_workers};

/// Shortest acceptable virtual key, in characters.
pub(crate) const MIN_KEY_CHARS: usize = 16;
/// Shortest acceptable master key in production, in characters.
pub(crate) const MIN_PRODUCTION_MASTER_KEY_CHARS: usize = 32;
/// Longest name for providers and keys (they appear in logs and metric labels).
pub(crate) const MAX_LABEL_CHARS: usize = 64;

/// Validates `raw` and resolves its secrets.
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
    let model_names: HashSet<&str> = groups.iter().map(|g| &*g.name).collect();
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

/// Collects problems while walking the raw config.
pub(crate) struct Checker<'e> {
    pub problems: Vec<Problem>,
    env: &'e dyn Fn(&str) -> Option<String>,
}

impl Checker<'_> {
    /// Records a problem at the location of `at`, if any.
    pub fn problem<T>(
        &mut self,
        path: impl Into<String>,
        at: Option<&Spanned<T>>,
        reason: impl Into<String>,
    ) {
        let location = at.map(|spanned| spanned.referenced);
        self.problems.push(Problem {
            path: path.into(),
            reason: reason.into(),
            line: location.map(|l| l.line()).filter(|&n| n > 0),
            column: location.map(|l| l.column()).filter(|&n| n > 0),
        });
    }

    /// Parses and resolves a secret reference; records a problem (without the value) on failure.
    pub fn secret(&mut self, path: &str, raw: &Spanned<String>) -> Option<SecretString> {
        let resolved = SecretRef::parse(&raw.value).and_then(|r| r.resolve_with(self.env));
        match resolved {
            Ok(secret) => Some(secret),
            Err(err) => {
                self.problem(path, Some(raw), err.to_string());
                None
            }
        }
    }

    /// Checks an operator-chosen label: `[A-Za-z0-9_.-]{1,64}`.
    pub fn label(&mut self, path: &str, raw: &Spanned<String>) -> bool {
        let name = raw.value.as_str();
        let ok = !name.is_empty()
            && name.chars().count() <= MAX_LABEL_CHARS
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            self.problem(
                path,
                Some(raw),
                format!("must be 1 to {MAX_LABEL_CHARS} characters of A-Z a-z 0-9 _ . -"),
            );
        }
        ok
    }

    fn server(&mut self, raw: RawServer, mode: Mode) -> ServerConfig {
        let listen = self.socket_addr(
            "server.listen",
            raw.listen.as_ref(),
            ServerConfig::DEFAULT_LISTEN,
        );
        let admin_listen = self.socket_addr(
            "server.admin_listen",
            raw.admin_listen.as_ref(),
            ServerConfig::DEFAULT_ADMIN_LISTEN,
        );
        if mode == Mode::Production && !admin_listen.ip().is_loopback() {
            self.problem(
                "server.admin_listen",
                raw.admin_listen.as_ref(),
                "must be a loopback address in production (the admin listener serves /metrics and the admin API)",
            );
        }
        if listen == admin_listen && listen.port() != 0 {
            self.problem(
                "server.admin_listen",
                raw.admin_listen.as_ref(),
                "must differ from server.listen",
            );
        }
        let workers = match raw.workers {
            None => default_workers(),
            Some(ref w) if w.value == 0 => default_workers(),
            Some(ref w) if w.value > ServerConfig::MAX_WORKERS => {
                self.problem(
                    "server.workers",
                    Some(w),
                    format!("must be at most {}", ServerConfig::MAX_WORKERS),
                );
                1
            }
            Some(w) => w.value,
        };
        let max_body_bytes = self.bounded(
            "server.max_body_bytes",
            raw.max_body_bytes.as_ref(),
            ServerConfig::DEFAULT_MAX_BODY_BYTES,
            ServerConfig::MAX_MAX_BODY_BYTES,
        );
        let max_json_depth = self.bounded(
            "server.max_json_depth",
            raw.max_json_depth.as_ref(),
            ServerConfig::DEFAULT_MAX_JSON_DEPTH,
            ServerConfig::MAX_MAX_JSON_DEPTH,
        );
        let shutdown_timeout = raw
            .shutdown_timeout_secs
            .map_or(ServerConfig::DEFAULT_SHUTDOWN_TIMEOUT, Duration::from_secs);
        ServerConfig {
            listen,
            admin_listen,
            workers,
            max_body_bytes,
            max_json_depth,
            shutdown_timeout,
        }
    }

    fn socket_addr(
        &mut self,
        path: &str,
        raw: Option<&Spanned<String>>,
        default: SocketAddr,
    ) -> SocketAddr {
        let Some(raw) = raw else { return default };
        raw.value.trim().parse().unwrap_or_else(|_| {
            self.problem(
                path,
                Some(raw),
                "must be an IP address and port, e.g. 127.0.0.1:4000 or [::1]:4000",
            );
            default
        })
    }

    /// A size in `1..=max`, defaulting to `default`.
    pub fn bounded(
        &mut self,
        path: &str,
        raw: Option<&Spanned<usize>>,
        default: usize,
        max: usize,
    ) -> usize {
        let Some(raw) = raw else { return default };
        if raw.value == 0 || raw.value > max {
            self.problem(path, Some(raw), format!("must be between 1 and {max}"));
            return default;
        }
        raw.value
    }

    fn auth(&mut self, raw: RawAuth, mode: Mode) -> (Option<SecretString>, Option<SecretString>) {
        let master_key = raw
            .master_key
            .as_ref()
            .and_then(|r| self.secret("auth.master_key", r));
        if mode == Mode::Production {
            match (&raw.master_key, &master_key) {
                (None, _) => {
                    self.problem::<()>("auth.master_key", None, "is required in production")
                }
                (Some(at), Some(key))
                    if key.expose_secret().chars().count() < MIN_PRODUCTION_MASTER_KEY_CHARS =>
                {
                    self.problem(
                        "auth.master_key",
                        Some(at),
                        format!("must be at least {MIN_PRODUCTION_MASTER_KEY_CHARS} characters in production"),
                    );
                }
                _ => {}
            }
        }
        let key_pepper = raw
            .key_pepper
            .as_ref()
            .and_then(|r| self.secret("auth.key_pepper", r));
        (master_key, key_pepper)
    }

    fn keys(
        &mut self,
        raw: Vec<RawKey>,
        models: &HashSet<&str>,
        master_key: Option<&SecretString>,
    ) -> Vec<KeyConfig> {
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut keys: Vec<KeyConfig> = Vec::with_capacity(raw.len());
        for (i, key) in raw.into_iter().enumerate() {
            let path = format!("keys[{i}]");
            if self.label(&format!("{path}.name"), &key.name) {
                if let Some(first) = names.get(&key.name.value) {
                    self.problem(
                        format!("{path}.name"),
                        Some(&key.name),
                        format!(
                            "duplicate key name {:?} (first at keys[{first}])",
                            key.name.value
                        ),
                    );
                } else {
                    names.insert(key.name.value.clone(), i);
                }
            }
            let secret = self.secret(&format!("{path}.key"), &key.key);
            if let Some(secret) = &secret {
                let value = secret.expose_secret();
                if value.chars().count() < MIN_KEY_CHARS {
                    self.problem(
                        format!("{path}.key"),
                        Some(&key.key),
                        format!("must be at least {MIN_KEY_CHARS} characters (virtual keys must be hard to guess)"),
                    );
                }
                if value.len() > portcullis_storage::MAX_KEY_BYTES
                    || value.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    self.problem(
                        format!("{path}.key"),
                        Some(&key.key),
                        format!(
                            "must be at most {} bytes with no whitespace (clients present it in a header)",
                            portcullis_storage::MAX_KEY_BYTES
                        ),
                    );
                }
                if master_key.is_some_and(|m| m.expose_secret() == value) {
                    self.problem(
                        format!("{path}.key"),
                        Some(&key.key),
                        "must differ from auth.master_key (admin and data-plane credentials are disjoint)",
                    );
                }
                if let Some(other) = keys.iter().position(|k| k.key.expose_secret() == value) {
                    self.problem(
                        format!("{path}.key"),
                        Some(&key.key),
                        format!("has the same value as keys[{other}].key"),
                    );
                }
            }
            let access = self.model_access(&path, key.models.as_ref(), models);
            if let (Some(secret), Some(access)) = (secret, access) {
                keys.push(KeyConfig {
                    name: key.name.value,
                    key: secret,
                    models: access,
                });
            }
        }
        keys
    }

    fn model_access(
        &mut self,
        path: &str,
        raw: Option<&Spanned<Vec<Spanned<String>>>>,
        models: &HashSet<&str>,
    ) -> Option<ModelAccess> {
        let path = format!("{path}.models");
        let Some(raw) = raw else {
            self.problem::<()>(
                path,
                None,
                "is required: list model names, or [\"*\"] for all",
            );
            return None;
        };
        let list = &raw.value;
        if list.is_empty() {
            self.problem(
                path,
                Some(raw),
                "must list at least one model, or \"*\" for all",
            );
            return None;
        }
        if list.iter().any(|m| m.value == "*") {
            if list.len() > 1 {
                self.problem(
                    path,
                    Some(raw),
                    "\"*\" grants every model and must be the only entry",
                );
                return None;
            }
            return Some(ModelAccess::All);
        }
        let mut names: Vec<Arc<str>> = Vec::with_capacity(list.len());
        for (j, name) in list.iter().enumerate() {
            if !models.contains(name.value.as_str()) {
                self.problem(
                    format!("{path}[{j}]"),
                    Some(name),
                    format!("no model named {:?}", name.value),
                );
            } else if names.iter().any(|n| **n == *name.value) {
                self.problem(
                    format!("{path}[{j}]"),
                    Some(name),
                    format!("{:?} is listed twice", name.value),
                );
            } else {
                names.push(Arc::from(name.value.as_str()));
            }
        }
        Some(ModelAccess::Only(names))
    }
}
