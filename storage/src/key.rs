//! Virtual keys as stored: identified by the HMAC of the key, never by the key itself.

use std::fmt;
use std::sync::Arc;

/// Longest key accepted, in bytes: longer presented keys are refused before hashing, so
/// configured keys must fit too.
pub const MAX_KEY_BYTES: usize = 512;

/// HMAC-SHA256(pepper, presented key). The only form in which a virtual key is kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl fmt::Debug for KeyHash {
    /// Prints a short prefix only: enough to correlate, useless to an attacker.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyHash({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// A virtual key's stable, non-secret identity (its name), safe for logs and audit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(pub Arc<str>);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which model groups a key may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelAccess {
    All,
    Only(Vec<Arc<str>>),
}

impl ModelAccess {
    pub fn allows(&self, model: &str) -> bool {
        match self {
            ModelAccess::All => true,
            ModelAccess::Only(models) => models.iter().any(|m| &**m == model),
        }
    }
}

/// What a valid virtual key grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualKey {
    pub id: KeyId,
    pub models: ModelAccess,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_access_allows_only_listed_models() {
        let only = ModelAccess::Only(vec!["a".into(), "b".into()]);
        assert!(only.allows("a"));
        assert!(!only.allows("c"));
        assert!(ModelAccess::All.allows("anything"));
    }

    #[test]
    fn key_hash_debug_shows_only_a_prefix() {
        let text = format!("{:?}", KeyHash([0xab; 32]));
        assert_eq!(text, "KeyHash(abababab…)");
    }
}
