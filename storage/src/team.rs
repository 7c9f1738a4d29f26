//! A team: a named group of keys sharing a scope (models, budget, limits).

use crate::id::TeamId;
use crate::key_record::Metadata;
use crate::scope::Scope;

/// A team as stored. Times are unix milliseconds, set by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    /// Human-readable name; free text, not unique.
    pub name: String,
    /// Caps every key of the team; each key's effective scope is the tighter of both.
    pub scope: Scope,
    /// Free-form tags (owner, cost centre). Descriptive only: never part of a decision.
    pub metadata: Metadata,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Team {
    /// A team created at `now_ms` with the default (allow-all) scope and no metadata.
    pub fn new(id: TeamId, name: impl Into<String>, now_ms: i64) -> Self {
        Self {
            id,
            name: name.into(),
            scope: Scope::default(),
            metadata: Metadata::new(),
            created_at: now_ms,
            updated_at: now_ms,
        }
    }
}

/// Changes to a team; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamUpdate {
    pub name: Option<String>,
    pub scope: Option<Scope>,
    pub metadata: Option<Metadata>,
}

impl TeamUpdate {
    /// Applies the change to `team`, stamping `updated_at`.
    pub fn apply(&self, team: &mut Team, now_ms: i64) {
        if let Some(name) = &self.name {
            team.name.clone_from(name);
        }
        if let Some(scope) = &self.scope {
            team.scope = scope.clone();
        }
        if let Some(metadata) = &self.metadata {
            team.metadata = metadata.clone();
        }
        team.updated_at = now_ms;
    }
}
