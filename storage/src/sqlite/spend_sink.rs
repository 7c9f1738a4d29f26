//! `SqliteSpendSink`: spend records appended to the `spend` table, a batch per transaction.

use std::sync::Arc;

use rusqlite::{Row, params};

use super::{Db, db_err};
use crate::error::StorageError;
use crate::id::{KeyId, TeamId};
use crate::key_store::StoreFuture;
use crate::spend::{
    GroupBy, SpendGroup, SpendQuery, SpendRecord, SpendRow, SpendScope, check_batch,
};
use crate::spend_sink::SpendSink;

/// Rows inserted between two yields of the writer thread. The writer usually shares a core
/// with request workers: a batch is about 9 µs of CPU per row (measured, docs/BENCHMARKS.md),
/// so yielding every 8 rows lets a request that became ready wait for at most ~70 µs of it,
/// not the whole batch.
const YIELD_EVERY: usize = 8;

/// Spend records in a SQLite file; see [`super::SqliteStorage`].
#[derive(Debug, Clone)]
pub struct SqliteSpendSink {
    db: Arc<Db>,
}

impl SqliteSpendSink {
    pub(crate) fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

/// The grouping expression of each report. Fixed text chosen by an enum; values are bound.
fn group_expr(by: GroupBy) -> &'static str {
    match by {
        GroupBy::Key => "key_id",
        GroupBy::Team => "team_id",
        GroupBy::Model => "model_group",
        GroupBy::Day => "(time_ms / 86400000) * 86400000",
    }
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn group_of(by: GroupBy, r: &Row<'_>) -> Result<SpendGroup, StorageError> {
    let corrupt = |_| StorageError::Corrupt("spend group");
    let text = |r: &Row<'_>| {
        r.get::<_, Option<String>>(0)
            .map_err(db_err("reading spend"))
    };
    Ok(match by {
        GroupBy::Key => {
            SpendGroup::Key(KeyId::parse(&text(r)?.unwrap_or_default()).map_err(corrupt)?)
        }
        GroupBy::Team => SpendGroup::Team(match text(r)? {
            Some(t) => Some(TeamId::parse(&t).map_err(corrupt)?),
            None => None,
        }),
        GroupBy::Model => SpendGroup::Model(text(r)?.unwrap_or_default()),
        GroupBy::Day => SpendGroup::Day(r.get(0).map_err(db_err("reading spend"))?),
    })
}

fn spend_row(by: GroupBy, r: &Row<'_>) -> Result<SpendRow, StorageError> {
    let n = |i| r.get::<_, i64>(i).map_err(db_err("reading spend"));
    Ok(SpendRow {
        group: group_of(by, r)?,
        requests: to_u64(n(1)?),
        tokens_in: to_u64(n(2)?),
        tokens_out: to_u64(n(3)?),
        tokens_cached: to_u64(n(4)?),
        tokens_cache_write: to_u64(n(5)?),
        cost_micro_usd: n(6)?,
        unpriced_requests: to_u64(n(7)?),
    })
}

impl SpendSink for SqliteSpendSink {
    fn record_batch(&self, records: Vec<SpendRecord>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            check_batch(&records)?;
            if records.is_empty() {
                return Ok(());
            }
            self.db
                .writer
                .call(move |c| {
                    let tx = c.transaction().map_err(db_err("writing spend"))?;
                    {
                        let mut stmt = tx
                            .prepare_cached(
                                "INSERT INTO spend (time_ms, request_id, key_id, team_id, model_group, \
                                 deployment, tokens_in, tokens_out, tokens_cached, tokens_cache_write, \
                                 cost_micro_usd, unpriced, latency_ms, status) \
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                            )
                            .map_err(db_err("writing spend"))?;
                        for (i, r) in records.iter().enumerate() {
                            if i % YIELD_EVERY == YIELD_EVERY - 1 {
                                std::thread::yield_now();
                            }
                            stmt.execute(params![
                                r.time_ms,
                                r.request_id,
                                r.key.as_str(),
                                r.team.as_ref().map(TeamId::as_str),
                                r.model_group,
                                r.deployment,
                                r.tokens_in,
                                r.tokens_out,
                                r.tokens_cached,
                                r.tokens_cache_write,
                                r.cost_micro_usd,
                                r.unpriced,
                                r.latency_ms,
                                r.status,
                            ])
                            .map_err(db_err("writing spend"))?;
                        }
                    }
                    tx.commit().map_err(db_err("writing spend"))
                })
                .await
        })
    }

    fn report(&self, query: SpendQuery) -> StoreFuture<'_, Vec<SpendRow>> {
        Box::pin(self.db.reader.call(move |c| {
            let g = group_expr(query.group_by);
            let sql = format!(
                "SELECT {g}, COUNT(*), SUM(tokens_in), SUM(tokens_out), SUM(tokens_cached), \
                 SUM(tokens_cache_write), SUM(cost_micro_usd), SUM(unpriced) FROM spend \
                 WHERE time_ms >= ?1 AND time_ms < ?2 \
                 AND (?3 IS NULL OR key_id = ?3) AND (?4 IS NULL OR team_id = ?4) \
                 GROUP BY {g}"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(db_err("reading spend"))?;
            let mut rows = stmt
                .query(params![
                    query.from_ms,
                    query.to_ms,
                    query.key.as_ref().map(KeyId::as_str),
                    query.team.as_ref().map(TeamId::as_str),
                ])
                .map_err(db_err("reading spend"))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(db_err("reading spend"))? {
                out.push(spend_row(query.group_by, r)?);
            }
            out.sort_by(|a, b| a.group.cmp(&b.group));
            Ok(out)
        }))
    }

    fn total(&self, scope: SpendScope, since_ms: i64) -> StoreFuture<'_, i64> {
        Box::pin(self.db.reader.call(move |c| {
            let (sql, id) = match &scope {
                SpendScope::Key(k) => (
                    "SELECT COALESCE(SUM(cost_micro_usd), 0) FROM spend WHERE key_id = ?1 AND time_ms >= ?2",
                    k.as_str(),
                ),
                SpendScope::Team(t) => (
                    "SELECT COALESCE(SUM(cost_micro_usd), 0) FROM spend WHERE team_id = ?1 AND time_ms >= ?2",
                    t.as_str(),
                ),
                SpendScope::ModelGroup(m) => (
                    "SELECT COALESCE(SUM(cost_micro_usd), 0) FROM spend WHERE model_group = ?1 AND time_ms >= ?2",
                    m.as_str(),
                ),
            };
            c.prepare_cached(sql)
                .and_then(|mut s| s.query_row(params![id, since_ms], |r| r.get(0)))
                .map_err(db_err("summing spend"))
        }))
    }
}
