//! The connection the limiter talks through: one multiplexed `ConnectionManager` to a single
//! Redis (reconnecting by itself), or a cluster connection. Script calls go out together: one
//! pipeline on a single Redis; concurrently, each to its slot's node, on a cluster (a cluster
//! pipeline must stay on one node). A call refused with NOSCRIPT (after `SCRIPT FLUSH`, a
//! restart or a failover) has its script loaded and is sent again; NOSCRIPT means the script
//! did not run, so resending never takes twice.

use std::time::Duration;

use futures_util::future::join_all;
use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use redis::{ErrorKind, RedisError, RedisResult, ServerErrorKind};

use crate::error::StorageError;
use crate::redis::calls::Call;

/// Single Redis or Redis Cluster.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

pub(crate) const UNAVAILABLE: StorageError = StorageError::Unavailable("redis");

/// Redis failed or answered out of shape; the caller applies its failure policy.
pub(crate) fn unavailable(e: &RedisError) -> StorageError {
    tracing::debug!(error = %e, "redis limiter call failed");
    UNAVAILABLE
}

/// The counter of round trips the limiter makes to Redis (each pipeline, script load, and on a
/// cluster each node call, counts one): the `governed` benchmark divides it by requests.
pub const ROUND_TRIPS: &str = "portcullis_limiter_redis_round_trips_total";

/// Counts `n` round trips to Redis.
pub(crate) fn round_trips(n: usize) {
    metrics::counter!(ROUND_TRIPS).increment(n as u64);
}

fn is_noscript(r: &RedisResult<Vec<i64>>) -> bool {
    matches!(r, Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript))
}

impl Conn {
    /// Runs `calls` in one round trip, within `timeout`. Per-call results in order.
    pub(crate) async fn run(
        &self,
        calls: &[Call],
        timeout: Duration,
    ) -> Result<Vec<RedisResult<Vec<i64>>>, StorageError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        match tokio::time::timeout(timeout, self.run_inner(calls)).await {
            Ok(r) => r,
            Err(_) => Err(StorageError::Unavailable("redis timeout")),
        }
    }

    async fn run_inner(&self, calls: &[Call]) -> Result<Vec<RedisResult<Vec<i64>>>, StorageError> {
        match self {
            Conn::Cluster(c) => {
                round_trips(calls.len());
                let futs = calls.iter().map(|call| {
                    let mut conn = c.clone();
                    async move { call.invocation().invoke_async::<Vec<i64>>(&mut conn).await }
                });
                Ok(join_all(futs).await)
            }
            Conn::Single(c) => {
                let mut conn = c.clone();
                let mut results = pipeline(&mut conn, calls.iter()).await?;
                let again: Vec<usize> = (0..results.len())
                    .filter(|i| is_noscript(&results[*i]))
                    .collect();
                if again.is_empty() {
                    return Ok(results);
                }
                let mut loaded: Vec<&redis::Script> = Vec::new();
                for i in &again {
                    let script = calls[*i].script;
                    if !loaded.iter().any(|s| s.get_hash() == script.get_hash()) {
                        round_trips(1);
                        script
                            .load_async(&mut conn)
                            .await
                            .map_err(|e| unavailable(&e))?;
                        loaded.push(script);
                    }
                }
                let retried = pipeline(&mut conn, again.iter().map(|i| &calls[*i])).await?;
                for (i, r) in again.into_iter().zip(retried) {
                    results[i] = r;
                }
                Ok(results)
            }
        }
    }
}

async fn pipeline<'a>(
    conn: &mut ConnectionManager,
    calls: impl Iterator<Item = &'a Call>,
) -> Result<Vec<RedisResult<Vec<i64>>>, StorageError> {
    round_trips(1);
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for call in calls {
        pipe.invoke_script(&call.invocation());
    }
    pipe.query_async(conn).await.map_err(|e| unavailable(&e))
}
