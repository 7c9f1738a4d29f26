//! [`LazyRedisLimiter`]: a Redis limiter that connects on first use and keeps trying.
//!
//! A gateway must start (and serve under its failure policy) while Redis is down; this wrapper
//! makes the first connection when the first call needs it, retries at most once a second
//! while Redis stays unreachable, and from then on delegates to one [`RedisLimiter`] whose
//! connection manager reconnects by itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::{RedisLimiter, RedisOptions};
use crate::error::StorageError;
use crate::limiter::{
    Admission, AdmitResult, BudgetPeriod, Limiter, LimiterFuture, Reservation, Settlement,
};

/// Fewest time between two connection attempts.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Where the limiter lives.
#[derive(Debug, Clone)]
pub enum RedisTarget {
    /// One Redis: `redis://…` or `rediss://…`.
    Single(String),
    /// Any nodes of a Redis Cluster.
    Cluster(Vec<String>),
}

impl RedisTarget {
    /// The config's `url` (a comma-separated node list when `cluster`).
    pub fn from_url(url: &str, cluster: bool) -> Self {
        if cluster {
            Self::Cluster(url.split(',').map(|u| u.trim().to_owned()).collect())
        } else {
            Self::Single(url.to_owned())
        }
    }

    /// Every URL this target names.
    pub fn nodes(&self) -> &[String] {
        match self {
            Self::Single(url) => std::slice::from_ref(url),
            Self::Cluster(nodes) => nodes,
        }
    }
}

/// Connects on first use; see the module docs.
pub struct LazyRedisLimiter {
    target: RedisTarget,
    options: RedisOptions,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    limiter: Option<Arc<RedisLimiter>>,
    last_attempt: Option<Instant>,
}

impl std::fmt::Debug for LazyRedisLimiter {
    /// Names neither the URL (it may hold a password) nor the nodes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyRedisLimiter")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl LazyRedisLimiter {
    pub fn new(target: RedisTarget, options: RedisOptions) -> Self {
        Self {
            target,
            options,
            state: Mutex::new(State::default()),
        }
    }

    async fn get(&self) -> Result<Arc<RedisLimiter>, StorageError> {
        let mut state = self.state.lock().await;
        if let Some(limiter) = &state.limiter {
            return Ok(Arc::clone(limiter));
        }
        if state
            .last_attempt
            .is_some_and(|t| t.elapsed() < RETRY_EVERY)
        {
            return Err(StorageError::Unavailable("redis unreachable"));
        }
        state.last_attempt = Some(Instant::now());
        let connected = match &self.target {
            RedisTarget::Single(url) => RedisLimiter::connect(url, &self.options).await,
            RedisTarget::Cluster(nodes) => {
                RedisLimiter::connect_cluster(nodes, &self.options).await
            }
        }?;
        let limiter = Arc::new(connected);
        state.limiter = Some(Arc::clone(&limiter));
        Ok(limiter)
    }
}

impl Limiter for LazyRedisLimiter {
    fn admit<'a>(&'a self, admission: &'a Admission) -> LimiterFuture<'a, AdmitResult> {
        Box::pin(async move { self.get().await?.admit(admission).await })
    }

    fn admit_batch<'a>(
        &'a self,
        admissions: &'a [Admission],
    ) -> LimiterFuture<'a, Vec<AdmitResult>> {
        Box::pin(async move { self.get().await?.admit_batch(admissions).await })
    }

    fn settle<'a>(
        &'a self,
        reservation: &'a Reservation,
        settlement: &'a Settlement,
    ) -> LimiterFuture<'a, ()> {
        Box::pin(async move { self.get().await?.settle(reservation, settlement).await })
    }

    fn release<'a>(&'a self, reservation: &'a Reservation) -> LimiterFuture<'a, ()> {
        Box::pin(async move { self.get().await?.release(reservation).await })
    }

    fn set_spent<'a>(&'a self, budget: &'a BudgetPeriod, micro_usd: u64) -> LimiterFuture<'a, ()> {
        Box::pin(async move { self.get().await?.set_spent(budget, micro_usd).await })
    }

    fn spent<'a>(&'a self, budget: &'a BudgetPeriod) -> LimiterFuture<'a, u64> {
        Box::pin(async move { self.get().await?.spent(budget).await })
    }
}
