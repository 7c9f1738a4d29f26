//! `PostgresSpendSink`: spend records appended to the `spend` table, a batch per transaction.

use tokio_postgres::Row;

use super::{PostgresStorage, pg_err};
use crate::error::StorageError;
use crate::id::{KeyId, TeamId};
use crate::key_store::StoreFuture;
use crate::spend::{
    GroupBy, SpendGroup, SpendQuery, SpendRecord, SpendRow, SpendScope, check_batch,
};
use crate::spend_sink::SpendSink;

/// Spend records in PostgreSQL; see [`super::PostgresStorage`].
#[derive(Debug, Clone)]
pub struct PostgresSpendSink {
    db: PostgresStorage,
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

fn spend_row(by: GroupBy, r: &Row) -> Result<SpendRow, StorageError> {
    let corrupt = |_| StorageError::Corrupt("spend group");
    let err = pg_err("reading spend");
    let text = || r.try_get::<_, Option<String>>(0).map_err(&err);
    let group = match by {
        GroupBy::Key => {
            SpendGroup::Key(KeyId::parse(&text()?.unwrap_or_default()).map_err(corrupt)?)
        }
        GroupBy::Team => SpendGroup::Team(match text()? {
            Some(t) => Some(TeamId::parse(&t).map_err(corrupt)?),
            None => None,
        }),
        GroupBy::Model => SpendGroup::Model(text()?.unwrap_or_default()),
        GroupBy::Day => SpendGroup::Day(r.try_get(0).map_err(&err)?),
    };
    let n = |i| r.try_get::<_, i64>(i).map_err(&err);
    Ok(SpendRow {
        group,
        requests: to_u64(n(1)?),
        tokens_in: to_u64(n(2)?),
        tokens_out: to_u64(n(3)?),
        tokens_cached: to_u64(n(4)?),
        tokens_cache_write: to_u64(n(5)?),
        cost_micro_usd: n(6)?,
        unpriced_requests: to_u64(n(7)?),
    })
}

impl PostgresSpendSink {
    pub(crate) fn new(db: PostgresStorage) -> Self {
        Self { db }
    }

    async fn write(&self, records: Vec<SpendRecord>) -> Result<(), StorageError> {
        check_batch(&records)?;
        if records.is_empty() {
            return Ok(());
        }
        let mut client = self.db.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_err("writing spend"))?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO spend (time_ms, request_id, key_id, team_id, model_group, deployment, \
                 tokens_in, tokens_out, tokens_cached, tokens_cache_write, cost_micro_usd, \
                 unpriced, latency_ms, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .await
            .map_err(pg_err("writing spend"))?;
        for r in &records {
            tx.execute(
                &stmt,
                &[
                    &r.time_ms,
                    &r.request_id,
                    &r.key.as_str(),
                    &r.team.as_ref().map(TeamId::as_str),
                    &r.model_group,
                    &r.deployment,
                    &i64::from(r.tokens_in),
                    &i64::from(r.tokens_out),
                    &i64::from(r.tokens_cached),
                    &i64::from(r.tokens_cache_write),
                    &r.cost_micro_usd,
                    &r.unpriced,
                    &i64::from(r.latency_ms),
                    &i32::from(r.status),
                ],
            )
            .await
            .map_err(pg_err("writing spend"))?;
        }
        tx.commit().await.map_err(pg_err("writing spend"))
    }

    async fn report_now(&self, query: SpendQuery) -> Result<Vec<SpendRow>, StorageError> {
        let client = self.db.client().await?;
        let g = group_expr(query.group_by);
        let sql = format!(
            "SELECT {g}, COUNT(*)::BIGINT, SUM(tokens_in)::BIGINT, SUM(tokens_out)::BIGINT, \
             SUM(tokens_cached)::BIGINT, SUM(tokens_cache_write)::BIGINT, \
             SUM(cost_micro_usd)::BIGINT, SUM(unpriced::INT)::BIGINT FROM spend \
             WHERE time_ms >= $1 AND time_ms < $2 \
             AND ($3::TEXT IS NULL OR key_id = $3) AND ($4::TEXT IS NULL OR team_id = $4) \
             GROUP BY {g}"
        );
        let rows = client
            .query(
                &sql,
                &[
                    &query.from_ms,
                    &query.to_ms,
                    &query.key.as_ref().map(KeyId::as_str),
                    &query.team.as_ref().map(TeamId::as_str),
                ],
            )
            .await
            .map_err(pg_err("reading spend"))?;
        let mut out = rows
            .iter()
            .map(|r| spend_row(query.group_by, r))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(out)
    }

    async fn total_now(&self, scope: SpendScope, since_ms: i64) -> Result<i64, StorageError> {
        let client = self.db.client().await?;
        let (sql, id) = match &scope {
            SpendScope::Key(k) => (
                "SELECT COALESCE(SUM(cost_micro_usd), 0)::BIGINT FROM spend WHERE key_id = $1 AND time_ms >= $2",
                k.as_str(),
            ),
            SpendScope::Team(t) => (
                "SELECT COALESCE(SUM(cost_micro_usd), 0)::BIGINT FROM spend WHERE team_id = $1 AND time_ms >= $2",
                t.as_str(),
            ),
            SpendScope::ModelGroup(m) => (
                "SELECT COALESCE(SUM(cost_micro_usd), 0)::BIGINT FROM spend WHERE model_group = $1 AND time_ms >= $2",
                m.as_str(),
            ),
        };
        client
            .query_one(sql, &[&id, &since_ms])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(pg_err("summing spend"))
    }
}

impl SpendSink for PostgresSpendSink {
    fn record_batch(&self, records: Vec<SpendRecord>) -> StoreFuture<'_, ()> {
        Box::pin(self.write(records))
    }

    fn report(&self, query: SpendQuery) -> StoreFuture<'_, Vec<SpendRow>> {
        Box::pin(self.report_now(query))
    }

    fn total(&self, scope: SpendScope, since_ms: i64) -> StoreFuture<'_, i64> {
        Box::pin(self.total_now(scope, since_ms))
    }
}
