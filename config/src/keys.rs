//! `keys:` — virtual keys defined in the config file (GitOps users), each scoped to models.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use portcullis_engine::cost::MicroUsd;
use portcullis_storage::{Budget, ModelAccess, ResetPeriod};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::check::Checker;

/// Shortest acceptable virtual key, in characters.
pub(crate) const MIN_KEY_CHARS: usize = 16;

/// A virtual key defined in the config file.
#[derive(Debug, Clone)]
pub struct KeyConfig {
    /// Operator-chosen name, unique; used in logs and metric labels.
    pub name: String,
    /// The key clients present. At least 16 characters.
    pub key: SecretString,
    pub models: ModelAccess,
    /// Rate limits, parallel cap and budget of this key (`keys[].limits`).
    pub limits: KeyLimits,
}

/// A config key's limits; `None` means "no limit".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyLimits {
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    pub max_parallel: Option<u32>,
    pub budget: Option<Budget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKeyLimits {
    #[serde(default)]
    rpm: Option<u32>,
    #[serde(default)]
    tpm: Option<u64>,
    #[serde(default)]
    max_parallel: Option<u32>,
    /// Decimal dollars, e.g. "10.00".
    #[serde(default)]
    budget_usd: Option<Spanned<String>>,
    #[serde(default)]
    budget_reset: Option<ResetPeriod>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKey {
    pub(crate) name: Spanned<String>,
    /// Secret reference.
    pub(crate) key: Spanned<String>,
    #[serde(default)]
    pub(crate) models: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(crate) limits: Option<RawKeyLimits>,
}

impl Checker<'_> {
    pub(crate) fn keys(
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
                self.unique(&mut names, "keys", i, &key.name);
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
                let limits = self.key_limits(&path, key.limits);
                keys.push(KeyConfig {
                    name: key.name.value,
                    key: secret,
                    models: access,
                    limits,
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

    /// A budget from `<path>.budget_usd` (decimal dollars) and `<path>.budget_reset`
    /// (default monthly); `budget_reset` alone is a problem.
    pub(crate) fn budget(
        &mut self,
        path: &str,
        usd: Option<&Spanned<String>>,
        reset: Option<ResetPeriod>,
    ) -> Option<Budget> {
        match (usd, reset) {
            (None, None) => None,
            (None, Some(_)) => {
                self.problem::<()>(format!("{path}.budget_reset"), None, "needs budget_usd");
                None
            }
            (Some(text), reset) => match MicroUsd::parse_dollars(&text.value) {
                Ok(max) => Some(Budget {
                    max_micro_usd: max.as_micros(),
                    reset: reset.unwrap_or(ResetPeriod::Monthly),
                }),
                Err(_) => {
                    self.problem(
                        format!("{path}.budget_usd"),
                        Some(text),
                        "must be decimal dollars, e.g. \"10.00\"",
                    );
                    None
                }
            },
        }
    }

    fn key_limits(&mut self, path: &str, raw: Option<RawKeyLimits>) -> KeyLimits {
        let Some(raw) = raw else {
            return KeyLimits::default();
        };
        let budget = self.budget(
            &format!("{path}.limits"),
            raw.budget_usd.as_ref(),
            raw.budget_reset,
        );
        KeyLimits {
            rpm: raw.rpm,
            tpm: raw.tpm,
            max_parallel: raw.max_parallel,
            budget,
        }
    }
}
