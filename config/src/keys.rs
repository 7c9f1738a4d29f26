//! `keys:` — virtual keys defined in the config file (GitOps users), each scoped to models.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use portcullis_storage::ModelAccess;
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKey {
    pub(crate) name: Spanned<String>,
    /// Secret reference.
    pub(crate) key: Spanned<String>,
    #[serde(default)]
    pub(crate) models: Option<Spanned<Vec<Spanned<String>>>>,
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
