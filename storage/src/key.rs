//! Virtual keys as auth sees them: identified by the HMAC of the key, never by the key itself.
//!
//! [`VirtualKey`] is what a lookup by hash returns. It carries the key's and its team's scopes
//! side by side (the limiter keeps a bucket per level) plus the effective model list, and
//! [`VirtualKey::usable_at`] decides, without reading any clock, whether the key works now.

use std::fmt;
use std::net::IpAddr;

use crate::id::{KeyId, TeamId};
use crate::key_record::KeyRecord;
use crate::scope::{ModelAccess, Scope, TightestLimits};
use crate::team::Team;

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

/// Why a key that was found must still be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("key expired")]
    Expired { at: i64 },
    #[error("key revoked")]
    Revoked { at: i64 },
    /// The presented key is the one replaced by a rotation, and its grace period is over.
    #[error("key rotated")]
    RotatedOut { grace_until: i64 },
}

/// What a key found by its hash grants.
///
/// Scopes are kept per level: `key_scope` is the key's own, `team_scope` its team's (if any).
/// `models` is already the intersection of both; [`VirtualKey::allows_source`] and
/// [`VirtualKey::limits`] combine the rest. Budgets are read per level from the two scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualKey {
    pub id: KeyId,
    pub team: Option<TeamId>,
    /// Effective models: what both the key and the team allow.
    pub models: ModelAccess,
    pub key_scope: Scope,
    pub team_scope: Option<Scope>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// `Some` when the presented key is the previous one of a rotation: it works until then.
    pub grace_until: Option<i64>,
}

impl VirtualKey {
    /// A config-defined key: no team, no limits, never expires.
    pub fn new(id: KeyId, models: ModelAccess) -> Self {
        Self {
            id,
            team: None,
            key_scope: Scope {
                models: models.clone(),
                ..Scope::default()
            },
            models,
            team_scope: None,
            expires_at: None,
            revoked_at: None,
            grace_until: None,
        }
    }

    /// The grant of a stored key. `by_previous` says the lookup matched the previous hash of a
    /// rotation rather than the current one. `team` must be the record's team, if it has one.
    pub fn from_record(record: &KeyRecord, team: Option<&Team>, by_previous: bool) -> Self {
        let team_scope = team.map(|t| t.scope.clone());
        let models = match &team_scope {
            Some(t) => record.scope.models.intersect(&t.models),
            None => record.scope.models.clone(),
        };
        Self {
            id: record.id.clone(),
            team: record.team.clone(),
            models,
            key_scope: record.scope.clone(),
            team_scope,
            expires_at: record.expires_at,
            revoked_at: record.revoked_at,
            grace_until: if by_previous {
                // A previous hash without a grace window never works.
                Some(record.previous.map_or(i64::MIN, |p| p.grace_until))
            } else {
                None
            },
        }
    }

    /// Whether the key works at `now_ms` (unix ms). Revocation wins over everything; expiry and
    /// the end of a rotation's grace take effect at their instant exactly.
    pub fn usable_at(&self, now_ms: i64) -> Result<(), Unusable> {
        if let Some(at) = self.revoked_at {
            return Err(Unusable::Revoked { at });
        }
        if let Some(at) = self.expires_at
            && now_ms >= at
        {
            return Err(Unusable::Expired { at });
        }
        if let Some(grace_until) = self.grace_until
            && now_ms >= grace_until
        {
            return Err(Unusable::RotatedOut { grace_until });
        }
        Ok(())
    }

    pub fn allows_model(&self, model: &str) -> bool {
        self.models.allows(model)
    }

    /// Whether a request from `addr` may use the key: both levels must allow it.
    pub fn allows_source(&self, addr: IpAddr) -> bool {
        self.key_scope.sources.allows(addr)
            && self
                .team_scope
                .as_ref()
                .is_none_or(|t| t.sources.allows(addr))
    }

    /// The tighter of the key's and the team's rate limits.
    pub fn limits(&self) -> TightestLimits {
        TightestLimits::of(&self.key_scope, self.team_scope.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::TeamId;
    use crate::key_record::{KeyDisplay, PreviousHash};
    use crate::scope::SourceAccess;

    fn record() -> KeyRecord {
        KeyRecord::new(
            KeyId::parse("k").unwrap(),
            "k",
            KeyHash([1; 32]),
            KeyDisplay::of("pk-x"),
            0,
        )
    }

    #[test]
    fn key_hash_debug_shows_only_a_prefix() {
        assert_eq!(format!("{:?}", KeyHash([0xab; 32])), "KeyHash(abababab…)");
    }

    #[test]
    fn expiry_revocation_and_grace_take_effect_at_their_instant() {
        let mut r = record();
        r.expires_at = Some(100);
        let k = VirtualKey::from_record(&r, None, false);
        assert_eq!(k.usable_at(99), Ok(()));
        assert_eq!(k.usable_at(100), Err(Unusable::Expired { at: 100 }));

        r.expires_at = None;
        r.revoked_at = Some(500);
        assert_eq!(
            VirtualKey::from_record(&r, None, false).usable_at(0),
            Err(Unusable::Revoked { at: 500 })
        );

        r.revoked_at = None;
        r.previous = Some(PreviousHash {
            hash: KeyHash([9; 32]),
            grace_until: 50,
        });
        let old = VirtualKey::from_record(&r, None, true);
        assert_eq!(old.usable_at(49), Ok(()));
        assert_eq!(
            old.usable_at(50),
            Err(Unusable::RotatedOut { grace_until: 50 })
        );
        assert_eq!(
            VirtualKey::from_record(&r, None, false).usable_at(1_000),
            Ok(())
        );
    }

    #[test]
    fn effective_scope_is_the_tighter_of_key_and_team() {
        let mut r = record();
        r.scope.models = ModelAccess::Only(vec!["a".into(), "b".into()]);
        r.scope.rpm = Some(100);
        let mut team = Team::new(TeamId::parse("t").unwrap(), "t", 0);
        team.scope.models = ModelAccess::Only(vec!["b".into(), "c".into()]);
        team.scope.rpm = Some(10);
        team.scope.sources = SourceAccess::Only(vec!["10.0.0.0/8".parse().unwrap()]);
        r.team = Some(team.id.clone());
        let k = VirtualKey::from_record(&r, Some(&team), false);
        assert!(k.allows_model("b"));
        assert!(!k.allows_model("a") && !k.allows_model("c"));
        assert_eq!(k.limits().rpm, Some(10));
        assert_eq!(k.key_scope.rpm, Some(100));
        assert!(k.allows_source("10.9.9.9".parse().unwrap()));
        assert!(!k.allows_source("192.168.1.1".parse().unwrap()));
    }

    #[test]
    fn config_keys_have_no_limits() {
        let k = VirtualKey::new(KeyId::parse("cfg").unwrap(), ModelAccess::All);
        assert_eq!(k.usable_at(i64::MAX), Ok(()));
        assert_eq!(k.limits(), TightestLimits::default());
    }
}
