//! A stored virtual key, as the admin side sees it: everything but the key itself.
//!
//! The secret is never stored. What is kept is its HMAC ([`KeyHash`]), the first few and the
//! last four characters for display, and, after a rotation, the previous hash with the
//! instant until which it still works.

use crate::id::{KeyId, TeamId};
use crate::key::KeyHash;
use crate::scope::Scope;

/// Free-form JSON tags on a key or team.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// Most characters kept from the start of a key for display.
pub const DISPLAY_PREFIX_CHARS: usize = 8;
/// Characters kept from the end of a key for display.
pub const DISPLAY_SUFFIX_CHARS: usize = 4;

/// What may be shown of a key: its prefix (up to and including the first `-`, at most
/// [`DISPLAY_PREFIX_CHARS`]) and its last [`DISPLAY_SUFFIX_CHARS`] characters. Keys carry
/// at least 256 bits of randomness, so these reveal nothing useful.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDisplay {
    prefix: String,
    last4: String,
}

impl KeyDisplay {
    /// Takes the display parts of a freshly generated `key`.
    pub fn of(key: &str) -> Self {
        let head: String = key.chars().take(DISPLAY_PREFIX_CHARS).collect();
        let prefix = match head.find('-') {
            Some(i) => head[..=i].to_owned(),
            None => String::new(),
        };
        let count = key.chars().count();
        let last4 = key
            .chars()
            .skip(count.saturating_sub(DISPLAY_SUFFIX_CHARS))
            .collect();
        Self { prefix, last4 }
    }

    /// Rebuilds stored parts, truncating anything longer than the limits.
    pub fn from_parts(prefix: &str, last4: &str) -> Self {
        Self {
            prefix: prefix.chars().take(DISPLAY_PREFIX_CHARS).collect(),
            last4: last4.chars().take(DISPLAY_SUFFIX_CHARS).collect(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn last4(&self) -> &str {
        &self.last4
    }
}

impl std::fmt::Display for KeyDisplay {
    /// `pk-…abcd`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}…{}", self.prefix, self.last4)
    }
}

/// The hash a key had before its last rotation, accepted until `grace_until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousHash {
    pub hash: KeyHash,
    /// Unix ms; from this instant on the previous key fails.
    pub grace_until: i64,
}

/// A virtual key as stored. Times are unix milliseconds, set by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: KeyId,
    /// Human-readable name; free text, not unique.
    pub name: String,
    /// The team whose scope also applies; `None` for a key of its own.
    pub team: Option<TeamId>,
    /// HMAC-SHA256(pepper, key) of the current key. Never shown to anyone.
    pub hash: KeyHash,
    pub display: KeyDisplay,
    pub scope: Scope,
    pub metadata: Metadata,
    pub created_at: i64,
    pub updated_at: i64,
    /// From this instant on the key fails.
    pub expires_at: Option<i64>,
    /// Set once by revoke; the key fails from then on.
    pub revoked_at: Option<i64>,
    /// Set by rotate.
    pub previous: Option<PreviousHash>,
}

impl KeyRecord {
    /// A new key record created at `now_ms`: default (allow-all) scope, no team, no expiry.
    pub fn new(
        id: KeyId,
        name: impl Into<String>,
        hash: KeyHash,
        display: KeyDisplay,
        now_ms: i64,
    ) -> Self {
        Self {
            id,
            name: name.into(),
            team: None,
            hash,
            display,
            scope: Scope::default(),
            metadata: Metadata::new(),
            created_at: now_ms,
            updated_at: now_ms,
            expires_at: None,
            revoked_at: None,
            previous: None,
        }
    }
}

/// Changes to a key's editable fields; `None` leaves a field as it is. The team, the hash and
/// the revocation are changed only through their own operations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUpdate {
    pub name: Option<String>,
    pub scope: Option<Scope>,
    pub metadata: Option<Metadata>,
    /// `Some(None)` removes the expiry.
    pub expires_at: Option<Option<i64>>,
}

impl KeyUpdate {
    /// Applies the change to `key`, stamping `updated_at`.
    pub fn apply(&self, key: &mut KeyRecord, now_ms: i64) {
        if let Some(name) = &self.name {
            key.name.clone_from(name);
        }
        if let Some(scope) = &self.scope {
            key.scope = scope.clone();
        }
        if let Some(metadata) = &self.metadata {
            key.metadata = metadata.clone();
        }
        if let Some(expires_at) = self.expires_at {
            key.expires_at = expires_at;
        }
        key.updated_at = now_ms;
    }
}

/// A new secret for an existing key: its hash and display parts, and how long the old one
/// keeps working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub hash: KeyHash,
    pub display: KeyDisplay,
    /// Unix ms until which the old key is still accepted (use `now_ms` for no grace).
    pub grace_until: i64,
}

impl Rotation {
    /// Applies the rotation to `key` at `now_ms`. An earlier previous hash is dropped.
    pub fn apply(&self, key: &mut KeyRecord, now_ms: i64) {
        key.previous = Some(PreviousHash {
            hash: key.hash,
            grace_until: self.grace_until,
        });
        key.hash = self.hash;
        key.display = self.display.clone();
        key.updated_at = now_ms;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_keeps_the_prefix_and_last_four_only() {
        let d = KeyDisplay::of("pk-0123456789abcdefWXYZ");
        assert_eq!((d.prefix(), d.last4()), ("pk-", "WXYZ"));
        assert_eq!(d.to_string(), "pk-…WXYZ");
        let none = KeyDisplay::of("abcdefghijklmnop");
        assert_eq!((none.prefix(), none.last4()), ("", "mnop"));
        let long = KeyDisplay::from_parts("abcdefghij-", "123456");
        assert_eq!((long.prefix(), long.last4()), ("abcdefgh", "1234"));
    }

    #[test]
    fn rotation_keeps_the_old_hash_with_its_grace() {
        let mut key = KeyRecord::new(
            KeyId::parse("k").unwrap(),
            "k",
            KeyHash([1; 32]),
            KeyDisplay::of("pk-aaaa"),
            0,
        );
        Rotation {
            hash: KeyHash([2; 32]),
            display: KeyDisplay::of("pk-bbbb"),
            grace_until: 50,
        }
        .apply(&mut key, 10);
        assert_eq!(key.hash, KeyHash([2; 32]));
        assert_eq!(
            key.previous,
            Some(PreviousHash {
                hash: KeyHash([1; 32]),
                grace_until: 50
            })
        );
        assert_eq!((key.display.last4(), key.updated_at), ("bbbb", 10));
    }
}
