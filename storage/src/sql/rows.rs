//! Flat rows as the SQL backends store them, and their checked conversion to records.
//! Anything stored that does not decode is reported as `Corrupt`, never guessed at.

use crate::audit::{AuditRecord, ChainHead};
use crate::error::StorageError;
use crate::id::{KeyId, TeamId};
use crate::key::KeyHash;
use crate::key_record::{KeyDisplay, KeyRecord, Metadata, PreviousHash};
use crate::scope::Scope;
use crate::team::Team;

/// A key as stored: the `keys` row joined with its current and previous hashes.
#[derive(Debug)]
pub(crate) struct KeyRow {
    pub id: String,
    pub name: String,
    pub team: Option<String>,
    pub prefix: String,
    pub last4: String,
    pub scope: String,
    pub metadata: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub hash: Vec<u8>,
    pub prev_hash: Option<Vec<u8>>,
    pub grace_until: Option<i64>,
}

/// A team as stored.
#[derive(Debug)]
pub(crate) struct TeamRow {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub metadata: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) fn hash32(bytes: &[u8], what: &'static str) -> Result<[u8; 32], StorageError> {
    bytes.try_into().map_err(|_| StorageError::Corrupt(what))
}

pub(crate) fn to_json<T: serde::Serialize>(
    value: &T,
    what: &'static str,
) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|_| StorageError::Invalid(what))
}

fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &'static str,
) -> Result<T, StorageError> {
    serde_json::from_str(text).map_err(|_| StorageError::Corrupt(what))
}

impl KeyRow {
    pub(crate) fn into_record(self) -> Result<KeyRecord, StorageError> {
        let previous = match (self.prev_hash, self.grace_until) {
            (Some(h), Some(grace_until)) => Some(PreviousHash {
                hash: KeyHash(hash32(&h, "key hash")?),
                grace_until,
            }),
            _ => None,
        };
        Ok(KeyRecord {
            id: KeyId::parse(&self.id).map_err(|_| StorageError::Corrupt("key id"))?,
            name: self.name,
            team: match self.team {
                Some(t) => Some(TeamId::parse(&t).map_err(|_| StorageError::Corrupt("team id"))?),
                None => None,
            },
            hash: KeyHash(hash32(&self.hash, "key hash")?),
            display: KeyDisplay::from_parts(&self.prefix, &self.last4),
            scope: from_json::<Scope>(&self.scope, "key scope")?,
            metadata: from_json::<Metadata>(&self.metadata, "key metadata")?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            previous,
        })
    }
}

impl TeamRow {
    pub(crate) fn into_team(self) -> Result<Team, StorageError> {
        Ok(Team {
            id: TeamId::parse(&self.id).map_err(|_| StorageError::Corrupt("team id"))?,
            name: self.name,
            scope: from_json::<Scope>(&self.scope, "team scope")?,
            metadata: from_json::<Metadata>(&self.metadata, "team metadata")?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// An audit record as stored.
#[derive(Debug)]
pub(crate) struct AuditRow {
    pub seq: i64,
    pub time_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl AuditRow {
    pub(crate) fn into_record(self) -> Result<AuditRecord, StorageError> {
        Ok(AuditRecord {
            seq: u64::try_from(self.seq).map_err(|_| StorageError::Corrupt("audit seq"))?,
            time_ms: self.time_ms,
            actor: self.actor,
            action: self.action,
            target: self.target,
            before: self.before,
            after: self.after,
            // A hash of the wrong length is kept as zeros so verification names the record.
            prev_hash: hash32(&self.prev_hash, "audit hash").unwrap_or([0; 32]),
            hash: hash32(&self.hash, "audit hash").unwrap_or([0; 32]),
        })
    }
}

/// The stored head row (`seq` 0 means an empty log) as a chain head.
pub(crate) fn chain_head(seq: i64, hash: &[u8]) -> Result<Option<ChainHead>, StorageError> {
    if seq == 0 {
        return Ok(None);
    }
    Ok(Some(ChainHead {
        seq: u64::try_from(seq).map_err(|_| StorageError::Corrupt("audit head"))?,
        hash: hash32(hash, "audit head")?,
    }))
}

/// A u64 sequence number as the i64 databases store.
pub(crate) fn seq_i64(seq: u64) -> Result<i64, StorageError> {
    i64::try_from(seq).map_err(|_| StorageError::Invalid("audit seq"))
}
