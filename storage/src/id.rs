//! Identifier newtypes for keys and teams.
//!
//! Ids appear in logs, metric labels, audit entries and admin URLs, so they are checked once,
//! where they enter (`parse`), against the same charset the config uses for labels:
//! `[A-Za-z0-9_.-]{1,64}`. A value of these types is always valid, so an admin path can
//! reject a bad id with 400 before it reaches a store.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest id, in bytes (all allowed characters are ASCII).
pub const MAX_ID_LEN: usize = 64;

/// An id that does not match `[A-Za-z0-9_.-]{1,64}`. Carries only the id's length, never the
/// value, which a client sent and which may be a misplaced secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be 1 to {MAX_ID_LEN} characters of A-Z a-z 0-9 _ . - (got {len} bytes)")]
pub struct InvalidId {
    /// Which kind of id was refused: "key id" or "team id".
    pub what: &'static str,
    /// Length of the refused value, in bytes.
    pub len: usize,
}

fn check(what: &'static str, value: &str) -> Result<(), InvalidId> {
    let ok = !value.is_empty()
        && value.len() <= MAX_ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(InvalidId {
            what,
            len: value.len(),
        })
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Checks `value` against `[A-Za-z0-9_.-]{1,64}`.
            pub fn parse(value: &str) -> Result<Self, InvalidId> {
                check($what, value)?;
                Ok(Self(value.into()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A virtual key's stable, non-secret identity, safe for logs and audit.
    KeyId,
    "key id"
);
id_type!(
    /// A team's stable identity.
    TeamId,
    "team id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_label_charset_up_to_64_bytes() {
        assert_eq!(
            KeyId::parse("team-a_1.prod").unwrap().as_str(),
            "team-a_1.prod"
        );
        assert!(TeamId::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn refuses_empty_long_and_foreign_characters_without_echoing_them() {
        for bad in ["", "a b", "a/b", "ключ", "x\n", &"a".repeat(65)] {
            let err = KeyId::parse(bad).unwrap_err();
            assert_eq!(err.len, bad.len());
            assert!(!err.to_string().contains(bad) || bad.is_empty());
        }
        assert_eq!(TeamId::parse("a b").unwrap_err().what, "team id");
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<KeyId>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<KeyId>("\"no way\"").is_err());
    }
}
