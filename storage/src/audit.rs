//! Audit entries (what the caller appends) and audit records (what the log stores).
//!
//! Every admin change becomes one entry: who did it, what, to what, when, and the target's
//! state before and after as JSON. The caller elides secrets from `before`/`after`; the
//! store only chains the entries ([`crate::audit_chain`]) so later edits are detectable.

use serde_json::Value;

/// One admin change, as appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Unix ms, set by the caller.
    pub time_ms: i64,
    /// Who made the change (e.g. "master-key", an admin's name).
    pub actor: String,
    /// What was done (e.g. "key.rotate").
    pub action: String,
    /// What it was done to (e.g. "key:team-a-prod").
    pub target: String,
    /// The target's state before; `None` for creations. Secrets elided by the caller.
    pub before: Option<Value>,
    /// The target's state after; `None` for deletions.
    pub after: Option<Value>,
}

/// An entry as stored: numbered and chained to the one before it.
///
/// `before` and `after` are kept as the canonical JSON text that was hashed, so that
/// verification checks exactly what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// 1, 2, 3, … with no gaps.
    pub seq: u64,
    pub time_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// Canonical JSON text (keys sorted), or `None`.
    pub before: Option<String>,
    pub after: Option<String>,
    /// The previous record's `hash`; all zeros for record 1.
    pub prev_hash: [u8; 32],
    /// SHA-256 over `prev_hash` and the canonical encoding of this record.
    pub hash: [u8; 32],
}

impl AuditRecord {
    /// `before`, parsed.
    pub fn before_json(&self) -> Option<Value> {
        self.before
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
    }

    /// `after`, parsed.
    pub fn after_json(&self) -> Option<Value> {
        self.after
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
    }
}

/// The newest record's number and hash, kept apart from the records so that deleting the last
/// records is detectable too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: [u8; 32],
}
