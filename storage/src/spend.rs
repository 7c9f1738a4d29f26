//! Spend records and the shape of spend reports.
//!
//! One [`SpendRecord`] per request, append-only: who (key, team), what (model group,
//! deployment, tokens), how much (integer micro-USD, or flagged unpriced) and how it went
//! (latency, status). Never request or response bodies. Reports sum records over a time range,
//! grouped by key, team, model group or UTC day.

use crate::error::StorageError;
use crate::id::{KeyId, TeamId};

/// Milliseconds in a day; days are UTC, starting at multiples of this since the epoch.
pub const DAY_MS: i64 = 86_400_000;

/// One request's usage and cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRecord {
    /// When the request finished, unix ms (not before 1970).
    pub time_ms: i64,
    pub request_id: String,
    pub key: KeyId,
    pub team: Option<TeamId>,
    pub model_group: String,
    pub deployment: String,
    pub tokens_in: u32,
    pub tokens_out: u32,
    pub tokens_cached: u32,
    pub tokens_cache_write: u32,
    /// Cost in micro-USD (1 USD = 1,000,000); 0 when `unpriced`.
    pub cost_micro_usd: i64,
    /// No price was known for the model: tokens are recorded, cost is not.
    pub unpriced: bool,
    pub latency_ms: u32,
    /// HTTP status returned to the client.
    pub status: u16,
}

/// Refuses records a backend could not store faithfully.
pub fn check_batch(records: &[SpendRecord]) -> Result<(), StorageError> {
    for r in records {
        if r.time_ms < 0 {
            return Err(StorageError::Invalid("spend time before 1970"));
        }
        if r.cost_micro_usd < 0 {
            return Err(StorageError::Invalid("negative spend"));
        }
    }
    Ok(())
}

/// What a report's rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Key,
    Team,
    Model,
    /// UTC day.
    Day,
}

/// A report: records with `from_ms <= time_ms < to_ms`, optionally only one key's or team's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    pub group_by: GroupBy,
    pub key: Option<KeyId>,
    pub team: Option<TeamId>,
}

/// The value a report row is grouped on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpendGroup {
    Key(KeyId),
    /// `None` gathers keys without a team.
    Team(Option<TeamId>),
    Model(String),
    /// The day's start, unix ms (a multiple of [`DAY_MS`]).
    Day(i64),
}

/// Sums over one group. Rows of a report come sorted by group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRow {
    pub group: SpendGroup,
    pub requests: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub tokens_cached: u64,
    pub tokens_cache_write: u64,
    pub cost_micro_usd: i64,
    /// How many of the requests were unpriced.
    pub unpriced_requests: u64,
}

impl SpendRow {
    /// An empty row for `group`.
    pub fn empty(group: SpendGroup) -> Self {
        Self {
            group,
            requests: 0,
            tokens_in: 0,
            tokens_out: 0,
            tokens_cached: 0,
            tokens_cache_write: 0,
            cost_micro_usd: 0,
            unpriced_requests: 0,
        }
    }

    /// Adds one record to the sums.
    pub fn add(&mut self, r: &SpendRecord) {
        self.requests += 1;
        self.tokens_in += u64::from(r.tokens_in);
        self.tokens_out += u64::from(r.tokens_out);
        self.tokens_cached += u64::from(r.tokens_cached);
        self.tokens_cache_write += u64::from(r.tokens_cache_write);
        self.cost_micro_usd = self.cost_micro_usd.saturating_add(r.cost_micro_usd);
        self.unpriced_requests += u64::from(r.unpriced);
    }
}

/// Whose spend [`crate::SpendSink::total`] sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpendScope {
    Key(KeyId),
    Team(TeamId),
    /// Every key's spend on one model group (per-model-group budgets).
    ModelGroup(String),
}

impl SpendQuery {
    /// Whether `r` falls in this query's range and filters.
    pub fn matches(&self, r: &SpendRecord) -> bool {
        r.time_ms >= self.from_ms
            && r.time_ms < self.to_ms
            && self.key.as_ref().is_none_or(|k| *k == r.key)
            && self
                .team
                .as_ref()
                .is_none_or(|t| r.team.as_ref() == Some(t))
    }

    /// The group `r` belongs to in this query.
    pub fn group_of(&self, r: &SpendRecord) -> SpendGroup {
        match self.group_by {
            GroupBy::Key => SpendGroup::Key(r.key.clone()),
            GroupBy::Team => SpendGroup::Team(r.team.clone()),
            GroupBy::Model => SpendGroup::Model(r.model_group.clone()),
            GroupBy::Day => SpendGroup::Day(r.time_ms.div_euclid(DAY_MS) * DAY_MS),
        }
    }
}
