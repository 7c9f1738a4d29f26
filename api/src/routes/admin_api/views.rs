//! What the admin API shows of keys and teams, and what the audit log records of them.
//!
//! A key is shown by its display prefix and last four characters; its hash, previous hash
//! and secret are never part of a view, so neither responses nor audit entries carry them.

use portcullis_storage::{KeyRecord, Team};
use serde_json::{Value, json};

/// Said next to every scope: budgets and rate limits are kept, not yet applied.
pub(crate) const LIMITS_NOTICE: &str = "budget, rpm, tpm and max_parallel are enforced at admission (see docs/LIMITS.md); a change applies within the auth cache's TTL (5 s) on every replica";

pub(crate) fn key(record: &KeyRecord) -> Value {
    json!({
        "object": "key",
        "id": record.id,
        "name": record.name,
        "team": record.team,
        "display": record.display.to_string(),
        "prefix": record.display.prefix(),
        "last4": record.display.last4(),
        "scope": record.scope,
        "metadata": record.metadata,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "expires_at": record.expires_at,
        "revoked_at": record.revoked_at,
        "previous_key_valid_until": record.previous.map(|p| p.grace_until),
        "limits_enforced": true,
        "notice": LIMITS_NOTICE,
    })
}

pub(crate) fn team(team: &Team) -> Value {
    json!({
        "object": "team",
        "id": team.id,
        "name": team.name,
        "scope": team.scope,
        "metadata": team.metadata,
        "created_at": team.created_at,
        "updated_at": team.updated_at,
        "limits_enforced": true,
        "notice": LIMITS_NOTICE,
    })
}

/// A key view with the secret added: the create and rotate responses only.
pub(crate) fn key_with_secret(record: &KeyRecord, secret: &str) -> Value {
    let mut view = key(record);
    if let Value::Object(map) = &mut view {
        map.insert("key".to_owned(), Value::String(secret.to_owned()));
        map.insert(
            "key_notice".to_owned(),
            Value::String("store this key now: it is not shown again".to_owned()),
        );
    }
    view
}

/// The audit form of a view: the view itself minus the notices (it holds no secret).
pub(crate) fn audited(mut view: Value) -> Value {
    if let Value::Object(map) = &mut view {
        map.remove("notice");
        map.remove("limits_enforced");
        map.remove("key");
        map.remove("key_notice");
    }
    view
}
